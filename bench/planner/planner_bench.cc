// Planner solve time, proven gap and peak memory:
//   - 3 tiers (1 device, 1 edge, cloud) x {10, 25, 50, 100} blocks of a
//     synthetic CNN-like chain, on S2 and S2-fast;
//   - S2 scale variants (4 devices / 2 edges, 16 devices / 4 edges) x 50 blocks;
//   - fleets (synthetic.h synthetic_fleet): 256 and 1,000 heterogeneous devices
//     behind 20 edges and a cloud, on W1's model (fmnist-cnn, 4 blocks), the
//     seed drawing speeds, links and shares; per-sample costs at the
//     profile's micro-batch (by_rows left out), and also with them.
// For each: DEC's planner (make_plan, as `dec plan` runs it), and as the
// reference measured in the same run, the plain full MILP on CBC from the
// cloud-only plan with the same time limit. Each runs in a forked process of
// its own, which reports its wall time and peak memory: the planner's own
// (RUSAGE_SELF) and its largest solver child's (RUSAGE_CHILDREN). A run whose
// wall time exceeds the time limit by more than 5% is flagged OVER LIMIT.
//
//   planner_bench [--time-limit S] [--threads N] [--seeds K] [--case SCENARIO:BLOCKS]... [--no-plain]
// --case (repeatable) runs only the named cases, e.g. --case S2-16dev:50 or
// --case fleet-1000:4 (any fleet-N or fleet-rows-N, and any scenario file
// with a number of blocks); --no-plain skips the reference solve.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dec/cluster/load.h"
#include "dec/cluster/validate.h"
#include "dec/planner/baselines.h"
#include "dec/planner/formulation.h"
#include "dec/planner/planner.h"
#include "dec/planner/synthetic.h"

using namespace dec;
using namespace dec::planner;

namespace {

struct Row {
  double plan_s = -1, bound_s = -1, gap = -1, seconds = -1;
  double rss_mb = -1, child_rss_mb = -1;  // peak: the planner's process, its largest solver child
  char status[32] = "failed";
  char method[160] = "";
};

Row run_dec(const Instance& in, double limit, int threads) {
  PlannerOptions o;
  o.time_limit_s = limit;
  o.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  const Plan p = make_plan(in, o);
  Row r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.plan_s = p.prediction.iteration_s;
  r.bound_s = p.solver->bound;
  r.gap = p.solver->gap;
  std::snprintf(r.status, sizeof r.status, "%s", p.solver->status.c_str());
  std::snprintf(r.method, sizeof r.method, "%s", p.solver->method.c_str());
  return r;
}

double max_rss_mb(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_maxrss) / 1024;  // Linux: kilobytes
}

// Runs `f` in a forked process (its peak memory its own) and returns its Row
// with the peaks filled in; a failed child gives a Row with status "failed".
template <class F>
Row in_child(F f) {
  int fds[2];
  if (pipe(fds) != 0) return Row{};
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Row r;
    try {
      r = f();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "    failed: %s\n", e.what());
    }
    r.rss_mb = max_rss_mb(RUSAGE_SELF);
    r.child_rss_mb = max_rss_mb(RUSAGE_CHILDREN);
    const ssize_t w = write(fds[1], &r, sizeof r);
    _exit(w == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  close(fds[1]);
  Row r;
  const ssize_t got = pid > 0 ? read(fds[0], &r, sizeof r) : -1;
  close(fds[0]);
  if (pid > 0) waitpid(pid, nullptr, 0);
  return got == static_cast<ssize_t>(sizeof r) ? r : Row{};
}

// The reference: the full MILP alone, started from the cloud-only plan.
Row run_plain(const Instance& in, double limit, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  auto solver = isolate(make_cbc_solver(), 2);
  SolveOptions so;
  so.time_limit_s = limit;
  so.threads = threads;
  so.tuning = cbc_tuning();
  Formulation f(in);
  for (const auto& b : compute_baselines(in, *solver, so)) {
    if (b.kind == "cloud-only" && b.applicable && evaluate(in, b.structure).fits) so.start = f.start(b.structure);
  }
  const SolveResult r = solver->solve(f.milp(), so);
  Row row;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  row.plan_s = r.has_solution() ? evaluate(in, f.extract(r.values)).iteration_s : -1;
  row.bound_s = r.bound;
  row.gap = r.gap();
  std::snprintf(row.status, sizeof row.status, "%s", status_name(r.status));
  return row;
}

