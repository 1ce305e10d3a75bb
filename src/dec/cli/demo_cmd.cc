// `dec demo`: the main job. On this one machine it starts one process per node of
// a scenario (device, edge, cloud), each emulated at its node's speed and behind
// the scenario's links; each profiles itself, rank 0 plans, and the job trains
// with live progress. Then every baseline of the plan runs a few iterations with
// the same runtime, and the demo prints a summary (plan, measured vs predicted,
// measured speedups, accuracy) and writes an HTML report.
//
// Each run is a `dec launch` child, so the demo exercises exactly what a user runs;
// each run's metrics are read back as a report::RunRecord.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dec/cli/cli_util.h"
#include "dec/cli/workloads.h"
#include "dec/cluster/load.h"
#include "dec/core/error.h"
#include "dec/core/process.h"
#include "dec/planner/plan.h"
#include "dec/report/comparison.h"
#include "dec/report/report.h"
#include "dec/report/run_record.h"
#include "dec/runtime/metrics.h"

namespace dec::cli {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The default cell is S4a with W2's model and input size on real data:
// Fashion-MNIST resized to 3x96x96, camera-sized frames: the cell where a
// split of MobileNetV2 (where a block's output is smaller than the image) can
// beat every single tier, depending on the node speeds measured
// (bench/scenarios/plan_table.sh prints the plan and every baseline's
// prediction). No Fashion-MNIST cell at its native 28x28 has a mixed plan that
// gains (docs/workloads.md).
// The default length (a workload's demo epochs) keeps the whole demo,
// baselines included, under five minutes on two cores.
struct DemoFlags {
  std::string scenario = "S4a";
  std::string workload = "W2";
  std::string workloads_file;  // "": scenarios/workloads.yaml
  std::string dataset = "fashion-mnist";
  double epochs = 0;  // unless given: the workload's demo epochs
  CLI::Option* epochs_flag = nullptr;
  int64_t baseline_steps = 5;
  double baseline_budget_s = 40;
  std::string out = "out/demo";
  double timeout_s = 120;
  uint64_t seed = 0;
};

constexpr int64_t kSyntheticTrainSize = 10000;  // `dec launch`'s default for synthetic data
constexpr int64_t kFashionMnistTrainSize = 60000;

// scenarios/<file_name> here, else in the source tree; "" when neither exists.
std::string in_scenarios(const std::string& file_name) {
  for (const fs::path& p : {fs::path("scenarios") / file_name,
                            fs::path(DEC_SOURCE_DIR) / "scenarios" / file_name}) {
    if (fs::is_regular_file(p)) return p.string();
  }
  return "";
}

// --scenario: a file, or the name of one in scenarios/.
std::string scenario_file(const std::string& name) {
  const std::string file = fs::is_regular_file(name) ? name : in_scenarios(name + ".yaml");
  DEC_CHECK(!file.empty(), ConfigError, "unknown scenario", "--scenario " + name,
            "no such file, and no scenarios/", name, ".yaml (S1, S2, S2-fast, S3, S3-cat1, S4a, S4b)");
  return file;
}

// --workloads: the file given, else scenarios/workloads.yaml.
std::string workloads_file(const std::string& given) {
  const std::string file = given.empty() ? in_scenarios("workloads.yaml") : given;
  DEC_CHECK(!file.empty() && fs::is_regular_file(file), ConfigError, "no workloads table",
            given.empty() ? "--workloads" : "--workloads " + given,
            given.empty() ? "no scenarios/workloads.yaml here or in the source tree" : "no such file");
  return file;
}

// What every run of the demo shares.
struct Demo {
  DemoFlags flags;
  Workload workload;
  std::string scenario;  // the spec's file
  cluster::ClusterSpec spec;
  double epochs = 0;
  int64_t steps = 0;
  std::string metrics, plan_path;
};

Demo prepare(const DemoFlags& f) {
  const bool epochs_given = f.epochs_flag->count() > 0;
  DEC_CHECK(!epochs_given || f.epochs > 0, ConfigError, "invalid flag", "--epochs", "must be positive");
  DEC_CHECK(f.baseline_steps >= 0, ConfigError, "invalid flag", "--baseline-steps", "must be >= 0");
  DEC_CHECK(f.dataset == "fashion-mnist" || f.dataset == "synthetic", ConfigError,
            "unknown dataset", "--dataset " + f.dataset, "expected fashion-mnist or synthetic");
  Demo d;
  d.flags = f;
  const std::string table = workloads_file(f.workloads_file);
  d.workload = find_workload(load_workloads(table), f.workload, "--workload", table);
  d.scenario = scenario_file(f.scenario);
  d.spec = cluster::load_cluster(d.scenario);
  d.epochs = epochs_given ? f.epochs : d.workload.demo_epochs;
  const int64_t train_size = f.dataset == "fashion-mnist" ? kFashionMnistTrainSize : kSyntheticTrainSize;
  d.steps = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(d.epochs * (train_size / d.workload.batch))));
  d.metrics = f.out + "/metrics.jsonl";
  d.plan_path = f.out + "/plan.json";
  fs::create_directories(f.out);
  fs::remove(d.metrics);
  fs::remove_all(f.out + "/baselines");
  fs::remove_all(f.out + "/checkpoints");
  return d;
}

