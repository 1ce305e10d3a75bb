// An SVG drawing of a plan (`dec plan --svg`): one row per path with its nodes
// and the block range each runs, and a timeline of one iteration: each node's
// compute and each link's transfers and gradient sync as bars, from the time
// the first micro-batch can reach it, against the predicted iteration time.
// The timeline is the cost model's view (loads and fills), not a simulation.
#pragma once

#include <string>

#include "dec/planner/plan.h"

namespace dec::planner {

std::string render_svg(const Plan& plan);

}  // namespace dec::planner
