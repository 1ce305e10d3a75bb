// The fleet planner's search over sync levels (docs/plan.md, "Fleet scale").
//
// Every node's time waits for the largest gradient sync S of the plan (the
// all-reduce after the compute, cost_model.cc), and S is a maximum over a
// thousand links: the configuration LP (fleet.h) charges a block held for a
// part of a source's samples that part of its sync, so it can keep S low
// while most devices hold large blocks. A plan's S lies in some interval
// [lo, hi]; the LP restricted to it (S >= lo; only the configurations whose
// sync on every link of their route stays within hi) bounds every plan whose
// S lies there. The least of those bounds over intervals that cover [0,
// incumbent] bounds every plan: a plan with S above the incumbent's time is
// slower than it. The search splits the interval with the lowest bound in
// two, best first, until that bound is within the target gap or the time is
// out; every LP solved also gives a plan (rounded, then capped to its
// sync), the best of which the moves then improve.
#pragma once

#include <string>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"
#include "dec/planner/solver.h"

namespace dec::planner {

struct FleetSearchOptions {
  double seconds = 10;        // wall clock for the search and the moves
  double target_gap = 0.01;   // stop splitting once the bound is within this of the plan
  double moves_share = 0.2;   // of `seconds`, the part kept for moves at the end
  double plan_lp_share = 0.1; // and for the LP at the best interval's sync, before them
  double grace_s = 1;         // how long a solve may outlive its limit (the isolated child's grace)
  int max_lps = 1 << 20;      // LPs solved at most
};

struct FleetSearchResult {
  double bound = -kInf;       // a lower bound on every plan; -inf when none was proven
  bool infeasible = false;    // proven: no plan fits memory
  Structure best;             // the fastest plan found that fits (may be the incumbent); empty: none
  std::string method;         // how `best` was found
  std::string note;           // how the bound was proven
};

// Plans `in` from `incumbent` (empty: none). `solver` solves the LPs with
// `lp_options` (time limits set here).
FleetSearchResult fleet_search(const Instance& in, Solver& solver, const SolveOptions& lp_options,
                               const Structure& incumbent, const FleetSearchOptions& options);

}  // namespace dec::planner
