// Test-set evaluation: mean cross-entropy and top-1 accuracy, in eval mode
// (BatchNorm uses running statistics) and without autograd.
#pragma once

#include <torch/torch.h>

#include "dec/data/dataset.h"

namespace dec::runtime {

struct Accuracy {
  double loss = 0;      // mean cross-entropy per sample
  double accuracy = 0;  // fraction correct, in [0, 1]
  int64_t samples = 0;
};

// Leaves `net` in eval mode; callers that go on training call net->train().
Accuracy evaluate(torch::nn::Sequential& net, const data::Dataset& test, int64_t batch = 1000);

}  // namespace dec::runtime
