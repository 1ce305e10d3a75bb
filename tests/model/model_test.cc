// ModelSpec and the zoo's public surface: defaults, errors, hashes, seeding.
#include "dec/model/model.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "dec/core/error.h"
#include "test_util.h"

namespace dec::model {
namespace {

using testing::named;

// Expects `fn` to throw ConfigError whose full message contains `needle`.
template <typename F>
void expect_config_error(F fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no ConfigError; expected one mentioning '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

bool same_parameters(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto pa = named(a, false), pb = named(b, false);
  if (pa.size() != pb.size()) return false;
  for (const auto& [name, t] : pa) {
    auto it = pb.find(name);
    if (it == pb.end() || !torch::equal(t, it->second)) return false;
  }
  return true;
}

TEST(Zoo, ListsEveryModelWithItsDefaults) {
  std::vector<std::string> names;
  for (const auto& e : zoo()) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fmnist-cnn", "lenet5", "mlp", "vgg11", "resnet18",
                                             "mobilenetv2"}));
  for (const auto& e : zoo()) {
    SCOPED_TRACE(e.name);
    EXPECT_FALSE(e.description.empty());
    const ModelSpec spec = make_model(e.name);
    EXPECT_EQ(spec.name(), e.name);
    EXPECT_EQ(spec.input_shape(), e.default_input);
    EXPECT_EQ(spec.num_classes(), 10);
    EXPECT_EQ(spec.block(0).in_shape, e.default_input);
    EXPECT_EQ(spec.blocks().back().out_shape, Shape{10});
  }
  EXPECT_EQ(make_model("mobilenetv2").input_shape(), (Shape{3, 96, 96}));
  EXPECT_EQ(make_model("mlp", {}, 7).num_classes(), 7);
}

TEST(Zoo, RejectsUnknownModelsAndUnsuitableShapes) {
  expect_config_error([] { make_model("resnet50"); }, "resnet50");
  expect_config_error([] { make_model("vgg11", {3, 16, 16}); }, "vgg11");
  expect_config_error([] { make_model("vgg11", {3, 31, 32}); }, "too small");
  expect_config_error([] { make_model("fmnist-cnn", {1, 3, 3}); }, "fmnist-cnn");
  expect_config_error([] { make_model("lenet5", {1, 8, 8}); }, "lenet5");
  expect_config_error([] { make_model("resnet18", {3, 4, 4}); }, "resnet18");
  expect_config_error([] { make_model("mobilenetv2", {3, 16, 16}); }, "mobilenetv2");
  expect_config_error([] { make_model("fmnist-cnn", {784}); }, "fmnist-cnn");
  expect_config_error([] { make_model("mlp", {1, 0, 28}); }, "positive");
  expect_config_error([] { make_model("mlp", {}, -3); }, "class");
  // The smallest shapes the downsampling allows are accepted.
  EXPECT_NO_THROW(make_model("vgg11", {3, 32, 32}));
  EXPECT_NO_THROW(make_model("mobilenetv2", {3, 17, 17}));
  EXPECT_NO_THROW(make_model("mlp", {784}));
}

TEST(Zoo, ErrorsNameTheModelInTheWherePart) {
  try {
    make_model("resnet18", {3, 4, 4});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.where_part(), "model resnet18");
    EXPECT_NE(e.why_part().find("layer"), std::string::npos) << e.why_part();
  }
}

TEST(Shape, ParsesAndFormats) {
  EXPECT_EQ(parse_shape("3x96x96", "--input"), (Shape{3, 96, 96}));
  EXPECT_EQ(parse_shape("1X28x28", "--input"), (Shape{1, 28, 28}));
  EXPECT_EQ(parse_shape("784", "--input"), (Shape{784}));
  EXPECT_EQ(format_shape({3, 32, 32}), "3x32x32");
  EXPECT_EQ(format_shape({10}), "10");
  EXPECT_EQ(format_shape({}), "scalar");
  for (const char* bad : {"", "x", "3x", "x3", "3xx3", "3x-1", "0x2", "3 x 3", "abc", "3x32x32 ",
                          "+3", "3x2.5", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    try {
      parse_shape(bad, "--input");
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.where_part(), "--input");
    }
  }
}

TEST(ModelSpec, HashIsStableAndDistinguishesModels) {
  const std::string h = make_model("fmnist-cnn").hash();
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(make_model("fmnist-cnn").hash(), h);
  const ModelSpec spec = make_model("fmnist-cnn");
  const ModelSpec copy = spec;
  EXPECT_EQ(copy.hash(), spec.hash());
  // A change of this value breaks compatibility with existing checkpoints. It
  // is the sha256 of the text model.h describes, checked independently with
  // Python's hashlib over the four blocks' parameter lines.
  EXPECT_EQ(h, "056466b513c07b651824190402ce7393fb740f686947a786dc4c1238f97bf214");
  std::set<std::string> hashes;
  for (const auto& e : zoo()) hashes.insert(make_model(e.name).hash());
  hashes.insert(make_model("fmnist-cnn", {3, 32, 32}).hash());
  hashes.insert(make_model("fmnist-cnn", {}, 100).hash());
  hashes.insert(make_model("resnet18", {3, 96, 96}).hash());
  hashes.insert(make_model("resnet18", {3, 64, 64}).hash());  // same tensors, other input
  EXPECT_EQ(hashes.size(), zoo().size() + 4);
}

