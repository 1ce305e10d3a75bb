// What a stage task costs on this machine: the one way DEC measures compute.
//
// The profiler times blocks with it (inside the whole model, at the profile's
// micro-batch and fewer rows); an emulated node then takes what the profile
// says (runtime/task_costs.h). bench/profile/stage_costs times whole stage
// tasks with it against the profile: what blocks composed into a stage cost
// beyond their sum on this machine.
//
// A measurement is the calling thread's CPU seconds of a forward and of a
// backward, each run back to back on a warm core: untimed runs first, then the
// median of timed ones. CPU rather than elapsed time, so that a cost measured
// while processes share cores is not inflated by time spent descheduled.
// Blocks are fresh copies (spec.build with `seed`); inputs, gradients and
// labels are drawn from `gen`, so the caller's random streams stay untouched.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "dec/model/model.h"
#include "dec/optim/optimizer.h"

namespace dec::profile {

// One kind of stage task: blocks [begin, end) on `rows` samples.
struct StageShape {
  size_t begin = 0;
  size_t end = 0;
  int64_t rows = 0;
  bool loss = false;        // the path's last stage: the forward ends in the loss
  bool input_grad = false;  // an earlier stage computes: the backward produces the input's gradient
  // Micro-batches whose forwards run before the first of their backwards, as
  // the runtime orders them: a path's micro-batches under GPipe, 1 where the
  // backward follows its forward at once (runtime/worker.cc, early backward).
  // With more in flight a backward finds its saved activations evicted.
  int in_flight = 1;
  bool operator<(const StageShape& o) const {
    return std::tie(begin, end, rows, loss, input_grad, in_flight) <
           std::tie(o.begin, o.end, o.rows, o.loss, o.input_grad, o.in_flight);
  }
};

// Medians, and spreads = (max - min) / median of the timed runs.
struct StageCost {
  double forward_s = 0;
  double backward_s = 0;
  double forward_spread = 0;
  double backward_spread = 0;
};

// How many runs (of a task, or of `in_flight` tasks): untimed ones until
// there are `warmup` tasks and they add up to `warmup_seconds` (the first runs
// of a fresh process page in its heap), then timed ones until there are at
// least `min_repeats` tasks and they add up to `min_seconds` (small tasks are
// the noisy ones: a longer window averages out the machine's bursts), but no
// more than max(max_repeats, min_repeats) tasks of either kind.
struct MeasurePolicy {
  int warmup = 2;
  double warmup_seconds = 0.05;
  int min_repeats = 7;
  double min_seconds = 0.5;
  int max_repeats = 200;
};

// The job's forward (with the loss, summed, when shape.loss) and backward of one stage task.
// REQUIRES: shape.begin < shape.end <= spec.num_blocks(), shape.rows > 0.
StageCost measure_stage_cost(const model::ModelSpec& spec, const StageShape& shape, uint64_t seed,
                             at::Generator& gen, const MeasurePolicy& policy = {});

// Each block's share of one stage task: the task runs as measure_stage_cost
// runs it, and the clock is read between blocks (forward) and as each block's
// output gradient is ready (backward: hooks; one thread runs a chain's
// backward block after block). Blocks timed inside the chain pay what they pay
// there (inputs and saved activations evicted by their neighbours), which
// blocks timed alone do not: mobilenetv2's 20 blocks, 8 samples, summed 0.91
// of the whole model as one task when timed alone. The loss counts to the last
// block. Returns one cost per block of [shape.begin, shape.end).
std::vector<StageCost> measure_chain_costs(const model::ModelSpec& spec, const StageShape& shape,
                                           uint64_t seed, at::Generator& gen,
                                           const MeasurePolicy& policy = {});

// The optimizer's step over blocks `held` (fresh copies, random gradients);
// 0 when they have no parameters.
double measure_step_cost(const model::ModelSpec& spec, const std::vector<size_t>& held,
                         const optim::OptimizerConfig& optimizer, uint64_t seed, at::Generator& gen,
                         const MeasurePolicy& policy = {});

}  // namespace dec::profile
