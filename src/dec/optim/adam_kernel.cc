#include "dec/optim/adam_kernel.h"

#include <cmath>

namespace dec::optim {

// Cloned for AVX2+FMA so that one binary vectorises 8 floats wide where the
// CPU allows and stays portable where it does not.
__attribute__((target_clones("arch=haswell", "default"))) void adam_pass(
    float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
    int64_t n, AdamScalars s) {
  for (int64_t i = 0; i < n; ++i) {
    const float grad = g[i] + s.weight_decay * p[i];
    const float mi = s.beta1 * m[i] + s.one_minus_beta1 * grad;
    const float vi = s.beta2 * v[i] + s.one_minus_beta2 * grad * grad;
    m[i] = mi;
    v[i] = vi;
    p[i] -= s.step_size * (mi / (std::sqrt(vi) / s.bias2_sqrt + s.eps));
  }
}

}  // namespace dec::optim
