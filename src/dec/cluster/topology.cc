#include "dec/cluster/topology.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "dec/core/error.h"

namespace dec::cluster {
namespace {

int pick_root(const ClusterSpec& s) {
  for (Tier t : {Tier::kCloud, Tier::kEdge}) {
    for (size_t i = 0; i < s.nodes.size(); ++i)
      if (s.nodes[i].tier == t) return static_cast<int>(i);
  }
  return 0;
}

}  // namespace

Topology::Topology(const ClusterSpec& spec) {
  const int n = static_cast<int>(spec.nodes.size());
  DEC_ASSERT(n > 0 && spec.links.size() == static_cast<size_t>(n - 1), "not a tree: ", n,
             " nodes, ", spec.links.size(), " links");
  root_ = pick_root(spec);
  parent_.assign(n, -1);
  parent_link_.assign(n, -1);
  depth_.assign(n, -1);
  children_.assign(n, {});
  link_child_.assign(spec.links.size(), -1);
  std::vector<std::vector<std::pair<int, int>>> adj(n);  // (neighbour, link)
  for (size_t i = 0; i < spec.links.size(); ++i) {
    int a = spec.node_index(spec.links[i].a), b = spec.node_index(spec.links[i].b);
    adj[a].push_back({b, static_cast<int>(i)});
    adj[b].push_back({a, static_cast<int>(i)});
  }
  // Breadth-first from the root; neighbours in link order keeps children in file order.
  std::deque<int> queue{root_};
  depth_[root_] = 0;
  while (!queue.empty()) {
    int u = queue.front();
    queue.pop_front();
    for (auto [v, link] : adj[u]) {
      if (depth_[v] >= 0) continue;
      depth_[v] = depth_[u] + 1;
      parent_[v] = u;
      parent_link_[v] = link;
      link_child_[link] = v;
      children_[u].push_back(v);
      queue.push_back(v);
    }
  }
  for (int v = 0; v < n; ++v) DEC_ASSERT(depth_[v] >= 0, "node ", v, " unreachable");
}

std::vector<int> Topology::route_to_root(int node) const {
  std::vector<int> r;
  for (int v = node; v >= 0; v = parent_[v]) r.push_back(v);
  return r;
}

std::vector<int> Topology::route(int from, int to) const {
  std::vector<int> up, down;
  int a = from, b = to;
  while (depth_[a] > depth_[b]) up.push_back(std::exchange(a, parent_[a]));
  while (depth_[b] > depth_[a]) down.push_back(std::exchange(b, parent_[b]));
  while (a != b) {
    up.push_back(std::exchange(a, parent_[a]));
    down.push_back(std::exchange(b, parent_[b]));
  }
  up.push_back(a);
  up.insert(up.end(), down.rbegin(), down.rend());
  return up;
}

bool Topology::in_subtree(int top, int node) const {
  for (int v = node; v >= 0; v = parent_[v])
    if (v == top) return true;
  return false;
}

int Topology::link_between(int a, int b) const {
  if (parent_[a] == b) return parent_link_[a];
  if (parent_[b] == a) return parent_link_[b];
  return -1;
}

}  // namespace dec::cluster
