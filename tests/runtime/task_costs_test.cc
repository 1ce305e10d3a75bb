// Emulated compute (docs/runtime.md, emulation): an emulated rank's tasks take their
// full-speed cost / speed, and measuring those costs changes nothing in the job.
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

namespace dec::runtime {
namespace {

optim::OptimizerConfig adam() {
  optim::OptimizerConfig c;
  c.kind = "adam";
  c.lr = 1e-3;
  return c;
}

TEST(TaskCosts, GrowWithTheWorkAndLeaveTheJobsRandomStreamAlone) {
  torch::set_num_threads(1);
  const model::ModelSpec spec = model::make_model("fmnist-cnn");
  const StageShape small{0, 2, 2, false, false}, large{0, 2, 128, false, false};
  const StageShape last{2, 4, 16, true, true};
  torch::manual_seed(5);
  const TaskCosts costs = TaskCosts::measure(spec, {small, large, last, small}, {0, 1, 2, 3}, adam(), 1);
  const torch::Tensor after = torch::randn({4});
  torch::manual_seed(5);
  EXPECT_TRUE(torch::equal(after, torch::randn({4}))) << "measuring drew from the global generator";

  for (const StageShape& s : {small, large, last}) {
    EXPECT_GT(costs.stage(s).forward_s, 0);
    EXPECT_GT(costs.stage(s).backward_s, 0);
  }
  // 64x the samples through the two convolutions: far more than 4x the CPU,
  // whatever else the machine runs (CPU time, the cheaper of two passes).
  EXPECT_GT(costs.stage(large).forward_s, 4 * costs.stage(small).forward_s);
  EXPECT_GT(costs.stage(large).backward_s, 4 * costs.stage(small).backward_s);
  EXPECT_GT(costs.step_s(), 0);
  EXPECT_EQ(TaskCosts::measure(spec, {small}, {}, adam(), 1).step_s(), 0);  // nothing to step
}

TEST(TaskCosts, AReferenceScalesEveryCostToTheProfilesMachine) {
  torch::set_num_threads(1);
  const model::ModelSpec spec = model::make_model("fmnist-cnn");
  const StageShape part{0, 2, 8, false, false}, whole{0, 4, 16, true, false, 1};
  const TaskCosts plain = TaskCosts::measure(spec, {part, whole}, {0, 1, 2, 3}, adam(), 1);
  const double measured = plain.stage(whole).forward_s + plain.stage(whole).backward_s;
  // A profile taken on a machine a thousand times slower: a factor that the
  // noise between two measurements of the same task (well under 2x) cannot hide.
  const Reference ref{whole, 1000 * measured};
  const TaskCosts scaled = TaskCosts::measure(spec, {part}, {0, 1, 2, 3}, adam(), 1, &ref);
  EXPECT_EQ(plain.scale(), 1);
  EXPECT_NEAR(scaled.stage(whole).forward_s + scaled.stage(whole).backward_s, ref.full_speed_s,
              1e-9 * ref.full_speed_s);  // the reference costs what the profile says
  // Every other cost by the same factor: about 1000.
  EXPECT_GT(scaled.scale(), 100);
  EXPECT_LT(scaled.scale(), 10000);
  EXPECT_GT(scaled.stage(part).forward_s, 100 * plain.stage(part).forward_s);
  EXPECT_GT(scaled.stage(part).backward_s, 100 * plain.stage(part).backward_s);
  EXPECT_GT(scaled.step_s(), 100 * plain.step_s());
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
  // of a core. Each task asks the pacer for its own measured cost, and the step
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
    Worker worker(plan, spec, world, wo);
    const StageCost& c = worker.task_costs().stage({0, 4, 8, true, false, 1});
    const double step = worker.task_costs().step_s();
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
