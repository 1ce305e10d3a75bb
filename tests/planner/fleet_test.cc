// Fleet-scale planning (fleet.h, fleet_search.h) against the exhaustive
// reference: the configuration LP's bound, alone and as the least over sync
// intervals, never exceeds the enumerated optimum, the plans rounded from it
// and the moves keep every source's samples, the least costs over rows bound
// every plan at its own rows, and make_plan on a fleet returns a plan whose
// bound lies below it.
#include "dec/planner/fleet.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dec/cluster/validate.h"
#include "dec/planner/describe.h"
#include "dec/planner/fleet_search.h"
#include "dec/planner/planner.h"
#include "dec/planner/rows.h"
#include "dec/planner/synthetic.h"
#include "exhaustive.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

constexpr int kInstances = 200;

testing::RandomCase case_for(int i) {
  return i % 2 == 0 ? testing::symmetric_case(static_cast<uint64_t>(700 + i)) : testing::random_case(7000 + i);
}

TEST(Fleet, LpBoundNeverExceedsTheExhaustiveOptimum) {
  auto solver = make_cbc_solver();
  SolveOptions lp;
  lp.time_limit_s = 10;
  int checked = 0, tight = 0;
  for (int i = 0; i < kInstances; ++i) {
    SCOPED_TRACE(::testing::Message() << "instance " << i);
    const auto c = case_for(i);
    const Instance& in = c.instance;
    const auto ref = testing::exhaustive_optimum(in);
    const FleetLp r = solve_fleet_lp(in, *solver, lp);
    if (!ref.feasible) {
      EXPECT_TRUE(r.infeasible || std::isfinite(r.bound)) << r.note;
      continue;
    }
    ++checked;
    ASSERT_FALSE(r.infeasible) << r.note;
    ASSERT_TRUE(std::isfinite(r.bound)) << r.note;
    EXPECT_LE(r.bound, ref.best_s * (1 + 1e-9)) << "bound " << r.bound << " optimum " << ref.best_s << ": " << r.note;
    tight += r.bound >= 0.95 * ref.best_s;
    ASSERT_FALSE(r.rounded.empty());
    check_structure(in, r.rounded);  // throws when a source's samples do not add up
    const Evaluation ev = evaluate(in, r.rounded);
    if (ev.fits) {  // a plan over a memory cap may be faster than any that fits
      EXPECT_GE(ev.iteration_s, r.bound * (1 - 1e-9));
      const Structure better = improve_by_moves(in, r.rounded, 0.2);
      check_structure(in, better);
      const Evaluation eb = evaluate(in, better);
      EXPECT_TRUE(eb.fits);
      EXPECT_LE(eb.iteration_s, ev.iteration_s);
      EXPECT_GE(eb.iteration_s, ref.best_s * (1 - 1e-9));
    }
  }
  std::printf("[ info ] %d feasible instances; bound within 5%% of the optimum on %d\n", checked, tight);
  EXPECT_GT(checked, kInstances / 2);
}

// The subtree counting of gradient sync (cost_model.cc) against the
// enumerator's own evaluation, on the plans the LP rounds to.
TEST(Fleet, RoundedPlansAgreeWithTheReferenceEvaluation) {
  auto solver = make_cbc_solver();
  SolveOptions lp;
  for (int i = 0; i < 60; ++i) {
    SCOPED_TRACE(::testing::Message() << "instance " << i);
    const auto c = case_for(i);
    const FleetLp r = solve_fleet_lp(c.instance, *solver, lp);
    if (r.rounded.empty()) continue;
    double ref = 0;
    const Evaluation ev = evaluate(c.instance, r.rounded);
    if (!testing::reference_time(c.instance, r.rounded, &ref)) continue;
    EXPECT_NEAR(ev.iteration_s, ref, 1e-9 * std::max(1.0, ref));
  }
}

// The search over sync levels: its bound (the least over intervals of the
// LP within each) never exceeds the enumerated optimum, and its plan fits
// and is no faster than the optimum.
TEST(Fleet, SyncLevelBoundNeverExceedsTheExhaustiveOptimum) {
  auto solver = make_cbc_solver();
  SolveOptions lp;
  int checked = 0, tighter = 0, planned = 0;
  for (int i = 0; i < 120; ++i) {
    SCOPED_TRACE(::testing::Message() << "instance " << i);
    const auto c = case_for(i);
    const Instance& in = c.instance;
    const auto ref = testing::exhaustive_optimum(in);
    FleetSearchOptions o;
    o.seconds = 30;  // never reached: max_lps ends the search
    o.moves_share = 0;
    o.target_gap = 0;
    o.max_lps = 9;
    const FleetSearchResult r = fleet_search(in, *solver, lp, {}, o);
    if (!ref.feasible) {
      EXPECT_TRUE(r.infeasible || r.best.empty());
      continue;
    }
    ++checked;
    ASSERT_FALSE(r.infeasible);
    ASSERT_TRUE(std::isfinite(r.bound)) << r.note;
    EXPECT_LE(r.bound, ref.best_s * (1 + 1e-9)) << "bound " << r.bound << " optimum " << ref.best_s << ": " << r.note;
    const FleetLp plain = solve_fleet_lp(in, *solver, lp);
    tighter += r.bound > plain.bound * (1 + 1e-6);
    if (r.best.empty()) continue;  // no rounding fitted memory
    ++planned;
    const Evaluation ev = evaluate(in, r.best);
    EXPECT_TRUE(ev.fits);
    EXPECT_GE(ev.iteration_s, ref.best_s * (1 - 1e-9));
    EXPECT_GE(ev.iteration_s, r.bound * (1 - 1e-9));
  }
  std::printf("[ info ] %d feasible instances, %d planned; the sync levels raised the LP's bound on %d\n", checked,
              planned, tighter);
  EXPECT_GT(checked, 40);
  EXPECT_GT(planned, checked / 2);
}

