#include "dec/planner/synthetic.h"

#include <cmath>
#include <random>

#include "dec/core/error.h"

namespace dec::planner {

profile::ModelProfile synthetic_profile(const SyntheticChain& c) {
  DEC_ASSERT(c.blocks >= 1, "blocks ", c.blocks);
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<double> jitter(0.6, 1.4);
  profile::ModelProfile p;
  p.model = str("synthetic-", c.blocks, "-", c.seed);
  p.model_hash = str("synthetic:", c.blocks, ":", c.seed);
  p.input_shape = {3, 96, 96};
  p.num_classes = 10;
  p.input_bytes = c.input_bytes;
  p.micro_batch = 8;
  p.threads = 1;
  p.repeats = 1;
  p.optimizer = "adam";
  const int L = c.blocks;
  std::vector<double> time_w(L), param_w(L);
  double time_sum = 0, param_sum = 0;
  for (int l = 0; l < L; ++l) {
    const double x = (l + 0.5) / L;  // position along the chain
    // Early blocks are cheap (a stem at full resolution but few channels),
    // later ones heavier; parameters concentrate late (the classifier).
    time_w[l] = jitter(rng) * (0.3 + x);
    param_w[l] = jitter(rng) * std::pow(10.0, 3 * x);
    time_sum += time_w[l];
    param_sum += param_w[l];
  }
  for (int l = 0; l < L; ++l) {
    const double x = (l + 1.0) / L;
    profile::BlockProfile b;
    b.name = str("b", l);
    const double t = c.seconds_per_sample * time_w[l] / time_sum;
    b.fwd_s = t / 3;
    b.bwd_s = 2 * t / 3;
    // Early downsampling: activations shrink geometrically from about half the
    // input to a few hundred bytes, with jitter, so some cut points are clearly better.
    b.out_bytes = std::max(64.0, 0.6 * c.input_bytes * std::pow(0.002, x) * jitter(rng));
    b.saved_bytes = 2 * b.out_bytes;
    b.param_bytes = c.param_bytes * param_w[l] / param_sum;
    b.optim_bytes = c.optimizer_factor * b.param_bytes;
    b.flops = t * 1e10;
    p.blocks.push_back(b);
  }
  p.whole_s = c.seconds_per_sample;
  p.block_sum_ratio = 1;
  return p;
}

}  // namespace dec::planner
