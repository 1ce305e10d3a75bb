// EpochSampler: per-epoch permutations from (seed, epoch) alone.
#include "dec/data/sampler.h"

#include <gtest/gtest.h>

#include "dec/core/error.h"

namespace dec::data {
namespace {

bool is_permutation(const torch::Tensor& order, int64_t n) {
  return order.size(0) == n && std::get<0>(order.sort()).equal(torch::arange(n, torch::kLong));
}

TEST(EpochSampler, EachEpochIsADeterministicPermutation) {
  EpochSampler a(1000, 9);
  EXPECT_EQ(a.epoch(), 0);
  EXPECT_EQ(a.size(), 1000);
  EXPECT_EQ(a.order().scalar_type(), torch::kLong);
  EXPECT_TRUE(is_permutation(a.order(), 1000));
  EXPECT_FALSE(a.order().equal(torch::arange(1000, torch::kLong)));
  EpochSampler b(1000, 9);
  EXPECT_TRUE(a.order().equal(b.order()));
  EXPECT_FALSE(a.order().equal(EpochSampler(1000, 10).order()));
}

TEST(EpochSampler, EpochsDifferAndDependOnlyOnSeedAndEpoch) {
  EpochSampler a(500, 1);
  const torch::Tensor e0 = a.order().clone();
  a.set_epoch(1);
  EXPECT_EQ(a.epoch(), 1);
  const torch::Tensor e1 = a.order().clone();
  EXPECT_TRUE(is_permutation(e1, 500));
  EXPECT_FALSE(e0.equal(e1));
  EXPECT_TRUE(e0.slice(0, 0, 10).equal(EpochSampler(500, 1).batch_indices(0, 10)));
  a.set_epoch(0);
  EXPECT_TRUE(a.order().equal(e0));
  // A resumed run jumps straight to epoch 1 and sees the same order.
  EpochSampler resumed(500, 1);
  resumed.set_epoch(1);
  EXPECT_TRUE(resumed.order().equal(e1));
  // (seed 1, epoch 1) is not (seed 2, epoch 0), as seed + epoch would make it.
  EXPECT_FALSE(EpochSampler(500, 2).order().equal(e1));
}

TEST(EpochSampler, EarlierBatchesSurviveSetEpoch) {
  EpochSampler s(100, 4);
  const torch::Tensor batch = s.batch_indices(1, 10);
  const torch::Tensor copy = batch.clone();
  s.set_epoch(1);
  EXPECT_TRUE(batch.equal(copy));
  EXPECT_FALSE(s.batch_indices(1, 10).equal(copy));
}

TEST(EpochSampler, LeavesGlobalGeneratorAlone) {
  torch::manual_seed(5);
  const torch::Tensor expected = torch::rand({4});
  torch::manual_seed(5);
  EpochSampler s(100, 3);
  s.set_epoch(4);
  EXPECT_TRUE(torch::rand({4}).equal(expected));
}

TEST(EpochSampler, NoShuffleIsInOrder) {
  EpochSampler s(10, 3, /*shuffle=*/false);
  s.set_epoch(5);
  EXPECT_TRUE(s.order().equal(torch::arange(10, torch::kLong)));
}

TEST(EpochSampler, BatchesCoverEveryIndexOnce) {
  for (int64_t n : {1, 7, 64, 100}) {
    for (int64_t batch : {1, 8, 10, 64, 128}) {
      SCOPED_TRACE(::testing::Message() << "n " << n << " batch " << batch);
      EpochSampler s(n, 11);
      s.set_epoch(2);
      const int64_t full = n / batch;
      const int64_t all = (n + batch - 1) / batch;
      EXPECT_EQ(s.num_batches(batch, /*drop_last=*/true), full);
      EXPECT_EQ(s.num_batches(batch, /*drop_last=*/false), all);
      std::vector<torch::Tensor> parts;
      for (int64_t i = 0; i < all; ++i) {
        parts.push_back(s.batch_indices(i, batch));
        EXPECT_EQ(parts.back().size(0), i < full ? batch : n % batch);
      }
      EXPECT_TRUE(torch::cat(parts).equal(s.order()));
      EXPECT_TRUE(is_permutation(torch::cat(parts), n));
      EXPECT_THROW(s.batch_indices(all, batch), InternalError);
    }
  }
}

TEST(EpochSampler, EmptyAndBadBatch) {
  EpochSampler s(0, 1);
  EXPECT_EQ(s.order().size(0), 0);
  EXPECT_EQ(s.num_batches(4, false), 0);
  EXPECT_THROW(EpochSampler(10, 1).num_batches(0, false), ConfigError);
  EXPECT_THROW(EpochSampler(10, 1).batch_indices(0, -1), ConfigError);
}

}  // namespace
}  // namespace dec::data