void print_header(const Demo& d) {
  const Workload& w = d.workload;
  std::printf("DEC demo: %s (%s) on %s, scenario %s (%s)\n", w.id.c_str(), w.what.c_str(),
              d.flags.dataset == "fashion-mnist" ? "Fashion-MNIST" : "synthetic data",
              d.spec.name.c_str(), d.scenario.c_str());
  std::printf("  %zu processes on this machine, one per node:", d.spec.nodes.size());
  for (const auto& n : d.spec.nodes) {
    std::printf(" %s (%s, speed %g)", n.name.c_str(), cluster::tier_name(n.tier), n.speed);
  }
  std::printf("\n  links:");
  for (const auto& l : d.spec.links) {
    std::printf(" %s-%s %g Mbit/s %g ms;", l.a.c_str(), l.b.c_str(), l.bandwidth_mbps,
                l.latency_s * 1e3);
  }
  std::printf("\n  training %lld iterations (%g epochs) of batch %lld\n\n",
              static_cast<long long>(d.steps), d.epochs, static_cast<long long>(w.batch));
}

// `dec launch` with the emulated cluster, the model and the data, then `extra`;
// waits for it. Throws ChildFailed with its exit code if it fails.
void launch(const Demo& d, const std::vector<std::string>& extra, const std::string& what) {
  std::string names;
  for (const auto& n : d.spec.nodes) names += (names.empty() ? "" : ",") + n.name;
  const DemoFlags& f = d.flags;
  std::vector<std::string> args = {
      "launch", "--nproc-per-node", std::to_string(d.spec.nodes.size()), "--node-name", names,
      "--master-port", "0", "--emulate", "--cluster", d.scenario, "--model", d.workload.model,
      "--dataset", f.dataset, "--input", d.workload.input, "--classes",
      std::to_string(d.workload.classes), "--optimizer", "adam", "--seed", std::to_string(f.seed),
      "--timeout", str(f.timeout_s), "--join-timeout", str(f.timeout_s)};
  args.insert(args.end(), extra.begin(), extra.end());
  const ExitStatus s = Child::spawn(kSelfExe, args, {}, what).wait();
  if (!s.ok()) {
    throw ChildFailed("run failed", what, "dec launch ended with " + s.describe(), s.code);
  }
}

// A measured run: its mean iteration time (report::mean_measured_s, after the
// warm-up) and how many iterations it ran.
struct Measured {
  double mean_s = 0;
  int64_t iterations = 0;
};

Measured measured(const report::RunRecord& run) {
  return {report::mean_measured_s(run), static_cast<int64_t>(run.iterations.size())};
}

// The same paths: the same samples through the same nodes and block ranges.
bool same_paths(const planner::Plan& a, const planner::Plan& b) {
  if (a.paths.size() != b.paths.size()) return false;
  for (size_t i = 0; i < a.paths.size(); ++i) {
    const auto &p = a.paths[i], &q = b.paths[i];
    if (p.source != q.source || p.nodes != q.nodes || p.ranges != q.ranges || p.samples != q.samples) {
      return false;
    }
  }
  return true;
}

