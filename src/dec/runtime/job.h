// One process of a distributed training job: what `dec worker` runs (and what
// `dec launch` spawns). DESIGN.md "The runtime", "Launch" and "Handshake".
//
//   1. rendezvous (comm::rendezvous): join deadline, job id, token;
//   2. handshake through the store: every rank publishes node name, tier, DEC
//      version, model hash (and, in auto mode, its block profile); rank 0
//      checks they agree, takes the plan (--plan, or solves it from the
//      published profiles and --cluster), publishes it with its hash; every
//      rank confirms the hash before the first iteration;
//   3. the world group and the Worker; rank 0's parameters are broadcast to
//      every replica group; resume from a checkpoint if asked;
//   4. iterations over a deterministic sampler (seed + epoch, drop_last: every
//      iteration has exactly the plan's B samples); per-iteration metrics
//      gathered by rank 0; distributed checkpoints; test accuracy on rank 0.
//
// Failure: every wait has a deadline (`timeout`); a disagreement at the
// handshake is a Mismatch on every rank; a lost peer a PeerLost naming it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dec/comm/rendezvous.h"
#include "dec/core/version.h"
#include "dec/optim/optimizer.h"
#include "dec/runtime/exec_plan.h"

namespace dec::runtime {

struct JobOptions {
  comm::RendezvousOptions rendezvous;          // init method, job id, token, node name, tier
  std::chrono::milliseconds timeout{60000};    // every blocking wait after the join
  std::string plan_path;                       // rank 0: a plan from `dec plan`
  std::string cluster_path;                    // rank 0, auto mode (no plan): the cluster spec
  double planner_time_limit_s = 10;
  // Run one of the plan's baselines ("cloud-only", ...) instead of the plan itself,
  // with the same runtime: how `dec demo` and bench/scenarios measure them.
  std::string baseline;
  int64_t global_batch = 0;                    // auto mode: overrides the spec's batch (0 = keep)
  // Model and data, identical on every rank (checked through the model hash).
  std::string model = "fmnist-cnn";
  std::vector<int64_t> input_shape;            // {} = the dataset's
  int64_t num_classes = 0;
  std::string dataset = "fashion-mnist";
  std::string data_dir;
  int64_t synthetic_size = 10000;
  // Training.
  int64_t epochs = 1;
  int64_t max_steps = 0;                       // > 0: stop after this many iterations
  optim::OptimizerConfig optimizer;
  uint64_t seed = 0;
  std::string checkpoint_dir;                  // shared by the ranks (one machine or a shared fs)
  int64_t checkpoint_every = 0;
  int keep_last = 3;
  std::string resume;
  std::string metrics_path;                    // written by rank 0
  bool evaluate = true;                        // rank 0, after each epoch and at the end
  int64_t eval_samples = 0;                    // > 0: evaluate on the test split's first N
  // Emulation (runtime/emulation.h). `emulate`: every rank reads `cluster_path`,
  // runs at its node's speed and sends over the spec's links (rates and latencies;
  // with `real_links` only latencies, the network enforcing the rates). Needs one
  // Torch thread per process. Without it, `speed` stretches this node's compute
  // alone (a fraction of one core; 1 = as is).
  bool emulate = false;
  bool real_links = false;
  double speed = 1;
  int profile_micro_batch = 32;                // auto mode: the block profiler's micro-batch
  // The DEC version this process announces at the handshake (tests set another).
  std::string version = kVersion;
};

// What rank 0 reports while the job runs (called on rank 0 only).
struct IterationEvent {
  int64_t step = 0, total_steps = 0, epoch = 0;
  double loss = 0;
  double measured_s = 0;     // slowest rank's iteration time
  double predicted_s = 0;    // the plan's prediction (0 = unknown)
  double samples_per_s = 0;  // over the run so far
  double eta_s = 0;
};

class JobObserver {
 public:
  virtual ~JobObserver() = default;
  virtual void on_join(const std::string& /*message*/) {}
  virtual void on_plan(const ExecPlan& /*plan*/, const std::string& /*summary*/) {}
  virtual void on_iteration(const IterationEvent&) {}
  virtual void on_epoch(int64_t /*epoch*/, double /*test_accuracy*/, double /*test_loss*/) {}
  virtual void on_checkpoint(const std::string& /*dir*/, int64_t /*step*/) {}
};

struct JobResult {
  int rank = 0;
  int64_t steps = 0;
  double final_loss = 0;          // rank 0
  double test_accuracy = -1;      // rank 0, -1 when not evaluated
  double mean_iteration_s = 0;    // rank 0, measured, over all iterations but the first
  double predicted_iteration_s = 0;
  std::string last_checkpoint;
  std::string plan_hash;
};

JobResult run_job(const JobOptions& options, JobObserver* observer);

}  // namespace dec::runtime
