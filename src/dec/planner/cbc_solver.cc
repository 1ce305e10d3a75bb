// The CBC backend: the only file that includes CBC's headers, so that they stay
// out of the planner's interface.
#include <Cbc_C_Interface.h>
#include <cfloat>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "dec/core/error.h"
#include "dec/planner/solver.h"

namespace dec::planner {
namespace {

// Owns a Cbc_Model for the duration of one solve.
struct CbcModel {
  Cbc_Model* m = Cbc_newModel();
  ~CbcModel() { Cbc_deleteModel(m); }
};

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

void load(const Milp& milp, Cbc_Model* m) {
  const int n = milp.num_vars(), rows = milp.num_rows();
  // Column-major copy of the rows: Cbc_loadProblem takes compressed columns.
  std::vector<int> count(n + 1, 0);
  for (const auto& r : milp.rows())
    for (auto [v, c] : r.terms) ++count[v + 1];
  std::vector<CoinBigIndex> start(n + 1, 0);
  for (int v = 0; v < n; ++v) start[v + 1] = start[v] + count[v + 1];
  std::vector<int> index(start[n]);
  std::vector<double> value(start[n]);
  std::vector<CoinBigIndex> fill(start.begin(), start.end() - 1);
  for (int i = 0; i < rows; ++i) {
    for (auto [v, c] : milp.rows()[i].terms) {
      index[fill[v]] = i;
      value[fill[v]++] = c;
    }
  }
  std::vector<double> lb(n), ub(n), obj(n), rlo(rows), rhi(rows);
  for (int v = 0; v < n; ++v) {
    const auto& var = milp.var(v);
    lb[v] = var.lb;
    ub[v] = var.ub;
    obj[v] = var.obj;
  }
  // CBC spells infinity as DBL_MAX.
  auto finite = [](double x) { return std::isinf(x) ? (x > 0 ? DBL_MAX : -DBL_MAX) : x; };
  for (auto& x : lb) x = finite(x);
  for (auto& x : ub) x = finite(x);
  for (int i = 0; i < rows; ++i) {
    rlo[i] = finite(milp.rows()[i].lo);
    rhi[i] = finite(milp.rows()[i].hi);
  }
  Cbc_loadProblem(m, n, rows, start.data(), index.data(), value.data(), lb.data(), ub.data(),
                  obj.data(), rlo.data(), rhi.data());
  for (int v = 0; v < n; ++v)
    if (milp.var(v).integer) Cbc_setInteger(m, v);
  Cbc_setObjSense(m, 1);
}

// Without integer variables CBC stops after the initial LP solve and reports
// through the initial-solve queries only.
SolveResult lp_result(const Milp& milp, Cbc_Model* m, SolveResult r) {
  if (Cbc_isInitialSolveProvenOptimal(m)) {
    const double* x = Cbc_getColSolution(m);
    r.values.assign(x, x + milp.num_vars());
    r.objective = milp.objective(r.values);
    r.bound = r.objective;
    r.status = SolveStatus::kOptimal;
  } else if (Cbc_isInitialSolveProvenPrimalInfeasible(m)) {
    r.status = SolveStatus::kInfeasible;
    r.bound = kInf;
  } else {
    r.status = SolveStatus::kFailed;
    r.message = "the LP solve ended without optimality";
  }
  r.message += "LP";
  return r;
}

class CbcSolver : public Solver {
 public:
  std::string name() const override { return "cbc"; }

  SolveResult solve(const Milp& milp, const SolveOptions& o) override {
    const auto t0 = std::chrono::steady_clock::now();
    SolveResult r;
    CbcModel cbc;
    Cbc_Model* m = cbc.m;
    load(milp, m);
    Cbc_setLogLevel(m, 0);
    // timeMode first: without it CBC's "seconds" count CPU time.
    Cbc_setParameter(m, "timeMode", "elapsed");
    Cbc_setParameter(m, "threads", std::to_string(std::max(1, o.threads)).c_str());
    Cbc_setParameter(m, "sec", fmt(std::max(0.01, o.time_limit_s)).c_str());
    Cbc_setParameter(m, "ratioGap", fmt(o.relative_gap).c_str());
    Cbc_setParameter(m, "allowableGap", "1e-12");
    for (const auto& [k, v] : o.tuning) Cbc_setParameter(m, k.c_str(), v.c_str());
    if (!o.start.empty()) {
      std::vector<int> idx;
      std::vector<double> val;
      for (auto [v, x] : o.start) {
        idx.push_back(v);
        val.push_back(x);
      }
      Cbc_setMIPStartI(m, static_cast<int>(idx.size()), idx.data(), val.data());
    }
    Cbc_solve(m);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (milp.num_integers() == 0) return lp_result(milp, m, r);
    const bool has_solution = Cbc_bestSolution(m) != nullptr;
    if (has_solution) {
      const double* x = Cbc_getColSolution(m);
      r.values.assign(x, x + milp.num_vars());
      for (int v = 0; v < milp.num_vars(); ++v)
        if (milp.var(v).integer) r.values[v] = std::round(r.values[v]);
      r.objective = milp.objective(r.values);
    }
    if (Cbc_isProvenOptimal(m) && has_solution) {
      r.status = SolveStatus::kOptimal;
      r.bound = std::min(r.objective, Cbc_getBestPossibleObjValue(m));
    } else if (Cbc_isProvenInfeasible(m) && !has_solution) {
      r.status = SolveStatus::kInfeasible;
      r.bound = kInf;
    } else if (has_solution) {
      r.status = SolveStatus::kFeasible;
      r.bound = Cbc_getBestPossibleObjValue(m);
    } else if (Cbc_isAbandoned(m)) {
      r.status = SolveStatus::kFailed;
      r.message = "CBC abandoned the search (numerical difficulties)";
    } else {
      r.status = SolveStatus::kNoSolution;
      r.bound = Cbc_getBestPossibleObjValue(m);
    }
    // CBC reports "no bound" as +-DBL_MAX.
    if ((!std::isfinite(r.bound) || std::fabs(r.bound) >= 1e300) && r.status != SolveStatus::kInfeasible)
      r.bound = -kInf;
    r.message += str("cbc status ", Cbc_status(m), "/", Cbc_secondaryStatus(m), ", ",
                     Cbc_getNodeCount(m), " nodes");
    return r;
  }
};

}  // namespace

std::unique_ptr<Solver> make_cbc_solver() { return std::make_unique<CbcSolver>(); }

}  // namespace dec::planner
