// GradReadyHooks: a block is reported ready during backward, once its own
// gradients exist and before the blocks below it have theirs; only armed
// blocks are reported; finish() releases a block whose gradient never came.
#include "dec/runtime/grad_ready.h"

#include <gtest/gtest.h>

#include <vector>

namespace dec::runtime {
namespace {

struct TwoBlocks {
  torch::nn::Linear bottom{4, 3};  // block 0
  torch::nn::Linear top{3, 2};     // block 1
  torch::nn::Linear unused{2, 2};  // block 2: never in the graph

  std::map<size_t, std::vector<torch::Tensor>> blocks() {
    return {{0, bottom->parameters()}, {1, top->parameters()}, {2, unused->parameters()}};
  }
  void backward() { top(torch::relu(bottom(torch::randn({5, 4})))).sum().backward(); }
};

TEST(GradReadyHooks, ReportsTheTopBlockBeforeTheBottomHasItsGradient) {
  TwoBlocks m;
  std::vector<size_t> order;
  bool bottom_pending_when_top_ready = false, top_done_when_ready = false;
  GradReadyHooks hooks(m.blocks(), [&](size_t l) {
    order.push_back(l);
    if (l == 1) {
      top_done_when_ready = m.top->weight.grad().defined() && m.top->bias.grad().defined();
      bottom_pending_when_top_ready = !m.bottom->weight.grad().defined();
    }
  });
  ASSERT_TRUE(hooks.arm(0));
  ASSERT_TRUE(hooks.arm(1));
  m.backward();
  hooks.finish();
  EXPECT_EQ(order, (std::vector<size_t>{1, 0}));
  EXPECT_TRUE(top_done_when_ready);
  EXPECT_TRUE(bottom_pending_when_top_ready);
}

TEST(GradReadyHooks, IgnoresUnarmedBlocksAndReleasesMissingGradientsAtFinish) {
  TwoBlocks m;
  std::vector<size_t> order;
  GradReadyHooks hooks(m.blocks(), [&](size_t l) { order.push_back(l); });
  m.backward();  // nothing armed: nothing reported
  EXPECT_TRUE(order.empty());
  ASSERT_TRUE(hooks.arm(2));
  ASSERT_TRUE(hooks.arm(1));
  m.backward();
  EXPECT_EQ(order, (std::vector<size_t>{1}));
  hooks.finish();  // block 2 had no gradient in this backward
  EXPECT_EQ(order, (std::vector<size_t>{1, 2}));
  EXPECT_FALSE(hooks.arm(7));  // not tracked
}

TEST(GradReadyHooks, ABlockWithoutTrainableParametersIsLeftToTheCaller) {
  TwoBlocks m;
  for (auto& p : m.top->parameters()) p.set_requires_grad(false);
  GradReadyHooks hooks(m.blocks(), [](size_t) {});
  EXPECT_FALSE(hooks.arm(1));
  EXPECT_TRUE(hooks.arm(0));
}

TEST(GradReadyHooks, RemovesItsHooksWhenDestroyed) {
  TwoBlocks m;
  int calls = 0;
  {
    GradReadyHooks hooks(m.blocks(), [&](size_t) { ++calls; });
    hooks.arm(0);
    m.backward();
    EXPECT_EQ(calls, 1);
  }
  m.backward();  // the accumulators outlive the hooks object: nothing may call into it
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace dec::runtime
