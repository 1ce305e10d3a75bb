// The analytic BlockInfo (shape_tracker.h) against real modules: every
// block's output shape against a forward pass, its parameter and buffer counts
// against the instantiated module, and published totals and hand counts.
#include <gtest/gtest.h>

#include <algorithm>

#include "dec/model/model.h"
#include "test_util.h"

namespace dec::model {
namespace {

using testing::random_input;

struct Case {
  std::string model;
  Shape input;  // {} = default
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = info.param.model + "_" +
                  (info.param.input.empty() ? "default" : format_shape(info.param.input));
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

int64_t numel_sum(const std::vector<torch::Tensor>& tensors) {
  int64_t n = 0;
  for (const auto& t : tensors) n += t.numel();
  return n;
}

class BlockInfoMatchesModules : public ::testing::TestWithParam<Case> {};

TEST_P(BlockInfoMatchesModules, ShapesAndCounts) {
  const ModelSpec spec = make_model(GetParam().model, GetParam().input);
  torch::nn::Sequential model = spec.build_all(/*seed=*/3);
  model->eval();  // running statistics: any batch size works
  torch::NoGradGuard no_grad;
  constexpr int64_t kBatch = 2;
  torch::Tensor h = random_input(spec, kBatch, 2);
  ASSERT_EQ(model->size(), spec.num_blocks());
  const auto children = model->named_children();
  for (size_t i = 0; i < spec.num_blocks(); ++i) {
    const BlockInfo& info = spec.block(i);
    SCOPED_TRACE(info.name);
    const auto& child = children[i];
    EXPECT_EQ(child.key(), info.name);
    std::vector<int64_t> in{kBatch};
    in.insert(in.end(), info.in_shape.begin(), info.in_shape.end());
    EXPECT_EQ(h.sizes(), in);
    h = (model->begin() + static_cast<std::ptrdiff_t>(i))->forward(h);
    std::vector<int64_t> out{kBatch};
    out.insert(out.end(), info.out_shape.begin(), info.out_shape.end());
    EXPECT_EQ(h.sizes(), out);
    EXPECT_EQ(numel_sum(child.value()->parameters()), info.params);
    EXPECT_EQ(numel_sum(child.value()->buffers()), info.buffers);
    EXPECT_GT(info.flops, 0);
  }
  EXPECT_EQ(numel_sum(model->parameters()), spec.total_params());
}

INSTANTIATE_TEST_SUITE_P(Zoo, BlockInfoMatchesModules,
                         ::testing::Values(Case{"fmnist-cnn", {}}, Case{"fmnist-cnn", {3, 32, 32}},
                                           Case{"lenet5", {}}, Case{"lenet5", {1, 32, 32}},
                                           Case{"mlp", {}}, Case{"mlp", {3, 32, 32}},
                                           Case{"vgg11", {}}, Case{"vgg11", {3, 96, 96}},
                                           Case{"resnet18", {}}, Case{"resnet18", {3, 96, 96}},
                                           Case{"resnet18", {1, 28, 28}}, Case{"mobilenetv2", {}},
                                           Case{"mobilenetv2", {3, 32, 32}}),
                         case_name);

TEST(BlockInfo, BlockNamesAndCounts) {
  auto names = [](const ModelSpec& s) {
    std::vector<std::string> n;
    for (const auto& b : s.blocks()) n.push_back(b.name);
    return n;
  };
  EXPECT_EQ(names(make_model("fmnist-cnn")),
            (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2"}));
  EXPECT_EQ(names(make_model("resnet18")),
            (std::vector<std::string>{"stem", "layer1_0", "layer1_1", "layer2_0", "layer2_1",
                                      "layer3_0", "layer3_1", "layer4_0", "layer4_1", "head"}));
  const ModelSpec mobilenet = make_model("mobilenetv2");
  ASSERT_EQ(mobilenet.num_blocks(), 20u);
  EXPECT_EQ(mobilenet.block(1).name, "ir1");
  EXPECT_EQ(mobilenet.block(17).name, "ir17");
  EXPECT_EQ(mobilenet.block(18).name, "last_conv");
  EXPECT_EQ(mobilenet.block(19).name, "head");
  EXPECT_EQ(make_model("vgg11").num_blocks(), 11u);
  EXPECT_EQ(make_model("lenet5").num_blocks(), 5u);
}

// Totals that can be checked against published figures: torchvision's
// resnet18 (11,689,512) and mobilenet_v2 (3,504,872) with 1000 classes.
TEST(BlockInfo, ParameterTotalsMatchTorchvision) {
  EXPECT_EQ(make_model("resnet18", {3, 224, 224}, 1000).total_params(), 11689512);
  EXPECT_EQ(make_model("mobilenetv2", {3, 224, 224}, 1000).total_params(), 3504872);
  // The CIFAR stem: a 3x3 instead of a 7x7 conv, and 10 classes.
  EXPECT_EQ(make_model("resnet18").total_params(), 11689512 - 3 * 64 * 40 - 990 * 513);
  EXPECT_EQ(make_model("fmnist-cnn").total_params(), 320 + 18496 + (3136 * 128 + 128) + 1290);
  EXPECT_EQ(make_model("lenet5").total_params(), 61706);
}

// FLOPs by hand for the Fashion-MNIST CNN (rules in shape_tracker.h).
TEST(BlockInfo, FlopsByHand) {
  const ModelSpec spec = make_model("fmnist-cnn");
  // conv 2*25088*9, bias 25088, ReLU 25088, 2x2 pool 6272*4.
  EXPECT_DOUBLE_EQ(spec.block(0).flops, 451584 + 25088 + 25088 + 25088);
  // conv 2*12544*32*9, bias 12544, ReLU 12544, pool 3136*4.
  EXPECT_DOUBLE_EQ(spec.block(1).flops, 7225344 + 12544 + 12544 + 12544);
  EXPECT_DOUBLE_EQ(spec.block(2).flops, 2 * 3136 * 128 + 128 + 128);
  EXPECT_DOUBLE_EQ(spec.block(3).flops, 2 * 128 * 10 + 10);
  EXPECT_DOUBLE_EQ(spec.total_flops(), 526848 + 7262976 + 803072 + 2570);
  // Torchvision's ResNet-18 at 224x224 is 1.82 G multiply-adds in its convs
  // and fc; batch norm, activations, pools and sums add a few percent.
  const double resnet = make_model("resnet18", {3, 224, 224}, 1000).total_flops();
  EXPECT_GT(resnet, 2 * 1.81e9);
  EXPECT_LT(resnet, 2 * 1.81e9 * 1.05);
}

}  // namespace
}  // namespace dec::model
