// Training progress on stderr, for `dec train` (one node) and rank 0 of a
// distributed job (`dec worker`): a live, rewritten line on a terminal (about
// ten redraws a second at most); plain lines every `interval_s` seconds
// otherwise (logs, CI). The first and the last step are always shown.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "dec/runtime/job.h"
#include "dec/runtime/trainer.h"

namespace dec::cli {

// What the progress line shows.
struct ProgressLine {
  int64_t step = 0, total_steps = 0, epoch = 0;  // step 1-based, epoch 0-based
  double loss = 0, samples_per_s = 0, eta_s = 0;
  // A distributed job's iteration: measured (slowest rank) and the plan's prediction.
  std::optional<double> measured_s, predicted_s;
};

class ProgressPrinter {
 public:
  explicit ProgressPrinter(bool tty, double interval_s = 10);
  // The progress line, throttled as above.
  void progress(const ProgressLine& p);
  // A line of its own (an epoch's evaluation, a plan, a checkpoint); ends the live line first.
  void message(const std::string& text);
  void checkpoint(const std::string& dir, int64_t step);

 private:
  bool tty_;
  double interval_s_;
  bool live_ = false;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

// The single-node trainer's events, printed.
class TrainProgress : public runtime::TrainObserver {
 public:
  explicit TrainProgress(bool tty) : printer_(tty) {}
  void on_step(const runtime::StepEvent& e) override;
  void on_epoch(const runtime::EpochEvent& e) override;
  void on_checkpoint(const std::string& dir, int64_t step) override { printer_.checkpoint(dir, step); }

 private:
  ProgressPrinter printer_;
};

// Rank 0's events of a distributed job, printed: joins, the plan, iterations, evaluations.
class JobProgress : public runtime::JobObserver {
 public:
  explicit JobProgress(bool tty) : printer_(tty) {}
  void on_join(const std::string& message) override { printer_.message(message); }
  void on_plan(const runtime::ExecPlan& plan, const std::string& summary) override;
  void on_iteration(const runtime::IterationEvent& e) override;
  void on_epoch(int64_t epoch, double accuracy, double loss) override;
  void on_checkpoint(const std::string& dir, int64_t step) override { printer_.checkpoint(dir, step); }

 private:
  ProgressPrinter printer_;
};

// "1:05" / "1:02:03"
std::string format_duration(double seconds);

}  // namespace dec::cli
