// `dec train`: single-node training (the reference for every distributed plan).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "dec/cli/cli_util.h"
#include "dec/cli/progress.h"
#include "dec/model/model.h"
#include "dec/runtime/trainer.h"

namespace dec::cli {

namespace {
struct TrainFlags {
  runtime::TrainOptions o;
  std::string input;
  double lr = 0;  // when --lr is absent: the optimizer's usual default
  int threads = 0;
};
}  // namespace

void add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  auto* cmd = app.add_subcommand(
      "train",
      "Train a zoo model on one node, with checkpoints, metrics and test accuracy.\n"
      "Example: dec train --model fmnist-cnn --epochs 1 --batch-size 64 --optimizer adam "
      "--checkpoint-dir ckpt");
  auto& o = flags->o;
  cmd->add_option("--model", o.model, "Zoo model (see `dec models`)")->capture_default_str();
  cmd->add_option("--dataset", o.dataset, "fashion-mnist or synthetic")->capture_default_str();
  cmd->add_option("--data-dir", o.data_dir, "Fashion-MNIST directory (default: Debian's)");
  cmd->add_option("--input", flags->input, "Sample shape: synthetic data, or Fashion-MNIST resized to it, e.g. 3x96x96");
  cmd->add_option("--classes", o.num_classes, "Classes (synthetic data; default 10)");
  cmd->add_option("--synthetic-size", o.synthetic_size, "Training samples of synthetic data")
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Epochs to train")->capture_default_str();
  cmd->add_option("--steps", o.max_steps, "Stop after this many steps (overrides --epochs)");
  cmd->add_option("-b,--batch-size", o.batch_size, "Mini-batch size")->capture_default_str();
  cmd->add_option("--optimizer", o.optimizer.kind, "sgd (with momentum) or adam")
      ->capture_default_str();
  auto* lr = cmd->add_option("--lr", flags->lr, "Learning rate (default: sgd 0.01, adam 0.001)");
  cmd->add_option("--momentum", o.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--weight-decay", o.optimizer.weight_decay, "L2 penalty")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed for initialisation and data order")
      ->capture_default_str();
  cmd->add_option("--threads", flags->threads, "Torch intra-op threads (default: all cores)");
  cmd->add_option("--checkpoint-dir", o.checkpoint_dir, "Write checkpoints here");
  cmd->add_option("--checkpoint-every", o.checkpoint_every,
                  "Checkpoint every N steps (and always at the end)");
  cmd->add_option("--keep-last", o.keep_last, "Checkpoints to keep (0 = all)")
      ->capture_default_str();
  cmd->add_option("--resume", o.resume, "Continue from a checkpoint directory");
  cmd->add_option("--metrics", o.metrics_path, "Append JSON-lines metrics to this file");
  cmd->add_flag("--no-eval{false}", o.evaluate, "Skip test-set evaluation");

  cmd->callback([flags, lr] {
    auto& o = flags->o;
    if (!flags->input.empty()) o.input_shape = model::parse_shape(flags->input, "--input");
    o.optimizer.lr = lr->count() > 0 ? flags->lr : (o.optimizer.kind == "adam" ? 1e-3 : 1e-2);
    set_threads(flags->threads);
    ProgressPrinter progress(stderr_is_tty());
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
