// Every scenario cluster plans with a synthetic CNN-like profile.
#include <gtest/gtest.h>

#include "dec/cluster/load.h"
#include "dec/planner/planner.h"
#include "dec/planner/synthetic.h"

namespace dec::planner {
namespace {

TEST(Scenarios, EachPlans) {
  SyntheticChain c;
  c.blocks = 10;
  c.seconds_per_sample = 0.2;
  for (const char* name : {"S1", "S2", "S2-fast", "S3", "S3-cat1", "S4a", "S4b", "S2-4dev", "S2-16dev"}) {
    const Instance in = make_instance(
        cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/" + name + ".yaml"), synthetic_profile(c));
    PlannerOptions o;
    o.time_limit_s = 2;
    const Plan p = make_plan(in, o);
    EXPECT_TRUE(p.feasible) << name;
    ASSERT_TRUE(p.solver.has_value());
    EXPECT_NE(p.solver->status, "heuristic") << name;
    EXPECT_GT(p.prediction.iteration_s, 0);
    for (const auto& b : p.baselines)
      if (b.feasible && !b.paths.empty()) EXPECT_GE(b.prediction.iteration_s, p.prediction.iteration_s * (1 - 1e-9)) << name << " " << b.kind;
  }
}

}  // namespace
}  // namespace dec::planner
