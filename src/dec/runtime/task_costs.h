// What an emulated node's compute tasks cost at full speed (docs/runtime.md,
// "Emulation"): the thread CPU seconds each task takes on a warm core of this
// machine, measured once, before training, on fresh copies of the node's blocks.
//
// An emulated node of speed s then makes each task take its cost / s
// (ComputePacer). Pacing by the CPU time the task spent in the job instead
// would multiply an artefact of emulation by 1 / s: compute that follows a
// pause needs more CPU than the same compute run back to back
// (bench/runtime/pause_cost; docs/measurements.md, "Runtime"), and a node at
// speed 0.01 sleeps about 0.3 s between such tasks. A real device that slow
// never pauses, so it pays none of this; nor does it multiply this machine's
// noise by 100.
//
// Measuring on copies leaves the job's parameters, buffers (batch-norm
// statistics) and random streams untouched.
//
// The machine's speed drifts by several percent over minutes (docs/measurements.md,
// "Runtime"). Given the profile the plan was made from, the rank also measures
// the profile's own whole-model task and scales every cost by the profile's
// time for it over the measured one: the node then takes for the whole model
// what its profile says, and only what differs between tasks (rows, stage
// boundaries, micro-batches in flight) is left to the measurement.
#pragma once

#include <map>
#include <vector>

#include "dec/model/model.h"
#include "dec/optim/optimizer.h"
#include "dec/profile/profile.h"
#include "dec/profile/stage_cost.h"

namespace dec::runtime {

// The shapes and costs of stage tasks, measured as the profiler measures blocks.
using profile::StageCost;
using profile::StageShape;

// One task shape and what a profile says it costs at full speed.
struct Reference {
  StageShape shape;
  double full_speed_s = 0;  // forward + backward
};

// The profile's whole-model task at its micro-batch, costed as the planner
// costs it (its blocks' times summed; ModelProfile::whole_s, the same task
// timed whole, differs by block_sum_ratio: 0.95-1.0), at full speed whatever
// speed the profile includes.
// REQUIRES: p.micro_batch > 0, p.block_sum_s() > 0, p.blocks.size() == spec's blocks.
Reference whole_model_reference(const profile::ModelProfile& p);

class TaskCosts {
 public:
  TaskCosts() = default;
  // Measures each shape and the optimizer step over `step_blocks` (none: no
  // step) with profile/stage_cost.h's default policy, twice: each cost is the
  // cheaper of its two measurements (task_costs.cc says why). With a
  // reference, measured alongside, every cost is scaled by
  // reference.full_speed_s over its measured cost.
  static TaskCosts measure(const model::ModelSpec& spec, const std::vector<StageShape>& shapes,
                           const std::vector<size_t>& step_blocks,
                           const optim::OptimizerConfig& optimizer, uint64_t seed,
                           const Reference* reference = nullptr);

  // REQUIRES: `shape` was measured.
  const StageCost& stage(const StageShape& shape) const;
  double step_s() const { return step_s_; }
  const std::map<StageShape, StageCost>& stages() const { return stages_; }
  // What the costs were multiplied by: the reference's profile time over its
  // measured time (1 without a reference).
  double scale() const { return scale_; }

 private:
  std::map<StageShape, StageCost> stages_;
  double step_s_ = 0;
  double scale_ = 1;
};

}  // namespace dec::runtime
