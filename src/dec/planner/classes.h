// Identical data sources: devices that the planner may plan alike.
//
// Two sources are identical when they hold the same number of samples and
// their routes to the root look the same hop by hop (per-block compute, memory
// of every node; bandwidth and latency of every link). A plan that ties the
// sources of a class together (formulation.h `tie`) has the size of a
// one-device plan, which CBC solves fast; splitting a class into groups lets
// devices of one kind take different plans (some compute, some offload).
#pragma once

#include <vector>

#include "dec/planner/instance.h"

namespace dec::planner {

// Colour refinement on the rooted tree: a node's colour is its own data
// (compute, memory, the link to its parent, the label of the source it holds),
// its children's colours (bottom-up), then its parent's colour (top-down).
// Nodes of equal colour are exchanged by a symmetry of the tree that preserves
// all data and the labels. Returns, per node, the first node of its colour.
// `source_label` has one entry per source; equal labels may be exchanged.
std::vector<int> symmetric_nodes(const Instance& in, const std::vector<int>& source_label);

// Orbits of sources under the symmetries of the instance (sources exchanged
// with everything below and around them). Averaging over these orbits maps any
// LP solution to one that ties each orbit, so an orbit-tied LP relaxation has
// the same value as the full one.
std::vector<std::vector<int>> source_orbits(const Instance& in);

// The same under the symmetries that also keep `marks` (one per source):
// sources with different marks are never exchanged. Used by the bound search
// (bound_search.h) to tie what a branch leaves symmetric.
std::vector<std::vector<int>> source_orbits(const Instance& in, const std::vector<int>& marks);

// Classes of identical sources, each in source order; singletons included.
std::vector<std::vector<int>> source_classes(const Instance& in);

// A `tie` vector (formulation.h) tying every source to the first of its group.
std::vector<int> tie_groups(const Instance& in, const std::vector<std::vector<int>>& groups);

// Ways to split one class into two groups that keep the spread over parents
// even: for k = 1 .. floor(g/2), where g is the members per parent node, the
// first k members under each parent form one group and the rest the other.
// With a single member per parent, the class splits as a list instead.
std::vector<std::vector<std::vector<int>>> class_splits(const Instance& in, const std::vector<int>& cls);

}  // namespace dec::planner
