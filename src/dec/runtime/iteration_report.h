// Reporting a job's iterations (protocol.h: "it/<step>/<rank>"): every rank
// hands in what it measured; rank 0 gathers it, writes the metrics
// (docs/metrics.md: iteration, trace) and tells the observer.
//
// Rank 0 reads the other ranks' reports of an iteration on a thread of its
// own while its executor runs the next iteration, and writes the iteration's
// lines when it reports the next one (the last iteration's at once). Read on
// the executor's thread, the reports cost it a wait for the other ranks to
// finish their step and several store round trips (0.5-0.9 ms per iteration
// on the 2-node bench, docs/measurements.md), which the other ranks then
// waited for in the next exchange; read here, they take rank 0's executor
// about 0.3 ms.
//
// Collective: every rank calls each method in the same order. Failure: Timeout
// when a rank does not report by the deadline; a malformed report is a
// Mismatch naming its rank. On rank 0 either is thrown by the next report().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <optional>
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
  ~IterationReporter();  // rank 0: stops a read in flight
  IterationReporter(const IterationReporter&) = delete;
  IterationReporter& operator=(const IterationReporter&) = delete;

  // After iteration `step` (1-based) of epoch `epoch`: this rank's stats and
  // the traffic it sent since the last call. One iteration's timeline goes to
  // the metrics too: past the warm-up, when there is one. On rank 0 the
  // metrics lines and the observer's event of `step` come with the next call,
  // those of the run's last step (`total_steps`) before this call returns.
  void report(int64_t step, int64_t epoch, const IterationStats& stats,
              const comm::CountersSnapshot& traffic);

  // Rank 0: the loss of the last iteration gathered, and the run's mean
  // iteration time (dec::steady_mean of every iteration gathered in this
  // process); after the last step, of the whole run.
  double last_loss() const { return last_loss_; }
  double mean_iteration_s() const;

 private:
  // Rank 0's own report of an iteration, kept until the others' are read.
  struct Own {
    int64_t step = 0, epoch = 0;
    IterationStats stats;
    nlohmann::json sent;
    bool traced = false;
  };
  // Another rank's report of an iteration.
  struct PeerReport {
    double loss_sum = 0, wall_s = 0;
    nlohmann::json stats, sent, trace;
  };
  // Rank 0: every other rank's report of `step`, in rank order (polls the
  // store; returns early, empty, once stop_ is set).
  std::vector<PeerReport> read_peers(int64_t step, bool traced);
  // Rank 0: waits for the read in flight and writes its iteration.
  void finish_pending();
  // Rank 0: writes an iteration's lines and tells the observer.
  void publish(const Own& own, const std::vector<PeerReport>& peers);

  const comm::Rendezvous& rv_;
  comm::Store store_;
  const ExecPlan& plan_;
  std::chrono::milliseconds timeout_;
  MetricsWriter* metrics_;
  JobObserver* observer_;
  int64_t first_step_, total_steps_, trace_step_;
  std::optional<Own> pending_;      // rank 0: reported, the others' reports being read
  std::future<std::vector<PeerReport>> reading_;  // rank 0: their reports of pending_
  std::atomic<bool> stop_{false};
  std::vector<double> measured_s_;  // rank 0: slowest rank's time per iteration
  double last_loss_ = 0;
  int64_t samples_ = 0;
};

}  // namespace dec::runtime
