// Synthetic block profiles for benchmarks and tests: chains shaped like image
// CNNs (large early activations that shrink, parameters that grow toward the
// classifier), with seeded random variation. They stand in for `dec profile`
// output where the planner is studied alone; never used to plan a real model.
#pragma once

#include <cstdint>

#include "dec/cluster/spec.h"
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

// W1's model, fmnist-cnn at 1x28x28 (4 blocks), as `dec profile --model
// fmnist-cnn --micro-batch 16 --optimizer adam --threads 1` measured it on the
// reference machine, by_rows included: fleet-scale planning studied without a
// profile file.
profile::ModelProfile w1_profile();

// A fleet: one cloud, `edges` edges under it and `devices` devices spread
// over the edges in turn, each device a data source. Speeds, memories, links
// and shares are drawn from a seeded RNG within the ranges below (uplinks
// log-uniform); shares are normalised to sum to 1.
struct SyntheticFleet {
  int devices = 1000;
  int edges = 20;
  uint64_t seed = 1;
  int64_t samples_per_device = 16;  // the global batch is devices x this
  int micro_batches = 4;
  double device_speed_min = 0.005, device_speed_max = 0.05;
  double uplink_mbps_min = 0.5, uplink_mbps_max = 20;
  double edge_speed_min = 0.05, edge_speed_max = 0.2;
  double edge_uplink_mbps_min = 100, edge_uplink_mbps_max = 1000;
  double share_min = 0.5, share_max = 1.5;  // before normalising
};

cluster::ClusterSpec synthetic_fleet(const SyntheticFleet& f);

}  // namespace dec::planner
