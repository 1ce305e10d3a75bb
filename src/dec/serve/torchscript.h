// Models saved by Python's torch.jit.save, served as a block chain
// (docs/inference.md, "TorchScript models").
//
// A script module whose type is torch.nn.Sequential (what torch.jit.script of
// an nn.Sequential gives) becomes its children in order, each a block named as
// the child is ("0", "1", ... or an OrderedDict's keys): the Sequential's
// forward is exactly their composition. Any other module is served whole, one
// block named "model", whatever its inner structure.
//
// Thread safety: the returned modules are in eval mode; calling forward on
// them from several threads at once is what LibTorch's interpreter allows.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

namespace dec::serve {

struct ScriptChain {
  std::vector<std::string> names;
  std::vector<torch::jit::Module> blocks;
  bool sequential = false;  // false: one block, the whole module
};

// Loads `path` on the CPU. Throws IoError when the file cannot be read and
// CorruptFile naming it when LibTorch refuses it.
ScriptChain load_torchscript(const std::string& path);

}  // namespace dec::serve
