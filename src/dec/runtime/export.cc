#include "dec/runtime/export.h"

#include <torch/torch.h>

#include "dec/core/file.h"
#include "dec/runtime/checkpoint.h"

namespace dec::runtime {

ExportSummary export_state_dict(const std::string& checkpoint, const std::string& out) {
  Checkpoint c = open_checkpoint(checkpoint);
  c10::Dict<std::string, at::Tensor> dict;
  ExportSummary s;
  s.checkpoint_dir = c.dir;
  s.step = c.state.step;
  for (const auto& block : c.blocks) {
    BlockState b = read_block(c, block);
    for (auto* group : {&b.params, &b.buffers}) {
      for (const auto& [name, t] : *group) {
        dict.insert(name, t.contiguous());
        ++s.tensors;
        s.bytes += static_cast<double>(t.numel() * t.element_size());
      }
    }
  }
  std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  write_file_atomic(out, std::string_view(bytes.data(), bytes.size()));
  return s;
}

}  // namespace dec::runtime
