// The block profiler: measures, on this machine, what the planner needs per
// block (docs/profile.md, the planner's inputs): forward and backward seconds per
// sample at a micro-batch size, the optimizer step's seconds per iteration,
// activation bytes, parameter and optimizer bytes.
//
// Each block is timed alone, on inputs of its real shape, the way the runtime
// times an emulated node's tasks (stage_cost.h: thread CPU time, warm-up, the
// median of the repeats, reported with its spread). The same run times the
// whole model's forward+backward with the loss as one task, so the per-block
// sum can be checked against it (ModelProfile::block_sum_ratio; close to 1 when
// blocks compose additively).
#pragma once

#include <string>

#include "dec/model/model.h"
#include "dec/profile/profile.h"

namespace dec::profile {

struct ProfileOptions {
  int micro_batch = 32;          // samples per timed forward/backward
  int warmup = 2;                // untimed repeats first (and 0.05 s of them)
  int repeats = 7;               // timed repeats at least; the median is reported
  double min_seconds = 0.5;      // and repeats until the timed ones add up to this (at most max(200, repeats))
  std::string optimizer = "sgd"; // sizes optim_bytes: sgd (momentum) 1x params, adam 2x
  std::string node;              // recorded in the profile
  uint64_t seed = 0;
  // Emulated speed in (0, 1]: times are measured at full speed and divided by
  // it, which is what an emulated node of this speed takes (compute_pacer.h).
  double speed = 1;
};

// Throws ConfigError for bad options. Uses torch's current thread settings
// (recorded in the profile). The profile's times include options.speed.
ModelProfile measure(const model::ModelSpec& spec, const ProfileOptions& options);

}  // namespace dec::profile
