#include "dec/runtime/exec_plan.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "dec/core/error.h"
#include "dec/core/sha256.h"
#include "dec/runtime/tags.h"

namespace dec::runtime {

void validate(const ExecPlan& plan, const std::string& where) {
  DEC_CHECK(!plan.nodes.empty(), ConfigError, "invalid plan", where, "no nodes");
  DEC_CHECK(!plan.paths.empty(), ConfigError, "invalid plan", where, "no paths");
  DEC_CHECK(plan.num_blocks > 0, ConfigError, "invalid plan", where, "no blocks");
  DEC_CHECK(static_cast<int64_t>(plan.paths.size()) <= kMaxPaths, ConfigError, "invalid plan", where,
            plan.paths.size(), " paths; the job's message tags address at most ", kMaxPaths);
  DEC_CHECK(static_cast<int64_t>(plan.num_blocks) <= kMaxGatheredBlocks, ConfigError, "invalid plan",
            where, plan.num_blocks, " blocks; at most ", kMaxGatheredBlocks);
  int64_t total = 0;
  for (size_t p = 0; p < plan.paths.size(); ++p) {
    const ExecPath& path = plan.paths[p];
    const std::string pw = str(where, ": paths[", p, "]");
    DEC_CHECK(!path.stages.empty(), ConfigError, "invalid plan", pw, "no stages");
    DEC_CHECK(path.samples > 0, ConfigError, "invalid plan", pw, "samples must be positive, got ",
              path.samples);
    DEC_CHECK(path.micro_batches >= 1 && path.micro_batches <= path.samples, ConfigError,
              "invalid plan", pw, "micro_batches must be in [1, samples=", path.samples, "], got ",
              path.micro_batches);
    DEC_CHECK(path.micro_batches <= kMaxMicroBatches, ConfigError, "invalid plan", pw,
              path.micro_batches, " micro-batches; the job's message tags address at most ",
              kMaxMicroBatches);
    size_t next = 0;
    std::set<int> seen;
    for (size_t s = 0; s < path.stages.size(); ++s) {
      const Stage& st = path.stages[s];
      DEC_CHECK(st.rank >= 0 && st.rank < plan.world_size(), ConfigError, "invalid plan",
                str(pw, ".stages[", s, "]"), "rank ", st.rank, " is not a node of the plan");
      DEC_CHECK(seen.insert(st.rank).second, ConfigError, "invalid plan",
                str(pw, ".stages[", s, "]"), "node '", plan.nodes[st.rank],
                "' appears twice on the path");
      DEC_CHECK(st.begin == next && st.end >= st.begin, ConfigError, "invalid plan",
                str(pw, ".stages[", s, "]"), "blocks [", st.begin, ", ", st.end,
                ") do not continue at block ", next);
      next = st.end;
    }
    DEC_CHECK(next == plan.num_blocks, ConfigError, "invalid plan", pw, "stages cover blocks [0, ",
              next, "), the model has ", plan.num_blocks);
    total += path.samples;
  }
  DEC_CHECK(total == plan.global_batch, ConfigError, "invalid plan", where,
            "paths carry ", total, " samples, the global batch is ", plan.global_batch);
}

std::vector<size_t> blocks_of(const ExecPlan& plan, int rank) {
  std::set<size_t> blocks;
  for (const auto& path : plan.paths) {
    for (const auto& st : path.stages) {
      if (st.rank != rank) continue;
      for (size_t l = st.begin; l < st.end; ++l) blocks.insert(l);
    }
  }
  return {blocks.begin(), blocks.end()};
}

std::vector<ReplicaGroup> replica_groups(const ExecPlan& plan) {
  std::vector<std::set<int>> holders(plan.num_blocks);
  for (const auto& path : plan.paths) {
    for (const auto& st : path.stages) {
      for (size_t l = st.begin; l < st.end; ++l) holders[l].insert(st.rank);
    }
  }
  std::map<std::vector<int>, std::vector<size_t>> by_ranks;
  for (size_t l = 0; l < plan.num_blocks; ++l) {
    by_ranks[{holders[l].begin(), holders[l].end()}].push_back(l);
  }
  std::vector<ReplicaGroup> groups;
  for (auto& [ranks, blocks] : by_ranks) groups.push_back({ranks, blocks});
  std::sort(groups.begin(), groups.end(), [](const ReplicaGroup& a, const ReplicaGroup& b) {
    return a.blocks.back() > b.blocks.back();
  });
  return groups;
}

std::vector<int64_t> micro_batch_sizes(const ExecPath& path) {
  std::vector<int64_t> sizes(path.micro_batches, path.samples / path.micro_batches);
  for (int64_t i = 0; i < path.samples % path.micro_batches; ++i) ++sizes[i];
  return sizes;
}

std::vector<int64_t> path_offsets(const ExecPlan& plan) {
  std::vector<int64_t> offsets;
  int64_t off = 0;
  for (const auto& p : plan.paths) {
    offsets.push_back(off);
    off += p.samples;
  }
  return offsets;
}

std::string describe(const ExecPlan& plan) {
  std::ostringstream os;
  for (size_t p = 0; p < plan.paths.size(); ++p) {
    const ExecPath& path = plan.paths[p];
    os << "path " << p << ": " << path.samples << " samples in " << path.micro_batches
       << " micro-batches:";
    for (const auto& st : path.stages) {
      os << " " << plan.nodes[st.rank] << "[" << st.begin << "," << st.end << ")";
    }
    os << "\n";
  }
  return os.str();
}

std::string plan_hash(const ExecPlan& plan) {
  std::ostringstream os;
  os << "nodes";
  for (const auto& n : plan.nodes) os << " " << n;
  os << "\nblocks " << plan.num_blocks << "\nbatch " << plan.global_batch << "\n"
     << describe(plan);
  return sha256_hex(os.str());
}

}  // namespace dec::runtime
