// The fleet planner's pieces on synthetic_fleet (seed 1, W1's model without
// costs by rows), one at a time, for studying where its gap comes from:
//   fleet_probe [DEVICES] [i|x] levels         the configuration LP within fixed
//                                              sync intervals, each rounded, capped and moved for 8 s
//   fleet_probe [DEVICES] [i|x] moves LO HI    the LP within [LO, HI], rounded, then 4 x 5 s of moves
//   fleet_probe [DEVICES] [i|x] search SECONDS fleet_search from the best baseline
// i: CBC in this process; x: isolated in a child, as the planner runs it.
// A program, never a test.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dec/cluster/validate.h"
#include "dec/planner/fleet.h"
#include "dec/planner/fleet_search.h"
#include "dec/planner/baselines.h"
#include "dec/planner/planner.h"
#include "dec/planner/synthetic.h"

using namespace dec;
using namespace dec::planner;

static void show(const Instance& in, const Structure& s, const char* what) {
  std::vector<TimeTerm> terms;
  const Evaluation ev = evaluate(in, s, &terms);
  const TimeTerm& c = ev.critical;
  double maxload = 0; int maxk = -1;
  for (size_t k = 0; k < in.nodes.size(); ++k) if (ev.node_compute_s[k] > maxload) { maxload = ev.node_compute_s[k]; maxk = (int)k; }
  std::printf("  %s: %.4f s fits %d critical %s %s path %d load %.4f sync %.4f fill %.4f lat %.4f ovl %.4f; max node load %.4f (%s) own sync %.4f\n",
              what, ev.iteration_s, ev.fits, c.is_link ? "link" : "node",
              c.is_link ? in.links[c.resource].name.c_str() : in.nodes[c.resource].name.c_str(), c.path, c.load_s, c.sync_s,
              c.fill_s, c.latency_s, c.overlap_s, maxload, maxk >= 0 ? in.nodes[maxk].name.c_str() : "-", max_own_sync_s(in, s));
}

int main(int argc, char** argv) {
  SyntheticFleet f;
  f.devices = argc > 1 ? std::atoi(argv[1]) : 1000;
  const bool inproc = argc > 2 && argv[2][0] == 'i';
  const cluster::ClusterSpec spec = synthetic_fleet(f);
  profile::ModelProfile w1 = w1_profile();
  for (auto& b : w1.blocks) b.by_rows.clear();
  const Instance in = make_instance(spec, w1);
  auto solver = inproc ? make_cbc_solver() : isolate(make_cbc_solver(), 1);
  SolveOptions so;
  so.time_limit_s = 60;
  so.tuning = cbc_tuning();
  const char* mode = argc > 3 ? argv[3] : "levels";
  if (std::string(mode) == "search") {
    Structure inc;
    double inc_s = kInf;
    for (const auto& b : compute_baselines(in, *solver, so)) {
      if (!b.applicable) continue;
      const Evaluation ev = evaluate(in, b.structure);
      if (ev.fits && ev.iteration_s < inc_s) { inc_s = ev.iteration_s; inc = b.structure; }
    }
    FleetSearchOptions fo;
    fo.seconds = argc > 4 ? std::atof(argv[4]) : 55;
    const auto t0 = std::chrono::steady_clock::now();
    const FleetSearchResult r = fleet_search(in, *solver, so, inc, fo);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("search: bound %.4f in %.1f s: %s\n  method %s\n", r.bound, t, r.note.c_str(), r.method.c_str());
    show(in, r.best, "best");
    return 0;
  }
  if (std::string(mode) == "moves") {
    const double lo = std::atof(argv[4]), hi = std::atof(argv[5]);
    const FleetLp lp = solve_fleet_lp(in, *solver, so, hi, lo);
    std::printf("level [%.3f, %.3f]: bound %.4f: %s\n", lo, hi, lp.bound, lp.note.c_str());
    Structure r = lp.rounded;
    show(in, r, "rounded");
    for (int i = 0; i < 4; ++i) {
      r = improve_by_moves(in, r, 5);
      show(in, r, "moves +5s");
    }
    return 0;
  }
  std::vector<double> cuts{0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.85, 1e9};
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const FleetLp lp = solve_fleet_lp(in, *solver, so, cuts[i + 1], cuts[i]);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("level (%.2f, %.2f]: bound %.4f in %.1f s: %s\n", cuts[i], cuts[i + 1], lp.bound, t, lp.note.c_str());
    if (lp.rounded.empty()) continue;
    show(in, lp.rounded, "rounded");
    Structure r = repair_own_sync(in, lp.rounded);
    show(in, r, "repaired");
    if (!evaluate(in, r).fits) continue;
    Structure m = improve_by_moves(in, r, 8);
    show(in, m, "moves 8s");
  }
  return 0;
}
