// The tree a validated cluster spec describes, and the routes along it.
//
// The tree is rooted at the first cloud node of the spec (or, without one, the
// first edge node, else the first node). Work flows toward the root: the
// candidate paths of a data source are the prefixes of its route to the root
// ([d], [d, e], [d, e, c] in a device-edge-cloud tree). Node and link indices
// are those of the spec. Immutable after construction; safe to share.
#pragma once

#include <vector>

#include "dec/cluster/spec.h"

namespace dec::cluster {

class Topology {
 public:
  // REQUIRES: validate(spec) passed (the links form a spanning tree).
  explicit Topology(const ClusterSpec& spec);

  int num_nodes() const { return static_cast<int>(parent_.size()); }
  int root() const { return root_; }
  int parent(int node) const { return parent_[node]; }          // -1 at the root
  int parent_link(int node) const { return parent_link_[node]; }  // -1 at the root
  int depth(int node) const { return depth_[node]; }              // 0 at the root
  const std::vector<int>& children(int node) const { return children_[node]; }

  // Nodes from `node` up to the root, both included.
  std::vector<int> route_to_root(int node) const;
  // The unique route between two nodes, both included, in order from `from`.
  std::vector<int> route(int from, int to) const;
  // Whether `node` lies in the subtree below and including `top`.
  bool in_subtree(int top, int node) const;
  // Index of the link joining two adjacent nodes, or -1.
  int link_between(int a, int b) const;
  // The node on the child side of a link (the link's subtree is that node's).
  int link_child(int link) const { return link_child_[link]; }

 private:
  int root_ = 0;
  std::vector<int> parent_, parent_link_, depth_, link_child_;
  std::vector<std::vector<int>> children_;
};

}  // namespace dec::cluster
