// Moving one block's tensors between live modules and checkpoint BlockStates.
//
// `range` is a torch::nn::Sequential built by model::ModelSpec::build(): its
// children are named by block, so a parameter's full name is
// "<block>.<name inside the block>" — the name used in shards and exports.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "dec/optim/optimizer.h"
#include "dec/runtime/checkpoint.h"

namespace dec::runtime {

// Full names and tensors of every parameter of `range`, in module order.
optim::NamedParams named_parameters(const torch::nn::Sequential& range);
// Same, restricted to one block.
optim::NamedParams block_parameters(const torch::nn::Sequential& range, const std::string& block);
// Block names of `range`, in order.
std::vector<std::string> block_names(const torch::nn::Sequential& range);

// Copies block's parameters, buffers and (if opt) optimizer state.
BlockState capture_block(const torch::nn::Sequential& range, const std::string& block,
                         const torch::optim::Optimizer* opt, const optim::OptimizerConfig& config);

// Loads `state` into the block in place (under NoGradGuard). Throws CorruptFile
// naming `where` when a tensor is missing, extra, or has the wrong shape.
void restore_block(torch::nn::Sequential& range, const std::string& block, const BlockState& state,
                   torch::optim::Optimizer* opt, const optim::OptimizerConfig& config,
                   const std::string& where);

}  // namespace dec::runtime
