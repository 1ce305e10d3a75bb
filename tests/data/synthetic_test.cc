// Synthetic data: a pure function of its arguments, and learnable.
#include <gtest/gtest.h>

#include "dec/core/error.h"
#include "dec/data/dataset.h"

namespace dec::data {
namespace {

const std::vector<int64_t> kShape{3, 8, 8};

TEST(Synthetic, ShapeTypesAndBalancedLabels) {
  const Dataset ds = make_synthetic(kShape, 10, 1000, 7);
  EXPECT_EQ(ds.name, "synthetic");
  EXPECT_EQ(ds.num_classes, 10);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{1000, 3, 8, 8}));
  EXPECT_EQ(ds.sample_shape(), kShape);
  EXPECT_EQ(ds.images.scalar_type(), torch::kFloat);
  EXPECT_TRUE(ds.images.is_contiguous());
  EXPECT_EQ(ds.labels.scalar_type(), torch::kLong);
  EXPECT_TRUE(ds.labels.bincount(/*weights=*/{}, 10).equal(torch::full({10}, 100, torch::kLong)));
  // Not sorted by class: the order is shuffled.
  EXPECT_FALSE(ds.labels.slice(0, 0, 10).equal(ds.labels.slice(0, 10, 20)));
}

TEST(Synthetic, AnyShapeAndClassCount) {
  EXPECT_EQ(make_synthetic({5}, 2, 3, 1).images.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(make_synthetic({1, 2, 3, 4}, 1, 2, 1).labels.sum().item<int64_t>(), 0);
}

TEST(Synthetic, DeterministicInSeedAndSplit) {
  const Dataset a = make_synthetic(kShape, 10, 200, 42);
  const Dataset b = make_synthetic(kShape, 10, 200, 42);
  EXPECT_TRUE(a.images.equal(b.images));
  EXPECT_TRUE(a.labels.equal(b.labels));
  const Dataset other_seed = make_synthetic(kShape, 10, 200, 43);
  EXPECT_FALSE(a.images.equal(other_seed.images));
  // Seeds that differ only above bit 32 (LibTorch's mt19937 ignores those bits).
  const Dataset high_bit = make_synthetic(kShape, 10, 200, 42 + (uint64_t{1} << 40));
  EXPECT_FALSE(a.images.equal(high_bit.images));
  const Dataset test = make_synthetic(kShape, 10, 200, 42, Split::kTest);
  EXPECT_FALSE(a.images.equal(test.images));
  EXPECT_TRUE(test.images.equal(make_synthetic(kShape, 10, 200, 42, Split::kTest).images));
}

TEST(Synthetic, LeavesGlobalGeneratorAlone) {
  torch::manual_seed(5);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(5);
  make_synthetic(kShape, 10, 50, 1);
  EXPECT_TRUE(torch::rand({4}).equal(expected));
}

// Class means estimated on train classify the test split: the classes are
// separable and both splits share the prototypes.
TEST(Synthetic, ClassesAreSeparableAcrossSplits) {
  const int64_t classes = 10;
  const Dataset train = make_synthetic(kShape, classes, 2000, 3);
  const Dataset test = make_synthetic(kShape, classes, 500, 3, Split::kTest);
  const torch::Tensor x = train.images.flatten(1);
  torch::Tensor means = torch::zeros({classes, x.size(1)});
  means.index_add_(0, train.labels, x).div_(train.labels.bincount({}, classes).unsqueeze(1));
  const torch::Tensor gaps = torch::cdist(means, means);
  EXPECT_GT((gaps + torch::eye(classes) * 1e9).min().item<double>(), 3.0);
  const torch::Tensor predicted = torch::cdist(test.images.flatten(1), means).argmin(1);
  EXPECT_GT(predicted.eq(test.labels).to(torch::kFloat).mean().item<double>(), 0.95);
}

TEST(Synthetic, BadArgumentsAreConfigErrors) {
  EXPECT_THROW(make_synthetic({}, 10, 10, 1), ConfigError);
  EXPECT_THROW(make_synthetic({3, 0}, 10, 10, 1), ConfigError);
  EXPECT_THROW(make_synthetic({3}, 0, 10, 1), ConfigError);
  EXPECT_THROW(make_synthetic({3}, 10, 0, 1), ConfigError);
  EXPECT_THROW(make_synthetic({1 << 30, 1 << 30}, 10, 1 << 30, 1), ConfigError);
}

}  // namespace
}  // namespace dec::data