TEST(ModelSpec, InitialisationDependsOnSeedOnly) {
  const ModelSpec spec = make_model("fmnist-cnn");
  auto a = spec.build_all(7), b = spec.build_all(7), c = spec.build_all(8);
  EXPECT_TRUE(same_parameters(*a, *b));
  EXPECT_FALSE(same_parameters(*a, *c));
  // Blocks of one model get unrelated streams: VGG's conv6 and conv7 have the
  // same shapes and initialisation rule, yet different values.
  const ModelSpec vgg = make_model("vgg11");
  ASSERT_EQ(vgg.block(5).name, "conv6");
  auto pair = vgg.build(5, 7, 7);
  const auto params = named(*pair, false);
  ASSERT_EQ(params.at("conv6.conv.weight").sizes(), params.at("conv7.conv.weight").sizes());
  EXPECT_FALSE(torch::equal(params.at("conv6.conv.weight"), params.at("conv7.conv.weight")));
}

TEST(ModelSpec, BuildLeavesTheCallersRandomStreamAlone) {
  const ModelSpec spec = make_model("lenet5");
  torch::manual_seed(123);
  const torch::Tensor expected = torch::cat({torch::rand({8}), torch::randn({3})});
  torch::manual_seed(123);
  const torch::Tensor first = torch::rand({8});
  spec.build_all(7);
  spec.hash();
  EXPECT_TRUE(torch::equal(torch::cat({first, torch::randn({3})}), expected));
}

TEST(ModelSpec, ConcurrentBuildsAreDeterministic) {
  const ModelSpec spec = make_model("vgg11");
  torch::nn::Sequential reference = spec.build(0, 4, 5);
  std::vector<torch::nn::Sequential> built(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < built.size(); ++i) {
    threads.emplace_back([&, i] { built[i] = spec.build(0, 4, 5); });
  }
  for (auto& t : threads) t.join();
  for (const auto& b : built) EXPECT_TRUE(same_parameters(*reference, *b));
}

TEST(ModelSpec, ChannelsLastWeightsChangeStridesNotResults) {
  const ModelSpec spec = make_model("fmnist-cnn");
  ASSERT_EQ(spec.weight_layout(), WeightLayout::kChannelsLast);
  const ModelSpec plain = spec.with_weight_layout(WeightLayout::kContiguous);
  EXPECT_EQ(plain.hash(), spec.hash());
  torch::nn::Sequential a = spec.build_all(7), b = plain.build_all(7);
  EXPECT_TRUE(same_parameters(*a, *b));
  // Every 4-D weight is NHWC as the convolution sees it, conv1's too: with one
  // input channel a weight is contiguous both ways, and only its strides tell.
  for (const auto& [name, t] : named(*a, false)) {
    if (t.dim() != 4) continue;
    SCOPED_TRACE(name);
    EXPECT_EQ(t.suggest_memory_format(), at::MemoryFormat::ChannelsLast);
    EXPECT_TRUE(named(*b, false).at(name).is_contiguous());
  }
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({8, 1, 28, 28});
  const torch::Tensor ya = a->forward(x), yb = b->forward(x);
  EXPECT_TRUE(torch::allclose(ya, yb, 1e-5, 1e-5));
  ya.sum().backward();
  yb.sum().backward();
  const auto ga = named(*a, false), gb = named(*b, false);
  for (const auto& [name, t] : ga) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(torch::allclose(t.grad(), gb.at(name).grad(), 1e-5, 1e-5));
  }
}

TEST(ModelSpec, RangesAreNamedByBlockAndBlocksClone) {
  const ModelSpec spec = make_model("resnet18");
  torch::nn::Sequential range =
      spec.build(spec.block_index("layer2_0"), spec.block_index("head"), 1);
  EXPECT_EQ(range->size(), 6u);
  EXPECT_EQ(range->named_children()[0].key(), "layer2_0");
  const auto params = named(*range, false);
  EXPECT_EQ(params.count("layer2_0.downsample.conv.weight"), 1u);
  EXPECT_EQ(params.count("layer2_1.conv2.bn.weight"), 1u);
  EXPECT_TRUE(range->is_training());
  // Blocks are Cloneable (Sequential::clone() itself renames children 0, 1, ...).
  for (const auto& block : range->named_children()) {
    SCOPED_TRACE(block.key());
    EXPECT_TRUE(same_parameters(*block.value(), *block.value()->clone()));
  }
  EXPECT_TRUE(spec.build(3, 3, 1)->is_empty());
}

TEST(ModelSpec, RejectsBadRangesAndBlockNames) {
  const ModelSpec spec = make_model("mlp");
  expect_config_error([&] { spec.build(3, 2, 0); }, "[3, 2) of 4 blocks");
  expect_config_error([&] { spec.build(0, 5, 0); }, "mlp");
  expect_config_error([&] { spec.block_index("fc9"); }, "fc9");
  EXPECT_EQ(spec.block_index("fc2"), 1u);
}

TEST(ModelSpec, RejectsBrokenChains) {
  const ModelSpec good = make_model("mlp");
  auto factories = [&] {
    std::vector<BlockFactory> f;
    for (size_t i = 0; i < good.num_blocks(); ++i)
      f.push_back([] { return torch::nn::AnyModule(); });
    return f;
  };
  auto blocks = good.blocks();
  blocks[2].in_shape = {255};
  expect_config_error([&] { ModelSpec("m", good.input_shape(), 10, blocks, factories()); },
                      "block 'fc3' takes 255");
  blocks = good.blocks();
  blocks[1].name = "fc.2";
  expect_config_error([&] { ModelSpec("m", good.input_shape(), 10, blocks, factories()); }, "dots");
  blocks = good.blocks();
  blocks[1].name = "fc1";
  expect_config_error([&] { ModelSpec("m", good.input_shape(), 10, blocks, factories()); },
                      "two blocks named 'fc1'");
  expect_config_error([&] { ModelSpec("m", good.input_shape(), 11, good.blocks(), factories()); },
                      "logits");
}

}  // namespace
}  // namespace dec::model
