// Emulation (docs/runtime.md): the cluster spec's speeds, links and
// routes reach the pacer and the shaper.
#include "dec/runtime/emulation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "dec/cluster/validate.h"
#include "dec/core/error.h"
#include "dec/model/model.h"

namespace dec::runtime {
namespace {

cluster::ClusterSpec three_tiers() {
  cluster::ClusterSpec s;
  s.name = "t";
  s.nodes = {{"cloud", cluster::Tier::kCloud, 1, "", 1e10, ""},
             {"edge0", cluster::Tier::kEdge, 0.1, "", 1e10, ""},
             {"dev0", cluster::Tier::kDevice, 0.01, "", 1e10, ""}};
  s.links = {{"edge0", "cloud", 100, 0.030}, {"dev0", "edge0", 8, 0.020}};
  s.data = {{"dev0", 1}};
  s.training.batch = 8;
  s.training.micro_batches = 2;
  cluster::validate(s, "test");
  return s;
}

TEST(Emulation, SpeedsComeFromTheSpec) {
  cluster::ClusterSpec s = three_tiers();
  EXPECT_EQ(emulated_speed(s, "edge0", "c.yaml"), 0.1);
  EXPECT_THROW(emulated_speed(s, "edge9", "c.yaml"), ConfigError);
  s.nodes[0].speed = 2;
  try {
    emulated_speed(s, "cloud", "c.yaml");
    FAIL() << "a node faster than this machine was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("(c.yaml)"), std::string::npos) << e.what();
  }
}

TEST(Emulation, RanksTalkAlongTheTreeAtEachLinksRate) {
  // Ranks in another order than the spec's nodes: 0 = dev0, 1 = cloud, 2 = edge0.
  auto shaper = make_link_shaper(three_tiers(), {"dev0", "cloud", "edge0"}, true, "c.yaml");
  EXPECT_NEAR(shaper->latency(0, 1), 0.050, 1e-12);  // dev0 -> edge0 -> cloud
  EXPECT_NEAR(shaper->latency(2, 1), 0.030, 1e-12);
  EXPECT_NEAR(shaper->latency(1, 0), 0.050, 1e-12);
  const double now = 100;
  // 1 MB: 1 s on the 8 Mbit/s uplink, 0.08 s on the 100 Mbit/s WAN, plus latencies,
  // less each idle link's 1 ms burst.
  EXPECT_NEAR(shaper->book_at(0, 1, 1000000, now).arrive_at - now, 1.0 + 0.02 + 0.08 + 0.03 - 0.002,
              1e-9);
  auto latency_only = make_link_shaper(three_tiers(), {"dev0", "cloud", "edge0"}, false, "c.yaml");
  EXPECT_NEAR(latency_only->book_at(0, 1, 1000000, now).arrive_at - now, 0.050, 1e-9);
  EXPECT_THROW(make_link_shaper(three_tiers(), {"dev0", "fog"}, true, "c.yaml"), ConfigError);
}

}  // namespace
}  // namespace dec::runtime
