// Emulated compute (docs/runtime.md, emulation): an emulated rank's tasks take
// their profile's full-speed cost / speed, the cost the planner predicts.
#include "dec/runtime/task_costs.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "../comm/comm_testing.h"
#include "dec/comm/group.h"
#include "dec/data/dataset.h"
#include "dec/data/sampler.h"
#include "dec/profile/compute_pacer.h"
#include "dec/runtime/worker.h"
#include "dec/cluster/load.h"
#include "dec/planner/rows.h"

namespace dec::runtime {
namespace {

optim::OptimizerConfig adam() {
  optim::OptimizerConfig c;
  c.kind = "adam";
  c.lr = 1e-3;
  return c;
}

// A 4-block profile with per-row tables: block l costs (l + 1) ms forward and
// twice that backward per sample at 16 rows, and twice as much per sample at 1 row.
profile::ModelProfile four_blocks(double speed) {
  profile::ModelProfile p;
  p.model = "fmnist-cnn";
  p.micro_batch = 16;
  p.speed = speed;
  for (int l = 0; l < 4; ++l) {
    profile::BlockProfile b;
    b.name = "b" + std::to_string(l);
    b.fwd_s = (l + 1) * 1e-3 / speed;
    b.bwd_s = 2 * b.fwd_s;
    b.opt_s = (l + 1) * 1e-4 / speed;
    b.by_rows = {{1, 2 * b.fwd_s, 2 * b.bwd_s}, {16, b.fwd_s, b.bwd_s}};
    p.blocks.push_back(b);
  }
  return p;
}

TEST(TaskCosts, EveryTaskCostsWhatItsProfileSaysAtFullSpeed) {
  // Profiled at a hundredth of a core: full speed is a hundred times faster.
  const TaskCosts costs(four_blocks(0.01));
  const StageCost c = costs.stage({0, 3, 16, false, false, 4});
  EXPECT_NEAR(c.forward_s, 16 * (1 + 2 + 3) * 1e-3, 1e-12);
  EXPECT_NEAR(c.backward_s, 2 * c.forward_s, 1e-12);
  // The flags of a shape do not change it: in flight, loss, input gradient.
  EXPECT_EQ(costs.stage({0, 3, 16, true, true, 1}).forward_s, c.forward_s);
  // Between measured rows, a task's cost is linear in its rows: at 1 row 2 ms
  // of block 0, at 16 rows 16 ms; at 4 rows 2 + 3 * (16 - 2) / 15.
  EXPECT_NEAR(costs.stage({0, 1, 4, false, false, 1}).forward_s, (2 + 3 * 14.0 / 15) * 1e-3, 1e-12);
  EXPECT_NEAR(costs.step_s({1, 3}), (2 + 4) * 1e-4, 1e-12);
  EXPECT_EQ(costs.step_s({}), 0);
}

TEST(TaskCosts, AFirstStageCostsWhatThePlannerPredictsForIt) {
  // The planner's prediction for each stage position and the emulated node's
  // cost come from one profile: dev0 [0,3) before edge0 [3,4) costs per
  // micro-batch what the cost model says, forward and backward, and so does
  // the edge's last stage (docs/measurements.md, "Emulation: costs from the profile").
  const cluster::ClusterSpec spec = cluster::parse_cluster(R"(
format_version: 1
nodes:
  - {name: cloud, tier: cloud, speed: 1, memory: 64GiB}
  - {name: edge0, tier: edge, speed: 0.1, memory: 8GiB}
  - {name: dev0, tier: device, speed: 0.01, memory: 2GiB}
links:
  - {between: [edge0, cloud], bandwidth: 100Mbit/s, latency: 30ms}
  - {between: [dev0, edge0], bandwidth: 1.1Mbit/s, latency: 50ms}
data:
  - {node: dev0, share: 1}
training: {batch: 64, micro_batches: 4}
)", "test");
  const profile::ModelProfile reference = four_blocks(1);
  const planner::Instance in = planner::make_instance(spec, reference);
  // Source dev0's path [dev0, edge0]: 64 samples, 3 blocks before the hop.
  planner::Structure s(in.paths.size());
  const int path = in.sources[0].paths[1];
  s[in.sources[0].paths[0]].cuts = {};
  s[in.sources[0].paths[2]].cuts = {0, 0};
  s[path] = {64, {3}};
  const planner::Evaluation ev = planner::evaluate_at_rows(in, s);
  const TaskCosts costs(reference);
  const std::pair<int, double> stages[] = {{0, 0.01}, {1, 0.1}};  // position on the path, speed
  for (const auto& [j, speed] : stages) {
    const StageShape shape = j == 0 ? StageShape{0, 3, 16, false, false, 4} : StageShape{3, 4, 16, true, true, 1};
    EXPECT_NEAR(costs.stage(shape).forward_s / speed, ev.path_node_fwd_s[path][j], 1e-12) << "node " << j;
    EXPECT_NEAR(costs.stage(shape).backward_s / speed, ev.path_node_bwd_s[path][j], 1e-12) << "node " << j;
  }
}

// A pacer that takes no time: it records the full-speed cost of every task it
// is asked to stretch and reports the seconds a node of `speed` would wait.
class RecordingPacer final : public profile::ComputePacer {
 public:
  explicit RecordingPacer(double speed) : speed_(speed) {}
  double stretch(double wall_s, double cpu_s) override {
    costs.push_back(cpu_s);
    return cpu_s / speed_ - wall_s;
  }
  std::vector<double> costs;

