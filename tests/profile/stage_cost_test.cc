// The one way DEC measures compute (stage_cost.h): a task's cost, and each
// block's share of it inside the chain.
#include "dec/profile/stage_cost.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace dec::profile {
namespace {

// Quick: small tasks, few runs.
const MeasurePolicy kQuick{1, 0, 5, 0.02, 20};

TEST(StageCost, ChainSharesAddUpToTheTaskAndLeaveTheJobsRandomStreamAlone) {
  const model::ModelSpec spec = model::make_model("lenet5");
  const StageShape whole{0, spec.num_blocks(), 16, true, false};
  torch::manual_seed(7);
  const torch::Tensor expected = torch::randn({4});
  torch::manual_seed(7);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const std::vector<StageCost> chain = measure_chain_costs(spec, whole, 0, gen, kQuick);
  const StageCost task = measure_stage_cost(spec, whole, 0, gen, kQuick);
  EXPECT_TRUE(torch::equal(torch::randn({4}), expected));

  ASSERT_EQ(chain.size(), spec.num_blocks());
  for (const StageCost& c : chain) {
    EXPECT_GT(c.forward_s, 0);
    EXPECT_GT(c.backward_s, 0);
  }
  // The same work timed two ways: medians of CPU time, far apart only if the
  // shares missed part of the backward or counted some twice. Such a bug shows
  // in every try; a burst of other work on the machine in one (a ratio of 1.5
  // under ctest's load once) does not, so a few tries are allowed.
  auto ratio = [](const std::vector<StageCost>& shares, const StageCost& whole) {
    double sum = 0;
    for (const StageCost& c : shares) sum += c.forward_s + c.backward_s;
    return sum / (whole.forward_s + whole.backward_s);
  };
  double r = ratio(chain, task);
  for (int attempt = 1; attempt < 3 && (r < 0.7 || r > 1.4); ++attempt) {
    r = ratio(measure_chain_costs(spec, whole, 0, gen, kQuick), measure_stage_cost(spec, whole, 0, gen, kQuick));
  }
  EXPECT_GT(r, 0.7);
  EXPECT_LT(r, 1.4);
  // conv1 (5x5 over 28x28, 6 channels) outweighs fc3 (84 -> 10) both ways.
  EXPECT_GT(chain.front().forward_s, chain.back().forward_s);
  EXPECT_GT(chain.front().backward_s, chain.back().backward_s);
}

TEST(StageCost, AStageInsideTheModelTakesItsInputsGradientOnlyWhenAsked) {
  const model::ModelSpec spec = model::make_model("lenet5");
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1);
  // conv2's input gradient is a second convolution as large as its weight
  // gradient: asked for, the backward does more.
  const StageCost without = measure_stage_cost(spec, {1, 2, 32, false, false}, 0, gen, kQuick);
  const StageCost with = measure_stage_cost(spec, {1, 2, 32, false, true}, 0, gen, kQuick);
  EXPECT_GT(with.backward_s, 1.2 * without.backward_s);
  EXPECT_GT(with.forward_s, 0);
}

}  // namespace
}  // namespace dec::profile
