// Cluster spec loading and validation: every rejection names the file and field.
#include <gtest/gtest.h>

#include <string>

#include "dec/cluster/load.h"
#include "dec/core/error.h"

namespace dec::cluster {
namespace {

const char* kGood = R"(format_version: 1
name: tiny
nodes:
  - {name: cloud, tier: cloud, speed: 1, memory: 64GiB}
  - {name: edge0, tier: edge, speed: 0.1, memory: 8GiB, accelerator: none}
  - {name: dev0, tier: device, speed: 0.01, memory: 512MiB}
  - {name: dev1, tier: device, profile: dev1.json, memory: 1GiB}
links:
  - {between: [edge0, cloud], bandwidth: 100Mbit/s, latency: 30ms}
  - {between: [dev0, edge0], bandwidth: 18.88Mbit/s, latency: 5ms}
  - {between: [dev1, edge0], bandwidth: 5.85, latency: 0.02}
data:
  - {node: dev0, share: 0.75}
  - {node: dev1, share: 0.25}
training: {batch: 64, micro_batches: 4, optimizer_state_factor: 2}
)";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(ClusterSpec, ParsesAllFields) {
  const ClusterSpec s = parse_cluster(kGood, "c.yaml");
  EXPECT_EQ(s.name, "tiny");
  ASSERT_EQ(s.nodes.size(), 4u);
  EXPECT_EQ(s.nodes[1].tier, Tier::kEdge);
  EXPECT_EQ(s.nodes[1].accelerator, "none");
  EXPECT_DOUBLE_EQ(s.nodes[2].memory_bytes, 512.0 * 1024 * 1024);
  EXPECT_EQ(s.nodes[3].profile, "dev1.json");
  EXPECT_DOUBLE_EQ(s.links[1].bandwidth_mbps, 18.88);
  EXPECT_DOUBLE_EQ(s.links[1].latency_s, 0.005);
  EXPECT_DOUBLE_EQ(s.links[2].bandwidth_mbps, 5.85);
  EXPECT_DOUBLE_EQ(s.data[0].share, 0.75);
  EXPECT_EQ(s.training.batch, 64);
  EXPECT_EQ(s.training.micro_batches, 4);
  EXPECT_DOUBLE_EQ(*s.training.optimizer_state_factor, 2);
}

TEST(ClusterSpec, SharesAreWeightsNormalisedToSumToOne) {
  // Written as 3 : 1, far from summing to 1: the same split, and a warning.
  std::string text = kGood;
  text.replace(text.find("share: 0.75"), 11, "share: 3");
  text.replace(text.find("share: 0.25"), 11, "share: 1");
  const ClusterSpec s = parse_cluster(text, "c.yaml");
  EXPECT_DOUBLE_EQ(s.data[0].share, 0.75);
  EXPECT_DOUBLE_EQ(s.data[1].share, 0.25);
  EXPECT_DOUBLE_EQ(s.written_share_sum, 4);
  EXPECT_NE(share_warning(s).find("the shares sum to 4"), std::string::npos) << share_warning(s);
  // Shares written to six decimals, as for 256 equal sources (sum 0.999936):
  // normalised without a warning.
  text = kGood;
  text.replace(text.find("share: 0.75"), 11, "share: 0.499968");
  text.replace(text.find("share: 0.25"), 11, "share: 0.499968");
  const ClusterSpec r = parse_cluster(text, "c.yaml");
  EXPECT_DOUBLE_EQ(r.data[0].share, 0.5);
  EXPECT_DOUBLE_EQ(r.data[0].share + r.data[1].share, 1);
  EXPECT_EQ(share_warning(r), "");
  EXPECT_EQ(share_warning(parse_cluster(kGood, "c.yaml")), "");
}

struct BadCase {
  const char* name;
  std::string from, to;
  std::string where;       // expected `where`, after "c.yaml: "
  std::string why_part;    // a piece of the reason
};

class Rejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(Rejects, NamingFileAndField) {
  const BadCase& c = GetParam();
  const std::string text = replace(kGood, c.from, c.to);
  try {
    parse_cluster(text, "c.yaml");
    FAIL() << "accepted: " << c.name;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where_part(), "c.yaml: " + c.where) << e.what();
    EXPECT_NE(e.why_part().find(c.why_part), std::string::npos) << e.what();
    // One line: the CLI prints it as is.
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(
    ClusterSpec, Rejects,
    ::testing::Values(
        BadCase{"UnknownNodeInLink", "between: [dev0, edge0]", "between: [dev0, edge9]", "links[1].between",
                "unknown node 'edge9'"},
        BadCase{"DisconnectedNode", "  - {between: [dev1, edge0], bandwidth: 5.85, latency: 0.02}\n", "",
                "nodes[3]", "not connected"},
        BadCase{"ZeroBandwidth", "bandwidth: 18.88Mbit/s", "bandwidth: 0Mbit/s", "links[1].bandwidth",
                "must be positive"},
        BadCase{"NegativeBandwidth", "bandwidth: 18.88Mbit/s", "bandwidth: -3Mbit/s", "links[1].bandwidth",
                "non-negative"},
        BadCase{"ZeroMemory", "memory: 512MiB", "memory: 0", "nodes[2].memory", "must be positive"},
        BadCase{"NegativeMemory", "memory: 512MiB", "memory: -1GiB", "nodes[2].memory", "non-negative"},
        BadCase{"ZeroShare", "share: 0.25", "share: 0", "data[1].share", "positive number"},
        BadCase{"NegativeShare", "share: 0.25", "share: -0.25", "data[1].share", "positive number"},
        BadCase{"DuplicateNodeName", "name: dev1, tier: device", "name: dev0, tier: device", "nodes[3].name",
                "duplicate node name 'dev0'"},
        BadCase{"DuplicateSource", "{node: dev1, share: 0.25}", "{node: dev0, share: 0.25}", "data[1].node",
                "twice"},
        BadCase{"UnknownSourceNode", "{node: dev1, share: 0.25}", "{node: devX, share: 0.25}", "data[1].node",
                "unknown node"},
        BadCase{"DuplicateLink", "between: [dev1, edge0]", "between: [edge0, dev0]", "links[2].between",
                "duplicate link"},
        BadCase{"Cycle", "links:\n", "links:\n  - {between: [dev0, cloud], bandwidth: 1, latency: 0}\n",
                "links[2].between", "closes a cycle"},
        BadCase{"SelfLink", "between: [dev0, edge0]", "between: [dev0, dev0]", "links[1].between",
                "two different nodes"},
        BadCase{"UnknownTier", "tier: edge", "tier: fog", "nodes[1].tier", "unknown tier 'fog'"},
        BadCase{"NeitherSpeedNorProfile", "speed: 0.01, memory: 512MiB", "memory: 512MiB",
                "nodes[2].speed", "or both"},
        BadCase{"ZeroSpeed", "speed: 0.01", "speed: 0", "nodes[2].speed", "positive"},
        BadCase{"UnknownField", "latency: 30ms}", "latency: 30ms, jitter: 2ms}", "links[0].jitter",
                "unknown field"},
        BadCase{"MissingField", "name: cloud, tier: cloud, speed: 1, memory: 64GiB", "name: cloud, tier: cloud, speed: 1",
                "nodes[0].memory", "missing"},
        BadCase{"BadUnit", "latency: 5ms", "latency: 5 fortnights", "links[1].latency", "unknown unit"},
        BadCase{"ZeroBatch", "batch: 64", "batch: 0", "training.batch", "at least 1"},
        BadCase{"ZeroMicroBatches", "micro_batches: 4", "micro_batches: 0", "training.micro_batches", "at least 1"},
        BadCase{"NotANumber", "share: 0.75", "share: most", "data[0].share", "expected a number"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClusterSpec, RefusesAnUnknownVersionInOneLineBeforeItsFields) {
  // A later version's new field must not be reported as an unknown one.
  const std::string text = replace(replace(kGood, "format_version: 1", "format_version: 2"),
                                   "training: {", "hedges: []\ntraining: {");
  try {
    parse_cluster(text, "c.yaml");
    FAIL() << "accepted version 2";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "unsupported cluster spec format (c.yaml): format_version 2; this dec reads 1");
  }
}

TEST(ClusterSpec, YamlSyntaxErrorNamesTheLine) {
  try {
    parse_cluster("nodes: [a, b\nlinks: {", "c.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where_part().rfind("c.yaml:", 0), 0u) << e.what();
  }
}

TEST(ClusterSpec, ScenarioFilesLoad) {
  for (const char* f : {"S1", "S2", "S2-fast", "S3", "S3-cat1", "S4a", "S4b", "S2-4dev", "S2-16dev"}) {
    const ClusterSpec s = load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/" + f + ".yaml");
    EXPECT_EQ(s.name, f);
  }
  EXPECT_EQ(load_cluster(std::string(DEC_SOURCE_DIR) + "/scenarios/S2-16dev.yaml").data.size(), 16u);
}

TEST(ClusterSpec, LoadResolvesProfilesNextToTheSpec) {
  // parse_cluster keeps the path as written; load_cluster resolves it.
  EXPECT_EQ(parse_cluster(kGood, "dir/c.yaml").nodes[3].profile, "dev1.json");
}

}  // namespace
}  // namespace dec::cluster
