#include "dec/serve/torchscript.h"

#include <fstream>

#include "dec/core/error.h"

namespace dec::serve {

ScriptChain load_torchscript(const std::string& path) {
  DEC_CHECK(std::ifstream(path).good(), IoError, "cannot read the TorchScript file", path,
            "it does not exist or is not readable");
  torch::jit::Module m;
  try {
    m = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {
    DEC_CHECK(false, CorruptFile, "cannot load the TorchScript file", path, e.what_without_backtrace());
  } catch (const std::exception& e) {
    DEC_CHECK(false, CorruptFile, "cannot load the TorchScript file", path, e.what());
  }
  m.eval();
  // Served without autograd: the interpreter then builds no differentiable
  // graphs, which refuse the inference-mode tensors the server passes.
  for (auto p : m.parameters()) p.set_requires_grad(false);
  ScriptChain chain;
  // "__torch__.torch.nn.modules.container.Sequential", with a
  // "___torch_mangle_N." before the last part when a file holds several.
  const auto type = m.type()->name();
  const std::string q = type ? type->qualifiedName() : "";
  const std::string suffix = ".Sequential";
  chain.sequential = q.rfind("__torch__.torch.nn.modules.container.", 0) == 0 && q.size() > suffix.size() &&
                     q.compare(q.size() - suffix.size(), suffix.size(), suffix) == 0;
  if (chain.sequential) {
    for (const auto& child : m.named_children()) {
      chain.names.push_back(child.name);
      chain.blocks.push_back(child.value);
    }
  }
  if (chain.blocks.empty()) {  // not a Sequential, or an empty one (served whole: the identity)
    chain.sequential = false;
    chain.names = {"model"};
    chain.blocks = {m};
  }
  return chain;
}

}  // namespace dec::serve
