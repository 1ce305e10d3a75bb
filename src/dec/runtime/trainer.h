// The single-node trainer: what `dec train` runs, and the reference every
// distributed plan is checked against: a plan changes where blocks run, not
// what one iteration computes (docs/runtime.md).
//
// Deterministic for a given seed and thread count: the model is initialised
// from (seed, block), each epoch's order from (seed, epoch). A run resumed from
// a checkpoint continues with exactly the losses an uninterrupted run shows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dec/runtime/run_options.h"

namespace dec::runtime {

// Single-node training: the run (run_options.h) and its batch size.
struct TrainOptions : RunOptions {
  int64_t batch_size = 64;
};

struct StepEvent {
  int64_t step = 0;          // 1-based, over the whole run (continues after resume)
  int64_t total_steps = 0;
  int64_t epoch = 0;         // 0-based
  double loss = 0;
  double samples_per_s = 0;  // over this process's training time so far
  double elapsed_s = 0;      // training time (evaluation excluded)
  double eta_s = 0;
};

struct EpochEvent {
  int64_t epoch = 0;
  int64_t step = 0;
  double train_loss = 0;     // mean over the epoch's steps run in this process
  double test_loss = 0;
  double test_accuracy = 0;  // in [0, 1]
  double seconds = 0;        // training time of the epoch
};

// Receives progress; the CLI prints it. Called on the training thread.
class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_step(const StepEvent&) {}
  virtual void on_epoch(const EpochEvent&) {}
  virtual void on_checkpoint(const std::string& /*dir*/, int64_t /*step*/) {}
};

struct TrainResult {
  int64_t steps = 0;               // total, including steps before a resume
  double final_loss = 0;
  double test_accuracy = -1;       // -1 when not evaluated
  double train_seconds = 0;        // this process, evaluation excluded
  double samples_per_s = 0;
  std::string last_checkpoint;     // "" when none was written
  std::vector<double> losses;      // per step run in this process
};

// Validates options (ConfigError naming the flag), loads data and model,
// resumes if asked, trains. observer may be null.
TrainResult train(const TrainOptions& options, TrainObserver* observer);

}  // namespace dec::runtime
