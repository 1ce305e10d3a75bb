#include "dec/runtime/task_costs.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

#include "dec/core/error.h"
#include "dec/core/stats.h"
#include "dec/profile/compute_pacer.h"
#include "dec/runtime/block_state.h"

namespace dec::runtime {

namespace {

// Untimed runs first, then timed ones until there are kMinRepeats and they add
// up to kMinSeconds (small tasks are the noisy ones), but no more than kMaxRepeats.
constexpr int kWarmup = 2;
constexpr int kMinRepeats = 7;
constexpr int kMaxRepeats = 50;
constexpr double kMinSeconds = 0.2;

// Whether `times` (timed repeats so far) are enough.
bool enough(const std::vector<double>& times) {
  double sum = 0;
  for (double t : times) sum += t;
  return times.size() >= kMaxRepeats || (times.size() >= kMinRepeats && sum >= kMinSeconds);
}


// CPU seconds of this thread that `f` takes.
template <typename F>
double cpu_of(F&& f) {
  const double t0 = profile::thread_cpu_seconds();
  f();
  return profile::thread_cpu_seconds() - t0;
}

std::vector<int64_t> input_shape(const model::ModelSpec& spec, size_t begin, int64_t rows) {
  std::vector<int64_t> shape{rows};
  const model::Shape& s = begin == 0 ? spec.input_shape() : spec.block(begin - 1).out_shape;
  shape.insert(shape.end(), s.begin(), s.end());
  return shape;
}

// The job's forward and backward of one stage task, as the worker runs them.
StageCost measure_stage(const model::ModelSpec& spec, const StageShape& s, uint64_t seed,
                        at::Generator& gen) {
  torch::nn::Sequential blocks = spec.build(s.begin, s.end, seed);
  blocks->train();
  std::vector<double> fwd, bwd, both;
  for (int r = 0; !enough(both); ++r) {
    torch::Tensor x = at::randn(input_shape(spec, s.begin, s.rows), gen);
    if (s.input_grad) x.requires_grad_(true);
    torch::Tensor labels = at::randint(spec.num_classes(), {s.rows}, gen, torch::kLong);
    torch::Tensor out;
    const double f = cpu_of([&] {
      out = blocks->forward(x);
      if (s.loss) {
        out = torch::nn::functional::cross_entropy(
            out, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        out.item<double>();
      }
    });
    torch::Tensor g = s.loss ? torch::Tensor() : at::randn(out.sizes(), gen);
    const double b = cpu_of([&] { s.loss ? out.backward() : out.backward(g); });
    blocks->zero_grad(/*set_to_none=*/true);
    if (r < kWarmup) continue;
    fwd.push_back(f);
    bwd.push_back(b);
    both.push_back(f + b);
  }
  return {median(fwd), median(bwd)};
}

double measure_step(const model::ModelSpec& spec, const std::vector<size_t>& held,
                    const optim::OptimizerConfig& config, uint64_t seed, at::Generator& gen) {
  std::vector<torch::nn::Sequential> blocks;
  optim::NamedParams params;
  for (size_t l : held) {
    blocks.push_back(spec.build(l, l + 1, seed));
    for (auto& p : named_parameters(blocks.back())) params.push_back(std::move(p));
  }
  if (params.empty()) return 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer = optim::make_optimizer(params, config);
  std::vector<double> step;
  for (int r = 0; !enough(step); ++r) {
    for (auto& [name, p] : params) p.mutable_grad() = 1e-3 * at::randn(p.sizes(), gen);
    const double t = cpu_of([&] { optimizer->step(); });
    if (r >= kWarmup) step.push_back(t);
  }
  return median(step);
}

}  // namespace

TaskCosts TaskCosts::measure(const model::ModelSpec& spec, const std::vector<StageShape>& shapes,
                             const std::vector<size_t>& step_blocks,
                             const optim::OptimizerConfig& optimizer, uint64_t seed) {
  // Its own generator: the job's random streams stay as they would be at full speed.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  TaskCosts costs;
  for (const StageShape& s : shapes) {
    if (s.begin < s.end && !costs.stages_.count(s)) costs.stages_[s] = measure_stage(spec, s, seed, gen);
  }
  costs.step_s_ = measure_step(spec, step_blocks, optimizer, seed, gen);
  return costs;
}

const StageCost& TaskCosts::stage(const StageShape& shape) const {
  auto it = stages_.find(shape);
  DEC_ASSERT(it != stages_.end(), "no cost measured for blocks [", shape.begin, ", ", shape.end,
             ") on ", shape.rows, " samples");
  return it->second;
}

}  // namespace dec::runtime
