#include "dec/planner/milp.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "dec/core/error.h"

namespace dec::planner {

int Milp::add_var(std::string name, double lb, double ub, bool integer, double obj) {
  DEC_ASSERT(lb <= ub, name, " bounds ", lb, " > ", ub);
  vars_.push_back({std::move(name), lb, ub, integer, obj});
  return static_cast<int>(vars_.size()) - 1;
}

void Milp::add_row(std::string name, const LinExpr& e, double lo, double hi) {
  std::map<int, double> merged;
  for (auto [v, c] : e.terms) {
    DEC_ASSERT(v >= 0 && v < num_vars(), name, ": variable ", v);
    DEC_ASSERT(std::isfinite(c), name, ": coefficient ", c);
    merged[v] += c;
  }
  Row r;
  r.name = std::move(name);
  for (auto [v, c] : merged)
    if (c != 0) r.terms.push_back({v, c});
  r.lo = lo - e.constant;
  r.hi = hi - e.constant;
  if (r.terms.empty()) {
    DEC_ASSERT(r.lo <= 1e-9 && r.hi >= -1e-9, r.name, ": constant row is infeasible");
    return;
  }
  size_t h = std::hash<double>()(r.lo) * 31 + std::hash<double>()(r.hi);
  for (auto [v, c] : r.terms) h = h * 1000003 + std::hash<int>()(v) * 7 + std::hash<double>()(c);
  auto [first, last] = row_hash_.equal_range(h);
  for (auto it = first; it != last; ++it) {
    const Row& o = rows_[it->second];
    if (o.lo == r.lo && o.hi == r.hi && o.terms == r.terms) return;
  }
  row_hash_.emplace(h, static_cast<int>(rows_.size()));
  rows_.push_back(std::move(r));
}

void Milp::set_bounds(int v, double lb, double ub) {
  DEC_ASSERT(v >= 0 && v < num_vars() && lb <= ub, "set_bounds ", v, " ", lb, " ", ub);
  vars_[v].lb = lb;
  vars_[v].ub = ub;
}

int Milp::num_integers() const {
  return static_cast<int>(std::count_if(vars_.begin(), vars_.end(), [](const Var& v) { return v.integer; }));
}

double Milp::max_violation(const std::vector<double>& x) const {
  DEC_ASSERT(x.size() == vars_.size(), "solution size ", x.size());
  double worst = 0;
  for (size_t v = 0; v < vars_.size(); ++v) {
    worst = std::max({worst, vars_[v].lb - x[v], x[v] - vars_[v].ub});
    if (vars_[v].integer) worst = std::max(worst, std::fabs(x[v] - std::round(x[v])));
  }
  for (const Row& r : rows_) {
    double a = 0;
    for (auto [v, c] : r.terms) a += c * x[v];
    worst = std::max({worst, r.lo - a, a - r.hi});
  }
  return worst;
}

double Milp::objective(const std::vector<double>& x) const {
  double s = 0;
  for (size_t v = 0; v < vars_.size(); ++v) s += vars_[v].obj * x[v];
  return s;
}

}  // namespace dec::planner

namespace dec::planner {

Milp Milp::relaxation() const {
  Milp m = *this;
  for (auto& v : m.vars_) v.integer = false;
  return m;
}

}  // namespace dec::planner
