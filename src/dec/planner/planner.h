// The DEC planner: the split of the data and of the model that minimises the
// predicted iteration time, with the baselines beside it.
//
// Search (all solves in a forked child by default, solver.h isolate()):
//   1. baselines (baselines.h), evaluated with the cost model; the best one
//      that fits is the first incumbent;
//   2. when several data sources are identical (classes.h), the model with each
//      class tied to one plan (a one-device-sized MILP), then with each class
//      split in two groups, each from the incumbent;
//   3. the full MILP (formulation.h) from the incumbent, for the rest of the
//      time limit: it improves the plan and proves a lower bound.
// The reported bound is CBC's best bound on the full MILP, valid for every
// plan; the gap is (plan - bound) / plan. At fleet scale (fleet.h
// fleet_scale) no whole-instance MILP is built: configuration LPs over
// intervals of the plan's largest gradient sync (fleet_search.h) give the
// bound and plans, which moves of sources improve.
#pragma once

#include <functional>
#include <memory>

#include "dec/planner/instance.h"
#include "dec/planner/plan.h"
#include "dec/planner/solver.h"

namespace dec::planner {

struct PlannerOptions {
  double time_limit_s = 10;     // wall clock for all solves together (it may overrun by ~1 s)
  int threads = 1;              // solver threads
  bool isolate_solver = true;   // solve in a forked child: a solver crash becomes an error
  double relative_gap = 1e-9;   // stop when the proven gap is below this
  bool use_classes = true;      // step 2 above
  // Seam for tests: makes the solver (default: CBC, isolated per isolate_solver).
  std::function<std::unique_ptr<Solver>()> make_solver;
};

// Throws PlanInfeasible (where = the binding node or source) when no plan fits,
// and Timeout when the search found no plan in time and no baseline fits either.
Plan make_plan(const Instance& in, const PlannerOptions& options = {});

// The CBC settings every solve uses (docs/plan.md, "Search and bound", says
// why; bench/planner measures solve times to check them).
const std::vector<std::pair<std::string, std::string>>& cbc_tuning();

}  // namespace dec::planner