// Every baseline of the plan, a few iterations each with the same runtime. A
// baseline whose plan is DEC's or an earlier baseline's is not run again: it
// shares that measurement.
std::vector<report::BaselineRun> run_baselines(const Demo& d, const planner::Plan& plan,
                                               const Measured& dec) {
  std::vector<report::BaselineRun> out;
  std::vector<std::pair<const planner::Plan*, std::string>> measured_plans = {{&plan, "dec"}};
  std::vector<Measured> measurements = {dec};
  for (const planner::Plan& b : plan.baselines) {
    report::BaselineRun r;
    r.kind = b.kind;
    r.predicted_s = b.prediction.iteration_s;
    r.measured_s = std::nan("");
    r.note = b.note;
    const bool runnable = b.feasible && d.flags.baseline_steps > 0;
    size_t same = 0;
    while (same < measured_plans.size() && !(runnable && same_paths(*measured_plans[same].first, b))) {
      ++same;
    }
    if (same < measured_plans.size()) {
      r.note = "same plan as " + measured_plans[same].second;
      r.measured_s = measurements[same].mean_s;
      r.iterations = measurements[same].iterations;
    } else if (runnable) {
      // Fewer iterations for a slow baseline, never under 2 (one is warm-up).
      const int64_t steps = std::min<int64_t>(
          d.flags.baseline_steps,
          std::max<int64_t>(2, static_cast<int64_t>(d.flags.baseline_budget_s /
                                                    std::max(r.predicted_s, 1e-9))));
      std::fprintf(stderr, "\nbaseline %s: %lld iterations\n", r.kind.c_str(),
                   static_cast<long long>(steps));
      const std::string m = d.flags.out + "/baselines/" + r.kind + ".jsonl";
      fs::create_directories(d.flags.out + "/baselines");
      fs::remove(m);
      launch(d, {"--plan", d.plan_path, "--baseline", r.kind, "--steps", std::to_string(steps),
                 "--no-eval", "--metrics", m},
             "baseline " + r.kind);
      const Measured mb = measured(report::read_metrics(m));
      r.measured_s = mb.mean_s;
      r.iterations = mb.iterations;
      measured_plans.push_back({&b, r.kind});
      measurements.push_back(mb);
    }
    out.push_back(r);
  }
  return out;
}

// What the summary and the report say about DEC's run.
struct Outcome {
  planner::Plan plan;
  Measured dec;
  double accuracy = -1;  // the last evaluation; -1 without one
  std::vector<report::BaselineRun> baselines;
};

// The baselines and a summary into the run's metrics, then the report from them.
std::string write_report(const Demo& d, const Outcome& o) {
  {
    runtime::MetricsWriter writer(d.metrics);
    for (const auto& r : o.baselines) {
      writer.write({{"event", "baseline"},
                    {"kind", r.kind},
                    {"predicted_s", r.predicted_s},
                    {"measured_s", std::isnan(r.measured_s) ? json(nullptr) : json(r.measured_s)},
                    {"iterations", r.iterations},
                    {"note", r.note}});
    }
    const double predicted = o.plan.prediction.iteration_s;
    writer.write({{"event", "summary"},
                  {"scenario", d.spec.name},
                  {"workload", d.workload.id + ": " + d.workload.what},
                  {"iterations", o.dec.iterations},
                  {"measured iteration", str(std::round(o.dec.mean_s * 1000) / 1000, " s")},
                  {"predicted iteration", str(std::round(predicted * 1000) / 1000, " s")},
                  {"test accuracy", str(std::round(o.accuracy * 10000) / 100, "%")}});
  }
  const std::string path = d.flags.out + "/report.html";
  report::ReportOptions ro;
  ro.title = str("DEC demo: ", d.workload.id, " on ", d.spec.name);
  report::write_report(path, report::read_metrics(d.metrics), ro);
  return path;
}

std::string describe_paths(const planner::Plan& plan) {
  std::string out;
  for (const auto& p : plan.paths) {
    out += str("    ", p.samples, " samples from ", p.source, ":");
    for (size_t j = 0; j < p.nodes.size(); ++j) {
      const auto& r = p.ranges[j];
      out += str(" ", p.nodes[j], r.empty() ? " (forwards)" : str(" blocks ", r.begin, "-", r.end - 1));
    }
    out += "\n";
  }
  return out;
}

