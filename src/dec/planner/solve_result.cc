#include <algorithm>
#include <cmath>

#include "dec/planner/solver.h"

namespace dec::planner {

const char* status_name(SolveStatus s) {
  switch (s) {
    case SolveStatus::kOptimal:
      return "optimal";
    case SolveStatus::kFeasible:
      return "time_limit";
    case SolveStatus::kInfeasible:
      return "infeasible";
    case SolveStatus::kNoSolution:
      return "no_solution";
    case SolveStatus::kFailed:
      return "failed";
  }
  return "?";
}

double SolveResult::gap() const {
  if (status == SolveStatus::kOptimal) return 0;
  if (!has_solution() || !std::isfinite(bound)) return kInf;
  const double denom = std::max(std::fabs(objective), 1e-12);
  return std::max(0.0, (objective - bound) / denom);
}

}  // namespace dec::planner
