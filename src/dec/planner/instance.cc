#include "dec/planner/instance.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "dec/cluster/topology.h"
#include "dec/core/error.h"

namespace dec::planner {

double Instance::hop_bytes_per_sample(int cut) const {
  DEC_ASSERT(cut >= 0 && cut < num_blocks(), "cut ", cut);
  return cut == 0 ? input_bytes : 2 * blocks[cut - 1].out_bytes;
}

std::vector<int> Instance::deepest_first() const {
  const size_t N = nodes.size();
  std::vector<int> depth(N, 0), order(N);
  for (size_t k = 0; k < N; ++k) {
    order[k] = static_cast<int>(k);
    for (int v = parent[k]; v >= 0; v = parent[v]) ++depth[k];
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return depth[a] > depth[b]; });
  return order;
}

std::vector<int64_t> apportion(int64_t batch, const std::vector<double>& shares) {
  std::vector<int64_t> n(shares.size());
  std::vector<std::pair<double, size_t>> rest;
  int64_t given = 0;
  for (size_t i = 0; i < shares.size(); ++i) {
    double exact = shares[i] * static_cast<double>(batch);
    n[i] = static_cast<int64_t>(std::floor(exact + 1e-9));
    given += n[i];
    rest.push_back({exact - static_cast<double>(n[i]), i});
  }
  std::stable_sort(rest.begin(), rest.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first + 1e-12; });
  for (size_t k = 0; given < batch && k < rest.size(); ++k, ++given) ++n[rest[k].second];
  DEC_ASSERT(given == batch, "apportioned ", given, " of ", batch);
  return n;
}

namespace {

NodeData node_data(const cluster::Node& n, const profile::ModelProfile& ref,
                   const std::map<std::string, profile::ModelProfile>& node_profiles) {
  NodeData d;
  d.name = n.name;
  d.tier = n.tier;
  d.memory_bytes = n.memory_bytes;
  d.speed = n.speed;
  d.accelerator = n.accelerator;
  const size_t L = ref.blocks.size();
  // The node's own profile, measured at its speed, or else the reference's
  // times scaled to it (they include the reference's own emulated speed).
  const profile::ModelProfile* src = &ref;
  double factor = ref.speed / n.speed;
  if (!n.profile.empty()) {
    auto it = node_profiles.find(n.profile);
    DEC_CHECK(it != node_profiles.end(), ConfigError, "missing node profile", n.profile,
              "node '", n.name, "' names this profile but it was not loaded");
    const profile::ModelProfile& p = it->second;
    DEC_CHECK(p.blocks.size() == L, ConfigError, "node profile does not match the model", n.profile,
              "it has ", p.blocks.size(), " blocks, the reference profile ", L);
    DEC_CHECK(ref.model_hash.empty() || p.model_hash.empty() || p.model_hash == ref.model_hash,
              ConfigError, "node profile does not match the model", n.profile, "model hash ",
              p.model_hash, " differs from the reference's ", ref.model_hash);
    for (size_t l = 0; l < L; ++l)
      DEC_CHECK(p.blocks[l].name == ref.blocks[l].name, ConfigError,
                "node profile does not match the model", n.profile, "block ", l, " is '",
                p.blocks[l].name, "', the reference's is '", ref.blocks[l].name, "'");
    src = &p;
    factor = 1;
  }
  for (const auto& b : src->blocks) {
    d.fwd_s.push_back(b.fwd_s * factor);
    d.bwd_s.push_back(b.bwd_s * factor);
    d.opt_s.push_back(b.opt_s * factor);
    d.step_s.push_back(d.fwd_s.back() + d.bwd_s.back());
  }
  return d;
}

}  // namespace

Instance make_instance(const cluster::ClusterSpec& spec, const profile::ModelProfile& ref,
                       const std::map<std::string, profile::ModelProfile>& node_profiles) {
  DEC_CHECK(!ref.blocks.empty(), ConfigError, "invalid profile", ref.model, "no blocks");
  const cluster::Topology topo(spec);
  Instance in;
  in.cluster_name = spec.name;
  in.model = ref.model;
  in.model_hash = ref.model_hash;
  in.input_bytes = ref.input_bytes;
  in.batch = spec.training.batch;
  in.micro_batches = spec.training.micro_batches;
  for (const auto& b : ref.blocks) {
    BlockData d;
    d.name = b.name;
    d.out_bytes = b.out_bytes;
    d.param_bytes = b.param_bytes;
    d.saved_bytes = b.saved_bytes;
    for (const auto& r : b.by_rows) {
      d.by_rows.push_back({static_cast<double>(r.rows), b.fwd_s > 0 ? r.fwd_s / b.fwd_s : 1,
                           b.bwd_s > 0 ? r.bwd_s / b.bwd_s : 1});
    }
    d.optim_bytes = spec.training.optimizer_state_factor
                        ? *spec.training.optimizer_state_factor * b.param_bytes
                        : b.optim_bytes;
    in.blocks.push_back(d);
  }
  for (const auto& n : spec.nodes) in.nodes.push_back(node_data(n, ref, node_profiles));
  in.root = topo.root();
  for (int v = 0; v < topo.num_nodes(); ++v) in.parent.push_back(topo.parent(v));
  for (size_t i = 0; i < spec.links.size(); ++i) {
    LinkData l;
    l.child = topo.link_child(static_cast<int>(i));
    l.parent = topo.parent(l.child);
    l.name = spec.nodes[l.child].name + "-" + spec.nodes[l.parent].name;
    l.bandwidth_mbps = spec.links[i].bandwidth_mbps;
    l.bytes_per_s = spec.links[i].bandwidth_mbps * 1e6 / 8;
    l.latency_s = spec.links[i].latency_s;
    in.links.push_back(l);
    std::vector<char> below(spec.nodes.size());
    for (int v = 0; v < topo.num_nodes(); ++v) below[v] = topo.in_subtree(l.child, v);
    in.below.push_back(std::move(below));
  }
  std::vector<double> shares;
  for (const auto& d : spec.data) shares.push_back(d.share);
  const std::vector<int64_t> counts = apportion(in.batch, shares);
  for (size_t s = 0; s < spec.data.size(); ++s) {
    SourceData src;
    src.node = spec.node_index(spec.data[s].node);
    src.share = spec.data[s].share;
    src.samples = counts[s];
    const std::vector<int> up = topo.route_to_root(src.node);
    for (size_t len = 1; len <= up.size(); ++len) {
      PathData p;
      p.source = static_cast<int>(s);
      p.nodes.assign(up.begin(), up.begin() + static_cast<long>(len));
      for (size_t h = 0; h + 1 < len; ++h) p.links.push_back(topo.parent_link(p.nodes[h]));
      src.paths.push_back(static_cast<int>(in.paths.size()));
      in.paths.push_back(std::move(p));
    }
    in.sources.push_back(std::move(src));
  }
  return in;
}

}  // namespace dec::planner
