// The reference plans printed beside every DEC plan, evaluated with the same
// cost model (docs/plan.md, "Baselines"):
//   device-only   every source trains on its own samples alone
//   edge-only     raw samples go to the first edge on each source's route
//   cloud-only    raw samples go to the first cloud node on each source's route
//   data-parallel every path runs the whole model on its last node (raw
//                 samples travel), samples split optimally over the paths
//   neurosurgeon  one split point k for all sources: blocks [0,k) on the
//                 device, [k,L) on the cloud, edges forward; the best k
//   pipedream     per source, PipeDream's dynamic program: the contiguous
//                 partition over its route that minimises the slowest stage
//                 (compute or transfer of that source's samples; no stage
//                 replication), then evaluated on the shared cluster
// A baseline that does not apply (no edge on a route) or that does not fit
// memory is still returned, with applicable/fits false and a note.
#pragma once

#include <string>
#include <vector>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"
#include "dec/planner/solver.h"

namespace dec::planner {

struct Baseline {
  std::string kind;
  bool applicable = true;
  std::string note;         // why not applicable
  Structure structure;      // valid when applicable
};

// `solver` and `options` serve data-parallel's sample split (a small MILP).
std::vector<Baseline> compute_baselines(const Instance& in, Solver& solver, const SolveOptions& options);

// The PipeDream partition alone (used by compute_baselines; exposed for tests).
Structure pipedream_partition(const Instance& in);

}  // namespace dec::planner
