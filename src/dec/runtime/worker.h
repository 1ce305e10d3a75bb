// The executor of one rank: runs its share of an ExecPlan, iteration by
// iteration (docs/architecture.md, "Data path"; docs/runtime.md).
//
// Per iteration it runs this rank's tasks in the order of its RankSchedule
// (schedule.h: one global order that all ranks share, so no schedule
// deadlocks); sends never block the compute thread (AsyncSender). Gradients of
// replicated blocks are all-reduced by GradSync as soon as this rank's last
// backward touching them has produced them (GradReadyHooks, at full speed) or
// has ended (emulated speed), overlapping the rest of backward; then every
// replica applies the same optimizer step.
//
// Semantics: loss = sum of cross-entropy over the B samples / B, so one
// iteration equals single-node training on the same B samples up to
// floating-point order.
//
// Thread safety: one thread drives a Worker.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dec/comm/group.h"
#include "dec/data/dataset.h"
#include "dec/model/model.h"
#include "dec/optim/optimizer.h"
#include "dec/profile/compute_pacer.h"
#include "dec/runtime/async_sender.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/exec_plan.h"
#include "dec/runtime/grad_ready.h"
#include "dec/runtime/grad_sync.h"
#include "dec/runtime/schedule.h"
#include "dec/runtime/task_costs.h"
#include "dec/runtime/trace.h"

namespace dec::runtime {

struct WorkerOptions {
  uint64_t seed = 0;          // model initialisation (identical on every rank)
  optim::OptimizerConfig optimizer;
  // Stretches this rank's compute to an emulated speed; null = full speed.
  std::shared_ptr<profile::ComputePacer> pacer;
  // With a pacer, required: the profile that prices this rank's tasks at full
  // speed (TaskCosts).
  std::optional<profile::ModelProfile> profile;
};

struct IterationStats {
  double loss_sum = 0;      // sum of cross-entropy over the samples whose loss this rank computed
  int64_t loss_samples = 0; // how many samples that was
  double wall_s = 0;        // the iteration on this rank, start to optimizer step done
  double compute_s = 0;     // forward + backward + optimizer (emulated stretch included)
  double recv_wait_s = 0;   // blocked waiting for activations or gradients
  double send_wait_s = 0;   // blocked at the end until this rank's sends have left it
  double sync_wait_s = 0;   // blocked at the end for gradient all-reduce
  std::vector<Span> trace;  // this rank's timeline of the iteration
};

class Worker {
 public:
  // Builds this rank's blocks and sub-groups, and measures an emulated rank's
  // task costs (one rank at a time). Collective: every rank constructs its
  // Worker with the same plan (sub-group creation). `world` must outlive it.
  Worker(ExecPlan plan, const model::ModelSpec& spec, comm::Group& world, WorkerOptions options);
  ~Worker();

  // Copies each replica group's parameters from its lowest rank to the others,
  // so every copy starts equal. Collective over every replica group.
  void broadcast_parameters();

  // One iteration over `indices` (the global batch, [B] int64 into `data`; only
  // sources read it). Throws PeerLost/Timeout from communication.
  //
  // `next_indices`: the next iteration's batch, or undefined on the last step.
  // When defined, raw inputs (samples and labels that no parameter has touched
  // yet) cross the links an iteration ahead, as the planner assumes
  // (cost_model.cc carries_raw): as each raw input of this iteration is
  // taken, the receive of the next iteration's message on the same peer and
  // tag is posted, and a source that only forwards sends the next iteration's
  // samples once its forward phase is done, while its links' upward direction
  // would otherwise idle through backward and sync (sent at the start of the
  // next step instead, they queued behind or ahead of other paths'
  // activations on a shared uplink). Every rank passes the same batches, and
  // a defined value obliges the next call of step() on this Worker to pass
  // that batch as `indices` (no other traffic on these tags in between).
  IterationStats step(const data::Dataset& data, const torch::Tensor& indices,
                      const torch::Tensor& next_indices = {});

  // Checkpoints: writes the blocks this rank owns (lowest rank of the block's
  // replica group); returns file -> sha256 for the manifest.
  std::map<std::string, std::string> save_owned_blocks(CheckpointWriter& writer) const;
  // Loads every block this rank holds (parameters, buffers, optimizer state).
  void restore(const Checkpoint& ckpt);

  const ExecPlan& plan() const { return plan_; }
  int rank() const { return rank_; }
  const std::vector<size_t>& held_blocks() const { return held_; }
  // Full parameter names -> tensors of the held blocks.
  optim::NamedParams parameters() const;
  std::vector<std::string> owned_block_names() const;
  // Parameters and buffers (copies) of held block `l`, by full name.
  BlockState block_state(size_t l) const;
  const std::string& block_name(size_t l) const { return spec_.block(l).name; }

 private:
  struct MicroState;
  torch::Tensor run_blocks(size_t begin, size_t end, torch::Tensor x);
  std::vector<int64_t> activation_shape(size_t boundary, int64_t batch) const;
  void forward(const Task& t, const data::Dataset& data, const torch::Tensor& indices,
               IterationStats& stats);
  void backward(const Task& t, std::map<size_t, int>& remaining, IterationStats& stats);
  // Posts the iteration's receives not posted yet (prefetched ones are), so
  // senders can transmit while this rank computes; recv() then waits for the
  // posted one.
  void post_receives();
  // Sends, for every source task that only forwards raw samples, the samples
  // of `next_indices` it will forward next iteration.
  void send_raw_ahead(const data::Dataset& data, const torch::Tensor& next_indices);
  // Posts one receive unless it is posted already (prefetched).
  void post(std::vector<int64_t> shape, torch::ScalarType dtype, int peer, int tag);
  torch::Tensor recv(int peer, int tag, IterationStats& stats, const char* what);
  // Runs task t's `compute` on this thread, stretched to the emulated speed
  // (its full-speed cost / speed, TaskCosts); adds its time to stats.compute_s
  // and a "compute" span.
  template <typename F>
  void timed_compute(IterationStats& stats, const Task& t, const char* what, F&& compute);

  ExecPlan plan_;
  const model::ModelSpec& spec_;
  comm::Group& world_;
  WorkerOptions options_;
  int rank_;
  std::vector<size_t> held_;
  std::map<size_t, torch::nn::Sequential> blocks_;  // block index -> single-block module
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<comm::Group> subgroups_;
  std::vector<ReplicaGroup> replica_groups_;
  std::map<size_t, size_t> group_of_block_;          // block -> index into replica_groups_
  std::map<size_t, comm::Group*> subgroup_of_group_; // replica group index -> sub-group
  Tracer tracer_;  // before the sender and the sync, which record into it
  std::unique_ptr<AsyncSender> sender_;
  std::unique_ptr<GradSync> grad_sync_;
  std::unique_ptr<GradReadyHooks> ready_hooks_;  // null under emulated speed or without replicas
  RankSchedule schedule_;
  TaskCosts costs_;  // when emulated (options_.pacer)
  std::map<std::pair<size_t, int64_t>, MicroState> micro_;  // (path, micro-batch) -> state
  std::map<std::pair<int, int>, std::pair<torch::Tensor, comm::Group::PendingRecv>>
      posted_;  // (peer, tag) -> buffer and its receive, this iteration
  bool prefetch_next_ = false;               // this step re-posts raw receives for the next
  bool raw_sent_ahead_ = false;              // this step's raw sources were sent by the last one
};

}  // namespace dec::runtime
