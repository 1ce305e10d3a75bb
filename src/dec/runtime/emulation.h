// Emulating a cluster spec on one machine (docs/runtime.md, "Emulation", `--emulate`):
// each process plays one node of the spec at the node's speed (ComputePacer), and
// every message between two ranks crosses the spec's links on the tree route
// between their nodes, at each link's rate and latency (comm::TokenBucketShaper).
//
// With real links (`--real-links`, scripts/netns-cluster), the rates are enforced
// by the network itself (tc tbf on veth pairs) and only latency is emulated,
// since netem is not available here.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dec/cluster/spec.h"
#include "dec/comm/link_shaper.h"

namespace dec::runtime {

// The speed of node `node` in the spec (a fraction of one core of this machine).
// ConfigError naming `where` if the spec has no such node or its speed is not in
// (0, 1] (a node faster than this machine's core cannot be emulated).
double emulated_speed(const cluster::ClusterSpec& spec, const std::string& node,
                      const std::string& where);

// The shaper for a job whose rank r runs node rank_nodes[r]: every link of the
// spec in both directions (latency always, rate when `link_rates`), and a route
// along the tree for every pair of ranks. ConfigError naming `where` if a rank's
// node is not in the spec.
// REQUIRES: `spec` validated (cluster::load_cluster or cluster::validate).
std::shared_ptr<comm::TokenBucketShaper> make_link_shaper(const cluster::ClusterSpec& spec,
                                                          const std::vector<std::string>& rank_nodes,
                                                          bool link_rates, const std::string& where);

}  // namespace dec::runtime
