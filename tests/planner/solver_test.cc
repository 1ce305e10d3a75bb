// The solver seam: CBC on tiny models, and the isolation that keeps a crashing
// or hanging solver from taking the planner down.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "dec/planner/solver.h"

namespace dec::planner {
namespace {

// min x + 2y, x + y >= 3.5, x, y integer in [0, 10]: optimum 4 at (4, 0).
Milp tiny() {
  Milp m;
  const int x = m.add_var("x", 0, 10, true, 1);
  const int y = m.add_var("y", 0, 10, true, 2);
  m.add_ge("cover", LinExpr::var(x) + LinExpr::var(y), 3.5);
  return m;
}

TEST(Milp, MergesTermsAndDropsDuplicateRows) {
  Milp m;
  const int x = m.add_var("x", 0, 1, false);
  m.add_le("a", LinExpr::var(x) + LinExpr::var(x, 2) + 1.0, 4);
  m.add_le("b", LinExpr::var(x, 3), 3);  // the same row as "a" once merged
  ASSERT_EQ(m.num_rows(), 1);
  EXPECT_EQ(m.rows()[0].terms.size(), 1u);
  EXPECT_DOUBLE_EQ(m.rows()[0].hi, 3);
  EXPECT_DOUBLE_EQ(m.max_violation({2.0}), 3.0);  // x over its bound by 1, row over by 3
}

TEST(CbcSolver, SolvesOptimalInfeasibleAndLp) {
  auto cbc = make_cbc_solver();
  SolveOptions o;
  SolveResult r = cbc->solve(tiny(), o);
  ASSERT_EQ(r.status, SolveStatus::kOptimal) << r.message;
  EXPECT_DOUBLE_EQ(r.objective, 4);
  EXPECT_DOUBLE_EQ(r.values[0], 4);
  EXPECT_EQ(r.gap(), 0);

  r = cbc->solve(tiny().relaxation(), o);
  ASSERT_EQ(r.status, SolveStatus::kOptimal) << r.message;
  EXPECT_DOUBLE_EQ(r.objective, 3.5);

  Milp bad = tiny();
  bad.add_le("cap", LinExpr::var(0) + LinExpr::var(1), 2);
  EXPECT_EQ(cbc->solve(bad, o).status, SolveStatus::kInfeasible);
}

TEST(IsolatedSolver, ReturnsTheSameResultThroughThePipe) {
  // Enough variables that the result exceeds a pipe's buffer.
  Milp m;
  LinExpr sum;
  for (int i = 0; i < 20000; ++i) sum.add(m.add_var("v", 0, 1, false, 1), 1);
  m.add_ge("sum", sum, 5);
  auto r = isolate(make_cbc_solver())->solve(m, SolveOptions{});
  ASSERT_EQ(r.status, SolveStatus::kOptimal) << r.message;
  EXPECT_EQ(r.values.size(), 20000u);
  EXPECT_NEAR(r.objective, 5, 1e-9);
}

class Crashes : public Solver {
 public:
  std::string name() const override { return "crashes"; }
  SolveResult solve(const Milp&, const SolveOptions&) override {
    std::raise(SIGSEGV);
    return {};
  }
};

class Hangs : public Solver {
 public:
  std::string name() const override { return "hangs"; }
  SolveResult solve(const Milp&, const SolveOptions&) override {
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return {};
  }
};

class Throws : public Solver {
 public:
  std::string name() const override { return "throws"; }
  SolveResult solve(const Milp&, const SolveOptions&) override { throw std::runtime_error("boom"); }
};

TEST(IsolatedSolver, TurnsACrashIntoAFailure) {
  const SolveResult r = isolate(std::make_unique<Crashes>())->solve(tiny(), SolveOptions{});
  EXPECT_EQ(r.status, SolveStatus::kFailed);
  EXPECT_NE(r.message.find("crashed"), std::string::npos) << r.message;
}

TEST(IsolatedSolver, KillsASolverThatOverrunsItsLimit) {
  SolveOptions o;
  o.time_limit_s = 0.2;
  const auto t0 = std::chrono::steady_clock::now();
  const SolveResult r = isolate(std::make_unique<Hangs>(), 0.3)->solve(tiny(), o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, SolveStatus::kFailed);
  EXPECT_NE(r.message.find("killed"), std::string::npos) << r.message;
  EXPECT_LT(s, 5);
}

TEST(IsolatedSolver, ReportsAnExceptionInTheChild) {
  const SolveResult r = isolate(std::make_unique<Throws>())->solve(tiny(), SolveOptions{});
  EXPECT_EQ(r.status, SolveStatus::kFailed);
  EXPECT_NE(r.message.find("boom"), std::string::npos) << r.message;
}

}  // namespace
}  // namespace dec::planner
