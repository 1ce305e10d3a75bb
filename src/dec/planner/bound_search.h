// A lower bound on the planning problem by branch-and-bound over LP
// relaxations that keeps the instance's symmetry (orbital branching, Ostrowski
// et al.): what proves the gap when the full MILP is too large for CBC.
//
// Every LP is the relaxation of the MILP (formulation.h) restricted to plans at
// least as fast as `prune_above`, with the sources that the branch leaves
// exchangeable tied (classes.h source_orbits), which keeps it at the size of
// one orbit. A node branches on a path binary (v: the path is used; P: a block
// runs before a hop) of an orbit O of sources:
//   - every source of O has it 0 (a symmetric fixing: the ties stay), or
//   - O's first source has it 1, and that source leaves the tie: by symmetry,
//     a plan in which some source of O has it 1 maps to one in which the first
//     does, at the same time.
// The bound is the smallest LP value over the open nodes; a node whose LP
// exceeds prune_above (or is infeasible) holds no plan that fast and closes.
// The branching variable is chosen by strong branching: both children of a
// few candidates are solved, and a candidate with a closed child is a fixing
// for free.
#pragma once

#include <string>
#include <vector>

#include "dec/planner/formulation.h"
#include "dec/planner/instance.h"
#include "dec/planner/solver.h"

namespace dec::planner {

struct BoundSearchOptions {
  // The incumbent's time (with a little slack): the search proves what no plan
  // at least this fast can do. Infinity: no incumbent.
  double prune_above = kInf;
  double seconds = 1;           // wall clock for the whole search
  double relative_gap = 1e-9;   // stop once (prune_above - bound) / prune_above is below this
  int candidates = 6;           // strong-branching candidates per node
};

struct BoundSearchResult {
  // A lower bound on the time of every plan, at most prune_above; -inf when
  // the root LP could not be solved.
  double bound = -kInf;
  bool complete = false;        // every node closed: no plan is faster than prune_above
  int lps = 0;                  // LPs solved
  int open = 0;                 // nodes left open at the end
  // Per path: true when no plan at least as fast as prune_above uses it
  // (proven at the root, so formulations may fix the path off).
  std::vector<char> unused;
  std::string note;             // what was done, for the plan's bound_method
};

// `lp_options` carries threads and solver tuning; its time limit is set per LP.
BoundSearchResult search_bound(const Instance& in, Solver& solver, const SolveOptions& lp_options,
                               const BoundSearchOptions& options);

}  // namespace dec::planner
