#include "dec/serve/split_inputs.h"

#include "dec/cluster/topology.h"
#include "dec/core/error.h"

namespace dec::serve {

SplitModel make_split_model(const profile::ModelProfile& p, const std::array<double, kTiers>& speeds) {
  DEC_CHECK(!p.blocks.empty(), ConfigError, "invalid profile", p.model, "it has no blocks");
  SplitModel m;
  for (int t = 0; t < kTiers; ++t) {
    DEC_CHECK(speeds[t] > 0, ConfigError, "invalid tier speed", cluster::tier_name(cluster::Tier(t)),
              "must be > 0, got ", speeds[t]);
    const double factor = p.speed / speeds[t];
    for (const auto& b : p.blocks) m.block_s[t].push_back(profile::task_s(b, 1, false) * factor);
  }
  double input = 4;
  for (int64_t d : p.input_shape) input *= static_cast<double>(d);
  m.boundary_bytes.push_back(input);
  for (const auto& b : p.blocks) m.boundary_bytes.push_back(b.out_bytes);
  return m;
}

TierChain tier_chain(const cluster::ClusterSpec& spec, const std::string& device) {
  const int d = spec.node_index(device);
  DEC_CHECK(d >= 0, ConfigError, "unknown node", device, "the cluster spec '", spec.name,
            "' has no such node");
  const cluster::Topology topo(spec);
  const std::vector<int> route = topo.route_to_root(d);
  const cluster::Tier want[kTiers] = {cluster::Tier::kDevice, cluster::Tier::kEdge, cluster::Tier::kCloud};
  bool ok = route.size() == kTiers;
  for (size_t i = 0; ok && i < route.size(); ++i) ok = spec.nodes[route[i]].tier == want[i];
  DEC_CHECK(ok, ConfigError, "no device-edge-cloud chain", device,
            "serving across tiers needs the route device -> edge -> cloud; this node's has ",
            route.size(), " nodes");
  TierChain c;
  for (int t = 0; t < kTiers; ++t) {
    c.nodes[t] = spec.nodes[route[t]].name;
    c.speeds[t] = spec.nodes[route[t]].speed;
  }
  for (int h = 0; h < kHops; ++h) {
    const cluster::Link& l = spec.links[topo.parent_link(route[h])];
    c.links.bandwidth_Bps[h] = l.bandwidth_mbps * 1e6 / 8;
    c.links.latency_s[h] = l.latency_s;
  }
  return c;
}

}  // namespace dec::serve
