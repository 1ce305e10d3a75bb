// The cost model: the predicted time of one synchronous iteration for a given
// split of the data and the model (docs/plan.md, "Cost model", has the formulas).
//
// This function is the definition the MILP encodes and the baselines, the
// summary and the tests evaluate; formulation.cc must stay equal to it.
//
// A Structure gives, for every path of the instance, its samples per iteration
// b (0: the path is unused) and its cuts: cuts[h] = how many blocks (a prefix of
// the chain) run on nodes[0..h] of the path, i.e. before hop h. Node j runs
// blocks [begin, end) with begin = cuts[j-1] (0 for j = 0) and end = cuts[j]
// (L for the last node). Cuts are non-decreasing and below L: the path's last
// node always runs at least the last block, so every hop carries data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dec/planner/instance.h"

namespace dec::planner {

struct PathChoice {
  int64_t samples = 0;
  std::vector<int> cuts;  // one per hop of the path
  bool operator==(const PathChoice& o) const { return samples == o.samples && cuts == o.cuts; }
  bool operator!=(const PathChoice& o) const { return !(*this == o); }
};
using Structure = std::vector<PathChoice>;  // indexed like Instance::paths

// Relative slack on memory caps: a plan using up to cap * (1 + kMemorySlack)
// fits. It only absorbs the solver's feasibility tolerance.
inline constexpr double kMemorySlack = 1e-6;

// Blocks [begin, end) that node j of path p runs under `choice`.
std::pair<int, int> node_range(const Instance& in, int path, const PathChoice& choice, int j);

// One candidate of the max that defines the iteration time:
//   load_s (the resource's total busy time) + fill_s (one micro-batch of `path`
//   through its other stages) + latency_s (the path's link latencies)
//   - overlap_s (the part of that round trip a node spends on its own other
//   micro-batches: see cost_model.cc, "early backward").
struct TimeTerm {
  bool is_link = false;
  int resource = -1;   // node or link index
  int path = -1;       // -1: the resource's load alone
  // sync_s: for a link, the part of its load spent on gradient sync; for a node's
  // load alone (path -1), the gradient sync that follows it (after_sync_link).
  double load_s = 0, sync_s = 0;
  double fill_s = 0, latency_s = 0, overlap_s = 0;
  int after_sync_link = -1;
  double total() const {
    return load_s + fill_s + latency_s - overlap_s + (after_sync_link >= 0 ? sync_s : 0);
  }
};

struct Evaluation {
  double iteration_s = 0;
  TimeTerm critical;                 // the term that sets iteration_s
  bool fits = true;                  // every node within its memory cap
  std::vector<int> over_memory;      // nodes over their cap
  // node_compute_s: per iteration, optimizer steps included.
  std::vector<double> node_compute_s, node_static_bytes, node_activation_bytes;
  std::vector<int64_t> node_samples; // samples whose blocks (some) run on the node
  std::vector<double> link_activation_bytes, link_sync_bytes, link_s;
  // Per path, one micro-batch's time on each node and hop; of a node's, the
  // forward and the backward part.
  std::vector<std::vector<double>> path_node_s, path_hop_s;
  std::vector<std::vector<double>> path_node_fwd_s, path_node_bwd_s;
  // One micro-batch through all stages + latencies (hops that carry raw input excluded).
  std::vector<double> path_fill_s;
  std::vector<double> path_latency_s;
  std::vector<std::vector<char>> holds;  // holds[node][block]
  double node_memory_bytes(int k) const { return node_static_bytes[k] + node_activation_bytes[k]; }
};

// Throws InternalError when the structure has the wrong shape (sizes, cuts out
// of order or range, samples not summing to each source's count).
void check_structure(const Instance& in, const Structure& s);

Evaluation evaluate(const Instance& in, const Structure& s);

// The same, and every term of the max that defines the iteration time in
// `terms` (each resource's load alone, then every used path's terms).
Evaluation evaluate(const Instance& in, const Structure& s, std::vector<TimeTerm>* terms);

// Whether node j of path p runs a block under `c`; whether hop h is serial
// (its sender only relays, or a computing node lies after it): docs/plan.md,
// "Cost model", link load.
bool path_runs_blocks(const Instance& in, int path, const PathChoice& c, int j);
bool path_hop_serial(const Instance& in, int path, const PathChoice& c, int h);

}  // namespace dec::planner
