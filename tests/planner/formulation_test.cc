// The MILP against the exhaustive reference on random small instances
// (exhaustive.cc enumerates every plan: it defines what optimal is).
#include <gtest/gtest.h>

#include <cmath>

#include "dec/planner/cost_model.h"
#include "dec/planner/formulation.h"
#include "dec/planner/planner.h"
#include "dec/planner/solver.h"
#include "exhaustive.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

using testing::exhaustive_optimum;
using testing::random_case;
using testing::reference_time;

constexpr int kInstances = 200;

TEST(Formulation, MatchesExhaustiveOnRandomChains) {
  auto solver = isolate(make_cbc_solver());
  int feasible = 0, infeasible = 0;
  for (int seed = 0; seed < kInstances; ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    const auto c = random_case(seed);
    const Instance& in = c.instance;
    const auto ref = exhaustive_optimum(in);
    Formulation f(in);
    SolveOptions o;
    o.time_limit_s = 30;
    o.tuning = cbc_tuning();
    const SolveResult r = solver->solve(f.milp(), o);
    if (!ref.feasible) {
      ++infeasible;
      EXPECT_EQ(r.status, SolveStatus::kInfeasible) << r.message;
      continue;
    }
    ++feasible;
    ASSERT_EQ(r.status, SolveStatus::kOptimal) << r.message;
    EXPECT_LT(f.milp().max_violation(r.values), 1e-5);
    const Structure s = f.extract(r.values);
    const Evaluation ev = evaluate(in, s);
    EXPECT_TRUE(ev.fits);
    // The plan's evaluated time equals the exhaustive optimum, and the MILP's own objective agrees.
    EXPECT_LT(std::fabs(ev.iteration_s - ref.best_s) / ref.best_s, 1e-6)
        << "milp plan " << ev.iteration_s << " exhaustive " << ref.best_s;
    EXPECT_LT(std::fabs(r.objective - ref.best_s) / ref.best_s, 1e-6)
        << "milp objective " << r.objective << " exhaustive " << ref.best_s;
  }
  std::printf("[ info ] %d feasible and %d infeasible instances matched\n", feasible, infeasible);
  EXPECT_GE(infeasible, kInstances / 40);  // both kinds are exercised (6 of 200 with this seed)
  EXPECT_GT(feasible, kInstances / 2);
}

// The enumerator's independent formulas agree with cost_model.cc on the
// structures it finds and on random ones.
TEST(Formulation, ReferenceEvaluationAgreesWithCostModel) {
  for (int seed = 0; seed < 40; ++seed) {
    const auto c = random_case(1000 + seed);
    const auto ref = exhaustive_optimum(c.instance);
    if (!ref.feasible) continue;
    double t = 0;
    ASSERT_TRUE(reference_time(c.instance, ref.best, &t));
    const Evaluation ev = evaluate(c.instance, ref.best);
    EXPECT_NEAR(ev.iteration_s, t, 1e-9 * t);
    EXPECT_TRUE(ev.fits);
  }
}

}  // namespace
}  // namespace dec::planner
