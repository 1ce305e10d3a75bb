// A task's rows and its per-sample cost.
//
// A path of b samples runs in min(M, b) micro-batches of floor or ceil b / M
// rows (the runtime's split, exec_plan.h), and per sample a block costs more
// or less at fewer rows than at the profile's micro-batch: a task's fixed
// costs weigh more, feature maps fit in cache. The profile measures each
// block at 1, 2, 4.. rows (ModelProfile by_rows); between two measured row
// counts a task's cost is taken as linear in its rows.
//
// The cost model reads a path's per-sample times as the node's times times
// the path's scales (Instance::fwd_s). at_rows sets them for a structure, so
// evaluate(at_rows(in, s), s) is the structure's time at its own rows. The
// MILP keeps the scales it was built with: the planner re-solves at the
// rows of the plan it found until the plan stays (planner.cc).
#pragma once

#include "dec/planner/cost_model.h"
#include "dec/planner/instance.h"

namespace dec::planner {

// A copy of `in` whose used paths' scales are those of their samples in `s`;
// unused paths keep theirs. Blocks without by_rows scale by 1.
Instance at_rows(const Instance& in, const Structure& s);

// evaluate(at_rows(in, s), s).
Evaluation evaluate_at_rows(const Instance& in, const Structure& s);

}  // namespace dec::planner
