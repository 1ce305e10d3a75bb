// The served chain against single-node inference: every split of the forward
// pass into device [0, s1), edge [s1, s2) and cloud [s2, n) gives the whole
// model's eval-mode output, with the checkpoint's weights and BatchNorm
// running statistics.
#include "dec/serve/served_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "../runtime/test_util.h"
#include "dec/core/error.h"
#include "dec/model/model.h"
#include "dec/optim/optimizer.h"
#include "dec/runtime/block_state.h"
#include "serve_testing.h"
#include "dec/runtime/checkpoint.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;

// Writes a checkpoint of `spec` with weights and BatchNorm statistics away from
// their initial values, as training leaves them; returns that model in eval mode.
torch::nn::Sequential write_checkpoint(const model::ModelSpec& spec, const std::string& dir) {
  torch::manual_seed(11);
  torch::nn::Sequential net = spec.build_all(7);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->parameters()) p.add_(0.05 * torch::randn_like(p));
    for (auto& b : net->named_buffers()) {
      if (b.key().find("running_mean") != std::string::npos) b.value().copy_(0.1 * torch::randn_like(b.value()));
      if (b.key().find("running_var") != std::string::npos) b.value().copy_(0.5 + torch::rand_like(b.value()));
    }
  }
  runtime::CheckpointWriter w(dir, 5);
  std::map<std::string, std::string> files;
  const optim::OptimizerConfig config;
  for (const auto& b : runtime::block_names(net)) {
    files["blocks/" + b + ".pt"] = w.write_block(b, runtime::capture_block(net, b, nullptr, config));
  }
  runtime::CheckpointState state;
  state.step = 5;
  state.model = spec.name();
  state.model_hash = spec.hash();
  w.commit(state, runtime::block_names(net), files, 0);
  net->eval();
  return net;
}

std::vector<float> to_vector(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

struct Case {
  std::string model;
  model::Shape input;
};

class ServedModelSplits : public ::testing::TestWithParam<Case> {};

TEST_P(ServedModelSplits, EverySplitPairEqualsTheWholeModel) {
  const Case& c = GetParam();
  dec::testing::TempDir dir("serve_model");
  const model::ModelSpec spec = model::make_model(c.model, c.input);
  torch::nn::Sequential reference = write_checkpoint(spec, dir / "ckpt");
  const int64_t rows = 2;
  std::vector<int64_t> shape{rows};
  shape.insert(shape.end(), c.input.begin(), c.input.end());
  torch::Tensor x = torch::randn(shape);
  std::vector<float> expected;
  {
    torch::NoGradGuard no_grad;
    expected = to_vector(reference->forward(x));
  }
  auto served = ServedModel::load({c.model, c.input, 0, dir / "ckpt", 0});
  const size_t n = served->num_blocks();
  ASSERT_EQ(n, spec.num_blocks());
  EXPECT_EQ(served->checkpoint_step(), 5);
  EXPECT_EQ(served->boundary_shape(0), c.input);
  EXPECT_EQ(served->boundary_shape(n), (std::vector<int64_t>{spec.num_classes()}));
  const std::vector<float> in = to_vector(x);
  EXPECT_LE(max_abs_diff(served->run(in, rows, 0, n), expected), 1e-5);
  for (size_t s1 = 0; s1 <= n; ++s1) {
    const std::vector<float> device = served->run(in, rows, 0, s1);
    ASSERT_EQ(static_cast<int64_t>(device.size()), rows * served->boundary_elements(s1));
    for (size_t s2 = s1; s2 <= n; ++s2) {
      const std::vector<float> edge = served->run(device, rows, s1, s2);
      const std::vector<float> cloud = served->run(edge, rows, s2, n);
      ASSERT_LE(max_abs_diff(cloud, expected), 1e-5) << "split (" << s1 << ", " << s2 << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ScenarioModels, ServedModelSplits,
                         ::testing::Values(Case{"fmnist-cnn", {1, 28, 28}}, Case{"lenet5", {1, 28, 28}},
                                           Case{"mobilenetv2", {3, 96, 96}}),
                         [](const auto& info) {
                           std::string name = info.param.model;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ServedModel, ServesTheCheckpointsWeightsNotFreshOnes) {
  dec::testing::TempDir dir("serve_model");
  const model::ModelSpec spec = model::make_model("fmnist-cnn");
  write_checkpoint(spec, dir / "ckpt");
  auto loaded = ServedModel::load({"fmnist-cnn", {}, 0, dir / "ckpt", 0});
  auto fresh = ServedModel::load({"fmnist-cnn", {}, 0, "", 7});
  EXPECT_TRUE(fresh->checkpoint_dir().empty());
  std::vector<float> in(2 * 28 * 28, 0.5f);
  EXPECT_GT(max_abs_diff(loaded->run(in, 2, 0, 1), fresh->run(in, 2, 0, 1)), 1e-3);
}

TEST(ServedModel, RefusesACheckpointOfAnotherModelOrShape) {
  dec::testing::TempDir dir("serve_model");
  write_checkpoint(model::make_model("lenet5"), dir / "ckpt");
  EXPECT_THROW(ServedModel::load({"fmnist-cnn", {}, 0, dir / "ckpt", 0}), Mismatch);
  EXPECT_THROW(ServedModel::load({"lenet5", {1, 32, 32}, 0, dir / "ckpt", 0}), Mismatch);
  EXPECT_THROW(ServedModel::load({"lenet5", {}, 0, dir / "nothing", 0}), Error);
  EXPECT_THROW(ServedModel::load({"no-such-model", {}, 0, "", 0}), ConfigError);
}

TEST(ServedModel, RefusesBadRangesAndSizes) {
  auto m = ServedModel::load({"fmnist-cnn", {}, 0, "", 0});
  std::vector<float> in(28 * 28, 0.f);
  EXPECT_THROW(m->run(in, 1, 2, 1), ConfigError);
  EXPECT_THROW(m->run(in, 1, 0, m->num_blocks() + 1), ConfigError);
  EXPECT_THROW(m->run(in, 2, 0, 1), ConfigError);
  EXPECT_THROW(m->run(in, 0, 0, 1), ConfigError);
  EXPECT_EQ(m->run(in, 1, 0, 0), in);
}

}  // namespace
}  // namespace dec::serve
