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

}  // namespace

ModelProfile measure(const model::ModelSpec& spec, const ProfileOptions& o) {
  DEC_CHECK(o.micro_batch > 0, ConfigError, "invalid flag", "--micro-batch",
            "must be positive, got ", o.micro_batch);
  DEC_CHECK(o.repeats > 0 && o.warmup >= 0, ConfigError, "invalid flag", "--repeats",
            "must be positive, got ", o.repeats);
  DEC_CHECK(o.optimizer == "sgd" || o.optimizer == "adam", ConfigError, "unknown optimizer",
            "--optimizer", "'", o.optimizer, "' (expected sgd or adam)");
  check_speed(o.speed);
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
  // An emulated node takes each task's full-speed time / speed (runtime/task_costs.h).
  return o.speed == 1 ? p : scaled(p, o.speed);
}

}  // namespace dec::profile
