// The training flags that `dec train` and a distributed job (`dec launch`,
// `dec worker`) share: model, data, length, optimizer, seed, threads,
// checkpoints, metrics and evaluation, into the options both share
// (runtime::RunOptions).
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "dec/runtime/run_options.h"

namespace dec::cli {

// What the flags give before it becomes options.
struct TrainingFlags {
  std::string input;                 // --input, parsed into options.input_shape
  double lr = 0;                     // absent --lr: the optimizer's usual default
  CLI::Option* lr_option = nullptr;
  int threads = 0;                   // torch threads of this process (0: all cores)
};

// Adds the flags; CLI11 writes them into `o` and `f`, which must outlive the command.
void add_training_flags(CLI::App* cmd, runtime::RunOptions& o, TrainingFlags& f);

// The options the flags give: the input shape, and the learning rate's default.
void finish_training_flags(const TrainingFlags& f, runtime::RunOptions& o);

}  // namespace dec::cli
