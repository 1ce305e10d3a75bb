// `dec export`: a checkpoint's parameters and buffers as one state dict.
//
// The output is a torch pickle of a plain dict {name: tensor} with PyTorch's
// naming ("conv1.conv.weight"), so `torch.load(path)` in Python opens it and
// model.load_state_dict() accepts it for an equivalent Python model.
#pragma once

#include <string>

namespace dec::runtime {

struct ExportSummary {
  std::string checkpoint_dir;  // the step directory that was exported
  int64_t step = 0;
  size_t tensors = 0;
  double bytes = 0;
};

// Verifies the checkpoint (open_checkpoint), gathers every block's shard and
// writes `out` atomically. Throws like open_checkpoint, IoError on write.
ExportSummary export_state_dict(const std::string& checkpoint, const std::string& out);

}  // namespace dec::runtime
