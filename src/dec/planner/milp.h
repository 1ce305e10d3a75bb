// A small solver-agnostic mixed-integer linear program: variables with bounds,
// integrality and an objective coefficient, and rows lo <= sum(coef * var) <= hi.
// The objective is always minimised. Solvers (solver.h) read it; the planner's
// formulation (formulation.h) writes it. Plain data, copyable, not thread-safe.
#pragma once

#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dec::planner {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A linear expression: sum of coef * var plus a constant.
struct LinExpr {
  std::vector<std::pair<int, double>> terms;
  double constant = 0;

  LinExpr() = default;
  LinExpr(double c) : constant(c) {}  // NOLINT: constants read naturally in sums
  static LinExpr var(int v, double coef = 1) {
    LinExpr e;
    e.terms.push_back({v, coef});
    return e;
  }
  LinExpr& add(int v, double coef) {
    if (coef != 0) terms.push_back({v, coef});
    return *this;
  }
  LinExpr& add(const LinExpr& o, double scale = 1) {
    for (auto [v, c] : o.terms) add(v, c * scale);
    constant += o.constant * scale;
    return *this;
  }
};

inline LinExpr operator+(LinExpr a, const LinExpr& b) { return a.add(b); }
inline LinExpr operator-(LinExpr a, const LinExpr& b) { return a.add(b, -1); }
inline LinExpr operator*(double s, LinExpr a) {
  for (auto& t : a.terms) t.second *= s;
  a.constant *= s;
  return a;
}

class Milp {
 public:
  struct Var {
    std::string name;
    double lb = 0, ub = kInf;
    bool integer = false;
    double obj = 0;
  };
  struct Row {
    std::string name;
    std::vector<std::pair<int, double>> terms;  // merged: each variable once
    double lo = -kInf, hi = kInf;
  };

  int add_var(std::string name, double lb, double ub, bool integer, double obj = 0);
  int add_binary(std::string name) { return add_var(std::move(name), 0, 1, true); }
  // Adds lo <= e <= hi; e's constant moves to the bounds. Terms of the same
  // variable are merged; a row left without terms is checked and dropped, and
  // so is an exact copy of an earlier row (models that share variables between
  // symmetric parts produce many).
  void add_row(std::string name, const LinExpr& e, double lo, double hi);
  void add_ge(std::string name, const LinExpr& e, double lo) { add_row(std::move(name), e, lo, kInf); }
  void add_le(std::string name, const LinExpr& e, double hi) { add_row(std::move(name), e, -kInf, hi); }
  void add_eq(std::string name, const LinExpr& e, double v) { add_row(std::move(name), e, v, v); }
  void set_bounds(int v, double lb, double ub);

  int num_vars() const { return static_cast<int>(vars_.size()); }
  int num_rows() const { return static_cast<int>(rows_.size()); }
  const Var& var(int v) const { return vars_[v]; }
  const std::vector<Var>& vars() const { return vars_; }
  const std::vector<Row>& rows() const { return rows_; }
  int num_integers() const;
  // Largest violation of bounds, rows or integrality by `x` (0 when feasible).
  double max_violation(const std::vector<double>& x) const;
  double objective(const std::vector<double>& x) const;
  // The LP relaxation: the same model with every integrality dropped.
  Milp relaxation() const;

 private:
  std::vector<Var> vars_;
  std::vector<Row> rows_;
  std::unordered_multimap<size_t, int> row_hash_;  // hash of (terms, lo, hi) -> row
};

}  // namespace dec::planner
