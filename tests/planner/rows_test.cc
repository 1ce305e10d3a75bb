// A path's per-sample cost at its micro-batches' rows (rows.h), and the
// planner's rounds at the rows of the plan it found.
#include "dec/planner/rows.h"

#include <gtest/gtest.h>

#include "dec/cluster/validate.h"
#include "dec/planner/describe.h"
#include "dec/planner/planner.h"
#include "random_instance.h"

namespace dec::planner {
namespace {

using cluster::Tier;

// dev0 - edge0, two blocks profiled at 4 rows; block 1 also at 1 and 2 rows,
// where a task's fixed cost makes each sample dearer (2x at 1 row, 1.5x at 2).
Instance pair(int64_t batch, int micro_batches) {
  profile::ModelProfile p;
  p.model = "pair";
  p.input_bytes = 1000;
  p.micro_batch = 4;
  for (int l = 0; l < 2; ++l) {
    profile::BlockProfile b;
    b.name = "b" + std::to_string(l);
    b.fwd_s = 0.001;
    b.bwd_s = 0.002;
    b.out_bytes = 1000;
    b.param_bytes = 100;
    if (l == 1) b.by_rows = {{1, 0.002, 0.004}, {2, 0.0015, 0.003}, {4, 0.001, 0.002}};
    p.blocks.push_back(b);
  }
  cluster::ClusterSpec s;
  s.name = "pair";
  s.nodes = {{"edge0", Tier::kEdge, 1, "", 1e12, ""}, {"dev0", Tier::kDevice, 0.5, "", 1e12, ""}};
  s.links = {{"dev0", "edge0", 8, 0.001}};
  s.data = {{"dev0", 1}};
  s.training.batch = batch;
  s.training.micro_batches = micro_batches;
  cluster::validate(s, "pair");
  return make_instance(s, p, {});
}

Structure on_edge(const Instance& in, int64_t samples_on_edge) {
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  s[in.sources[0].paths[0]].samples = in.batch - samples_on_edge;  // dev0 alone
  s[in.sources[0].paths[1]] = {samples_on_edge, {0}};                // raw to edge0
  return s;
}

TEST(Rows, APathsMicroBatchesSetItsPerSampleCost) {
  const Instance in = pair(16, 4);
  const int local = in.sources[0].paths[0], remote = in.sources[0].paths[1];
  // 10 samples on dev0: micro-batches of 3, 3, 2, 2 rows. Block 1 at 3 rows
  // costs, per task, halfway between 2 x 1.5 and 4 x 1 units: 3.5; at 2, 3.
  // 6 on edge0: 2, 2, 1, 1 rows: 3, 3, 2, 2 units.
  const Instance at = at_rows(in, on_edge(in, 6));
  EXPECT_DOUBLE_EQ(at.paths[local].fwd_scale[1], (3.5 + 3.5 + 3 + 3) / 10);
  EXPECT_DOUBLE_EQ(at.paths[remote].bwd_scale[1], (3 + 3 + 2 + 2) / 6.0);
  EXPECT_DOUBLE_EQ(at.paths[local].fwd_scale[0], 1);  // no table: per-sample cost is constant
  EXPECT_DOUBLE_EQ(at.fwd_s(remote, 0, 1), 0.001 * 10 / 6);
  // At the profile's rows and above, the profile's own per-sample cost.
  const Instance full = at_rows(in, on_edge(in, 0));
  EXPECT_DOUBLE_EQ(full.paths[local].fwd_scale[1], 1);
  EXPECT_TRUE(full.paths[remote].fwd_scale.empty());  // unused: untouched
  const Evaluation ev = evaluate_at_rows(in, on_edge(in, 6));
  // dev0 at speed 0.5: block 0 at 3 ms a sample, block 1 at 6 ms x 1.3.
  EXPECT_NEAR(ev.node_compute_s[1], 10 * (0.006 + 0.006 * 1.3), 1e-12);
}

TEST(Rows, ThePlanIsPredictedAtItsOwnRows) {
  const Instance in = pair(8, 4);
  PlannerOptions o;
  o.isolate_solver = false;
  o.time_limit_s = 5;
  const Plan plan = make_plan(in, o);
  const Structure s = structure_of(in, plan);
  EXPECT_NEAR(plan.prediction.iteration_s, evaluate_at_rows(in, s).iteration_s, 1e-12);
  for (const Plan& b : plan.baselines) {
    if (!b.feasible) continue;
    EXPECT_NEAR(b.prediction.iteration_s, evaluate_at_rows(in, structure_of(in, b)).iteration_s, 1e-12)
        << b.kind;
    EXPECT_LE(plan.prediction.iteration_s, b.prediction.iteration_s * (1 + 1e-9)) << b.kind;
  }
}

// Random clusters whose blocks cost more per sample at fewer rows (a fixed
// cost per task): whatever the rounds settle on, the plan and each baseline are
// told at their own rows, and the plan is never predicted slower than one.
TEST(Rows, RandomPlansAreToldAtTheirOwnRowsAndBeatEveryBaseline) {
  for (int seed = 0; seed < 8; ++seed) {
    Instance in = testing::random_case(900 + seed).instance;
    for (size_t l = 0; l < in.blocks.size(); ++l) {
      const double fixed = 0.5 * static_cast<double>((seed + l) % 3);  // 0, 0.5 or 1 sample's worth
      for (double r : {1.0, 2.0, 4.0, 8.0}) in.blocks[l].by_rows.push_back({r, 1 + fixed / r, 1 + fixed / r});
    }
    PlannerOptions o;
    o.isolate_solver = false;
    o.time_limit_s = 3;
    const Plan plan = make_plan(in, o);
    EXPECT_NEAR(plan.prediction.iteration_s, evaluate_at_rows(in, structure_of(in, plan)).iteration_s, 1e-9)
        << "seed " << seed;
    for (const Plan& b : plan.baselines) {
      if (!b.feasible) continue;
      EXPECT_LE(plan.prediction.iteration_s, b.prediction.iteration_s * (1 + 1e-9)) << "seed " << seed << " " << b.kind;
    }
  }
}

}  // namespace
}  // namespace dec::planner
