// What the W1 step benchmarks (trainer/trainer_bench, runtime/runtime_overhead)
// share: their flags (steps per run, interleaved rounds, Torch threads, batch),
// their set-up line, and DEC's single-node trainer as both run it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "dec/runtime/trainer.h"

namespace dec::bench {

struct StepBenchArgs {
  int64_t steps = 150;
  int64_t rounds = 5;
  int64_t batch = 64;
  int threads = 2;
};

// --steps N --rounds N --threads N --batch N, in any order; others are ignored.
inline StepBenchArgs parse_step_bench_args(int argc, char** argv) {
  StepBenchArgs a;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) a.steps = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) a.rounds = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads")) a.threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--batch")) a.batch = std::atoll(argv[i + 1]);
  }
  return a;
}

inline void print_step_bench_setup(const StepBenchArgs& a) {
  std::printf("W1 fmnist-cnn, batch %lld, Adam, %d threads, %lld steps x %lld rounds\n",
              static_cast<long long>(a.batch), a.threads, static_cast<long long>(a.steps),
              static_cast<long long>(a.rounds));
}

// Seconds per step of DEC's trainer on W1 (Fashion-MNIST, Adam 1e-3, no
// evaluation); it loads the dataset itself, and only its steps are counted.
inline double trainer_step_seconds(int64_t steps, int64_t batch) {
  dec::runtime::TrainOptions o;
  o.model = "fmnist-cnn";
  o.dataset = "fashion-mnist";
  o.max_steps = steps;
  o.batch_size = batch;
  o.optimizer.kind = "adam";
  o.optimizer.lr = 1e-3;
  o.evaluate = false;
  const dec::runtime::TrainResult r = dec::runtime::train(o, nullptr);
  return r.train_seconds / r.steps;
}

}  // namespace dec::bench
