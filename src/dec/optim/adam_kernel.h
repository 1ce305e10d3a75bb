// FusedAdam's inner loop, free of LibTorch so that it builds with its own
// flags (-O3 -fno-math-errno, no precompiled header: CMakeLists.txt).
#pragma once

#include <cstdint>

namespace dec::optim {

// Each in float as Adam's tensor operations round it: 1 - beta is computed in
// double first (1 - 0.999f is 1.3e-5 away from 0.001f).
struct AdamScalars {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, weight_decay, eps;
  float step_size;   // lr / (1 - beta1^t)
  float bias2_sqrt;  // sqrt(1 - beta2^t)
};

// For i in [0, n): g' = g + weight_decay p; m = beta1 m + one_minus_beta1 g';
// v = beta2 v + one_minus_beta2 g'^2; p -= step_size m / (sqrt(v) / bias2_sqrt + eps).
// The four arrays must not overlap.
void adam_pass(float* p, const float* g, float* m, float* v, int64_t n, AdamScalars s);

}  // namespace dec::optim
