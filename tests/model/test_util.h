// Helpers shared by the model tests.
#pragma once

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "dec/model/model.h"

namespace dec::model::testing {

// A batch of `n` samples of the spec's input shape from a private generator,
// so the tests never depend on torch's global random stream.
inline torch::Tensor random_input(const ModelSpec& spec, int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> sizes{n};
  sizes.insert(sizes.end(), spec.input_shape().begin(), spec.input_shape().end());
  return torch::randn(sizes, gen);
}

inline torch::Tensor random_labels(const ModelSpec& spec, int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed ^ 0x5eed);
  return torch::randint(0, spec.num_classes(), {n}, gen);
}

// name -> tensor of every parameter (or buffer) of a module.
inline std::map<std::string, torch::Tensor> named(const torch::nn::Module& m, bool buffers) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : buffers ? m.named_buffers() : m.named_parameters()) {
    out.emplace(p.key(), p.value());
  }
  return out;
}

}  // namespace dec::model::testing
