#include "dec/cluster/validate.h"

#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include "dec/core/error.h"

namespace dec::cluster {
namespace {

constexpr const char* kWhat = "invalid cluster spec";

std::string at(const std::string& file, const std::string& field) {
  return file.empty() ? field : file + ": " + field;
}

// Union-find over node indices: detects the link that closes a cycle.
struct Forest {
  std::vector<int> up;
  explicit Forest(size_t n) : up(n) { std::iota(up.begin(), up.end(), 0); }
  int find(int x) { return up[x] == x ? x : up[x] = find(up[x]); }
  bool join(int a, int b) {
    a = find(a);
    b = find(b);
    if (a == b) return false;
    up[a] = b;
    return true;
  }
};

void check_nodes(const ClusterSpec& s, const std::string& file) {
  DEC_CHECK(!s.nodes.empty(), ConfigError, kWhat, at(file, "nodes"), "at least one node is needed");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const Node& n = s.nodes[i];
    const std::string w = str("nodes[", i, "]");
    DEC_CHECK(!n.name.empty(), ConfigError, kWhat, at(file, w + ".name"), "a node needs a name");
    auto [it, fresh] = seen.emplace(n.name, i);
    DEC_CHECK(fresh, ConfigError, kWhat, at(file, w + ".name"), "duplicate node name '", n.name,
              "' (also nodes[", it->second, "])");
    if (n.profile.empty()) {
      DEC_CHECK(std::isfinite(n.speed) && n.speed > 0, ConfigError, kWhat, at(file, w + ".speed"),
                "speed must be positive, got ", n.speed);
    }
    DEC_CHECK(std::isfinite(n.memory_bytes) && n.memory_bytes > 0, ConfigError, kWhat,
              at(file, w + ".memory"), "memory must be positive, got ", n.memory_bytes);
  }
}

void check_links(const ClusterSpec& s, const std::string& file) {
  std::set<std::pair<int, int>> pairs;
  Forest forest(s.nodes.size());
  for (size_t i = 0; i < s.links.size(); ++i) {
    const Link& l = s.links[i];
    const std::string w = str("links[", i, "]");
    int a = s.node_index(l.a), b = s.node_index(l.b);
    DEC_CHECK(a >= 0, ConfigError, kWhat, at(file, w + ".between"), "unknown node '", l.a, "'");
    DEC_CHECK(b >= 0, ConfigError, kWhat, at(file, w + ".between"), "unknown node '", l.b, "'");
    DEC_CHECK(a != b, ConfigError, kWhat, at(file, w + ".between"), "a link joins two different nodes, got '",
              l.a, "' twice");
    DEC_CHECK(pairs.insert({std::min(a, b), std::max(a, b)}).second, ConfigError, kWhat,
              at(file, w + ".between"), "duplicate link between '", l.a, "' and '", l.b, "'");
    DEC_CHECK(std::isfinite(l.bandwidth_mbps) && l.bandwidth_mbps > 0, ConfigError, kWhat,
              at(file, w + ".bandwidth"), "bandwidth must be positive, got ", l.bandwidth_mbps,
              " Mbit/s");
    DEC_CHECK(std::isfinite(l.latency_s) && l.latency_s >= 0, ConfigError, kWhat,
              at(file, w + ".latency"), "latency must be non-negative, got ", l.latency_s, " s");
    DEC_CHECK(forest.join(a, b), ConfigError, kWhat, at(file, w + ".between"), "link '", l.a, "' - '",
              l.b, "' closes a cycle; DEC routes over a tree (one route between any two nodes)");
  }
  // Connected: every node in the first node's component. Name the first one
  // that is not, and say so more pointedly if it holds data.
  for (size_t i = 1; i < s.nodes.size(); ++i) {
    if (forest.find(static_cast<int>(i)) == forest.find(0)) continue;
    bool source = false;
    for (const auto& d : s.data) source = source || d.node == s.nodes[i].name;
    DEC_CHECK(false, ConfigError, kWhat, at(file, str("nodes[", i, "]")), "node '", s.nodes[i].name,
              "' is not connected to '", s.nodes[0].name, "' by any link",
              source ? " (it holds data, so that data has no route)" : "");
  }
}

void check_data(const ClusterSpec& s, const std::string& file) {
  DEC_CHECK(!s.data.empty(), ConfigError, kWhat, at(file, "data"),
            "at least one data source is needed");
  std::set<std::string> seen;
  for (size_t i = 0; i < s.data.size(); ++i) {
    const DataSource& d = s.data[i];
    const std::string w = str("data[", i, "]");
    DEC_CHECK(s.node_index(d.node) >= 0, ConfigError, kWhat, at(file, w + ".node"), "unknown node '",
              d.node, "'");
    DEC_CHECK(seen.insert(d.node).second, ConfigError, kWhat, at(file, w + ".node"),
              "node '", d.node, "' is listed as a data source twice");
    DEC_CHECK(std::isfinite(d.share) && d.share > 0, ConfigError, kWhat, at(file, w + ".share"),
              "share must be a positive number, got ", d.share);
  }
}

void check_training(const ClusterSpec& s, const std::string& file) {
  const Training& t = s.training;
  DEC_CHECK(t.batch >= 1, ConfigError, kWhat, at(file, "training.batch"),
            "the global batch must be at least 1, got ", t.batch);
  DEC_CHECK(t.micro_batches >= 1, ConfigError, kWhat, at(file, "training.micro_batches"),
            "micro_batches must be at least 1, got ", t.micro_batches);
  if (t.optimizer_state_factor) {
    double f = *t.optimizer_state_factor;
    DEC_CHECK(std::isfinite(f) && f >= 0, ConfigError, kWhat,
              at(file, "training.optimizer_state_factor"), "must be a non-negative number, got ", f);
  }
}

}  // namespace

void validate(const ClusterSpec& spec, const std::string& file) {
  check_nodes(spec, file);
  check_data(spec, file);
  check_links(spec, file);
  check_training(spec, file);
}

}  // namespace dec::cluster
