#include "dec/planner/classes.h"

#include <algorithm>
#include <map>

#include "dec/core/error.h"

namespace dec::planner {
namespace {

// Everything about a source's situation that the cost model reads.
std::vector<double> signature(const Instance& in, const SourceData& src) {
  std::vector<double> sig{static_cast<double>(src.samples), static_cast<double>(src.paths.size())};
  const PathData& longest = in.paths[src.paths.back()];
  for (size_t j = 0; j < longest.nodes.size(); ++j) {
    const NodeData& n = in.nodes[longest.nodes[j]];
    sig.push_back(n.memory_bytes);
    sig.insert(sig.end(), n.fwd_s.begin(), n.fwd_s.end());  // with bwd_s: step_s and the overlap
    sig.insert(sig.end(), n.bwd_s.begin(), n.bwd_s.end());
    sig.insert(sig.end(), n.opt_s.begin(), n.opt_s.end());
    if (j < longest.links.size()) {
      sig.push_back(in.links[longest.links[j]].bytes_per_s);
      sig.push_back(in.links[longest.links[j]].latency_s);
    }
  }
  return sig;
}

}  // namespace

std::vector<int> symmetric_nodes(const Instance& in, const std::vector<int>& source_label) {
  const size_t N = in.nodes.size();
  std::vector<int> parent_link(N, -1);
  for (size_t e = 0; e < in.links.size(); ++e) parent_link[in.links[e].child] = static_cast<int>(e);
  std::vector<int> label(N, -1);
  for (size_t s = 0; s < in.sources.size(); ++s) label[in.sources[s].node] = source_label[s];
  std::map<std::vector<double>, int> ids;
  auto id_of = [&ids](const std::vector<double>& key) {
    return ids.emplace(key, static_cast<int>(ids.size())).first->second;
  };
  const std::vector<int> order = in.deepest_first();
  std::vector<std::vector<int>> children(N);
  for (size_t k = 0; k < N; ++k)
    if (in.parent[k] >= 0) children[in.parent[k]].push_back(static_cast<int>(k));
  std::vector<int> sub(N), full(N);
  for (int k : order) {  // deepest first
    const NodeData& n = in.nodes[k];
    std::vector<double> key{-1, static_cast<double>(n.tier), n.memory_bytes, static_cast<double>(label[k])};
    key.insert(key.end(), n.fwd_s.begin(), n.fwd_s.end());
    key.insert(key.end(), n.bwd_s.begin(), n.bwd_s.end());
    key.insert(key.end(), n.opt_s.begin(), n.opt_s.end());
    if (parent_link[k] >= 0) {
      key.push_back(in.links[parent_link[k]].bytes_per_s);
      key.push_back(in.links[parent_link[k]].latency_s);
    }
    std::vector<double> kids;
    for (int c : children[k]) kids.push_back(sub[c]);
    std::sort(kids.begin(), kids.end());
    key.push_back(-2);
    key.insert(key.end(), kids.begin(), kids.end());
    sub[k] = id_of(key);
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {  // root first
    const int k = *it;
    full[k] = id_of({-3, static_cast<double>(sub[k]), in.parent[k] >= 0 ? static_cast<double>(full[in.parent[k]]) : -1.0});
  }
  std::map<int, int> first;
  std::vector<int> rep(N);
  for (size_t k = 0; k < N; ++k) rep[k] = first.emplace(full[k], static_cast<int>(k)).first->second;
  return rep;
}

std::vector<std::vector<int>> source_orbits(const Instance& in) {
  return source_orbits(in, std::vector<int>(in.sources.size(), 0));
}

std::vector<std::vector<int>> source_orbits(const Instance& in, const std::vector<int>& marks) {
  DEC_ASSERT(marks.size() == in.sources.size(), "marks has ", marks.size(), " entries");
  std::map<std::pair<int64_t, int>, int> ids;
  std::vector<int> label;
  for (size_t s = 0; s < in.sources.size(); ++s)
    label.push_back(ids.emplace(std::make_pair(in.sources[s].samples, marks[s]), static_cast<int>(ids.size())).first->second);
  const std::vector<int> rep = symmetric_nodes(in, label);
  std::map<int, size_t> index;
  std::vector<std::vector<int>> orbits;
  for (size_t s = 0; s < in.sources.size(); ++s) {
    auto [it, fresh] = index.emplace(rep[in.sources[s].node], orbits.size());
    if (fresh) orbits.emplace_back();
    orbits[it->second].push_back(static_cast<int>(s));
  }
  return orbits;
}

std::vector<std::vector<int>> source_classes(const Instance& in) {
  std::map<std::vector<double>, size_t> index;
  std::vector<std::vector<int>> classes;
  for (size_t s = 0; s < in.sources.size(); ++s) {
    auto [it, fresh] = index.emplace(signature(in, in.sources[s]), classes.size());
    if (fresh) classes.emplace_back();
    classes[it->second].push_back(static_cast<int>(s));
  }
  return classes;
}

std::vector<int> tie_groups(const Instance& in, const std::vector<std::vector<int>>& groups) {
  std::vector<int> tie(in.sources.size());
  for (size_t s = 0; s < tie.size(); ++s) tie[s] = static_cast<int>(s);
  for (const auto& g : groups) {
    if (g.empty()) continue;
    const int first = *std::min_element(g.begin(), g.end());  // formulation ties to an earlier source
    for (int s : g) tie[s] = first;
  }
  return tie;
}

std::vector<std::vector<std::vector<int>>> class_splits(const Instance& in, const std::vector<int>& cls) {
  std::map<int, std::vector<int>> by_parent;
  for (int s : cls) by_parent[in.parent[in.sources[s].node]].push_back(s);
  size_t g = by_parent.begin()->second.size();
  for (const auto& [parent, members] : by_parent)
    if (members.size() != g) g = 0;  // uneven spread: split as one list
  std::vector<std::vector<int>> lists;
  if (g <= 1) {
    lists.push_back(cls);
    g = cls.size();
  } else {
    for (const auto& [parent, members] : by_parent) lists.push_back(members);
  }
  std::vector<std::vector<std::vector<int>>> out;
  for (size_t k = 1; 2 * k <= g; ++k) {
    std::vector<int> a, b;
    for (const auto& list : lists) {
      for (size_t i = 0; i < list.size(); ++i) (i < k ? a : b).push_back(list[i]);
    }
    out.push_back({a, b});
  }
  return out;
}

}  // namespace dec::planner
