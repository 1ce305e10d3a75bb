#include "dec/cli/training_flags.h"

#include "dec/model/model.h"

namespace dec::cli {

void add_training_flags(CLI::App* cmd, runtime::RunOptions& o, TrainingFlags& f) {
  cmd->add_option("--model", o.model, "Zoo model (see `dec models`)")->capture_default_str();
  cmd->add_option("--dataset", o.dataset, "fashion-mnist or synthetic")->capture_default_str();
  cmd->add_option("--data-dir", o.data_dir, "Fashion-MNIST directory (default: Debian's)");
  cmd->add_option("--input", f.input,
                  "Sample shape: synthetic data, or Fashion-MNIST resized to it, e.g. 3x96x96");
  cmd->add_option("--classes", o.num_classes, "Classes of synthetic data (default 10)");
  cmd->add_option("--synthetic-size", o.synthetic_size, "Training samples of synthetic data")
      ->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Epochs to train")->capture_default_str();
  cmd->add_option("--steps", o.max_steps, "Stop after this many iterations (overrides --epochs)");
  cmd->add_option("--optimizer", o.optimizer.kind, "sgd (with momentum) or adam")
      ->capture_default_str();
  f.lr_option = cmd->add_option("--lr", f.lr, "Learning rate (default: sgd 0.01, adam 0.001)");
  cmd->add_option("--momentum", o.optimizer.momentum, "SGD momentum")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of initialisation and data order")->capture_default_str();
  cmd->add_option("--threads", f.threads, "Torch intra-op threads per process (default: all cores)");
  cmd->add_option("--checkpoint-dir", o.checkpoint_dir,
                  "Write checkpoints here (a job: on the checkpoint keeper's disk)");
  cmd->add_option("--checkpoint-every", o.checkpoint_every,
                  "Checkpoint every N iterations (and always at the end)");
  cmd->add_option("--keep-last", o.keep_last, "Checkpoints to keep (0: all)")->capture_default_str();
  cmd->add_option("--resume", o.resume, "Continue from a checkpoint (root or step directory; a job: the keeper's, under any plan)");
  cmd->add_option("--metrics", o.metrics_path, "Append JSON-lines metrics to this file (a job: rank 0)");
  cmd->add_flag("--no-eval{false}", o.evaluate, "Skip test-set evaluation");
}

void finish_training_flags(const TrainingFlags& f, runtime::RunOptions& o) {
  if (!f.input.empty()) o.input_shape = model::parse_shape(f.input, "--input");
  const bool lr_given = f.lr_option != nullptr && f.lr_option->count() > 0;
  o.optimizer.lr = lr_given ? f.lr : (o.optimizer.kind == "adam" ? 1e-3 : 1e-2);
}

}  // namespace dec::cli
