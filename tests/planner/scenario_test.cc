// Every scenario cluster plans with a synthetic CNN-like profile.
#include <gtest/gtest.h>

#include <stdexcept>

#include "dec/cluster/load.h"
#include "dec/planner/planner.h"
#include "dec/planner/simpler.h"
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

// S1 with a device that holds nothing: edge-only and cloud-only are equally
// fast (the device's uplink sets the time), the cloud only farther away. The
// planner takes the simpler plan, the one with fewer bytes over links and
// fewer hops (simpler.h), and says so.
TEST(Scenarios, OfPlansEquallyFastTheSimplerWins) {
  cluster::ClusterSpec spec = cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/S1.yaml");
  for (auto& n : spec.nodes)
    if (n.name == "dev0") n.memory_bytes = 1;  // nothing fits: the device only sends
  SyntheticChain c;
  c.blocks = 6;
  c.seconds_per_sample = 0.004;  // the whole batch on the edge: 90% of the uplink's time
  const Instance in = make_instance(spec, synthetic_profile(c));
  PlannerOptions o;
  o.time_limit_s = 5;
  const Plan p = make_plan(in, o);
  auto baseline = [&](const std::string& kind) -> const Plan& {
    for (const auto& b : p.baselines)
      if (b.kind == kind) return b;
    throw std::runtime_error("no baseline " + kind);
  };
  const double t = p.prediction.iteration_s;
  ASSERT_NEAR(baseline("edge-only").prediction.iteration_s, t, 1e-9 * t);
  ASSERT_NEAR(baseline("cloud-only").prediction.iteration_s, t, 1e-9 * t);
  for (const auto& n : p.nodes) {
    if (n.name == "edge0") EXPECT_GT(n.compute_s, 0);
    if (n.name == "cloud") EXPECT_EQ(n.compute_s, 0) << "the samples cross the WAN for nothing";
  }
}

}  // namespace
}  // namespace dec::planner
