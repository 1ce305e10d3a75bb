#include "dec/profile/stage_cost.h"

#include <torch/torch.h>

#include <algorithm>

#include "dec/core/error.h"
#include "dec/core/stats.h"
#include "dec/profile/compute_pacer.h"

namespace dec::profile {

namespace {

// Counts runs under a policy: which are warm-up, and when there are enough.
class Runs {
 public:
  explicit Runs(const MeasurePolicy& p)
      : p_(p), at_most_(static_cast<size_t>(std::max(p.max_repeats, p.min_repeats))) {}
  // Records a run of `tasks` tasks taking `seconds` in all; true when it is
  // timed (past the warm-up). The policy's counts are of tasks.
  bool add(double seconds, size_t tasks = 1) {
    if (warm_ < at_most_ && (warm_ < static_cast<size_t>(p_.warmup) || warm_s_ < p_.warmup_seconds)) {
      warm_ += tasks;
      warm_s_ += seconds;
      return false;
    }
    timed_ += tasks;
    timed_s_ += seconds;
    return true;
  }
  bool enough() const {
    return timed_ >= at_most_ || (timed_ >= static_cast<size_t>(p_.min_repeats) && timed_s_ >= p_.min_seconds);
  }

 private:
  MeasurePolicy p_;
  size_t at_most_;
  size_t warm_ = 0, timed_ = 0;
  double warm_s_ = 0, timed_s_ = 0;
};

// CPU seconds of this thread that `f` takes.
template <typename F>
double cpu_of(F&& f) {
  const double t0 = thread_cpu_seconds();
  f();
  return thread_cpu_seconds() - t0;
}

double spread(const std::vector<double>& v, double mid) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return mid > 0 ? (*hi - *lo) / mid : 0;
}

std::vector<int64_t> input_shape(const model::ModelSpec& spec, size_t begin, int64_t rows) {
  std::vector<int64_t> shape{rows};
  const model::Shape& s = begin == 0 ? spec.input_shape() : spec.block(begin - 1).out_shape;
  shape.insert(shape.end(), s.begin(), s.end());
  return shape;
}

// A fresh copy of the stage's blocks (spec.build leaves them in train mode).
torch::nn::Sequential build_stage(const model::ModelSpec& spec, const StageShape& s, uint64_t seed) {
  DEC_ASSERT(s.begin < s.end && s.end <= spec.num_blocks() && s.rows > 0, "stage [", s.begin, ", ",
             s.end, ") on ", s.rows, " rows");
  return spec.build(s.begin, s.end, seed);
}

// The last stage's loss over its rows, read back to the host as the runtime reads it.
torch::Tensor summed_loss(const torch::Tensor& out, const torch::Tensor& labels) {
  torch::Tensor loss = torch::nn::functional::cross_entropy(
      out, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  loss.item<double>();
  return loss;
}

// The gradient the next stage sends for `out`: undefined for the last stage
// (its loss is a scalar), random otherwise.
torch::Tensor next_gradient(const StageShape& s, const torch::Tensor& out, at::Generator& gen) {
  return s.loss ? torch::Tensor() : at::randn(out.sizes(), gen);
}

// The backward from `g`. A gradient arrives from the next stage in the
// default layout; the runtime brings it into the output's, and so do we
// (worker.cc backward). Blocks without parameters at the model's start have
// no backward.
void backward_from(torch::Tensor& out, const torch::Tensor& g) {
  if (!out.requires_grad()) return;
  g.defined() ? out.backward(g.contiguous(out.suggest_memory_format())) : out.backward();
}

StageCost summary(const std::vector<double>& fwd, const std::vector<double>& bwd) {
  StageCost c;
  c.forward_s = median(fwd);
  c.backward_s = median(bwd);
  c.forward_spread = spread(fwd, c.forward_s);
  c.backward_spread = spread(bwd, c.backward_s);
  return c;
}

}  // namespace

StageCost measure_stage_cost(const model::ModelSpec& spec, const StageShape& s, uint64_t seed,
                             at::Generator& gen, const MeasurePolicy& policy) {
  torch::nn::Sequential blocks = build_stage(spec, s, seed);
  std::vector<double> fwd, bwd;
  const size_t k = static_cast<size_t>(std::max(1, s.in_flight));
  for (Runs runs(policy); !runs.enough();) {
    std::vector<torch::Tensor> outs(k);
    std::vector<double> f(k), b(k);
    for (size_t i = 0; i < k; ++i) {
      torch::Tensor x = at::randn(input_shape(spec, s.begin, s.rows), gen);
      if (s.input_grad) x.requires_grad_(true);
      torch::Tensor labels = at::randint(spec.num_classes(), {s.rows}, gen, torch::kLong);
      f[i] = cpu_of([&] {
        outs[i] = blocks->forward(x);
        if (s.loss) outs[i] = summed_loss(outs[i], labels);
      });
    }
    double total = 0;
    for (size_t i = 0; i < k; ++i) {
      const torch::Tensor g = next_gradient(s, outs[i], gen);
      b[i] = cpu_of([&] { backward_from(outs[i], g); });
      outs[i] = torch::Tensor();
      total += f[i] + b[i];
    }
    blocks->zero_grad(/*set_to_none=*/true);
    if (!runs.add(total, k)) continue;
    fwd.insert(fwd.end(), f.begin(), f.end());
    bwd.insert(bwd.end(), b.begin(), b.end());
  }
  return summary(fwd, bwd);
}

std::vector<StageCost> measure_chain_costs(const model::ModelSpec& spec, const StageShape& s,
                                           uint64_t seed, at::Generator& gen, const MeasurePolicy& policy) {
  torch::nn::Sequential blocks = build_stage(spec, s, seed);
  const size_t n = s.end - s.begin;
  std::vector<std::vector<double>> fwd(n), bwd(n);
  for (Runs runs(policy); !runs.enough();) {
    torch::Tensor x = at::randn(input_shape(spec, s.begin, s.rows), gen);
    if (s.input_grad) x.requires_grad_(true);
    torch::Tensor labels = at::randint(spec.num_classes(), {s.rows}, gen, torch::kLong);
    // ready[i]: the CPU clock when block i's output gradient was complete,
    // i.e. when block i's backward starts.
    std::vector<double> f(n), ready(n, 0);
    std::vector<char> hooked(n, 0);  // block i's output needs a gradient
    torch::Tensor out = x;
    size_t i = 0;
    for (auto& block : *blocks) {
      const double t0 = thread_cpu_seconds();
      out = block.forward(out);
      if (i + 1 == n && s.loss) out = summed_loss(out, labels);
      f[i] = thread_cpu_seconds() - t0;
      if (i + 1 < n && out.requires_grad()) {
        out.register_hook([&ready, i](const torch::Tensor&) { ready[i] = thread_cpu_seconds(); });
        hooked[i] = 1;
      }
      ++i;
    }
    const torch::Tensor g = next_gradient(s, out, gen);
    const double start = thread_cpu_seconds();
    backward_from(out, g);
    const double end = thread_cpu_seconds();
    blocks->zero_grad(/*set_to_none=*/true);
    double total = end - start;
    for (double t : f) total += t;
    if (!runs.add(total)) continue;
    for (size_t b = 0; b < n; ++b) {
      // The last block starts the backward; it ends in the first block whose
      // input needs a gradient. Blocks before that have none.
      const bool has_backward = b + 1 == n ? out.requires_grad() : hooked[b];
      const double from = b + 1 < n ? ready[b] : start;
      const double to = b > 0 && hooked[b - 1] ? ready[b - 1] : end;
      fwd[b].push_back(f[b]);
      bwd[b].push_back(has_backward ? to - from : 0);
    }
  }
  std::vector<StageCost> out(n);
  for (size_t b = 0; b < n; ++b) out[b] = summary(fwd[b], bwd[b]);
  return out;
}

double measure_step_cost(const model::ModelSpec& spec, const std::vector<size_t>& held,
                         const optim::OptimizerConfig& config, uint64_t seed, at::Generator& gen,
                         const MeasurePolicy& policy) {
  std::vector<torch::nn::Sequential> blocks;
  optim::NamedParams params;
  for (size_t l : held) {
    blocks.push_back(spec.build(l, l + 1, seed));
    for (auto& p : blocks.back()->named_parameters()) params.emplace_back(p.key(), p.value());
  }
  if (params.empty()) return 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer = optim::make_optimizer(params, config);
  std::vector<double> step;
  for (Runs runs(policy); !runs.enough();) {
    for (auto& [name, p] : params) p.mutable_grad() = 1e-3 * at::randn(p.sizes(), gen);
    const double t = cpu_of([&] { optimizer->step(); });
    if (runs.add(t)) step.push_back(t);
  }
  return median(step);
}

}  // namespace dec::profile
