// Why no plan fits: the constraint that binds, by node name.
//
// The only constraints that can make a planning instance infeasible are memory
// caps (every source always has a route: validation rejects disconnected nodes,
// and time is the objective, not a constraint). The explanation tries, in order:
//   1. a block that is larger than every node on some source's route;
//   2. a source whose route cannot hold the whole chain even with one sample,
//      filling its nodes in route order;
//   3. the elastic MILP: memory caps may be exceeded at a cost, the overflow is
//      minimised, and the nodes that still overflow are the binding ones.
#pragma once

#include <string>

#include "dec/planner/instance.h"
#include "dec/planner/solver.h"

namespace dec::planner {

struct Infeasibility {
  std::string where;  // "node 'dev0' memory" or "source dev0"
  std::string why;    // with sizes and caps
};

// REQUIRES: `in` has no plan that fits (the caller has proven it).
Infeasibility explain_infeasible(const Instance& in, Solver& solver, const SolveOptions& options);

}  // namespace dec::planner
