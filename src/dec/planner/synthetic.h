// Synthetic block profiles for benchmarks and tests: chains shaped like image
// CNNs (large early activations that shrink, parameters that grow toward the
// classifier), with seeded random variation. They stand in for `dec profile`
// output where the planner is studied alone; never used to plan a real model.
#pragma once

#include <cstdint>

#include "dec/profile/profile.h"

namespace dec::planner {

struct SyntheticChain {
  int blocks = 50;
  uint64_t seed = 1;
  double input_bytes = 3 * 96 * 96 * 4 + 8;  // a 3x96x96 float image and its label
  double seconds_per_sample = 0.05;          // fwd+bwd of the whole chain at speed 1
  double param_bytes = 40e6;                 // whole chain
  double optimizer_factor = 2;               // Adam
};

profile::ModelProfile synthetic_profile(const SyntheticChain& c);

}  // namespace dec::planner
