// The reference for the planner's MILP: exhaustive enumeration of every
// structure of a small instance (which paths carry samples, every cut tuple of
// each, every integer split of each source's samples), each evaluated with an
// independent implementation of the cost model's formulas (docs/plan.md).
// Lives in the tests only: exponential, and meant to be obviously correct.
#pragma once

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"

namespace dec::planner::testing {

struct ExhaustiveResult {
  bool feasible = false;      // some structure fits every node's memory
  double best_s = 0;          // its iteration time
  Structure best;
  double evaluated = 0;       // structures looked at
};

// How many structures exhaustive_optimum() will look at.
double count_combinations(const Instance& in);

ExhaustiveResult exhaustive_optimum(const Instance& in);

// The enumerator's own evaluation of one structure (for cross-checking it
// against cost_model.cc's evaluate()). Returns false when it does not fit memory.
bool reference_time(const Instance& in, const Structure& s, double* seconds);

}  // namespace dec::planner::testing
