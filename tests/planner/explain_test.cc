// Infeasible clusters: the planner names the binding node or source.
#include "dec/planner/explain.h"

#include <gtest/gtest.h>

#include "dec/cluster/validate.h"
#include "dec/core/error.h"
#include "dec/planner/planner.h"

namespace dec::planner {
namespace {

using cluster::Tier;

profile::ModelProfile chain(int blocks, double param_bytes, double saved_bytes) {
  profile::ModelProfile p;
  p.model = "chain";
  p.input_bytes = 1000;
  for (int l = 0; l < blocks; ++l) {
    profile::BlockProfile b;
    b.name = "blk" + std::to_string(l);
    b.fwd_s = 1e-3;
    b.bwd_s = 2e-3;
    b.out_bytes = 1000;
    b.saved_bytes = saved_bytes;
    b.param_bytes = param_bytes;
    p.blocks.push_back(b);
  }
  return p;
}

// dev0 [, dev1] - edge0 - cloud, with the given memories.
cluster::ClusterSpec cluster_with(double dev_mem, double edge_mem, double cloud_mem, int devices = 1, int batch = 4) {
  cluster::ClusterSpec s;
  s.name = "tight";
  s.nodes.push_back({"cloud", Tier::kCloud, 1, "", cloud_mem, ""});
  s.nodes.push_back({"edge0", Tier::kEdge, 0.3, "", edge_mem, ""});
  s.links.push_back({"edge0", "cloud", 100, 0.01});
  for (int d = 0; d < devices; ++d) {
    const std::string n = "dev" + std::to_string(d);
    s.nodes.push_back({n, Tier::kDevice, 0.05, "", dev_mem, ""});
    s.links.push_back({n, "edge0", 10, 0.01});
    s.data.push_back({n, 1.0 / devices});
  }
  s.training.batch = batch;
  s.training.micro_batches = 2;
  s.training.optimizer_state_factor = 0;
  cluster::validate(s, "");
  return s;
}

PlanInfeasible infeasible(const Instance& in) {
  PlannerOptions o;
  o.time_limit_s = 5;
  try {
    make_plan(in, o);
  } catch (const PlanInfeasible& e) {
    return e;
  }
  ADD_FAILURE() << "a plan was found";
  return PlanInfeasible("", "", "");
}

TEST(Explain, ABlockLargerThanEveryNode) {
  // Each block: 2 x 1 GB (parameters and gradients); nodes of at most 1.5 GB.
  const Instance in = make_instance(cluster_with(0.5e9, 1e9, 1.5e9), chain(3, 1e9, 10));
  const PlanInfeasible e = infeasible(in);
  EXPECT_EQ(e.where_part(), "node 'cloud' memory") << e.what();
  EXPECT_NE(e.why_part().find("blk0"), std::string::npos) << e.what();
}

TEST(Explain, AModelLargerThanTheRoute) {
  // Four blocks of 1 GB (with gradients) over three nodes of 1.5 GB: one each.
  const Instance in = make_instance(cluster_with(1.5e9, 1.5e9, 1.5e9), chain(4, 0.5e9, 10));
  const PlanInfeasible e = infeasible(in);
  EXPECT_EQ(e.where_part(), "source dev0") << e.what();
  EXPECT_NE(e.why_part().find("blk3"), std::string::npos) << e.what();
}

TEST(Explain, ActivationsOfTheWholeBatchOnASharedNode) {
  // Devices and edge hold nothing (1 MB); the cloud holds the model (20 MB) and
  // the activations of 3 samples (30 MB each), not of the batch of 4.
  const Instance in = make_instance(cluster_with(1e6, 1e6, 20e6 + 95e6, 2, 4), chain(2, 5e6, 15e6));
  const PlanInfeasible e = infeasible(in);
  EXPECT_EQ(e.where_part(), "node 'cloud' memory") << e.what();
  EXPECT_NE(e.why_part().find("cloud"), std::string::npos) << e.what();
}

}  // namespace
}  // namespace dec::planner