 private:
  double speed_;
};

TEST(TaskCosts, AnEmulatedRankTakesItsTasksCostsDividedByItsSpeed) {
  // One rank, the whole model on 16 samples in 2 micro-batches, at a hundredth
  // of a core. Each task asks the pacer for its profile's cost, and the step
  // counts each task's time as that cost / speed: 2 forwards and 2 backwards
  // (pairs: 1 in flight) and the optimizer step. How closely a paced job's wall
  // time follows is a measurement: bench/scenarios/run (measured vs predicted).
  constexpr double kSpeed = 0.01;
  ExecPlan plan;
  plan.nodes = {"device"};
  plan.num_blocks = 4;
  plan.paths = {{{Stage{0, 0, 4}}, 16, 2}};
  plan.global_batch = 16;
  const model::ModelSpec spec = model::make_model("fmnist-cnn");
  const data::Dataset data = data::make_synthetic({1, 28, 28}, 10, 64, /*seed=*/11);
  data::EpochSampler sampler(64, 3);
  sampler.set_epoch(0);
  auto pacer = std::make_shared<RecordingPacer>(kSpeed);
  auto errors = comm::testing::run_ranks(1, [&](comm::Rendezvous& rv) {
    torch::set_num_threads(1);
    comm::Group world = comm::Group::world(rv, comm::GroupOptions().with_timeout(std::chrono::seconds(20)));
    WorkerOptions wo;
    wo.optimizer = adam();
    wo.pacer = pacer;
    wo.profile = four_blocks(1);
    Worker worker(plan, spec, world, wo);
    const TaskCosts costs(four_blocks(1));
    const StageCost c = costs.stage({0, 4, 8, true, false, 1});
    const double step = costs.step_s({0, 1, 2, 3});
    std::vector<double> tasks = {c.forward_s, c.backward_s, c.forward_s, c.backward_s, step};
    std::sort(tasks.begin(), tasks.end());
    const double expected = (2 * (c.forward_s + c.backward_s) + step) / kSpeed;
    for (int s = 0; s < 2; ++s) {
      pacer->costs.clear();
      const IterationStats st = worker.step(data, sampler.batch_indices(s, 16));
      std::sort(pacer->costs.begin(), pacer->costs.end());
      EXPECT_EQ(pacer->costs, tasks) << "step " << s;
      EXPECT_NEAR(st.compute_s, expected, 1e-9 * expected) << "step " << s;
    }
  });
  comm::testing::expect_ok(errors);
}

}  // namespace
}  // namespace dec::runtime
