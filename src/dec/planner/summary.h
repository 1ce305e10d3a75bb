// The human summary of a plan (`dec plan` prints it): per path its route,
// block ranges and samples; per node its blocks, samples, compute and memory;
// per link bytes and seconds; the predicted iteration time and its breakdown;
// the speedup over each baseline; the solver's status, bound and time.
#pragma once

#include <string>

#include "dec/planner/plan.h"

namespace dec::planner {

std::string summarize(const Plan& plan);

}  // namespace dec::planner
