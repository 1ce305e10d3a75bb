#include "dec/profile/profiler.h"

#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "dec/core/error.h"
#include "dec/optim/optimizer.h"
#include "dec/profile/compute_pacer.h"

namespace dec::profile {

namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

struct Stats {
  double median = 0, spread = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Stats s;
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.spread = s.median > 0 ? (v.back() - v.front()) / s.median : 0;
  return s;
}

// Bytes the allocator holds for live objects. LibTorch's CPU allocator sits on
// malloc; large tensors are mmap'd (hblkhd), small ones come from the arenas.
double live_heap_bytes() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

std::vector<int64_t> batch_shape(int64_t n, const model::Shape& s) {
  std::vector<int64_t> out{n};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

double numel(const model::Shape& s) {
  return std::accumulate(s.begin(), s.end(), 1.0, std::multiplies<double>());
}

// The runtime's optimizer (optim::make_optimizer), so that opt_s times its step.
std::unique_ptr<torch::optim::Optimizer> optimizer_for(torch::nn::Sequential& m, const std::string& kind) {
  optim::OptimizerConfig c;
  c.kind = kind;
  optim::NamedParams params;
  for (const auto& p : m->named_parameters()) params.emplace_back(p.key(), p.value());
  return optim::make_optimizer(params, c);
}

// Seconds `f` takes; with a pacer, stretched as the runtime stretches a task.
template <typename F>
double timed(ComputePacer* pacer, F&& f) {
  const double cpu0 = thread_cpu_seconds();
  const double t0 = now_s();
  f();
  double wall = now_s() - t0;
  if (pacer) wall += pacer->stretch(wall, thread_cpu_seconds() - cpu0);
  return wall;
}

// The task overhead at `speed` (ModelProfile::task_s), measured on the pattern
// the runtime runs: the forward tasks of kPacedMicroBatches micro-batches (each
// with its loss), then their backward tasks in the same order, then the
// optimizer step, every task stretched. A backward then starts from activations
// saved tasks (and sleeps) ago, and the step from moments last touched an
// iteration ago, as in a job. A task's excess is what it took paced beyond
// what it takes at full speed (median over the full-speed repeats) divided by
// the speed; task_s is the mean over the 2 * kPacedMicroBatches tasks of each
// task's median excess over the paced repeats (never negative; the step's own
// excess is left out: opt_s covers the step). Medians per task rather than over
// whole patterns, because at low speeds only a few patterns fit in the budget
// and the machine's noise is stretched by 1 / speed: the three patterns of one
// mobilenetv2 profile at speed 0.01 (a minute each) took 24.3, 1.8 and 9.0 s
// beyond their 61.8 s. Four micro-batches, as every scenario's
// training.micro_batches: on lenet5 at speed 0.01 (micro-batch 16), one gave
// 56-60 ms per task and four 64-70 ms; the tasks of two traced jobs took about
// 61-71 ms each beyond the blocks' times.
constexpr int kPacedMicroBatches = 4;

double task_overhead(torch::nn::Sequential& whole, const model::ModelSpec& spec, int mb,
                     double speed, ComputePacer* pacer, const ProfileOptions& o) {
  constexpr int M = kPacedMicroBatches;
  std::unique_ptr<torch::optim::Optimizer> optimizer = optimizer_for(whole, o.optimizer);
  // One pattern; returns each of its 2 * M tasks' seconds (the step is timed, not returned).
  auto pass = [&](ComputePacer* pc) {
    std::vector<torch::Tensor> losses(M);
    std::vector<double> t;
    for (int i = 0; i < M; ++i) {
      torch::Tensor x = torch::randn(batch_shape(mb, spec.input_shape()));
      torch::Tensor labels = torch::randint(spec.num_classes(), {mb}, torch::kLong);
      t.push_back(timed(pc, [&] {
        losses[i] = torch::nn::functional::cross_entropy(
            whole->forward(x), labels,
            torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        losses[i].item<double>();
      }));
    }
    for (int i = 0; i < M; ++i) t.push_back(timed(pc, [&] { losses[i].backward(); }));
    timed(pc, [&] { optimizer->step(); });
    whole->zero_grad(/*set_to_none=*/true);
    return t;
  };
  std::vector<std::vector<double>> full(2 * M);  // per task, over repeats
  double full_s = 0;                             // one pattern's tasks
  for (int r = 0; r < o.warmup + o.repeats; ++r) {
    const std::vector<double> t = pass(nullptr);
    if (r < o.warmup) continue;
    for (int i = 0; i < 2 * M; ++i) full[i].push_back(t[i]);
  }
  std::vector<double> reference(2 * M);
  for (int i = 0; i < 2 * M; ++i) full_s += reference[i] = stats(full[i]).median;
  const int repeats = std::clamp(static_cast<int>(o.paced_budget_s * speed / std::max(full_s, 1e-9)),
                                 std::min(3, o.repeats), o.repeats);
  std::vector<std::vector<double>> excess(2 * M);  // per task, over repeats
  for (int r = 0; r < repeats; ++r) {
    const std::vector<double> t = pass(pacer);
    for (int i = 0; i < 2 * M; ++i) excess[i].push_back(t[i] - reference[i] / speed);
  }
  double sum = 0;
  for (int i = 0; i < 2 * M; ++i) sum += stats(excess[i]).median;
  return std::max(0.0, sum / (2 * M));
}

}  // namespace

ModelProfile measure(const model::ModelSpec& spec, const ProfileOptions& o) {
  DEC_CHECK(o.micro_batch > 0, ConfigError, "invalid flag", "--micro-batch",
            "must be positive, got ", o.micro_batch);
  DEC_CHECK(o.repeats > 0 && o.warmup >= 0, ConfigError, "invalid flag", "--repeats",
            "must be positive, got ", o.repeats);
  DEC_CHECK(o.optimizer == "sgd" || o.optimizer == "adam", ConfigError, "unknown optimizer",
            "--optimizer", "'", o.optimizer, "' (expected sgd or adam)");
  const std::shared_ptr<ComputePacer> pacer = make_speed_pacer(o.speed);  // validates the speed
  const int mb = o.micro_batch;
  const double state_factor = o.optimizer == "adam" ? 2.0 : 1.0;

  ModelProfile p;
  p.model = spec.name();
  p.model_hash = spec.hash();
  p.input_shape = spec.input_shape();
  p.num_classes = spec.num_classes();
  p.input_bytes = numel(spec.input_shape()) * sizeof(float) + sizeof(int64_t);
  p.node = o.node;
  p.micro_batch = mb;
  p.threads = torch::get_num_threads();
  p.repeats = o.repeats;
  p.optimizer = o.optimizer;

  torch::manual_seed(o.seed);
  const size_t L = spec.num_blocks();
  for (size_t l = 0; l < L; ++l) {
    const model::BlockInfo& info = spec.block(l);
    torch::nn::Sequential block = spec.build(l, l + 1, o.seed);
    block->train();
    std::unique_ptr<torch::optim::Optimizer> optimizer = optimizer_for(block, o.optimizer);
    std::vector<double> fwd, bwd, opt;
    double retained = 0;
    for (int r = 0; r < o.warmup + o.repeats; ++r) {
      torch::Tensor x = torch::randn(batch_shape(mb, info.in_shape));
      // The first block's input is data: real training never asks for its gradient.
      if (l > 0) x.requires_grad_(true);
      const double heap0 = live_heap_bytes();
      const double t0 = now_s();
      torch::Tensor y = block->forward(x);
      const double t1 = now_s();
      const double heap1 = live_heap_bytes();
      torch::Tensor g = torch::randn_like(y);
      const double t2 = now_s();
      y.backward(g);
      const double t3 = now_s();
      optimizer->step();
      const double t4 = now_s();
      optimizer->zero_grad();
      if (r >= o.warmup) {
        fwd.push_back((t1 - t0) / mb);
        bwd.push_back((t3 - t2) / mb);
        opt.push_back(t4 - t3);
        retained = std::max(retained, (heap1 - heap0) / mb);
      }
    }
    BlockProfile bp;
    bp.name = info.name;
    Stats f = stats(fwd), b = stats(bwd);
    bp.fwd_s = f.median;
    bp.fwd_spread = f.spread;
    bp.bwd_s = b.median;
    bp.bwd_spread = b.spread;
    bp.opt_s = info.params > 0 ? stats(opt).median : 0;
    bp.out_bytes = numel(info.out_shape) * sizeof(float);
    bp.saved_bytes = std::max(retained, bp.out_bytes);
    bp.param_bytes = static_cast<double>(info.params + info.buffers) * sizeof(float);
    bp.optim_bytes = static_cast<double>(info.params) * sizeof(float) * state_factor;
    bp.flops = info.flops;
    p.blocks.push_back(bp);
  }

  // The whole model, same micro-batch, same procedure: the reference for the sum.
  torch::nn::Sequential whole = spec.build_all(o.seed);
  whole->train();
  std::vector<double> total;
  for (int r = 0; r < o.warmup + o.repeats; ++r) {
    torch::Tensor x = torch::randn(batch_shape(mb, spec.input_shape()));
    const double t0 = now_s();
    torch::Tensor y = whole->forward(x);
    y.backward(torch::ones_like(y));
    const double t1 = now_s();
    whole->zero_grad();
    if (r >= o.warmup) total.push_back((t1 - t0) / mb);
  }
  p.whole_s = stats(total).median;
  p.block_sum_ratio = p.whole_s > 0 ? p.block_sum_s() / p.whole_s : 0;
  if (!pacer) return p;  // full speed
  p = scaled(p, o.speed);
  p.task_s = task_overhead(whole, spec, mb, o.speed, pacer.get(), o);
  return p;
}

}  // namespace dec::profile
