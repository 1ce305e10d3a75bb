// `dec demo`: the main job. On this one machine it starts one process per node of
// a scenario (device, edge, cloud), each emulated at its node's speed and behind
// the scenario's links; each profiles itself, rank 0 plans, and the job trains
// with live progress. Then every baseline of the plan runs a few iterations with
// the same runtime, and the demo prints a summary (plan, measured vs predicted,
// measured speedups, accuracy) and writes an HTML report.
//
// Each run is a `dec launch` child, so the demo exercises exactly what a user runs.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dec/cluster/load.h"
#include "dec/core/error.h"
#include "dec/planner/plan.h"
#include "dec/report/report.h"
#include "dec/runtime/metrics.h"

namespace dec::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The default cell is S4a with W2's model and input size on real data:
// Fashion-MNIST resized to 3x96x96, camera-sized frames. The plan is mixed
// and gains: the edge runs MobileNetV2's first 8 blocks, whose output is
// smaller than the image, and the cloud the rest, predicted 1.5x faster than
// the edge alone (bench/scenarios/plan_table.sh). No Fashion-MNIST cell at
// its native 28x28 has a mixed plan that gains. A 28x28 sample is 3 KB, so
// no cut sends less than the image. Data parallelism across a tier pays
// the weights' all-reduce over a slow link, which costs more than it saves.
// The default length (a workload's demo_epochs) keeps the whole demo,
// baselines included, under five minutes on two cores.
struct DemoFlags {
  std::string scenario = "S4a";
  std::string workload = "W2";
  std::string dataset = "fashion-mnist";
  double epochs = 0;  // unless given: the workload's demo_epochs
  CLI::Option* epochs_flag = nullptr;
  int64_t baseline_steps = 5;
  double baseline_budget_s = 40;
  std::string out = "out/demo";
  double timeout_s = 120;
  uint64_t seed = 0;
};

// SCENARIOS.md's workloads.
struct Workload {
  const char* id;
  const char* model;
  const char* input;     // sample shape; Fashion-MNIST is resized to it
  int64_t batch;
  double demo_epochs;    // default demo length
  int64_t eval_samples;  // test samples the demo evaluates (0: all)
  const char* what;
};
constexpr Workload kWorkloads[] = {
    {"W1", "fmnist-cnn", "1x28x28", 64, 0.08, 0, "the Fashion-MNIST CNN, 1x28x28"},
    {"W2", "mobilenetv2", "3x96x96", 32, 0.02, 1000, "MobileNetV2, 3x96x96"},
    {"W3", "lenet5", "1x28x28", 64, 0.08, 0, "LeNet-5, 1x28x28"},
};
constexpr int64_t kSyntheticTrainSize = 10000;  // `dec launch`'s default for synthetic data
constexpr int64_t kFashionMnistTrainSize = 60000;

const Workload& find_workload(const std::string& id) {
  for (const auto& w : kWorkloads) {
    if (id == w.id) return w;
  }
  throw ConfigError("unknown workload", "--workload " + id, "choose W1, W2 or W3 (SCENARIOS.md)");
}

// A scenario by file path or by name (scenarios/<name>.yaml here or in the source tree).
std::string find_scenario(const std::string& name) {
  for (const fs::path& p : {fs::path(name), fs::path("scenarios") / (name + ".yaml"),
                            fs::path(DEC_SOURCE_DIR) / "scenarios" / (name + ".yaml")}) {
    if (fs::is_regular_file(p)) return p.string();
  }
  throw ConfigError("unknown scenario", "--scenario " + name,
                    "no such file, and no scenarios/" + name + ".yaml (S1, S2, S2-fast, S3, "
                    "S3-cat1, S4a, S4b)");
}

