// `dec demo`: the main job. For now a short single-node Fashion-MNIST run with
// live progress, test accuracy and a checkpoint; it grows into the
// device-edge-cloud demonstration (issue: the main job end to end).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "dec/cli/cli_util.h"
#include "dec/cli/progress.h"
#include "dec/runtime/trainer.h"

namespace dec::cli {

namespace {
struct DemoFlags {
  int64_t epochs = 1;
  std::string out = "out/demo";
  int threads = 0;
};
}  // namespace

void add_demo_command(CLI::App& app) {
  auto f = std::make_shared<DemoFlags>();
  auto* cmd = app.add_subcommand(
      "demo",
      "The main job: train the Fashion-MNIST CNN (W1) with live progress, report test accuracy,\n"
      "write a checkpoint and metrics under --out.\nExample: dec demo --epochs 1 --out out/demo");
  cmd->add_option("--epochs", f->epochs, "Epochs to train")->capture_default_str();
  cmd->add_option("--out", f->out, "Directory for checkpoint and metrics")->capture_default_str();
  cmd->add_option("--threads", f->threads, "Torch intra-op threads (default: all cores)");
  cmd->callback([f] {
    set_threads(f->threads);
    std::filesystem::create_directories(f->out);
    runtime::TrainOptions o;
    o.model = "fmnist-cnn";
    o.dataset = "fashion-mnist";
    o.epochs = f->epochs;
    o.batch_size = 64;
    o.optimizer.kind = "adam";
    o.optimizer.lr = 1e-3;
    o.seed = 0;
    o.checkpoint_dir = f->out + "/ckpt";
    o.checkpoint_every = 500;
    o.metrics_path = f->out + "/metrics.jsonl";
    std::filesystem::remove(o.metrics_path);
    std::printf("DEC demo: fmnist-cnn on Fashion-MNIST (60000 train / 10000 test), %lld epoch(s), "
                "batch 64, Adam lr 1e-3, single node\n",
                static_cast<long long>(o.epochs));
    std::fflush(stdout);
    ProgressPrinter progress(stderr_is_tty());
    runtime::TrainResult r = runtime::train(o, &progress);
    std::printf("\nsummary\n");
    std::printf("  steps            %lld\n", static_cast<long long>(r.steps));
    std::printf("  train time       %.1f s (%.0f samples/s)\n", r.train_seconds, r.samples_per_s);
    std::printf("  final loss       %.4f\n", r.final_loss);
    std::printf("  test accuracy    %.2f%%\n", 100 * r.test_accuracy);
    std::printf("  checkpoint       %s\n", r.last_checkpoint.c_str());
    std::printf("  metrics          %s\n", o.metrics_path.c_str());
  });
}

}  // namespace dec::cli
