// Optimizers as PyTorch users know them (torch.optim.SGD with momentum, Adam),
// plus a by-name view of their state so it can be checkpointed per block.
// Adam is FusedAdam (fused_adam.h): Adam's algorithm and state, one pass.
//
// LibTorch keys optimizer state by TensorImpl address, which does not survive a
// process; export_state/import_state re-key it by parameter name.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dec::optim {

struct OptimizerConfig {
  std::string kind = "sgd";    // "sgd" (with momentum) or "adam"
  double lr = 0.01;            // learning rate
  double momentum = 0.9;       // SGD only
  double weight_decay = 0;     // both, as torch.optim (L2 added to the gradient)
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam only

  // Bytes of optimizer state per parameter byte (SGD momentum 1, Adam 2).
  double state_factor() const;
  std::string to_string() const;  // "sgd(lr=0.01, momentum=0.9)": recorded in checkpoints
};

// Throws ConfigError naming `where` for unknown kinds or invalid values.
void validate(const OptimizerConfig& c, const std::string& where);

using NamedParams = std::vector<std::pair<std::string, torch::Tensor>>;

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const NamedParams& params,
                                                        const OptimizerConfig& config);

// State of each named parameter, as "<param>/<field>" -> tensor ("step" is a
// 0-d int64 tensor). Parameters with no state yet (before the first step) are
// absent. Returned tensors are copies.
std::map<std::string, torch::Tensor> export_state(const torch::optim::Optimizer& opt,
                                                  const OptimizerConfig& config,
                                                  const NamedParams& params);

// Inverse of export_state. Throws CorruptFile naming `where` when a tensor's
// shape does not match its parameter or a field is missing.
void import_state(torch::optim::Optimizer& opt, const OptimizerConfig& config,
                  const NamedParams& params, const std::map<std::string, torch::Tensor>& state,
                  const std::string& where);

}  // namespace dec::optim
