#include "dec/runtime/worker.h"

#include <algorithm>
#include <chrono>

#include "dec/core/error.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/tags.h"

namespace dec::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int tag_of(const Task& t, MessageKind kind) { return message_tag(t.path, t.micro, kind); }

}  // namespace

// What a forward task leaves for its backward task.
struct Worker::MicroState {
  torch::Tensor input;   // requires grad when an earlier stage needs its gradient
  torch::Tensor output;  // this stage's output (or the scaled loss on the last stage)
  torch::Tensor labels;
};

Worker::Worker(ExecPlan plan, const model::ModelSpec& spec, comm::Group& world,
               WorkerOptions options)
    : plan_(std::move(plan)), spec_(spec), world_(world), options_(std::move(options)) {
  validate(plan_, "plan");
  DEC_CHECK(plan_.num_blocks == spec_.num_blocks(), Mismatch, "plan does not fit the model",
            spec_.name(), "the plan has ", plan_.num_blocks, " blocks, the model ",
            spec_.num_blocks());
  DEC_CHECK(world_.size() == plan_.world_size(), Mismatch, "plan does not fit the job",
            "world", "the plan has ", plan_.world_size(), " nodes, the job ", world_.size(),
            " ranks");
  rank_ = world_.rank();
  held_ = blocks_of(plan_, rank_);
  for (size_t l : held_) blocks_[l] = spec_.build(l, l + 1, options_.seed);

  optim::NamedParams params = parameters();
  if (!params.empty()) optimizer_ = optim::make_optimizer(params, options_.optimizer);

  // Sub-groups: every rank walks the same list in the same order; members build.
  replica_groups_ = replica_groups(plan_);
  subgroups_.reserve(replica_groups_.size());
  std::vector<GradSync::GroupBlocks> sync;
  for (size_t g = 0; g < replica_groups_.size(); ++g) {
    const ReplicaGroup& rg = replica_groups_[g];
    for (size_t l : rg.blocks) group_of_block_[l] = g;
    if (rg.ranks.size() < 2) continue;
    if (std::find(rg.ranks.begin(), rg.ranks.end(), rank_) == rg.ranks.end()) continue;
    subgroups_.push_back(world_.new_subgroup(str("replicas", g), rg.ranks));
    subgroup_of_group_[g] = &subgroups_.back();
    GradSync::GroupBlocks gb{&subgroups_.back(), {}};
    for (size_t l : rg.blocks) {
      std::vector<torch::Tensor> ps;
      for (const auto& p : blocks_.at(l)->parameters()) ps.push_back(p);
      gb.blocks.emplace_back(l, std::move(ps));
    }
    sync.push_back(std::move(gb));
  }
  // At full speed a block is ready the moment autograd has its gradient. An
  // emulated stage is stretched as a whole after it ran (ComputePacer), so
  // there it is ready when its backward task ends, as the planner models it.
  std::map<size_t, std::vector<torch::Tensor>> replicated;
  for (const auto& gb : sync) {
    for (const auto& [l, ps] : gb.blocks) replicated[l] = ps;
  }
  grad_sync_ = std::make_unique<GradSync>(std::move(sync), 25.0 * (1 << 20), 1.0 * (1 << 20), &tracer_);
  if (!options_.pacer && !replicated.empty()) {
    ready_hooks_ = std::make_unique<GradReadyHooks>(replicated, [this](size_t l) { grad_sync_->ready(l); });
  }
  sender_ = std::make_unique<AsyncSender>(world_, &tracer_);
  schedule_ = make_schedule(plan_, rank_);
  if (options_.pacer) {
    DEC_ASSERT(options_.profile, "an emulated rank needs the profile that prices its tasks");
    costs_ = TaskCosts(*options_.profile);
  }
}

Worker::~Worker() = default;

