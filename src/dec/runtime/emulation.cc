#include "dec/runtime/emulation.h"

#include <cmath>

#include "dec/cluster/topology.h"
#include "dec/core/error.h"

namespace dec::runtime {

namespace {
int node_index(const cluster::ClusterSpec& spec, const std::string& node, const std::string& where) {
  const int i = spec.node_index(node);
  DEC_CHECK(i >= 0, ConfigError, "node is not in the cluster", where, "no node named '", node,
            "' (this process runs it: --node-name)");
  return i;
}
}  // namespace

double emulated_speed(const cluster::ClusterSpec& spec, const std::string& node,
                      const std::string& where) {
  const cluster::Node& n = spec.nodes[node_index(spec, node, where)];
  DEC_CHECK(std::isfinite(n.speed) && n.speed > 0 && n.speed <= 1, ConfigError,
            "node cannot be emulated", where, "node '", node, "' has speed ", n.speed,
            "; emulation runs nodes at a fraction (0, 1] of one core of this machine");
  return n.speed;
}

std::shared_ptr<comm::TokenBucketShaper> make_link_shaper(const cluster::ClusterSpec& spec,
                                                          const std::vector<std::string>& rank_nodes,
                                                          bool link_rates, const std::string& where) {
  auto shaper = std::make_shared<comm::TokenBucketShaper>();
  const cluster::Topology topology(spec);
  for (const cluster::Link& l : spec.links) {
    comm::LinkSpec s;
    s.mbps = link_rates ? l.bandwidth_mbps : 0;
    s.latency_s = l.latency_s;
    shaper->set_duplex(spec.node_index(l.a), spec.node_index(l.b), s);
  }
  std::vector<int> nodes;
  for (const auto& name : rank_nodes) nodes.push_back(node_index(spec, name, where));
  for (size_t a = 0; a < nodes.size(); ++a) {
    for (size_t b = 0; b < nodes.size(); ++b) {
      if (a == b) continue;
      // Two processes of one node cross no link: a route from the node to itself.
      shaper->set_route(static_cast<int>(a), static_cast<int>(b),
                        nodes[a] == nodes[b] ? std::vector<int>{nodes[a], nodes[a]}
                                             : topology.route(nodes[a], nodes[b]));
    }
  }
  return shaper;
}

}  // namespace dec::runtime
