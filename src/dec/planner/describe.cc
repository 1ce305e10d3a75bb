#include "dec/planner/describe.h"

#include <algorithm>

#include "dec/core/error.h"
#include "dec/core/units.h"

namespace dec::planner {
namespace {

std::vector<BlockRange> as_ranges(const std::vector<char>& held) {
  std::vector<BlockRange> out;
  for (int l = 0; l < static_cast<int>(held.size()); ++l) {
    if (!held[l]) continue;
    if (!out.empty() && out.back().end == l) {
      out.back().end = l + 1;
    } else {
      out.push_back({l, l + 1});
    }
  }
  return out;
}

}  // namespace

Plan plan_of(const Instance& in, const std::string& kind) {
  Plan plan;
  plan.kind = kind;
  plan.cluster = in.cluster_name;
  plan.model = in.model;
  plan.model_hash = in.model_hash;
  for (const auto& b : in.blocks) plan.blocks.push_back(b.name);
  plan.batch = in.batch;
  plan.micro_batches = in.micro_batches;
  for (const auto& src : in.sources) plan.data.push_back({in.nodes[src.node].name, src.share, src.samples});
  return plan;
}

Plan describe(const Instance& in, const Structure& s, const std::string& kind) {
  const Evaluation ev = evaluate(in, s);
  const int L = in.num_blocks();
  Plan plan = plan_of(in, kind);
  std::vector<int> plan_index(in.paths.size(), -1);
  for (size_t p = 0; p < in.paths.size(); ++p) {
    const PathChoice& c = s[p];
    if (c.samples == 0) continue;
    const PathData& path = in.paths[p];
    PlanPath q;
    q.source = in.nodes[path.nodes[0]].name;
    for (size_t j = 0; j < path.nodes.size(); ++j) {
      const int k = path.nodes[j];
      q.nodes.push_back(in.nodes[k].name);
      auto [begin, end] = node_range(in, static_cast<int>(p), c, static_cast<int>(j));
      q.ranges.push_back({begin, end});
    }
    q.node_s = ev.path_node_s[p];
    q.hop_s = ev.path_hop_s[p];
    q.samples = c.samples;
    q.micro_batches = static_cast<int>(std::min<int64_t>(in.micro_batches, c.samples));
    q.latency_s = ev.path_latency_s[p];
    q.fill_s = ev.path_fill_s[p];
    plan_index[p] = static_cast<int>(plan.paths.size());
    plan.paths.push_back(std::move(q));
  }
  for (int l = 0; l < L; ++l) {
    Replica r;
    r.block = in.blocks[l].name;
    for (size_t k = 0; k < in.nodes.size(); ++k)
      if (ev.holds[k][l]) r.nodes.push_back(in.nodes[k].name);
    plan.replicas.push_back(std::move(r));
  }
  const TimeTerm& t = ev.critical;
  plan.prediction.iteration_s = ev.iteration_s;
  plan.prediction.bottleneck = t.is_link ? in.links[t.resource].name : in.nodes[t.resource].name;
  plan.prediction.bottleneck_kind = t.is_link ? "link" : "node";
  plan.prediction.path = t.path >= 0 ? plan_index[t.path] : -1;
  plan.prediction.load_s = t.load_s;
  plan.prediction.sync_s = t.sync_s;
  plan.prediction.fill_s = t.fill_s;
  plan.prediction.latency_s = t.latency_s;
  plan.prediction.overlap_s = t.overlap_s;
  for (size_t k = 0; k < in.nodes.size(); ++k) {
    NodeReport n;
    n.name = in.nodes[k].name;
    n.tier = cluster::tier_name(in.nodes[k].tier);
    n.blocks = as_ranges(ev.holds[k]);
    n.samples = ev.node_samples[k];
    n.compute_s = ev.node_compute_s[k];
    n.memory_bytes = ev.node_memory_bytes(static_cast<int>(k));
    n.memory_cap_bytes = in.nodes[k].memory_bytes;
    plan.nodes.push_back(std::move(n));
  }
  for (size_t e = 0; e < in.links.size(); ++e) {
    const LinkData& l = in.links[e];
    plan.links.push_back({l.name, in.nodes[l.child].name, in.nodes[l.parent].name,
                          ev.link_activation_bytes[e], ev.link_sync_bytes[e], ev.link_s[e],
                          l.bandwidth_mbps, l.latency_s});
  }
  plan.feasible = ev.fits;
  if (!ev.fits) {
    std::string why = "does not fit memory:";
    for (int k : ev.over_memory) {
      why += str(" ", in.nodes[k].name, " needs ", format_bytes(ev.node_memory_bytes(k)), " of ",
                 format_bytes(in.nodes[k].memory_bytes), ";");
    }
    why.pop_back();
    plan.note = why;
  }
  return plan;
}

Structure structure_of(const Instance& in, const Plan& plan) {
  const std::string where = "plan";
  DEC_CHECK(static_cast<int>(plan.blocks.size()) == in.num_blocks(), Mismatch,
            "plan does not match the model", where, "plan has ", plan.blocks.size(),
            " blocks, the profile ", in.num_blocks());
  Structure s(in.paths.size());
  for (size_t p = 0; p < in.paths.size(); ++p) s[p].cuts.assign(in.paths[p].hops(), 0);
  for (size_t i = 0; i < plan.paths.size(); ++i) {
    const PlanPath& q = plan.paths[i];
    int found = -1;
    for (size_t p = 0; p < in.paths.size() && found < 0; ++p) {
      const PathData& path = in.paths[p];
      if (path.nodes.size() != q.nodes.size()) continue;
      bool same = true;
      for (size_t j = 0; j < path.nodes.size(); ++j) same = same && in.nodes[path.nodes[j]].name == q.nodes[j];
      if (same) found = static_cast<int>(p);
    }
    DEC_CHECK(found >= 0, Mismatch, "plan does not match the cluster", str(where, ": paths[", i, "]"),
              "no route ", q.source, " -> ", q.nodes.back(), " in this cluster");
    DEC_CHECK(s[found].samples == 0, Mismatch, "plan does not match the cluster",
              str(where, ": paths[", i, "]"), "the same path is listed twice");
    DEC_CHECK(q.ranges.size() == q.nodes.size(), Mismatch, "invalid plan", str(where, ": paths[", i, "]"),
              "one range per node");
    s[found].samples = q.samples;
    for (size_t h = 0; h + 1 < q.ranges.size(); ++h) s[found].cuts[h] = q.ranges[h].end;
  }
  for (size_t src = 0; src < in.sources.size(); ++src) {
    int64_t sum = 0;
    for (int p : in.sources[src].paths) sum += s[p].samples;
    DEC_CHECK(sum == in.sources[src].samples, Mismatch, "plan does not match the cluster", where,
              "source ", in.nodes[in.sources[src].node].name, " has ", sum, " samples in the plan, ",
              in.sources[src].samples, " in the cluster's batch");
  }
  check_structure(in, s);
  return s;
}

}  // namespace dec::planner
