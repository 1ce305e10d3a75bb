// Random small planning instances for the exhaustive comparison: a cloud,
// 1-2 edges, 1-3 devices (each a data source), chains of 3-8 blocks, random
// speeds, bandwidths, latencies, memories and a global batch of at most 16.
#pragma once

#include <cstdint>

#include "dec/cluster/spec.h"
#include "dec/planner/instance.h"
#include "dec/profile/profile.h"

namespace dec::planner::testing {

struct RandomCase {
  cluster::ClusterSpec spec;
  profile::ModelProfile profile;
  Instance instance;
};

// Deterministic in `seed`. Sizes are drawn so that exhaustive enumeration of
// the instance stays below `max_combinations` (exhaustive.h counts them).
RandomCase random_case(uint64_t seed, double max_combinations = 2e5);

// Instances with symmetric devices, for the planner's symmetry handling:
// 2-4 identical devices (same speed, memory, link, samples) under one edge or
// under identical edges, sometimes beside one device of another kind; chains
// of 3-5 blocks. Deterministic in `seed`, within `max_combinations`.
RandomCase symmetric_case(uint64_t seed, double max_combinations = 2e5);

}  // namespace dec::planner::testing
