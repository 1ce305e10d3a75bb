#include "dec/runtime/task_costs.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <set>

#include "dec/core/error.h"

namespace dec::runtime {

Reference whole_model_reference(const profile::ModelProfile& p) {
  DEC_ASSERT(p.micro_batch > 0 && p.block_sum_s() > 0 && p.speed > 0, "profile without block times");
  // As profiler.cc times it: the loss at the end, no input gradient, one in
  // flight. Its cost as the planner counts it: the blocks' shares, summed.
  const StageShape whole{0, p.blocks.size(), p.micro_batch, true, false, 1};
  return {whole, p.block_sum_s() * p.speed * p.micro_batch};
}

TaskCosts TaskCosts::measure(const model::ModelSpec& spec, const std::vector<StageShape>& shapes,
                             const std::vector<size_t>& step_blocks,
                             const optim::OptimizerConfig& optimizer, uint64_t seed,
                             const Reference* reference) {
  // Its own generator: the job's random streams stay as they would be at full speed.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  // Two passes over the shapes, each shape's cost the cheaper of its two: a
  // burst of other work on the machine that slows one pass is left out
  // (docs/measurements.md, "Two passes over the task shapes").
  std::set<StageShape> unique;
  for (const StageShape& s : shapes)
    if (s.begin < s.end) unique.insert(s);
  if (reference) unique.insert(reference->shape);
  TaskCosts costs;
  for (int pass = 0; pass < 2; ++pass) {
    for (const StageShape& s : unique) {
      const StageCost c = profile::measure_stage_cost(spec, s, seed, gen);
      auto [it, fresh] = costs.stages_.emplace(s, c);
      if (!fresh && c.forward_s + c.backward_s < it->second.forward_s + it->second.backward_s) it->second = c;
    }
  }
  const double step0 = profile::measure_step_cost(spec, step_blocks, optimizer, seed, gen);
  costs.step_s_ = std::min(step0, profile::measure_step_cost(spec, step_blocks, optimizer, seed, gen));
  if (reference) {
    const StageCost& r = costs.stages_.at(reference->shape);
    costs.scale_ = reference->full_speed_s / (r.forward_s + r.backward_s);
    for (auto& [shape, c] : costs.stages_) {
      c.forward_s *= costs.scale_;
      c.backward_s *= costs.scale_;
    }
    costs.step_s_ *= costs.scale_;
  }
  return costs;
}

const StageCost& TaskCosts::stage(const StageShape& shape) const {
  auto it = stages_.find(shape);
  DEC_ASSERT(it != stages_.end(), "no cost measured for blocks [", shape.begin, ", ", shape.end,
             ") on ", shape.rows, " samples");
  return it->second;
}

}  // namespace dec::runtime
