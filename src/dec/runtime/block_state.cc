#include "dec/runtime/block_state.h"

#include "dec/core/error.h"

namespace dec::runtime {

namespace {

std::shared_ptr<torch::nn::Module> child(const torch::nn::Sequential& range,
                                         const std::string& block) {
  for (const auto& item : range->named_children()) {
    if (item.key() == block) return item.value();
  }
  DEC_ASSERT(false, "block '", block, "' is not in this range");
  return nullptr;
}

void copy_into(torch::Tensor& dst, const std::map<std::string, torch::Tensor>& src,
               const std::string& name, const std::string& where) {
  auto it = src.find(name);
  DEC_CHECK(it != src.end(), CorruptFile, "checkpoint does not fit the model", where,
            "no tensor for '", name, "'");
  DEC_CHECK(it->second.sizes() == dst.sizes(), CorruptFile, "checkpoint does not fit the model",
            where, "'", name, "' has shape ", it->second.sizes(), ", the model has ", dst.sizes());
  dst.copy_(it->second);
}

}  // namespace

std::vector<std::string> block_names(const torch::nn::Sequential& range) {
  std::vector<std::string> names;
  for (const auto& item : range->named_children()) names.push_back(item.key());
  return names;
}

optim::NamedParams block_parameters(const torch::nn::Sequential& range, const std::string& block) {
  optim::NamedParams out;
  for (const auto& p : child(range, block)->named_parameters(/*recurse=*/true)) {
    out.emplace_back(block + "." + p.key(), p.value());
  }
  return out;
}

optim::NamedParams named_parameters(const torch::nn::Sequential& range) {
  optim::NamedParams out;
  for (const auto& block : block_names(range)) {
    for (auto& p : block_parameters(range, block)) out.push_back(std::move(p));
  }
  return out;
}

BlockState capture_block(const torch::nn::Sequential& range, const std::string& block,
                         const torch::optim::Optimizer* opt, const optim::OptimizerConfig& config) {
  BlockState s;
  optim::NamedParams params = block_parameters(range, block);
  for (const auto& [name, t] : params) s.params[name] = t.detach().clone();
  for (const auto& b : child(range, block)->named_buffers(/*recurse=*/true)) {
    s.buffers[block + "." + b.key()] = b.value().detach().clone();
  }
  if (opt != nullptr) s.optim = optim::export_state(*opt, config, params);
  return s;
}

void restore_block(torch::nn::Sequential& range, const std::string& block, const BlockState& s,
                   torch::optim::Optimizer* opt, const optim::OptimizerConfig& config,
                   const std::string& where) {
  torch::NoGradGuard no_grad;
  optim::NamedParams params = block_parameters(range, block);
  for (auto& [name, t] : params) copy_into(t, s.params, name, where);
  DEC_CHECK(s.params.size() == params.size(), CorruptFile, "checkpoint does not fit the model",
            where, "block '", block, "' has ", s.params.size(), " parameters, the model ",
            params.size());
  size_t buffers = 0;
  for (auto& b : child(range, block)->named_buffers(/*recurse=*/true)) {
    torch::Tensor t = b.value();
    copy_into(t, s.buffers, block + "." + b.key(), where);
    ++buffers;
  }
  DEC_CHECK(s.buffers.size() == buffers, CorruptFile, "checkpoint does not fit the model", where,
            "block '", block, "' has ", s.buffers.size(), " buffers, the model ", buffers);
  if (opt != nullptr) optim::import_state(*opt, config, params, s.optim, where);
}

}  // namespace dec::runtime
