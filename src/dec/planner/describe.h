// Between the solver's view (a Structure over an Instance) and the runtime's
// (a Plan naming nodes and block ranges).
#pragma once

#include <string>

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"
#include "dec/planner/plan.h"

namespace dec::planner {

// A plan of `kind` that names what it is for (cluster, model, blocks, batch,
// micro-batches) and plans nothing yet.
Plan plan_of(const Instance& in, const std::string& kind);

// Evaluates `s` with the cost model and writes everything a Plan reports:
// paths with samples, ranges and per-stage predictions, replica groups,
// prediction breakdown, per-node and per-link figures. feasible = fits memory;
// when it does not, note names the nodes over their caps. Solver report,
// baselines and provenance (cluster/profile hashes) are left for the caller.
Plan describe(const Instance& in, const Structure& s, const std::string& kind);

// The structure a plan describes on this instance. Throws Mismatch when the
// plan names a path, node or block count that the instance does not have, or
// when its samples do not add up to each source's share of the batch.
Structure structure_of(const Instance& in, const Plan& plan);

}  // namespace dec::planner
