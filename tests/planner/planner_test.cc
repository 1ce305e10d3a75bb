// The whole planner (baselines, heuristics, full MILP, isolation) against the
// exhaustive reference, and its errors when nothing fits.
#include "dec/planner/planner.h"
#include "dec/planner/simpler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/core/error.h"
#include "dec/planner/describe.h"
#include "exhaustive.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

TEST(Planner, FindsTheExhaustiveOptimum) {
  int matched = 0, infeasible = 0;
  for (int seed = 300; seed < 360; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const auto c = testing::random_case(seed);
    const auto ref = testing::exhaustive_optimum(c.instance);
    PlannerOptions o;
    o.time_limit_s = 20;
    if (!ref.feasible) {
      EXPECT_THROW(make_plan(c.instance, o), PlanInfeasible);
      ++infeasible;
      continue;
    }
    const Plan p = make_plan(c.instance, o);
    ASSERT_TRUE(p.solver.has_value());
    EXPECT_EQ(p.solver->status, "optimal") << p.solver->bound_method;
    // The fastest plan found is the optimum; the plan is it or a simpler one
    // within the tolerance (simpler.h).
    EXPECT_LT(std::fabs(p.solver->fastest_s - ref.best_s) / ref.best_s, 1e-6);
    EXPECT_LE(p.prediction.iteration_s, ref.best_s * (1 + kSimplerTolerance) * (1 + 1e-9));
    if (p.solver->simpler.empty()) EXPECT_EQ(p.prediction.iteration_s, p.solver->fastest_s);
    EXPECT_NEAR(p.solver->objective, p.prediction.iteration_s, 1e-12 * ref.best_s);
    EXPECT_LE(p.solver->bound, p.prediction.iteration_s * (1 + 1e-9));
    EXPECT_TRUE(p.feasible);
    // Every baseline is a plan of the same instance: none beats the optimum.
    for (const auto& b : p.baselines) {
      if (b.feasible && !b.paths.empty()) EXPECT_GE(b.prediction.iteration_s, ref.best_s * (1 - 1e-9)) << b.kind;
    }
    // The plan's structure re-evaluates to its prediction.
    EXPECT_NEAR(evaluate(c.instance, structure_of(c.instance, p)).iteration_s, p.prediction.iteration_s,
                1e-12 * ref.best_s);
    ++matched;
  }
  std::printf("[ info ] %d optima and %d infeasible instances matched\n", matched, infeasible);
  EXPECT_GT(infeasible, 0);
}

// A solver that fails the way CBC has been seen to: the planner must survive it.
class CrashingSolver : public Solver {
 public:
  std::string name() const override { return "crashing"; }
  SolveResult solve(const Milp&, const SolveOptions&) override {
    std::abort();
  }
};

TEST(Planner, SurvivesASolverCrashWithTheBestBaseline) {
  const auto c = testing::random_case(7);
  const auto ref = testing::exhaustive_optimum(c.instance);
  ASSERT_TRUE(ref.feasible);
  PlannerOptions o;
  o.time_limit_s = 2;
  o.make_solver = [] { return isolate(std::make_unique<CrashingSolver>(), 1); };
  const Plan p = make_plan(c.instance, o);
  EXPECT_EQ(p.solver->status, "heuristic");
  EXPECT_NE(p.solver->bound_method.find("crashed"), std::string::npos) << p.solver->bound_method;
  EXPECT_GE(p.prediction.iteration_s, ref.best_s * (1 - 1e-9));
}

}  // namespace
}  // namespace dec::planner
