// The runtime's view of a plan: who runs which blocks on how many samples.
//
// An ExecPlan is what every rank executes (docs/runtime.md). It is
// made from a planner::Plan (from_plan) or written by hand in tests. Node i of
// `nodes` is global rank i: one process per node.
//
// Semantics of one iteration: the global batch (B sample indices from the
// sampler) is cut into consecutive slices, one per path in order, of
// `samples` each. A path's source reads its slice and pushes it, in
// `micro_batches` micro-batches, through its stages; a stage with an empty
// block range relays activations forward and gradients backward. The last
// stage computes cross-entropy summed over its samples divided by B. Blocks
// held by several nodes (a replica group) have their gradients all-reduced.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dec::runtime {

struct Stage {
  int rank = 0;        // index into ExecPlan::nodes
  size_t begin = 0;    // blocks [begin, end); begin == end relays
  size_t end = 0;
  bool empty() const { return begin == end; }
};

struct ExecPath {
  std::vector<Stage> stages;   // stages[0] is the data source
  int64_t samples = 0;         // b[p]: samples per iteration
  int64_t micro_batches = 1;
};

struct ExecPlan {
  std::vector<std::string> nodes;  // node names; index = global rank
  size_t num_blocks = 0;
  int64_t global_batch = 0;        // B = sum of samples over paths
  std::vector<ExecPath> paths;
  double predicted_iteration_s = 0;  // from the planner (0 = unknown)

  int world_size() const { return static_cast<int>(nodes.size()); }
};

// Checks the plan is executable: ranks in range, every path covers blocks
// [0, L) contiguously in stage order, samples > 0 and sum to B, micro-batches
// in [1, samples], no rank twice on a path, at least one path. Throws
// ConfigError naming `where` and the path/stage.
void validate(const ExecPlan& plan, const std::string& where);

// Blocks held by `rank` (union of its ranges over all paths), ascending.
std::vector<size_t> blocks_of(const ExecPlan& plan, int rank);

// Replica groups: for each set of ranks that hold the same blocks, the blocks
// they share. A block's group is every rank that runs it on some path.
// Ordered by the highest block index descending, so groups whose blocks finish
// backward first come first.
struct ReplicaGroup {
  std::vector<int> ranks;      // ascending; ranks[0] owns the blocks for checkpoints
  std::vector<size_t> blocks;  // ascending
};
std::vector<ReplicaGroup> replica_groups(const ExecPlan& plan);

// Sizes of a path's micro-batches: samples split as evenly as possible, the
// first (samples % micro_batches) one larger.
std::vector<int64_t> micro_batch_sizes(const ExecPath& path);

// Offset of each path's slice in the global batch.
std::vector<int64_t> path_offsets(const ExecPlan& plan);

// sha256 of a canonical text of the plan: ranks agree on it at the handshake.
std::string plan_hash(const ExecPlan& plan);
std::string describe(const ExecPlan& plan);  // one line per path, for logs and errors

}  // namespace dec::runtime
