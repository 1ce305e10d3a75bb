// Progress display for training: a live, rewritten line on a terminal; plain
// lines every `interval_s` seconds otherwise (logs, CI), always on stderr.
#pragma once

#include <chrono>

#include "dec/runtime/trainer.h"

namespace dec::cli {

class ProgressPrinter : public runtime::TrainObserver {
 public:
  explicit ProgressPrinter(bool tty, double interval_s = 10);
  void on_step(const runtime::StepEvent& e) override;
  void on_epoch(const runtime::EpochEvent& e) override;
  void on_checkpoint(const std::string& dir, int64_t step) override;

 private:
  void end_live_line();
  bool tty_;
  double interval_s_;
  bool live_ = false;
  std::chrono::steady_clock::time_point last_;
  bool printed_any_ = false;
};

// "1:05" / "1:02:03"
std::string format_duration(double seconds);

}  // namespace dec::cli
