// planner::Plan (node names) -> ExecPlan (ranks), for the ranks that joined.
#pragma once

#include <string>
#include <vector>

#include "dec/planner/plan.h"
#include "dec/runtime/exec_plan.h"

namespace dec::runtime {

// `rank_names[r]` is the node name rank r announced. Every node of the plan's
// paths must be exactly one rank. A rank on no path (the plan found no use for
// its node, e.g. a single-tier optimum) takes part in the handshake and then
// idles. Throws ConfigError naming `where`.
ExecPlan to_exec_plan(const planner::Plan& plan, const std::vector<std::string>& rank_names,
                      const std::string& where);

}  // namespace dec::runtime
