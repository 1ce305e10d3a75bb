#include "dec/runtime/task_costs.h"

#include <ATen/CPUGeneratorImpl.h>

#include "dec/core/error.h"

namespace dec::runtime {

TaskCosts TaskCosts::measure(const model::ModelSpec& spec, const std::vector<StageShape>& shapes,
                             const std::vector<size_t>& step_blocks,
                             const optim::OptimizerConfig& optimizer, uint64_t seed) {
  // Its own generator: the job's random streams stay as they would be at full speed.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  TaskCosts costs;
  for (const StageShape& s : shapes) {
    if (s.begin < s.end && !costs.stages_.count(s))
      costs.stages_[s] = profile::measure_stage_cost(spec, s, seed, gen);
  }
  costs.step_s_ = profile::measure_step_cost(spec, step_blocks, optimizer, seed, gen);
  return costs;
}

const StageCost& TaskCosts::stage(const StageShape& shape) const {
  auto it = stages_.find(shape);
  DEC_ASSERT(it != stages_.end(), "no cost measured for blocks [", shape.begin, ", ", shape.end,
             ") on ", shape.rows, " samples");
  return it->second;
}

}  // namespace dec::runtime
