// The split decision's inputs from DEC's own files: a block profile
// (`dec profile`) and a cluster spec (scenarios/*.yaml).
#pragma once

#include <array>
#include <string>

#include "dec/cluster/spec.h"
#include "dec/profile/profile.h"
#include "dec/serve/split.h"

namespace dec::serve {

// Block times of one request (one row: profile::task_s at 1 row) on tiers of
// these speeds, scaled as the planner scales a reference profile (times x
// profile speed / tier speed); boundary bytes: the input (fp32, without a
// label) at 0, each block's output after it. Throws ConfigError for a speed
// not > 0 or a profile without blocks.
SplitModel make_split_model(const profile::ModelProfile& p, const std::array<double, kTiers>& speeds);

// A device's chain in a cluster spec: the device, its edge and the cloud
// above it, their speeds and the two hops' rates and latencies.
struct TierChain {
  std::array<std::string, kTiers> nodes;
  std::array<double, kTiers> speeds{};
  Conditions links;  // bandwidths and latencies from the spec; queues 0
};

// Throws ConfigError naming the device unless it is a device node whose route
// to the root is device -> edge -> cloud. A node with its own profile in the
// spec is taken at its speed (its profile is not read here).
TierChain tier_chain(const cluster::ClusterSpec& spec, const std::string& device);

}  // namespace dec::serve
