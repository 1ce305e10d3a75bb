// The per-rank schedule (runtime/schedule.h) against its contract: on random
// plans, every rank's order together never deadlocks (checked by running all
// ranks' task lists against the messages each task needs), every task appears
// once, and the phases put pairs and early backwards where the header says.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "dec/runtime/exec_plan.h"
#include "dec/runtime/schedule.h"

namespace dec::runtime {
namespace {

// A random valid plan: `nodes` ranks, up to 3 paths of distinct ranks, each
// cutting `blocks` blocks into contiguous (possibly empty) stages.
ExecPlan random_plan(std::mt19937& rng, int nodes, size_t blocks) {
  ExecPlan plan;
  for (int r = 0; r < nodes; ++r) plan.nodes.push_back("n" + std::to_string(r));
  plan.num_blocks = blocks;
  const int paths = 1 + static_cast<int>(rng() % 3);
  for (int p = 0; p < paths; ++p) {
    std::vector<int> ranks(nodes);
    for (int r = 0; r < nodes; ++r) ranks[r] = r;
    std::shuffle(ranks.begin(), ranks.end(), rng);
    ranks.resize(1 + rng() % nodes);
    std::vector<size_t> cuts{0};
    for (size_t s = 1; s < ranks.size(); ++s) cuts.push_back(rng() % (blocks + 1));
    std::sort(cuts.begin(), cuts.end());
    cuts.push_back(blocks);
    ExecPath path;
    for (size_t s = 0; s < ranks.size(); ++s) path.stages.push_back({ranks[s], cuts[s], cuts[s + 1]});
    path.samples = 4 + static_cast<int64_t>(rng() % 5);
    path.micro_batches = 1 + static_cast<int64_t>(rng() % 4);
    plan.global_batch += path.samples;
    plan.paths.push_back(path);
  }
  return plan;
}

using Done = std::set<std::tuple<bool, size_t, int64_t, size_t>>;  // (backward, path, micro, stage)

// True when `t` has every message it waits for: the previous stage's forward
// (activation and labels), and for a backward its own forward and, when the
// next stage sends one, that stage's backward (the gradient).
bool ready(const ExecPlan& plan, const Task& t, const Done& done) {
  const ExecPath& path = plan.paths[t.path];
  if (!t.backward) return t.stage == 0 || done.count({false, t.path, t.micro, t.stage - 1});
  if (!done.count({false, t.path, t.micro, t.stage})) return false;
  const bool last = t.stage + 1 == path.stages.size();
  return last || !needs_input_grad(path, t.stage + 1) || done.count({true, t.path, t.micro, t.stage + 1});
}

TEST(Schedule, RandomPlansNeverDeadlockAndRunEveryTaskOnce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    const ExecPlan plan = random_plan(rng, 2 + static_cast<int>(rng() % 3), 1 + rng() % 5);
    ASSERT_NO_THROW(validate(plan, "random plan"));
    std::vector<RankSchedule> ranks;
    size_t total = 0;
    for (int r = 0; r < plan.world_size(); ++r) {
      ranks.push_back(make_schedule(plan, r));
      Done mine;
      for (const Task& t : ranks.back().tasks) {
        EXPECT_EQ(plan.paths[t.path].stages[t.stage].rank, r);
        EXPECT_TRUE(mine.insert({t.backward, t.path, t.micro, t.stage}).second) << "task twice";
      }
      total += ranks.back().tasks.size();
    }
    size_t expected = 0;
    for (const auto& p : plan.paths) expected += 2 * p.stages.size() * static_cast<size_t>(p.micro_batches);
    ASSERT_EQ(total, expected);
    // Run every rank as far as it can, round after round, until all are done.
    Done done;
    std::vector<size_t> next(ranks.size(), 0);
    for (bool progress = true; progress;) {
      progress = false;
      for (size_t r = 0; r < ranks.size(); ++r) {
        while (next[r] < ranks[r].tasks.size() && ready(plan, ranks[r].tasks[next[r]], done)) {
          const Task& t = ranks[r].tasks[next[r]++];
          done.insert({t.backward, t.path, t.micro, t.stage});
          progress = true;
        }
      }
    }
    ASSERT_EQ(done.size(), expected) << "deadlock in trial " << trial;
  }
}

TEST(Schedule, OnlyComputingStageRunsPairsAndLastStageBacksUpEarly) {
  // Path 0: n0 alone computes every block (pairs). Path 1: n1 -> n0, both
  // computing: n0 is the last stage and an earlier one waits for its gradient.
  ExecPlan plan;
  plan.nodes = {"n0", "n1"};
  plan.num_blocks = 2;
  plan.paths = {{{{0, 0, 2}}, 4, 2}, {{{1, 0, 1}, {0, 1, 2}}, 4, 2}};
  plan.global_batch = 8;
  ASSERT_NO_THROW(validate(plan, "plan"));
  const RankSchedule s = make_schedule(plan, 0);
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const Task& t = s.tasks[i];
    if (t.backward) continue;
    ASSERT_LT(i + 1, s.tasks.size());
    const Task& after = s.tasks[i + 1];
    EXPECT_TRUE(after.backward && after.path == t.path && after.micro == t.micro)
        << "path " << t.path << " micro-batch " << t.micro << ": backward does not follow its forward";
  }
  EXPECT_TRUE(backward_follows_forward(plan.paths[0], 0));
  EXPECT_TRUE(backward_follows_forward(plan.paths[1], 1));
  EXPECT_FALSE(backward_follows_forward(plan.paths[1], 0));
  // n1 only feeds: its backward phase starts after its forwards, and it
  // receives nothing raw.
  const RankSchedule feed = make_schedule(plan, 1);
  EXPECT_EQ(feed.forward_phase_end, 2u);
  EXPECT_TRUE(feed.raw_inputs.empty());
  // n0 receives path 1's labels raw, its activations not (a parameter made them).
  EXPECT_EQ(s.raw_inputs.size(), 2u);
}

}  // namespace
}  // namespace dec::runtime
