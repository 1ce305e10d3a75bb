// The planning problem as numbers: what the cost model, the MILP and the
// baselines read. Built from a validated cluster spec and the model's block
// profile(s); independent of YAML, JSON and LibTorch.
//
// Indices: blocks 0..L-1 in chain order; nodes and links as in the spec.
// A path is a prefix of a source's route to the tree's root: nodes[0] is the
// source, links[h] joins nodes[h] and nodes[h+1]. Each source has one path per
// node on its route (ending at that node): [d], [d, e], [d, e, c]. A "cut"
// vector describes how a path's blocks are spread over its nodes (cost_model.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dec/cluster/spec.h"
#include "dec/profile/profile.h"

namespace dec::planner {

struct BlockData {
  std::string name;
  double out_bytes = 0;    // A[l]: output activation per sample
  double param_bytes = 0;  // W[l]
  double optim_bytes = 0;  // S[l]
  double saved_bytes = 0;  // R[l]: activations kept for backward, per sample
  // Per-sample time at `rows` rows per task over that at the profile's
  // micro-batch, rows ascending (the profile's by_rows); empty: per-sample
  // time does not depend on rows.
  struct AtRows {
    double rows = 0, fwd = 1, bwd = 1;
  };
  std::vector<AtRows> by_rows;
};

struct NodeData {
  std::string name;
  cluster::Tier tier = cluster::Tier::kDevice;
  double memory_bytes = 0;
  double speed = 1;                 // informational when the node has its own profile
  std::string accelerator;
  std::vector<double> fwd_s, bwd_s; // per block, seconds per sample on this node
  // fwd_s + bwd_s per block: what one sample of block l costs this node.
  std::vector<double> step_s;
  // Per block, the optimizer step over its parameters: seconds per iteration
  // on a node that holds it, whatever its samples.
  std::vector<double> opt_s;
};

struct LinkData {
  std::string name;        // "a-b", child first
  int child = -1, parent = -1;
  double bandwidth_mbps = 0;
  double bytes_per_s = 0;  // bandwidth_mbps * 1e6 / 8
  double latency_s = 0;
};

struct PathData {
  int source = -1;          // index into Instance::sources
  std::vector<int> nodes;   // source node first, then toward the root
  std::vector<int> links;   // links[h] joins nodes[h] and nodes[h+1]
  // Per block, this path's per-sample time over the profile's, for the rows
  // its micro-batches have (planner/rows.h); empty: 1.
  std::vector<double> fwd_scale, bwd_scale;
  int hops() const { return static_cast<int>(links.size()); }
};

struct SourceData {
  int node = -1;
  double share = 0;
  int64_t samples = 0;      // n_d: this source's integer part of the global batch
  std::vector<int> paths;   // by length: [d], [d, e], ...
};

struct Instance {
  std::string cluster_name;
  std::string model, model_hash;
  double input_bytes = 0;   // A[0]: one raw sample plus its label
  int64_t batch = 0;
  int micro_batches = 1;
  std::vector<BlockData> blocks;
  std::vector<NodeData> nodes;
  std::vector<LinkData> links;
  std::vector<SourceData> sources;
  std::vector<PathData> paths;
  int root = -1;
  std::vector<int> parent;                 // per node, -1 at the root
  std::vector<std::vector<char>> below;    // below[link][node]: node is on the link's child side

  int num_blocks() const { return static_cast<int>(blocks.size()); }
  // Node indices, deepest in the tree first (ties in index order): every node
  // comes before its parent.
  std::vector<int> deepest_first() const;
  // Seconds per sample of block l on node k for path p (its rows' scale).
  double fwd_s(int p, int k, int l) const {
    return nodes[k].fwd_s[l] * (paths[p].fwd_scale.empty() ? 1 : paths[p].fwd_scale[l]);
  }
  double bwd_s(int p, int k, int l) const {
    return nodes[k].bwd_s[l] * (paths[p].bwd_scale.empty() ? 1 : paths[p].bwd_scale[l]);
  }
  double step_s(int p, int k, int l) const { return fwd_s(p, k, l) + bwd_s(p, k, l); }
  // Whether some block's per-sample time depends on its task's rows (by_rows).
  bool has_rows_tables() const {
    for (const auto& b : blocks)
      if (!b.by_rows.empty()) return true;
    return false;
  }
  // Bytes per sample that cross a hop with `cut` blocks run before it: the raw
  // input (forward only) at cut 0, the activation and its gradient (2 * A)
  // otherwise. A path never has a hop at cut L (its last node runs block L).
  double hop_bytes_per_sample(int cut) const;
  // Bytes that one block's ring all-reduce moves over each link it crosses.
  double sync_bytes(int block) const { return 2 * blocks[block].param_bytes; }
  // Parameters + gradients + optimizer state of a block held on a node.
  double static_bytes(int block) const {
    return 2 * blocks[block].param_bytes + blocks[block].optim_bytes;
  }
};

// Builds the instance. `reference` gives block shapes and the times that
// speed factors scale; `node_profiles` maps a node's profile path (as in the
// spec) to a profile measured there. Throws ConfigError when a node profile
// does not describe the same model (block count, names or hash), or when the
// batch is too small to give every source at least its share rounded.
Instance make_instance(const cluster::ClusterSpec& spec, const profile::ModelProfile& reference,
                       const std::map<std::string, profile::ModelProfile>& node_profiles = {});

// Splits the global batch into integer per-source counts by largest remainder:
// counts sum to `batch`, each within 1 of share * batch; ties go to the earlier source.
std::vector<int64_t> apportion(int64_t batch, const std::vector<double>& shares);

}  // namespace dec::planner
