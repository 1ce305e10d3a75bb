// One process of a distributed training job: what `dec worker` runs (and what
// `dec launch` spawns). docs/architecture.md follows a sample through it.
//
//   1. rendezvous (comm::rendezvous): join deadline, job id, token;
//   2. the handshake (handshake.h, on the keys of protocol.h): every rank
//      agrees on one plan and its hash;
//   3. the world group and the Worker; rank 0's parameters are broadcast to
//      every replica group; resume from a checkpoint if asked (job_checkpoint.h);
//   4. iterations over a deterministic sampler (seed + epoch, drop_last: every
//      iteration has exactly the plan's B samples); per-iteration metrics
//      gathered by rank 0 (iteration_report.h); distributed checkpoints; test
//      accuracy on rank 0 (model_gather.h).
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
#include "dec/runtime/exec_plan.h"
#include "dec/runtime/run_options.h"

namespace dec::runtime {

// A distributed job: the run (run_options.h) and how this process takes part.
struct JobOptions : RunOptions {
  comm::RendezvousOptions rendezvous;          // init method, job id, token, node name, tier
  std::chrono::milliseconds timeout{60000};    // every blocking wait after the join
  std::string plan_path;                       // rank 0: a plan from `dec plan`
  std::string cluster_path;                    // rank 0, auto mode (no plan): the cluster spec
  double planner_time_limit_s = 10;
  // Run one of the plan's baselines ("cloud-only", ...) instead of the plan itself,
  // with the same runtime: how `dec demo` and bench/scenarios measure them.
  std::string baseline;
  int64_t global_batch = 0;                    // auto mode: overrides the spec's batch (0 = keep)
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
  // The rank that writes the checkpoints to its own disk (job_checkpoint.h):
  // "" = the first cloud-tier rank, else rank 0; a rank; or a node name.
  std::string checkpoint_keeper;
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
  double mean_iteration_s = 0;    // rank 0, measured: dec::steady_mean (core/stats.h) of its iterations
  double predicted_iteration_s = 0;
  std::string last_checkpoint;
  std::string plan_hash;
};

JobResult run_job(const JobOptions& options, JobObserver* observer);

}  // namespace dec::runtime