optim::NamedParams Worker::parameters() const {
  optim::NamedParams out;
  for (const auto& [l, m] : blocks_) {
    for (auto& p : named_parameters(m)) out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::string> Worker::owned_block_names() const {
  std::vector<std::string> names;
  for (size_t l : held_) {
    if (replica_groups_[group_of_block_.at(l)].ranks.front() == rank_) {
      names.push_back(spec_.block(l).name);
    }
  }
  return names;
}

std::vector<int64_t> Worker::activation_shape(size_t boundary, int64_t batch) const {
  std::vector<int64_t> shape{batch};
  const model::Shape& s = boundary == 0 ? spec_.input_shape() : spec_.block(boundary - 1).out_shape;
  shape.insert(shape.end(), s.begin(), s.end());
  return shape;
}

torch::Tensor Worker::run_blocks(size_t begin, size_t end, torch::Tensor x) {
  for (size_t l = begin; l < end; ++l) x = blocks_.at(l)->forward(x);
  return x;
}

void Worker::post(std::vector<int64_t> shape, torch::ScalarType dtype, int peer, int tag) {
  if (posted_.count({peer, tag})) return;  // prefetched by the previous step
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
  comm::Group::PendingRecv pending = world_.post_recv(t, peer, tag);
  posted_.emplace(std::make_pair(peer, tag), std::make_pair(t, std::move(pending)));
}

void Worker::post_receives() {
  for (const Task& t : schedule_.tasks) {
    const ExecPath& path = plan_.paths[t.path];
    const Stage& st = path.stages[t.stage];
    const bool last = t.stage + 1 == path.stages.size();
    if (!t.backward && t.stage > 0) {
      const int prev = path.stages[t.stage - 1].rank;
      post(activation_shape(st.begin, t.samples), torch::kFloat, prev,
           tag_of(t, MessageKind::kActivation));
      post({t.samples}, torch::kLong, prev, tag_of(t, MessageKind::kLabels));
    }
    if (t.backward && !last && (needs_input_grad(path, t.stage) || !st.empty())) {
      post(activation_shape(st.end, t.samples), torch::kFloat, path.stages[t.stage + 1].rank,
           tag_of(t, MessageKind::kGradient));
    }
  }
}

torch::Tensor Worker::recv(int peer, int tag, IterationStats& stats, const char* what) {
  auto it = posted_.find({peer, tag});
  DEC_ASSERT(it != posted_.end(), "receive from rank ", peer, " tag ", tag, " was not posted");
  torch::Tensor t = it->second.first;
  comm::Group::PendingRecv pending = std::move(it->second.second);
  posted_.erase(it);
  // Double buffering of raw inputs: the next iteration's message on this
  // (peer, tag) may come as soon as this one is taken.
  if (prefetch_next_ && schedule_.raw_inputs.count({peer, tag})) post(t.sizes().vec(), t.scalar_type(), peer, tag);
  auto t0 = Clock::now();
  pending.wait();
  const auto t1 = Clock::now();
  stats.recv_wait_s += std::chrono::duration<double>(t1 - t0).count();
  tracer_.add("recv", t0, t1, str(what, " from ", world_.describe(peer)));
  return t;
}

template <typename F>
void Worker::timed_compute(IterationStats& stats, const Task& t, const char* what, F&& compute) {
  const auto t0 = Clock::now();
  compute();
  double dt = seconds_since(t0);
  // A relay's pass-through costs nothing to stretch: its profile has no blocks.
  const Stage& st = plan_.paths[t.path].stages[t.stage];
  if (options_.pacer && !st.empty()) {
    const StageCost cost = costs_.stage({st.begin, st.end, t.samples});
    dt += options_.pacer->stretch(dt, t.backward ? cost.backward_s : cost.forward_s);
  }
  stats.compute_s += dt;
  tracer_.add("compute", t0, Clock::now(), str(what, " p", t.path, " mb", t.micro));
}

void Worker::forward(const Task& t, const data::Dataset& data, const torch::Tensor& indices,
                     IterationStats& stats) {
  const ExecPath& path = plan_.paths[t.path];
  const Stage& st = path.stages[t.stage];
  const bool last = t.stage + 1 == path.stages.size();
  const int64_t mb = t.samples;
  MicroState& ms = micro_[{t.path, t.micro}];

  torch::Tensor x, labels;
  if (t.stage == 0 && st.empty() && raw_sent_ahead_) return;  // the last step sent them
  if (t.stage == 0) {
    auto [images, ys] = data.batch(indices.slice(0, t.offset, t.offset + mb));
    x = images;
    labels = ys;
  } else {
    const int prev = path.stages[t.stage - 1].rank;
    x = recv(prev, tag_of(t, MessageKind::kActivation), stats, "activation");
    labels = recv(prev, tag_of(t, MessageKind::kLabels), stats, "labels");
  }
  if (needs_input_grad(path, t.stage)) x.requires_grad_(true);

  torch::Tensor out;
  timed_compute(stats, t, "fwd", [&] {
    out = run_blocks(st.begin, st.end, x);
    if (last) {
      // Sum over this micro-batch divided by the global batch: summed over every
      // path and micro-batch this is the mean loss over B, as single-node training.
      torch::Tensor loss_sum = torch::nn::functional::cross_entropy(
          out, labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
      stats.loss_sum += loss_sum.item<double>();
      stats.loss_samples += mb;
      out = loss_sum / static_cast<double>(plan_.global_batch);
    }
  });

  if (!last) {
    const int next = path.stages[t.stage + 1].rank;
    sender_->enqueue(out.detach(), next, tag_of(t, MessageKind::kActivation));
    sender_->enqueue(labels, next, tag_of(t, MessageKind::kLabels));
  }
  ms.input = x;
  ms.output = out;
}

void Worker::backward(const Task& t, std::map<size_t, int>& remaining, IterationStats& stats) {
  const ExecPath& path = plan_.paths[t.path];
  const Stage& st = path.stages[t.stage];
  const bool last = t.stage + 1 == path.stages.size();
  const bool input_grad = needs_input_grad(path, t.stage);
  MicroState& ms = micro_.at({t.path, t.micro});

  // Blocks whose last backward of the iteration this is: armed ones are marked
  // ready by the hooks during the backward, the others after it.
  std::vector<size_t> hooked;
  for (size_t l = st.begin; l < st.end; ++l) {
    if (ready_hooks_ && remaining[l] == 1 && ready_hooks_->arm(l)) hooked.push_back(l);
  }
  torch::Tensor grad_in;
  if (last) {
    if (ms.output.requires_grad()) {
      timed_compute(stats, t, "bwd", [&] { ms.output.backward(); });
    }
  } else if (input_grad || !st.empty()) {
    // The next stage sends a gradient exactly when this stage's output needs one.
    const int next = path.stages[t.stage + 1].rank;
    torch::Tensor g = recv(next, tag_of(t, MessageKind::kGradient), stats, "gradient");
    DEC_ASSERT(g.sizes() == ms.output.sizes(), "gradient of ", g.sizes(), " for an output of ",
               ms.output.sizes());
    if (st.empty()) {
      grad_in = g;  // relay
    } else {
      // The gradient arrives in the default layout. A channels-last output
      // (zoo.cc: channels-last weights) back-propagated from it would run the
      // slow mixed-layout kernels (docs/measurements.md, bench/profile/stage_costs).
      timed_compute(stats, t, "bwd", [&] { ms.output.backward(g.contiguous(ms.output.suggest_memory_format())); });
    }
  }
  if (input_grad) {
    if (!grad_in.defined()) grad_in = ms.input.grad();
    DEC_ASSERT(grad_in.defined(), "no input gradient at path ", t.path, " stage ", t.stage);
    sender_->enqueue(grad_in, path.stages[t.stage - 1].rank, tag_of(t, MessageKind::kGradient));
  }
  micro_.erase({t.path, t.micro});
  if (!hooked.empty()) ready_hooks_->finish();
  for (size_t l = st.begin; l < st.end; ++l) {
    const bool by_hook = std::find(hooked.begin(), hooked.end(), l) != hooked.end();
    if (--remaining[l] == 0 && !by_hook) grad_sync_->ready(l);
  }
}

void Worker::send_raw_ahead(const data::Dataset& data, const torch::Tensor& next_indices) {
  for (const Task& t : schedule_.tasks) {
    const ExecPath& path = plan_.paths[t.path];
    if (t.backward || t.stage != 0 || !path.stages[0].empty()) continue;
    auto [x, labels] = data.batch(next_indices.slice(0, t.offset, t.offset + t.samples));
    const int next = path.stages[1].rank;
    sender_->enqueue(x, next, tag_of(t, MessageKind::kActivation));
    sender_->enqueue(labels, next, tag_of(t, MessageKind::kLabels));
  }
}

IterationStats Worker::step(const data::Dataset& data, const torch::Tensor& indices,
                            const torch::Tensor& next_indices) {
  DEC_ASSERT(indices.numel() == plan_.global_batch, "batch of ", indices.numel(), ", plan wants ",
             plan_.global_batch);
  IterationStats stats;
  tracer_.start();
  auto start = Clock::now();
  // Gradients dropped, not zeroed (PyTorch 2's default): the next backward
  // stores its gradient instead of adding it to zeros; readers allow undefined.
  for (auto& [l, m] : blocks_) m->zero_grad(/*set_to_none=*/true);
  std::map<size_t, int> remaining = schedule_.backward_touches;  // backward tasks left per block
  const bool prefetch_next = next_indices.defined();
  DEC_ASSERT(!prefetch_next || next_indices.numel() == plan_.global_batch, "next batch of ",
             next_indices.numel(), ", plan wants ", plan_.global_batch);
  prefetch_next_ = prefetch_next;
  post_receives();
  for (size_t i = 0; i < schedule_.tasks.size(); ++i) {
    const Task& t = schedule_.tasks[i];
    // The forward phase is done: the links are free for the next step's raw samples.
    if (i == schedule_.forward_phase_end && prefetch_next) send_raw_ahead(data, next_indices);
    if (t.backward) backward(t, remaining, stats);
    else forward(t, data, indices, stats);
  }
  raw_sent_ahead_ = prefetch_next;
  const size_t prefetched = prefetch_next ? schedule_.raw_inputs.size() : 0;
  DEC_ASSERT(posted_.size() == prefetched, posted_.size(), " receives posted at the end of a step, ", prefetched,
             " prefetched");

  auto t0 = Clock::now();
  grad_sync_->wait();
  stats.sync_wait_s = seconds_since(t0);
  if (optimizer_) {
    const auto t1 = Clock::now();
    optimizer_->step();
    double dt = seconds_since(t1);
    if (options_.pacer) dt += options_.pacer->stretch(dt, costs_.step_s(held_));
    stats.compute_s += dt;
    tracer_.add("compute", t1, Clock::now(), "optimizer step");
  }
  t0 = Clock::now();
  sender_->flush();
  stats.send_wait_s = seconds_since(t0);
  stats.wall_s = seconds_since(start);
  stats.trace = tracer_.take();
  return stats;
}

void Worker::broadcast_parameters() {
  torch::NoGradGuard no_grad;
  for (const auto& [g, group] : subgroup_of_group_) {
    for (size_t l : replica_groups_[g].blocks) {
      for (auto& p : blocks_.at(l)->parameters()) group->broadcast(p, 0);
      for (auto& b : blocks_.at(l)->buffers()) group->broadcast(b, 0);
    }
  }
}

std::map<std::string, std::string> Worker::save_owned_blocks(CheckpointWriter& writer) const {
  std::map<std::string, std::string> files;
  for (size_t l : held_) {
    if (replica_groups_[group_of_block_.at(l)].ranks.front() != rank_) continue;
    const std::string& name = spec_.block(l).name;
    files["blocks/" + name + ".pt"] =
        writer.write_block(name, capture_block(blocks_.at(l), name, optimizer_.get(), options_.optimizer));
  }
  return files;
}

BlockState Worker::block_state(size_t l) const {
  return capture_block(blocks_.at(l), spec_.block(l).name, nullptr, options_.optimizer);
}

void Worker::restore(const Checkpoint& ckpt) {
  for (size_t l : held_) {
    const std::string& name = spec_.block(l).name;
    restore_block(blocks_.at(l), name, read_block(ckpt, name), optimizer_.get(), options_.optimizer,
                  ckpt.dir);
  }
}

}  // namespace dec::runtime
