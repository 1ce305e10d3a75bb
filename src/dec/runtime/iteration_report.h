// Reporting a job's iterations (protocol.h: "costs/<rank>", "it/<step>/<rank>"):
// every rank hands in what it measured; rank 0 gathers it, writes the metrics
// (docs/metrics.md: iteration, trace) and tells the observer.
//
// Collective: every rank calls each method in the same order. Failure: Timeout
// when a rank does not report by the deadline; a malformed report is a
// Mismatch naming its rank.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "dec/comm/counters.h"
#include "dec/comm/rendezvous.h"
#include "dec/comm/store.h"
#include "dec/runtime/exec_plan.h"
#include "dec/runtime/job.h"
#include "dec/runtime/metrics.h"
#include "dec/runtime/worker.h"

namespace dec::runtime {

class IterationReporter {
 public:
  // `store`: the job's versioned store. `metrics` and `observer`: rank 0's
  // (either may be null); they must outlive the reporter. The run goes from
  // `first_step` (after a resume) to `total_steps`.
  IterationReporter(const comm::Rendezvous& rv, comm::Store store, const ExecPlan& plan,
                    std::chrono::milliseconds timeout, MetricsWriter* metrics, JobObserver* observer,
                    int64_t first_step, int64_t total_steps);

  // After iteration `step` (1-based) of epoch `epoch`: this rank's stats and
  // the traffic it sent since the last call. One iteration's timeline goes to
  // the metrics too: past the warm-up, when there is one.
  void report(int64_t step, int64_t epoch, const IterationStats& stats,
              const comm::CountersSnapshot& traffic);

  // Rank 0: the loss of the last iteration, and the run's mean iteration time
  // (dec::steady_mean of every iteration run in this process).
  double last_loss() const { return last_loss_; }
  double mean_iteration_s() const;

 private:
  // Rank 0: its own report (`stats`, `sent`) and every other rank's.
  void gather(int64_t step, int64_t epoch, const IterationStats& stats, const nlohmann::json& sent,
              bool traced);

  const comm::Rendezvous& rv_;
  comm::Store store_;
  const ExecPlan& plan_;
  std::chrono::milliseconds timeout_;
  MetricsWriter* metrics_;
  JobObserver* observer_;
  int64_t first_step_, total_steps_, trace_step_;
  std::vector<double> measured_s_;  // rank 0: slowest rank's time per iteration
  double last_loss_ = 0;
  int64_t samples_ = 0;
};

}  // namespace dec::runtime
