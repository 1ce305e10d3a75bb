// What an emulated node's compute tasks cost at full speed: what its profile
// says (docs/runtime.md, "Emulation"). A task of blocks [begin, end) on `rows`
// samples costs the blocks' times at those rows, as the planner counts them
// (profile::task_s), and the optimizer step the held blocks' opt_s. An emulated
// node of speed s makes each task take its cost / s (ComputePacer).
//
// An emulated node is defined by its profile. Costs measured in the job
// instead (they were, until this was written) carry the luck of the rank's
// process: the same task, relative to the same reference, measured 0.94-1.28
// times between runs of one plan, and a node at speed 0.01 multiplies that by
// 100 (docs/measurements.md, "Emulation: costs from the profile"). What this
// leaves out is what a stage's context costs beyond its blocks' sum on this
// machine (blocks composed into one task, micro-batches in flight); on the
// one-core reference it is within the run-to-run spread of a measurement.
#pragma once

#include <cstddef>
#include <vector>

#include "dec/profile/profile.h"
#include "dec/profile/stage_cost.h"

namespace dec::runtime {

using profile::StageCost;
using profile::StageShape;

class TaskCosts {
 public:
  TaskCosts() = default;
  // REQUIRES: `p` has block times (block_sum_s() > 0); the model is the job's.
  explicit TaskCosts(profile::ModelProfile p);

  // Forward and backward of blocks [s.begin, s.end) on s.rows samples, full
  // speed (the profile's times times its speed). The other fields of the
  // shape do not change what the profile says.
  StageCost stage(const StageShape& s) const;
  // The optimizer's step over blocks `held`, full speed.
  double step_s(const std::vector<size_t>& held) const;

 private:
  profile::ModelProfile p_;
};

}  // namespace dec::runtime
