// Planner solve time and proven gap on synthetic CNN-like chains:
//   - 3 tiers (1 device, 1 edge, cloud) x {10, 25, 50, 100} blocks, on S2 and S2-fast;
//   - S2 scale variants (4 devices / 2 edges, 16 devices / 4 edges) x 50 blocks.
// For each: DEC's planner (baselines, tied device classes, full MILP, orbit LP
// bound), and as the reference measured in the same run, the plain full MILP
// on CBC from the cloud-only plan with the same time limit.
//
//   planner_bench [--time-limit S] [--threads N] [--seeds K] [--case SCENARIO:BLOCKS]... [--no-plain]
// --case (repeatable) runs only the named cases, e.g. --case S2-16dev:50;
// --no-plain skips the reference solve.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dec/cluster/load.h"
#include "dec/planner/baselines.h"
#include "dec/planner/formulation.h"
#include "dec/planner/planner.h"
#include "dec/planner/synthetic.h"

using namespace dec;
using namespace dec::planner;

namespace {

struct Row {
  double plan_s, bound_s, gap, seconds;
  std::string status;
};

Row run_dec(const Instance& in, double limit, int threads) {
  PlannerOptions o;
  o.time_limit_s = limit;
  o.threads = threads;
  const auto t0 = std::chrono::steady_clock::now();
  const Plan p = make_plan(in, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {p.prediction.iteration_s, p.solver->bound, p.solver->gap, s, p.solver->status};
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
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double plan = r.has_solution() ? evaluate(in, f.extract(r.values)).iteration_s : -1;
  return {plan, r.bound, r.gap(), s, status_name(r.status)};
}

Instance scenario(const std::string& name, int blocks, uint64_t seed) {
  SyntheticChain c;
  c.blocks = blocks;
  c.seed = seed;
  c.seconds_per_sample = 0.05;  // a small VGG-style 96x96 chain on one core, forward + backward
  return make_instance(cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/" + name + ".yaml"),
                       synthetic_profile(c));
}

void print(const char* what, const Row& r) {
  std::printf("    %-6s %-10s plan %9.4f s  bound %9.4f s  gap %6.2f%%  solve %6.2f s\n", what, r.status.c_str(),
              r.plan_s, r.bound_s, 100 * r.gap, r.seconds);
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
  for (const auto& c : cases) {
    if (!only.empty() &&
        std::find(only.begin(), only.end(), c.scenario + ":" + std::to_string(c.blocks)) == only.end())
      continue;
    for (int seed = 1; seed <= seeds; ++seed) {
      const Instance in = scenario(c.scenario, c.blocks, static_cast<uint64_t>(seed));
      std::printf("  %s, %zu device(s), %d blocks, seed %d\n", c.scenario.c_str(), in.sources.size(), c.blocks, seed);
      const Row dec = run_dec(in, limit, threads);
      print("dec", dec);
      if (!plain_too) continue;
      const Row plain = run_plain(in, limit, threads);
      print("plain", plain);
      if (plain.plan_s > 0)
        std::printf("    ratio plain/dec: plan %.3f, solve time %.2f\n", plain.plan_s / dec.plan_s,
                    plain.seconds / dec.seconds);
    }
  }
  return 0;
}