void print_summary(const Demo& d, const Outcome& o, const std::string& report_path) {
  std::string checkpoint;
  if (std::ifstream in(d.flags.out + "/checkpoints/latest"); in && std::getline(in, checkpoint)) {
    checkpoint = d.flags.out + "/checkpoints/" + checkpoint;
  }
  const planner::Prediction& pred = o.plan.prediction;
  const double measured = o.dec.mean_s, predicted = pred.iteration_s;
  std::printf("\nsummary: %s on %s\n", d.workload.id.c_str(), d.spec.name.c_str());
  std::printf("  plan (%s, solver %s):\n%s",
              pred.bottleneck.empty() ? "-" : ("bottleneck " + pred.bottleneck).c_str(),
              o.plan.solver ? o.plan.solver->status.c_str() : "?", describe_paths(o.plan).c_str());
  std::printf("  iteration: measured %.3f s, predicted %.3f s (measured/predicted %.2f) over %lld iterations\n",
              measured, predicted, predicted > 0 ? measured / predicted : 0.0,
              static_cast<long long>(o.dec.iterations));
  std::printf("  %-14s %12s %12s %18s %18s\n", "baseline", "predicted s", "measured s",
              "DEC speedup pred.", "DEC speedup meas.");
  for (const auto& r : o.baselines) {
    if (std::isnan(r.measured_s)) {
      std::printf("  %-14s %12.3f %12s %17.2fx %18s  %s\n", r.kind.c_str(), r.predicted_s, "-",
                  r.predicted_s / predicted, "not run", r.note.c_str());
    } else {
      std::printf("  %-14s %12.3f %12.3f %17.2fx %17.2fx  %s\n", r.kind.c_str(), r.predicted_s,
                  r.measured_s, r.predicted_s / predicted, r.measured_s / measured, r.note.c_str());
    }
  }
  if (o.accuracy >= 0) std::printf("  test accuracy  %.2f%%\n", 100 * o.accuracy);
  std::printf("  checkpoint     %s\n", checkpoint.empty() ? "-" : checkpoint.c_str());
  std::printf("  metrics        %s\n", d.metrics.c_str());
  std::printf("  plan           %s\n", d.plan_path.c_str());
  std::printf("  report         %s\n", report_path.c_str());
}

void run_demo(const DemoFlags& f) {
  const Demo d = prepare(f);
  print_header(d);
  // 1. The plan, trained.
  launch(d, {"--batch-size", std::to_string(d.workload.batch), "--steps", std::to_string(d.steps),
             "--metrics", d.metrics, "--checkpoint-dir", f.out + "/checkpoints", "--eval-samples",
             std::to_string(d.workload.demo_eval_samples)},
         "training");
  const report::RunRecord run = report::read_metrics(d.metrics);
  DEC_CHECK(run.plan.has_value(), CorruptFile, "no plan in the metrics", d.metrics,
            "the training run did not record its plan");
  Outcome o;
  o.plan = *run.plan;
  o.dec = measured(run);
  if (!run.epochs.empty()) o.accuracy = run.epochs.back().test_accuracy;
  planner::save_plan(d.plan_path, o.plan);
  // 2. Every baseline; 3. the report; 4. the summary.
  o.baselines = run_baselines(d, o.plan, o.dec);
  print_summary(d, o, write_report(d, o));
}

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
  cmd->add_option("--workload", f->workload, "W1, W2 or W3 (docs/workloads.md)")->capture_default_str();
  cmd->add_option("--workloads", f->workloads_file,
                  "The workloads table (default scenarios/workloads.yaml)");
  cmd->add_option("--dataset", f->dataset,
                  "fashion-mnist (resized to the workload's input) or synthetic")
      ->capture_default_str();
  f->epochs_flag = cmd->add_option("--epochs", f->epochs,
                                   "Epochs to train (fractions allowed; default: the workload's demo epochs)");
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
  cmd->callback([f] { run_demo(*f); });
}

}  // namespace dec::cli
