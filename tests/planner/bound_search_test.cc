// The planner's lower bounds against the exhaustive reference: the relaxation
// (with its sample-weighted holding rows) and the symmetric branch-and-bound
// over LPs (bound_search.h) never exceed the enumerated optimum, and what the
// search rules out is never used by an optimal plan.
#include "dec/planner/bound_search.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/planner/classes.h"
#include "dec/planner/formulation.h"
#include "dec/planner/planner.h"
#include "exhaustive.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

constexpr int kInstances = 200;

// Half the instances are drawn with symmetric devices, so that the search
// branches on orbits, not only on single sources.
testing::RandomCase case_for(int i) {
  return i % 2 == 0 ? testing::symmetric_case(static_cast<uint64_t>(i)) : testing::random_case(4000 + i);
}

TEST(BoundSearch, NeverExceedsTheExhaustiveOptimum) {
  auto solver = make_cbc_solver();
  SolveOptions lp;
  lp.tuning = cbc_tuning();
  int checked = 0, symmetric = 0, complete = 0;
  for (int i = 0; i < kInstances; ++i) {
    SCOPED_TRACE(::testing::Message() << "instance " << i);
    const auto c = case_for(i);
    const Instance& in = c.instance;
    const auto ref = testing::exhaustive_optimum(in);
    if (!ref.feasible) continue;
    ++checked;
    const auto orbits = source_orbits(in);
    symmetric += orbits.size() < in.sources.size();
    const double opt = ref.best_s;

    // The orbit-tied relaxation, as the planner builds it (rows included).
    FormulationOptions fo;
    fo.tie = tie_groups(in, orbits);
    const SolveResult root = solver->solve(Formulation(in, fo).milp().relaxation(), lp);
    ASSERT_EQ(root.status, SolveStatus::kOptimal) << root.message;
    EXPECT_LE(root.objective, opt * (1 + 1e-6)) << "LP " << root.objective << " optimum " << opt;

    // Incumbents above, at and below the optimum. Above or at it, the bound
    // stays below the optimum and the optimal plan uses no path ruled out;
    // below it, "nothing is that fast" is the right answer.
    for (const double factor : {1.5, 1 + 1e-7, 0.98}) {
      SCOPED_TRACE(::testing::Message() << "incumbent " << factor << " x optimum");
      BoundSearchOptions bo;
      bo.prune_above = opt * factor;
      bo.seconds = 5;
      const BoundSearchResult r = search_bound(in, *solver, lp, bo);
      ASSERT_TRUE(std::isfinite(r.bound)) << r.note;
      EXPECT_LE(r.bound, opt * (1 + 1e-6)) << "bound " << r.bound << " optimum " << opt << ": " << r.note;
      EXPECT_LE(r.bound, bo.prune_above);
      if (factor > 1.01) {
        EXPECT_FALSE(r.complete) << r.note;
      }
      if (factor >= 1) {
        for (size_t p = 0; p < in.paths.size(); ++p)
          EXPECT_FALSE(r.unused[p] && ref.best[p].samples > 0) << "path " << p << " ruled out: " << r.note;
      } else {
        complete += r.complete;
      }
    }
  }
  std::printf("[ info ] %d feasible instances (%d with symmetric sources); below the optimum, %d searches closed\n",
              checked, symmetric, complete);
  EXPECT_GT(checked, kInstances / 2);
  EXPECT_GT(symmetric, kInstances / 4);
}

// On symmetric instances the whole planner (which then runs the bound
// search) finds the optimum and proves it.
TEST(BoundSearch, PlannerProvesTheOptimumOnSymmetricInstances) {
  int optimal = 0, feasible = 0;
  for (int i = 0; i < 40; ++i) {
    SCOPED_TRACE(::testing::Message() << "instance " << i);
    const auto c = testing::symmetric_case(static_cast<uint64_t>(1000 + i));
    const auto ref = testing::exhaustive_optimum(c.instance);
    if (!ref.feasible) continue;
    ++feasible;
    PlannerOptions o;
    o.time_limit_s = 10;
    const Plan p = make_plan(c.instance, o);
    ASSERT_TRUE(p.solver.has_value());
    EXPECT_GE(p.prediction.iteration_s, ref.best_s * (1 - 1e-9));
    EXPECT_LE(p.solver->bound, ref.best_s * (1 + 1e-6)) << p.solver->bound_method;
    if (p.solver->status == "optimal") {
      ++optimal;
      EXPECT_LT(std::fabs(p.prediction.iteration_s - ref.best_s) / ref.best_s, 1e-6) << p.solver->bound_method;
    }
  }
  std::printf("[ info ] %d of %d symmetric instances proven optimal\n", optimal, feasible);
  EXPECT_EQ(optimal, feasible);
}

}  // namespace
}  // namespace dec::planner
