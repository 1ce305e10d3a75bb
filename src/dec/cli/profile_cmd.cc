// `dec profile`: per-block costs of a model on this machine, for the planner.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "dec/cli/cli_util.h"
#include "dec/core/units.h"
#include "dec/model/model.h"
#include "dec/profile/profiler.h"

namespace dec::cli {

namespace {
struct ProfileFlags {
  std::string model = "fmnist-cnn";
  std::string input;
  int64_t classes = 0;
  profile::ProfileOptions o;
  std::string out;
  std::string format = "text";
  int threads = 0;
};
}  // namespace

void add_profile_command(CLI::App& app) {
  auto f = std::make_shared<ProfileFlags>();
  auto* cmd = app.add_subcommand(
      "profile",
      "Measure each block's forward/backward time per sample, activation and parameter bytes.\n"
      "Example: dec profile --model resnet18 --input 3x32x32 --micro-batch 32 --out profile.json");
  cmd->add_option("--model", f->model, "Zoo model (see `dec models`)")->capture_default_str();
  cmd->add_option("--input", f->input, "Sample shape, e.g. 3x96x96 (default: the model's)");
  cmd->add_option("--classes", f->classes, "Classes (default: the model's)");
  cmd->add_option("--micro-batch", f->o.micro_batch, "Samples per timed pass")->capture_default_str();
  cmd->add_option("--warmup", f->o.warmup, "Untimed passes first")->capture_default_str();
  cmd->add_option("--repeats", f->o.repeats, "Timed passes at least (and 0.5 s of them); the median is reported")->capture_default_str();
  cmd->add_option("--optimizer", f->o.optimizer, "sgd or adam (sizes optimizer state)")
      ->capture_default_str();
  cmd->add_option("--node", f->o.node, "Name of this node, recorded in the profile");
  cmd->add_option("--speed", f->o.speed,
                  "Emulated speed in (0, 1]: the times a node of this speed takes under "
                  "`dec launch --emulate` (full-speed times / speed)")
      ->capture_default_str();
  cmd->add_option("--threads", f->threads, "Torch intra-op threads (default: all cores)");
  cmd->add_option("--out", f->out, "Write the profile JSON here");
  cmd->add_option("--format", f->format, "text or json (stdout)")->check(CLI::IsMember({"text", "json"}));

  cmd->callback([f] {
    set_threads(f->threads);
    model::Shape shape = f->input.empty() ? model::Shape{} : model::parse_shape(f->input, "--input");
    model::ModelSpec spec = model::make_model(f->model, shape, f->classes);
    profile::ModelProfile p = profile::measure(spec, f->o);
    if (!f->out.empty()) profile::save_profile(f->out, p);
    if (f->format == "json") {
      std::fputs(profile::to_json(p).c_str(), stdout);
      return;
    }
    std::printf("%s %s, micro-batch %d, %d threads, %d repeats, speed %g (median, spread = (max-min)/median)\n",
                p.model.c_str(), model::format_shape(p.input_shape).c_str(), p.micro_batch,
                p.threads, p.repeats, p.speed);
    std::printf("%-14s %12s %7s %12s %7s %10s %11s %11s %11s %10s\n", "block", "fwd/sample", "spread",
                "bwd/sample", "spread", "opt step", "out/sample", "saved/smpl", "params", "MFLOPs");
    double opt = 0;
    for (const auto& b : p.blocks) {
      std::printf("%-14s %12s %6.1f%% %12s %6.1f%% %10s %11s %11s %11s %10.2f\n", b.name.c_str(),
                  format_seconds(b.fwd_s).c_str(), 100 * b.fwd_spread,
                  format_seconds(b.bwd_s).c_str(), 100 * b.bwd_spread,
                  format_seconds(b.opt_s).c_str(),
                  format_bytes(b.out_bytes).c_str(), format_bytes(b.saved_bytes).c_str(),
                  format_bytes(b.param_bytes).c_str(), b.flops / 1e6);
      opt += b.opt_s;
    }
    std::printf("sum of blocks %s per sample; whole model %s per sample; ratio %.3f; optimizer step %s per iteration\n",
                format_seconds(p.block_sum_s()).c_str(), format_seconds(p.whole_s).c_str(), p.block_sum_ratio,
                format_seconds(opt).c_str());
    if (!f->out.empty()) std::printf("wrote %s\n", f->out.c_str());
  });
}

}  // namespace dec::cli