// Runs `dec <args>` as a child and returns its exit code; Ctrl-C reaches it too.
int run_dec(const std::vector<std::string>& args) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  DEC_CHECK(pid >= 0, IoError, "cannot start a run", args.front(), std::strerror(errno));
  if (pid == 0) {
    std::vector<std::string> all = {"/proc/self/exe"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "dec: error: cannot start a run (%s): %s\n", args.front().c_str(),
                 std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::vector<json> read_events(const std::string& path) {
  std::ifstream in(path);
  DEC_CHECK(in.good(), IoError, "cannot read metrics", path, std::strerror(errno));
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

// Mean measured seconds per iteration, leaving out the first two (warm-up).
double mean_measured(const std::vector<json>& events, int64_t* iterations) {
  std::vector<double> s;
  for (const auto& e : events) {
    if (e.at("event") == "iteration") s.push_back(e.at("measured_s").get<double>());
  }
  *iterations = static_cast<int64_t>(s.size());
  const size_t skip = s.size() > 4 ? 2 : (s.size() > 1 ? 1 : 0);
  double sum = 0;
  for (size_t i = skip; i < s.size(); ++i) sum += s[i];
  return s.size() > skip ? sum / static_cast<double>(s.size() - skip) : 0;
}

std::string describe_paths(const json& plan) {
  std::string out;
  for (const auto& p : plan.at("paths")) {
    out += str("    ", p.at("samples").get<int64_t>(), " samples from ",
               p.at("source").get<std::string>(), ":");
    const auto& nodes = p.at("nodes");
    const auto& ranges = p.at("ranges");
    for (size_t j = 0; j < nodes.size(); ++j) {
      const int64_t b = ranges[j][0], e = ranges[j][1];
      out += str(" ", nodes[j].get<std::string>(),
                 b == e ? " (forwards)" : str(" blocks ", b, "-", e - 1));
    }
    out += "\n";
  }
  return out;
}

// What a plan runs: its paths' sources, nodes, ranges and samples.
json plan_paths(const json& plan) {
  json out = json::array();
  for (const auto& p : plan.at("paths")) {
    out.push_back({p.at("source"), p.at("nodes"), p.at("ranges"), p.at("samples")});
  }
  return out;
}

struct BaselineRun {
  std::string kind;
  double predicted_s = 0;
  double measured_s = -1;  // -1: not run
  int64_t iterations = 0;
  std::string note;
};

}  // namespace

void add_demo_command(CLI::App& app) {
  auto f = std::make_shared<DemoFlags>();
  auto* cmd = app.add_subcommand(
      "demo",
      "The main job: a device, an edge and a cloud emulated on this machine (processes at the\n"
      "scenario's speeds, behind its links) profile themselves, plan, and train; then every\n"
      "baseline runs a few iterations with the same runtime; prints a summary, writes a report.\n"
      "Example: dec demo --scenario S3 --workload W1 --epochs 0.08 --out out/demo");
  cmd->add_option("--scenario", f->scenario, "Scenario name (scenarios/<name>.yaml) or file")
      ->capture_default_str();
  cmd->add_option("--workload", f->workload, "W1, W2 or W3 (SCENARIOS.md)")->capture_default_str();
  cmd->add_option("--dataset", f->dataset,
                  "fashion-mnist (resized to the workload's input) or synthetic")
      ->capture_default_str();
  f->epochs_flag = cmd->add_option("--epochs", f->epochs,
                                   "Epochs to train (fractions allowed; default W1/W3 0.08, W2 0.02)");
  cmd->add_option("--baseline-steps", f->baseline_steps, "Iterations per baseline (0: skip them)")
      ->capture_default_str();
  cmd->add_option("--baseline-budget", f->baseline_budget_s,
                  "Seconds (predicted) a baseline may train; a slow one runs fewer iterations, "
                  "never under 2")
      ->capture_default_str();
  cmd->add_option("--out", f->out, "Directory for metrics, plan, checkpoint and report")
      ->capture_default_str();
  cmd->add_option("--timeout", f->timeout_s, "Seconds any single wait may take")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed of initialisation and data order")->capture_default_str();
  cmd->callback([f] {
    const bool epochs_given = f->epochs_flag->count() > 0;
    DEC_CHECK(!epochs_given || f->epochs > 0, ConfigError, "invalid flag", "--epochs", "must be positive");
    DEC_CHECK(f->baseline_steps >= 0, ConfigError, "invalid flag", "--baseline-steps",
              "must be >= 0");
    DEC_CHECK(f->dataset == "fashion-mnist" || f->dataset == "synthetic", ConfigError,
              "unknown dataset", "--dataset " + f->dataset, "expected fashion-mnist or synthetic");
    const Workload& w = find_workload(f->workload);
    const std::string scenario = find_scenario(f->scenario);
    const cluster::ClusterSpec spec = cluster::load_cluster(scenario);
    const double epochs = epochs_given ? f->epochs : w.demo_epochs;
    const bool real = f->dataset == "fashion-mnist";
    const int64_t train_size = real ? kFashionMnistTrainSize : kSyntheticTrainSize;
    const int64_t steps =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(epochs * (train_size / w.batch))));

    fs::create_directories(f->out);
    const std::string metrics = f->out + "/metrics.jsonl";
    const std::string plan_path = f->out + "/plan.json";
    fs::remove(metrics);
    fs::remove_all(f->out + "/baselines");
    fs::remove_all(f->out + "/checkpoints");

    std::string names, tiers;
    for (const auto& n : spec.nodes) {
      names += (names.empty() ? "" : ",") + n.name;
    }
    std::printf("DEC demo: %s (%s) on %s, scenario %s (%s)\n", w.id, w.what,
                real ? "Fashion-MNIST" : "synthetic data", spec.name.c_str(), scenario.c_str());
    std::printf("  %zu processes on this machine, one per node:", spec.nodes.size());
    for (const auto& n : spec.nodes) {
      std::printf(" %s (%s, speed %g)", n.name.c_str(), cluster::tier_name(n.tier), n.speed);
    }
    std::printf("\n  links:");
    for (const auto& l : spec.links) {
      std::printf(" %s-%s %g Mbit/s %g ms;", l.a.c_str(), l.b.c_str(), l.bandwidth_mbps,
                  l.latency_s * 1e3);
    }
    std::printf("\n  training %lld iterations (%g epochs) of batch %lld\n\n",
                static_cast<long long>(steps), epochs, static_cast<long long>(w.batch));

    // Flags every run shares: the emulated cluster, the model and the data.
    std::vector<std::string> common = {
        "launch", "--nproc-per-node", std::to_string(spec.nodes.size()), "--node-name", names,
        "--master-port", "0", "--emulate", "--cluster", scenario, "--model", w.model,
        "--dataset", f->dataset, "--input", w.input, "--classes", "10", "--optimizer", "adam",
        "--seed", std::to_string(f->seed), "--timeout", str(f->timeout_s),
        "--join-timeout", str(f->timeout_s)};

    // 1. The plan, trained.
    std::vector<std::string> args = common;
    for (const std::string& a :
         {std::string("--batch-size"), std::to_string(w.batch), std::string("--steps"),
          std::to_string(steps), std::string("--metrics"), metrics,
          std::string("--checkpoint-dir"), f->out + "/checkpoints",
          std::string("--eval-samples"), std::to_string(w.eval_samples)}) {
      args.push_back(a);
    }
    if (const int code = run_dec(args); code != 0) std::exit(code);

    std::vector<json> events = read_events(metrics);
    json plan;
    double accuracy = -1;
    for (const auto& e : events) {
      if (e.at("event") == "plan") plan = e.at("plan");
      if (e.at("event") == "epoch") accuracy = e.at("test_accuracy").get<double>();
    }
    DEC_CHECK(!plan.is_null(), CorruptFile, "no plan in the metrics", metrics,
              "the training run did not record its plan");
    planner::save_plan(plan_path, planner::plan_from_json(plan.dump(), metrics));
    int64_t iterations = 0;
    const double measured = mean_measured(events, &iterations);
    const double predicted = plan.at("prediction").at("iteration_s").get<double>();

    // 2. Every baseline, a few iterations with the same runtime. A baseline
    // whose plan is DEC's or an earlier baseline's is not run again: it shares
    // that measurement.
    std::vector<BaselineRun> baselines;
    struct Measured {
      json paths;
      std::string kind;
      double seconds;
      int64_t iterations;
    };
    std::vector<Measured> measured_plans = {{plan_paths(plan), "dec", measured, iterations}};
    for (const auto& b : plan.at("baselines")) {
      BaselineRun r;
      r.kind = b.at("kind").get<std::string>();
      r.predicted_s = b.at("prediction").at("iteration_s").get<double>();
      r.note = b.value("note", "");
      const bool runnable = b.at("feasible").get<bool>() && f->baseline_steps > 0;
      const json paths = plan_paths(b);
      auto same = std::find_if(measured_plans.begin(), measured_plans.end(),
                               [&](const Measured& m) { return runnable && m.paths == paths; });
      if (same != measured_plans.end()) {
        r.note = "same plan as " + same->kind;
        r.measured_s = same->seconds;
        r.iterations = same->iterations;
      } else if (runnable) {
        // Fewer iterations for a slow baseline, never under 2 (one is warm-up).
        const int64_t steps_b = std::min<int64_t>(
            f->baseline_steps,
            std::max<int64_t>(2, static_cast<int64_t>(f->baseline_budget_s / std::max(r.predicted_s, 1e-9))));
        std::fprintf(stderr, "\nbaseline %s: %lld iterations\n", r.kind.c_str(),
                     static_cast<long long>(steps_b));
        const std::string m = f->out + "/baselines/" + r.kind + ".jsonl";
        fs::create_directories(f->out + "/baselines");
        fs::remove(m);
        std::vector<std::string> bargs = common;
        for (const std::string& a :
             {std::string("--plan"), plan_path, std::string("--baseline"), r.kind,
              std::string("--steps"), std::to_string(steps_b), std::string("--no-eval"),
              std::string("--metrics"), m}) {
          bargs.push_back(a);
        }
        if (const int code = run_dec(bargs); code != 0) std::exit(code);
        r.measured_s = mean_measured(read_events(m), &r.iterations);
        measured_plans.push_back({paths, r.kind, r.measured_s, r.iterations});
      }
      baselines.push_back(r);
    }

    // 3. Into the metrics, for the report.
    {
      runtime::MetricsWriter writer(metrics);
      for (const auto& r : baselines) {
        writer.write({{"event", "baseline"},
                      {"kind", r.kind},
                      {"predicted_s", r.predicted_s},
                      {"measured_s", r.measured_s >= 0 ? json(r.measured_s) : json(nullptr)},
                      {"iterations", r.iterations},
                      {"note", r.note}});
      }
      writer.write({{"event", "summary"},
                    {"scenario", spec.name},
                    {"workload", std::string(w.id) + ": " + w.what},
                    {"iterations", iterations},
                    {"measured iteration", str(std::round(measured * 1000) / 1000, " s")},
                    {"predicted iteration", str(std::round(predicted * 1000) / 1000, " s")},
                    {"test accuracy", str(std::round(accuracy * 10000) / 100, "%")}});
    }
    const std::string report_path = f->out + "/report.html";
    report::ReportOptions ro;
    ro.title = str("DEC demo: ", w.id, " on ", spec.name);
    report::write_report(report_path, report::read_metrics(metrics), ro);

    // 4. The summary.
    std::string checkpoint;
    if (fs::exists(f->out + "/checkpoints/latest")) {
      std::ifstream in(f->out + "/checkpoints/latest");
      std::getline(in, checkpoint);
      checkpoint = f->out + "/checkpoints/" + checkpoint;
    }
    std::printf("\nsummary: %s on %s\n", w.id, spec.name.c_str());
    std::printf("  plan (%s, solver %s):\n%s", plan.at("prediction").at("bottleneck").get<std::string>().empty()
                                                   ? "-"
                                                   : ("bottleneck " + plan.at("prediction").at("bottleneck").get<std::string>()).c_str(),
                plan.contains("solver") ? plan["solver"].value("status", "?").c_str() : "?",
                describe_paths(plan).c_str());
    std::printf("  iteration: measured %.3f s, predicted %.3f s (measured/predicted %.2f) over %lld iterations\n",
                measured, predicted, predicted > 0 ? measured / predicted : 0.0,
                static_cast<long long>(iterations));
    std::printf("  %-14s %12s %12s %18s %18s\n", "baseline", "predicted s", "measured s",
                "DEC speedup pred.", "DEC speedup meas.");
    for (const auto& r : baselines) {
      if (r.measured_s < 0) {
        std::printf("  %-14s %12.3f %12s %17.2fx %18s  %s\n", r.kind.c_str(), r.predicted_s, "-",
                    r.predicted_s / predicted, "not run", r.note.c_str());
      } else {
        std::printf("  %-14s %12.3f %12.3f %17.2fx %17.2fx  %s\n", r.kind.c_str(), r.predicted_s,
                    r.measured_s, r.predicted_s / predicted, r.measured_s / measured, r.note.c_str());
      }
    }
    if (accuracy >= 0) std::printf("  test accuracy  %.2f%%\n", 100 * accuracy);
    std::printf("  checkpoint     %s\n", checkpoint.empty() ? "-" : checkpoint.c_str());
    std::printf("  metrics        %s\n", metrics.c_str());
    std::printf("  plan           %s\n", plan_path.c_str());
    std::printf("  report         %s\n", report_path.c_str());
  });
}

}  // namespace dec::cli
