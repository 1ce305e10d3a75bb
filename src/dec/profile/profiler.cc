#include "dec/profile/profiler.h"

#include <malloc.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <numeric>

#include "dec/core/error.h"
#include "dec/optim/optimizer.h"
#include "dec/profile/compute_pacer.h"
#include "dec/profile/stage_cost.h"

namespace dec::profile {

namespace {

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

// Bytes a forward of block l keeps alive for its backward, per sample: the
// heap's growth over the forward, the largest of a few (the first is untimed
// warm-up for the allocator).
double retained_bytes_per_sample(const model::ModelSpec& spec, size_t l, int64_t mb, uint64_t seed,
                                 at::Generator& gen) {
  torch::nn::Sequential block = spec.build(l, l + 1, seed);  // in train mode
  double retained = 0;
  for (int r = 0; r < 4; ++r) {
    torch::Tensor x = at::randn(batch_shape(mb, spec.block(l).in_shape), gen);
    if (l > 0) x.requires_grad_(true);
    const double before = live_heap_bytes();
    torch::Tensor y = block->forward(x);
    const double after = live_heap_bytes();
    if (r > 0) retained = std::max(retained, (after - before) / static_cast<double>(mb));
  }
  return retained;
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

  // Times as the runtime times an emulated node's tasks (stage_cost.h), on
  // one generator of our own: the caller's random streams stay untouched.
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  const MeasurePolicy policy{o.warmup, MeasurePolicy().warmup_seconds, o.repeats, o.min_seconds,
                             std::max(MeasurePolicy().max_repeats, o.repeats)};
  optim::OptimizerConfig optimizer;
  optimizer.kind = o.optimizer;
  const size_t L = spec.num_blocks();
  // Blocks inside the whole model as one task, ending in the loss; the
  // first block's input is data: real training never asks for its gradient.
  // At the micro-batch, and at fewer rows (powers of two): a plan's paths
  // split the batch, and per sample a block costs more or less with fewer rows
  // (a task's fixed costs; feature maps that fit in cache).
  std::vector<int64_t> rows;
  for (int64_t r = 1; r < mb; r *= 2) rows.push_back(r);
  rows.push_back(mb);
  std::vector<std::vector<StageCost>> at_rows;
  for (int64_t r : rows) at_rows.push_back(measure_chain_costs(spec, {0, L, r, true, false}, o.seed, gen, policy));
  const std::vector<StageCost>& chain = at_rows.back();
  // The optimizer step does not depend on rows and is steady: a shorter window.
  MeasurePolicy step_policy = policy;
  step_policy.min_seconds = std::min(policy.min_seconds, 0.1);
  for (size_t l = 0; l < L; ++l) {
    const model::BlockInfo& info = spec.block(l);
    const StageCost& c = chain[l];
    BlockProfile bp;
    bp.name = info.name;
    bp.fwd_s = c.forward_s / mb;
    bp.fwd_spread = c.forward_spread;
    bp.bwd_s = c.backward_s / mb;
    bp.bwd_spread = c.backward_spread;
    bp.opt_s = info.params > 0 ? measure_step_cost(spec, {l}, optimizer, o.seed, gen, step_policy) : 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const double r = static_cast<double>(rows[i]);
      bp.by_rows.push_back({rows[i], at_rows[i][l].forward_s / r, at_rows[i][l].backward_s / r});
    }
    bp.out_bytes = numel(info.out_shape) * sizeof(float);
    bp.saved_bytes = std::max(retained_bytes_per_sample(spec, l, mb, o.seed, gen), bp.out_bytes);
    bp.param_bytes = static_cast<double>(info.params + info.buffers) * sizeof(float);
    bp.optim_bytes = static_cast<double>(info.params) * sizeof(float) * state_factor;
    bp.flops = info.flops;
    p.blocks.push_back(bp);
  }

  // The whole model as one task again, its blocks not told apart: the
  // reference for the sum.
  const StageCost whole = measure_stage_cost(spec, {0, L, mb, true, false}, o.seed, gen, policy);
  p.whole_s = (whole.forward_s + whole.backward_s) / mb;
  p.block_sum_ratio = p.whole_s > 0 ? p.block_sum_s() / p.whole_s : 0;
  // An emulated node takes each task's full-speed time / speed (runtime/task_costs.h).
  return o.speed == 1 ? p : scaled(p, o.speed);
}

}  // namespace dec::profile
