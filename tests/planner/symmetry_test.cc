// Identical devices: the shared-variable models are exact, and the orbit-tied
// LP relaxation equals the full one (the planner's bound at scale relies on it).
#include <gtest/gtest.h>

#include "dec/cluster/load.h"
#include "dec/cluster/validate.h"
#include "dec/planner/classes.h"
#include "dec/planner/formulation.h"
#include "dec/planner/planner.h"
#include "dec/planner/synthetic.h"

namespace dec::planner {
namespace {

Instance scenario(const std::string& name, int blocks) {
  SyntheticChain c;
  c.blocks = blocks;
  c.seconds_per_sample = 0.2;
  return make_instance(cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/" + name + ".yaml"),
                       synthetic_profile(c));
}

TEST(Symmetry, OrbitsOfTheScaleScenarios) {
  EXPECT_EQ(source_orbits(scenario("S2-4dev", 4)).size(), 1u);
  EXPECT_EQ(source_orbits(scenario("S2-16dev", 4)).size(), 1u);
  EXPECT_EQ(source_classes(scenario("S2-16dev", 4)).size(), 1u);
}

TEST(Symmetry, OrbitTiedLpEqualsTheFullLp) {
  auto solver = make_cbc_solver();
  for (const char* name : {"S2-4dev", "S2-16dev"}) {
    const Instance in = scenario(name, 8);
    FormulationOptions fo;
    fo.tie = tie_groups(in, source_orbits(in));
    const SolveResult tied = solver->solve(Formulation(in, fo).milp().relaxation(), SolveOptions{});
    const SolveResult full = solver->solve(Formulation(in).milp().relaxation(), SolveOptions{});
    ASSERT_EQ(tied.status, SolveStatus::kOptimal);
    ASSERT_EQ(full.status, SolveStatus::kOptimal);
    EXPECT_NEAR(tied.objective, full.objective, 1e-7 * full.objective) << name;
  }
}

// Tied models share variables between symmetric nodes; their optimum must be
// the cost model's value of the plan they describe, also when the tree is not
// symmetric (three devices under one edge, one under the other).
TEST(Symmetry, TiedModelsAreExact) {
  auto solver = make_cbc_solver();
  SyntheticChain c;
  c.blocks = 6;
  c.seconds_per_sample = 0.3;
  cluster::ClusterSpec lopsided = cluster::load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/S2-4dev.yaml");
  lopsided.links[3] = {"dev1", "edge0", 5.85, 0.02};
  lopsided.links[4] = {"dev2", "edge0", 5.85, 0.02};
  cluster::validate(lopsided, "");
  std::vector<Instance> cases = {scenario("S2-4dev", 6), scenario("S2-16dev", 6),
                                 make_instance(lopsided, synthetic_profile(c))};
  for (const Instance& in : cases) {
    const auto classes = source_classes(in);
    std::vector<std::vector<std::vector<int>>> groupings{classes};
    for (auto& split : class_splits(in, classes[0])) groupings.push_back(split);
    for (const auto& groups : groupings) {
      FormulationOptions fo;
      fo.tie = tie_groups(in, groups);
      Formulation f(in, fo);
      SolveOptions o;
      o.tuning = cbc_tuning();
      const SolveResult r = solver->solve(f.milp(), o);
      ASSERT_EQ(r.status, SolveStatus::kOptimal) << r.message;
      const Evaluation ev = evaluate(in, f.extract(r.values));
      EXPECT_NEAR(ev.iteration_s, r.objective, 1e-6 * r.objective) << in.cluster_name << " groups " << groups.size();
    }
  }
}

}  // namespace
}  // namespace dec::planner