// "fleet-N": synthetic_fleet with N devices behind 20 edges, on W1's model
// with per-sample costs at the profile's micro-batch; "fleet-rows-N" keeps
// the profile's costs by rows (make_plan then solves at each plan's rows).
Instance scenario(const std::string& name, int blocks, uint64_t seed) {
  if (name.rfind("fleet-", 0) == 0) {
    const bool rows = name.rfind("fleet-rows-", 0) == 0;
    SyntheticFleet f;
    f.devices = std::atoi(name.c_str() + (rows ? 11 : 6));
    f.seed = seed;
    const cluster::ClusterSpec spec = synthetic_fleet(f);
    cluster::validate(spec, name);
    profile::ModelProfile w1 = w1_profile();
    if (!rows)
      for (auto& b : w1.blocks) b.by_rows.clear();
    return make_instance(spec, w1);
  }
  SyntheticChain c;
  c.blocks = blocks;
  c.seed = seed;
  c.seconds_per_sample = 0.05;  // a small VGG-style 96x96 chain on one core, forward + backward
  return make_instance(cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/" + name + ".yaml"),
                       synthetic_profile(c));
}

void print(const char* what, const Row& r, double limit) {
  std::printf("    %-6s %-10s plan %9.4f s  bound %9.4f s  gap %6.2f%%  wall %6.2f s (limit %.0f)  peak %6.0f MB,"
              " solver child %6.0f MB%s\n",
              what, r.status, r.plan_s, r.bound_s, 100 * r.gap, r.seconds, limit, r.rss_mb, r.child_rss_mb,
              r.seconds > 1.05 * limit ? "  OVER LIMIT" : "");
  if (r.method[0]) std::printf("           plan from: %s\n", r.method);
}

}  // namespace

int main(int argc, char** argv) {
  double limit = 10;
  int threads = 1, seeds = 1;
  bool plain_too = true;
  std::vector<std::string> only;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--no-plain")) {
      plain_too = false;
    } else if (has_value && !std::strcmp(argv[i], "--time-limit")) {
      limit = std::atof(argv[++i]);
    } else if (has_value && !std::strcmp(argv[i], "--threads")) {
      threads = std::atoi(argv[++i]);
    } else if (has_value && !std::strcmp(argv[i], "--seeds")) {
      seeds = std::atoi(argv[++i]);
    } else if (has_value && !std::strcmp(argv[i], "--case")) {
      only.push_back(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: planner_bench [--time-limit S] [--threads N] [--seeds K] [--case SCENARIO:BLOCKS]..."
                   " [--no-plain]\n");
      return std::strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  std::printf("planner_bench: time limit %.1f s, %d solver thread(s), %d seed(s) per case\n", limit, threads, seeds);
  std::printf("  dec = the planner; plain = full MILP on CBC alone from the cloud-only plan (reference)\n");
  struct Case {
    std::string scenario;
    int blocks;
  };
  std::vector<Case> cases;
  for (const char* s : {"S2", "S2-fast"})
    for (int b : {10, 25, 50, 100}) cases.push_back({s, b});
  cases.push_back({"S2-4dev", 50});
  cases.push_back({"S2-16dev", 50});
  cases.push_back({"fleet-256", 4});
  cases.push_back({"fleet-1000", 4});
  cases.push_back({"fleet-rows-256", 4});
  cases.push_back({"fleet-rows-1000", 4});
  // A named case outside the list (e.g. fleet-128:4) runs too.
  for (const auto& name : only) {
    const size_t colon = name.rfind(':');
    bool listed = false;
    for (const auto& c : cases) listed = listed || c.scenario + ":" + std::to_string(c.blocks) == name;
    if (!listed && colon != std::string::npos)
      cases.push_back({name.substr(0, colon), std::atoi(name.c_str() + colon + 1)});
  }
  for (const auto& c : cases) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), c.scenario + ":" + std::to_string(c.blocks)) == only.end())
      continue;
    for (int seed = 1; seed <= seeds; ++seed) {
      const Instance in = scenario(c.scenario, c.blocks, static_cast<uint64_t>(seed));
      std::printf("  %s, %zu device(s), %d blocks, seed %d\n", c.scenario.c_str(), in.sources.size(), c.blocks, seed);
      const Row dec = in_child([&] { return run_dec(in, limit, threads); });
      print("dec", dec, limit);
      if (!plain_too) continue;
      const Row plain = in_child([&] { return run_plain(in, limit, threads); });
      print("plain", plain, limit);
      if (plain.plan_s > 0)
        std::printf("    ratio plain/dec: plan %.3f, solve time %.2f\n", plain.plan_s / dec.plan_s,
                    plain.seconds / dec.seconds);
    }
  }
  return 0;
}
