// The interface between the planner and a MILP solver.
//
// Contract of Solver::solve(milp, options):
//   - minimises milp's objective within options.time_limit_s of wall-clock time
//     (a solver may overrun it slightly while stopping);
//   - returns a SolveResult; it never prints and never aborts. A failure of the
//     solver itself (an exception, a crash in an isolated child) is reported as
//     status kFailed with a message, not thrown;
//   - `values` holds one value per variable whenever a solution exists
//     (kOptimal, kFeasible), integers rounded;
//   - `bound` is a proven lower bound on the optimum (-inf when unknown).
// Implementations: make_cbc_solver() (cbc_solver.cc, in-process) and
// isolate() (isolated_solver.cc: any solver run in a forked child process).
// A Solver object may be used for several solves, one at a time.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dec/planner/milp.h"

namespace dec::planner {

enum class SolveStatus {
  kOptimal,     // proven optimal (within relative_gap)
  kFeasible,    // stopped by the time limit with a solution; see bound
  kInfeasible,  // proven: no solution exists
  kNoSolution,  // stopped by the time limit without any solution
  kFailed,      // the solver failed (crashed, threw, was killed)
};
const char* status_name(SolveStatus s);

struct SolveOptions {
  double time_limit_s = 10;   // wall clock
  int threads = 1;            // solver threads
  double relative_gap = 1e-9; // stop when (objective - bound) / |objective| is below this
  // A starting solution: values of (some) integer variables; the solver
  // completes the rest. Ignored by a solver when it does not lead to a solution.
  std::vector<std::pair<int, double>> start;
  // Solver-specific parameters (for CBC: its command-line names and values,
  // e.g. {"cuts", "off"}), applied after the options above. A solver ignores
  // names it does not know.
  std::vector<std::pair<std::string, std::string>> tuning;
};

struct SolveResult {
  SolveStatus status = SolveStatus::kFailed;
  double objective = kInf;   // of `values`, when there is a solution
  double bound = -kInf;      // proven lower bound on the optimum
  double seconds = 0;        // wall clock spent
  std::vector<double> values;
  std::string message;       // why, for kFailed; solver notes otherwise

  bool has_solution() const { return status == SolveStatus::kOptimal || status == SolveStatus::kFeasible; }
  // (objective - bound) / objective, 0 when optimal, +inf when unknown.
  double gap() const;
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual SolveResult solve(const Milp& milp, const SolveOptions& options) = 0;
  virtual std::string name() const = 0;
};

// COIN-OR CBC through its C interface, in this process. CBC has been seen to
// crash inside time-limited solves of large models (in CglPreProcess): prefer
// isolate().
std::unique_ptr<Solver> make_cbc_solver();

// Runs `inner` in a forked child process; the result comes back through a
// pipe. A child that crashes, exits early or outlives time_limit_s + grace_s
// (then killed) yields kFailed with the reason. The inner solver must not rely
// on threads of the parent. POSIX only.
std::unique_ptr<Solver> isolate(std::unique_ptr<Solver> inner, double grace_s = 5);

}  // namespace dec::planner
