// FusedAdam against LibTorch's Adam: same trajectory to float rounding, same
// state, and Adam's own operations wherever the fused loop does not apply.
#include "dec/optim/fused_adam.h"

#include <gtest/gtest.h>

#include <vector>

#include "dec/optim/optimizer.h"

namespace dec::optim {
namespace {

// Parameters in both layouts a model holds here: a channels-last conv weight,
// a contiguous matrix, a vector and a scalar.
std::vector<torch::Tensor> make_params() {
  torch::manual_seed(11);
  std::vector<torch::Tensor> ps = {
      torch::randn({8, 3, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast),
      torch::randn({5, 7}), torch::randn({13}), torch::randn({})};
  for (auto& p : ps) p.requires_grad_(true);
  return ps;
}

std::vector<torch::Tensor> clone_params(const std::vector<torch::Tensor>& ps) {
  std::vector<torch::Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_(true));
  return out;
}

// Gives every parameter the same fresh gradient in both sets; with
// `transposed_grads`, matrices get gradients whose strides differ from theirs.
void set_grads(std::vector<torch::Tensor>& a, std::vector<torch::Tensor>& b, int step,
               bool transposed_grads) {
  torch::manual_seed(100 + step);
  for (size_t i = 0; i < a.size(); ++i) {
    torch::Tensor g = torch::randn(a[i].sizes()) * static_cast<double>(i + 1);
    if (transposed_grads && g.dim() == 2) g = g.t().contiguous().t();
    a[i].mutable_grad() = g.clone();
    b[i].mutable_grad() = g.clone();
  }
}

void expect_same_trajectory(const torch::optim::AdamOptions& options, bool transposed_grads) {
  std::vector<torch::Tensor> ref = make_params(), fused = clone_params(ref);
  torch::optim::Adam adam(ref, options);
  FusedAdam fadam(fused, options);
  for (int step = 0; step < 20; ++step) {
    set_grads(ref, fused, step, transposed_grads);
    adam.step();
    fadam.step();
  }
  for (size_t i = 0; i < ref.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(fused[i].strides(), ref[i].strides());
    EXPECT_TRUE(torch::allclose(fused[i], ref[i], 1e-5, 1e-6))
        << "max difference " << (fused[i] - ref[i]).abs().max().item<double>();
    // Moved: 20 steps of lr 0.01 move a parameter by up to about 0.2.
    EXPECT_GT((fused[i] - make_params()[i]).abs().max().item<double>(), 0.01);
    const auto& sr = static_cast<const torch::optim::AdamParamState&>(
        *adam.state().at(c10::guts::to_string(ref[i].unsafeGetTensorImpl())));
    const auto& sf = static_cast<const torch::optim::AdamParamState&>(
        *fadam.state().at(c10::guts::to_string(fused[i].unsafeGetTensorImpl())));
    EXPECT_EQ(sf.step(), sr.step());
    EXPECT_TRUE(torch::allclose(sf.exp_avg(), sr.exp_avg(), 1e-5, 1e-7));
    EXPECT_TRUE(torch::allclose(sf.exp_avg_sq(), sr.exp_avg_sq(), 1e-5, 1e-9));
  }
}

TEST(FusedAdam, FollowsAdam) {
  expect_same_trajectory(torch::optim::AdamOptions(0.01), false);
}

TEST(FusedAdam, FollowsAdamWithWeightDecayAndOtherBetas) {
  expect_same_trajectory(torch::optim::AdamOptions(0.01).betas({0.8, 0.99}).eps(1e-6).weight_decay(0.1),
                         false);
}

TEST(FusedAdam, GradientsInAnotherLayoutTakeAdamsOperations) {
  expect_same_trajectory(torch::optim::AdamOptions(0.01), true);
}

TEST(FusedAdam, AmsgradTakesAdamsOperations) {
  expect_same_trajectory(torch::optim::AdamOptions(0.01).amsgrad(true), false);
}

TEST(FusedAdam, SkipsParametersWithoutGradient) {
  std::vector<torch::Tensor> ps = make_params();
  const torch::Tensor before = ps[1].detach().clone();
  FusedAdam adam(ps, torch::optim::AdamOptions(0.01));
  ps[0].mutable_grad() = torch::ones_like(ps[0]);
  adam.step();
  EXPECT_TRUE(torch::equal(ps[1], before));
  EXPECT_EQ(adam.state().size(), 1u);
}

TEST(MakeOptimizer, AdamIsFusedAndItsStateRoundTrips) {
  NamedParams params;
  const std::vector<torch::Tensor> ps = make_params();
  for (size_t i = 0; i < ps.size(); ++i) params.emplace_back("p" + std::to_string(i), ps[i]);
  OptimizerConfig c;
  c.kind = "adam";
  auto opt = make_optimizer(params, c);
  ASSERT_NE(dynamic_cast<FusedAdam*>(opt.get()), nullptr);
  for (auto& p : ps) p.mutable_grad() = torch::randn(p.sizes());
  opt->step();
  const auto state = export_state(*opt, c, params);
  EXPECT_EQ(state.size(), 3 * ps.size());
  auto restored = make_optimizer(params, c);
  import_state(*restored, c, params, state, "test");
  const auto again = export_state(*restored, c, params);
  for (const auto& [key, t] : state) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(torch::equal(again.at(key), t));
  }
  // Imported moments take their parameter's layout, so the fused loop applies.
  const auto& s = static_cast<const torch::optim::AdamParamState&>(
      *restored->state().at(c10::guts::to_string(ps[0].unsafeGetTensorImpl())));
  EXPECT_EQ(s.exp_avg().strides(), ps[0].strides());
}

}  // namespace
}  // namespace dec::optim
