// A plan: what the distributed runtime executes for one training job, and what
// the planner predicted for it. docs/plan.md specifies the JSON (format_version 3).
//
// The runtime needs: paths (source, ordered nodes, block range per node,
// samples and micro-batches per iteration) and the replica group of every block.
// Everything else (prediction, per-node and per-link figures, solver report,
// baselines) explains the plan to people and lets runs compare measured with
// predicted times. Baselines have the same shape, so the runtime can execute
// one too; a baseline does not carry baselines or a solver report of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dec::planner {

// The version written, and the oldest still read (docs/plan.md lists what
// each changed). Version 1 plans may lack prediction.overlap_s (read as 0);
// plans before version 3 lack `data` and the solver's fastest_s and simpler.
inline constexpr int kPlanFormatVersion = 3;
inline constexpr int kOldestPlanFormatVersion = 1;

struct BlockRange {
  int begin = 0, end = 0;  // [begin, end) in chain order; begin == end: forward only
  bool empty() const { return begin == end; }
  bool operator==(const BlockRange& o) const { return begin == o.begin && end == o.end; }
};

struct PlanPath {
  std::string source;               // node that holds the samples
  std::vector<std::string> nodes;   // the route, source first
  std::vector<BlockRange> ranges;   // one per node; contiguous, covering [0, L)
  int64_t samples = 0;              // per iteration
  int micro_batches = 0;            // min(training micro-batches, samples)
  // Predicted, per micro-batch: compute per node and transfer per hop, seconds.
  std::vector<double> node_s, hop_s;
  double latency_s = 0;             // the path's link latencies, forward and backward
  double fill_s = 0;                // one micro-batch through every stage, plus latency_s
};

struct Replica {
  std::string block;
  std::vector<std::string> nodes;   // the all-reduce group, in node order of the spec
};

struct Prediction {
  double iteration_s = 0;
  std::string bottleneck;           // node or link name
  std::string bottleneck_kind;      // "node" or "link"
  int path = -1;                    // index into paths of the term's path, -1: load alone
  double load_s = 0;                // the bottleneck's busy time per iteration
  double sync_s = 0;                // link: part of load_s spent on gradient all-reduce;
                                    // node: the all-reduce that follows its compute
  double fill_s = 0;                // pipeline fill and drain of `path`
  double latency_s = 0;             // link latencies of `path`
  double overlap_s = 0;             // of fill_s + latency_s, what the node spends on its
                                    // own other micro-batches (early backward)
};

struct NodeReport {
  std::string name, tier;
  std::vector<BlockRange> blocks;   // blocks held, as maximal ranges
  int64_t samples = 0;              // samples that run some block here
  double compute_s = 0;             // busy time per iteration
  double memory_bytes = 0;          // parameters, gradients, optimizer state, activations
  double memory_cap_bytes = 0;
};

struct LinkReport {
  std::string name, a, b;           // a: child side, b: parent side
  double activation_bytes = 0;      // activations, their gradients and raw inputs
  double sync_bytes = 0;            // gradient all-reduce
  double seconds = 0;               // (activation + sync bytes) / bandwidth
  double bandwidth_mbps = 0, latency_s = 0;
};

struct SolverReport {
  std::string status;               // "optimal", "time_limit", "heuristic"
  double objective = 0;             // predicted iteration time of the plan
  double bound = 0;                 // proven lower bound on the best possible
  double gap = 0;                   // (objective - bound) / objective
  double seconds = 0;               // planner wall clock
  std::string method;               // how the plan was found
  std::string bound_method;         // how the bound was proven
  double fastest_s = 0;             // the fastest plan found (= objective unless `simpler`)
  std::string simpler;              // why a simpler plan within the tolerance was taken
                                    // over the fastest (planner/simpler.h); "" when not
};

struct DataShare {
  std::string node;
  double share = 0;                 // of the global batch, normalised: the shares sum to 1
  int64_t samples = 0;              // per iteration (largest remainder)
};

struct ProfileRef {
  std::string node;                 // "" for the reference profile
  std::string path, sha256;
};

struct Plan {
  int format_version = kPlanFormatVersion;  // as read; a plan is always written at kPlanFormatVersion
  std::string kind = "dec";         // "dec" or a baseline: device-only, edge-only, ...
  bool feasible = true;             // false: does not fit memory (baselines only); see note
  std::string note;
  std::string cluster, cluster_sha256;
  std::string model, model_hash;
  std::vector<std::string> blocks;  // block names in chain order
  std::vector<ProfileRef> profiles;
  int64_t batch = 0;
  int micro_batches = 0;
  std::vector<DataShare> data;      // per data source, in the spec's order (top level only)
  std::vector<PlanPath> paths;      // only paths that carry samples
  std::vector<Replica> replicas;    // one per block
  Prediction prediction;
  std::vector<NodeReport> nodes;
  std::vector<LinkReport> links;
  std::optional<SolverReport> solver;
  std::vector<Plan> baselines;
};

// JSON text <-> Plan. Parsing checks the format version (one from
// kOldestPlanFormatVersion to kPlanFormatVersion), required fields and the
// path invariants (ranges contiguous, covering the chain); errors are
// CorruptFile naming `where`.
std::string to_json(const Plan& p);
Plan plan_from_json(const std::string& text, const std::string& where);
Plan load_plan(const std::string& path);
void save_plan(const std::string& path, const Plan& p);  // atomic

}  // namespace dec::planner
