// `dec train`: single-node training (the reference for every distributed plan).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "dec/cli/cli_util.h"
#include "dec/cli/progress.h"
#include "dec/cli/training_flags.h"
#include "dec/runtime/trainer.h"

namespace dec::cli {

namespace {
struct TrainFlags {
  runtime::TrainOptions o;
  TrainingFlags training;
};
}  // namespace

void add_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train a zoo model on one node, with checkpoints, metrics and test accuracy.\n"
      "Example: dec train --model fmnist-cnn --epochs 1 --batch-size 64 --optimizer adam "
      "--checkpoint-dir ckpt");
  add_training_flags(cmd, f->o, f->training);
  cmd->add_option("-b,--batch-size", f->o.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--weight-decay", f->o.optimizer.weight_decay, "L2 penalty")
      ->capture_default_str();

  cmd->callback([f] {
    auto& o = f->o;
    finish_training_flags(f->training, o);
    set_threads(f->training.threads);
    TrainProgress progress(stderr_is_tty());
    runtime::TrainResult r = runtime::train(o, &progress);
    std::printf("trained %s for %lld steps in %.1f s (%.0f samples/s); final loss %.4f",
                o.model.c_str(), static_cast<long long>(r.steps), r.train_seconds,
                r.samples_per_s, r.final_loss);
    if (r.test_accuracy >= 0) std::printf("; test accuracy %.2f%%", 100 * r.test_accuracy);
    std::printf("\n");
    if (!r.last_checkpoint.empty()) std::printf("checkpoint: %s\n", r.last_checkpoint.c_str());
  });
}

}  // namespace dec::cli
