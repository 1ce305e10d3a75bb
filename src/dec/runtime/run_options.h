// What a training run is, whichever way it runs: the options that the
// single-node trainer (TrainOptions, trainer.h) and a distributed job
// (JobOptions, job.h) share, under the flag names of docs/runtime.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dec/optim/optimizer.h"

namespace dec::runtime {

struct RunOptions {
  // Model and data (a job checks through the model hash that every rank builds the same).
  std::string model = "fmnist-cnn";
  std::vector<int64_t> input_shape;       // {} = the dataset's sample shape
  int64_t num_classes = 0;                // 0 = the dataset's
  std::string dataset = "fashion-mnist";  // or "synthetic"
  std::string data_dir;                   // "" = Debian's /usr/share/datasets/fashion-mnist
  int64_t synthetic_size = 10000;         // train samples of a synthetic dataset (test: 1/5)
  // Length and optimisation.
  int64_t epochs = 1;
  int64_t max_steps = 0;                  // > 0: stop after this many iterations in all (epochs ignored)
  optim::OptimizerConfig optimizer;
  uint64_t seed = 0;                      // initialisation and data order
  // Outputs.
  std::string checkpoint_dir;             // "" = no checkpoints; a job: the keeper's
  int64_t checkpoint_every = 0;           // iterations between checkpoints; 0 = only at the end
  int keep_last = 3;                      // checkpoints kept; 0 = all
  std::string resume;                     // a checkpoint root or step directory
  std::string metrics_path;               // JSON lines (docs/metrics.md); "" = none; a job: rank 0
  bool evaluate = true;                   // test accuracy after each epoch and at the end
};

// Checks the shared options: ConfigError naming the flag.
void validate_run_options(const RunOptions& o);

}  // namespace dec::runtime