// lowest_costs: every plan at its own rows is no faster than on the least
// costs any rows give, so a bound there holds at every plan's own rows; and
// make_plan on a fleet with costs by rows reports such a bound.
TEST(Fleet, LowestCostsBoundEveryPlanAtItsOwnRows) {
  SyntheticFleet f;
  f.devices = 40;
  f.edges = 4;
  const Instance in = make_instance(synthetic_fleet(f), w1_profile());
  ASSERT_TRUE(in.has_rows_tables());
  const Instance low = lowest_costs(in);
  auto solver = make_cbc_solver();
  SolveOptions lp;
  const FleetLp r = solve_fleet_lp(low, *solver, lp);
  ASSERT_TRUE(std::isfinite(r.bound)) << r.note;
  ASSERT_FALSE(r.rounded.empty());
  // The rounded plan and plans moved from it: some samples of each source
  // onto another path, a few at a time.
  Structure s = r.rounded;
  for (int step = 0; step < 30; ++step) {
    const Evaluation own = evaluate_at_rows(in, s), least = evaluate(low, s);
    EXPECT_GE(own.iteration_s, least.iteration_s * (1 - 1e-12)) << "step " << step;
    if (own.fits) EXPECT_GE(own.iteration_s, r.bound * (1 - 1e-9)) << "step " << step;
    const SourceData& src = in.sources[step % in.sources.size()];
    int from = -1;
    for (int p : src.paths)
      if (s[p].samples > 0) from = p;
    const int to = src.paths[(step / 3) % src.paths.size()];
    if (from < 0 || to == from) continue;
    const int64_t k = 1 + s[from].samples / (2 + step % 3);
    s[from].samples -= k;
    s[to].samples += k;
    for (size_t h = 0; h < s[to].cuts.size(); ++h) s[to].cuts[h] = std::min<int>(h + step % 2, in.num_blocks() - 1);
  }
  PlannerOptions o;
  o.time_limit_s = 6;
  o.isolate_solver = false;
  f.devices = 120;
  const Instance big = make_instance(synthetic_fleet(f), w1_profile());
  ASSERT_TRUE(fleet_scale(big));
  const Plan p = make_plan(big, o);
  ASSERT_TRUE(p.solver.has_value());
  EXPECT_NE(p.solver->status, "heuristic") << p.solver->bound_method;
  EXPECT_GT(p.solver->bound, 0);
  EXPECT_LE(p.solver->bound, p.prediction.iteration_s * (1 + 1e-12));
  EXPECT_NEAR(p.prediction.iteration_s, evaluate_at_rows(big, structure_of(big, p)).iteration_s, 1e-9);
}

TEST(Fleet, MakePlanOnAFleetReportsABoundBelowThePlan) {
  SyntheticFleet f;
  f.devices = 300;
  f.edges = 6;
  const cluster::ClusterSpec spec = synthetic_fleet(f);
  cluster::validate(spec, "fleet");
  profile::ModelProfile w1 = w1_profile();
  for (auto& b : w1.blocks) b.by_rows.clear();
  const Instance in = make_instance(spec, w1);
  ASSERT_TRUE(fleet_scale(in));
  PlannerOptions o;
  o.time_limit_s = 8;
  o.isolate_solver = false;
  const Plan p = make_plan(in, o);
  ASSERT_TRUE(p.solver.has_value());
  EXPECT_NE(p.solver->status, "heuristic") << p.solver->bound_method;
  EXPECT_LE(p.solver->bound, p.prediction.iteration_s * (1 + 1e-12));
  EXPECT_GT(p.solver->bound, 0);
  for (const Plan& b : p.baselines)
    if (b.feasible) EXPECT_LE(p.prediction.iteration_s, b.prediction.iteration_s * (1 + 1e-9)) << b.kind;
}

}  // namespace
}  // namespace dec::planner
