#include "dec/cluster/topology.h"

#include <gtest/gtest.h>

#include "dec/cluster/load.h"

namespace dec::cluster {
namespace {

TEST(Topology, RootsAtTheCloudAndRoutesUp) {
  const ClusterSpec s = load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/S2-4dev.yaml");
  const Topology t(s);
  const int cloud = s.node_index("cloud"), e0 = s.node_index("edge0"), e1 = s.node_index("edge1");
  const int d0 = s.node_index("dev0"), d3 = s.node_index("dev3");
  EXPECT_EQ(t.root(), cloud);
  EXPECT_EQ(t.parent(cloud), -1);
  EXPECT_EQ(t.parent(d0), e0);
  EXPECT_EQ(t.depth(d3), 2);
  EXPECT_EQ(t.route_to_root(d0), (std::vector<int>{d0, e0, cloud}));
  EXPECT_EQ(t.route(d0, d3), (std::vector<int>{d0, e0, cloud, e1, d3}));
  EXPECT_EQ(t.route(e1, e1), (std::vector<int>{e1}));
  EXPECT_TRUE(t.in_subtree(e0, d0));
  EXPECT_FALSE(t.in_subtree(e1, d0));
  EXPECT_EQ(t.link_child(t.link_between(d0, e0)), d0);
  EXPECT_EQ(t.link_between(d0, cloud), -1);
}

TEST(Topology, WithoutCloudRootsAtAnEdge) {
  ClusterSpec s;
  s.nodes = {{"d", Tier::kDevice, 1, "", 1e9, ""}, {"e", Tier::kEdge, 1, "", 1e9, ""}};
  s.links = {{"d", "e", 10, 0}};
  const Topology t(s);
  EXPECT_EQ(t.root(), 1);
  EXPECT_EQ(t.route_to_root(0), (std::vector<int>{0, 1}));
}

}  // namespace
}  // namespace dec::cluster
