// Fashion-MNIST: the real files from Debian, and damaged fakes of them.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "data_test_util.h"
#include "dec/core/error.h"
#include "dec/data/dataset.h"

namespace dec::data {
namespace {

using testing::TempDir;

// Label and pixel values below were read with Python's gzip module.
class FashionMnist : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cwd_before_ = testing::list_dir(".");
    dir_before_ = testing::list_dir(kFashionMnistDir);
    const auto start = std::chrono::steady_clock::now();
    train_ = new Dataset(load_fashion_mnist(Split::kTrain));
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::cout << "[   INFO   ] train split loaded in " << took.count() << " s\n";
  }
  static void TearDownTestSuite() {
    delete train_;
    train_ = nullptr;
  }
  static double normalised(int pixel) {
    return (pixel / 255.0 - kFashionMnistMean) / kFashionMnistStd;
  }

  static Dataset* train_;
  static std::vector<std::string> cwd_before_, dir_before_;
};
Dataset* FashionMnist::train_ = nullptr;
std::vector<std::string> FashionMnist::cwd_before_, FashionMnist::dir_before_;

TEST_F(FashionMnist, TrainSplitHasExpectedShapeAndLabels) {
  const Dataset& ds = *train_;
  EXPECT_EQ(ds.name, "fashion-mnist");
  EXPECT_EQ(ds.size(), 60000);
  EXPECT_EQ(ds.num_classes, 10);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_EQ(ds.sample_shape(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(ds.images.scalar_type(), torch::kFloat);
  EXPECT_TRUE(ds.images.is_contiguous());
  EXPECT_EQ(ds.labels.scalar_type(), torch::kLong);
  EXPECT_EQ(ds.labels.min().item<int64_t>(), 0);
  EXPECT_EQ(ds.labels.max().item<int64_t>(), 9);
  const std::vector<int64_t> first{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9, 5, 5, 7, 9, 1, 0, 6, 4};
  EXPECT_TRUE(ds.labels.slice(0, 0, 20).equal(torch::tensor(first)));
  // Every class 6000 times.
  EXPECT_TRUE(ds.labels.bincount().equal(torch::full({10}, 6000, torch::kLong)));
}

TEST_F(FashionMnist, TrainSplitIsNormalised) {
  const Dataset& ds = *train_;
  // The constants are the train split's own statistics, rounded.
  EXPECT_NEAR(ds.images.mean().item<double>(), 0.0, 1e-3);
  EXPECT_NEAR(ds.images.std().item<double>(), 1.0, 1e-3);
  EXPECT_NEAR(ds.images[0][0][14][14].item<double>(), normalised(217), 1e-5);
  EXPECT_NEAR(ds.images[0].sum().item<double>(), (76247 / 255.0 - 784 * kFashionMnistMean) /
                                                     kFashionMnistStd, 1e-2);
}

TEST_F(FashionMnist, TestSplitLoads) {
  const Dataset ds = load_fashion_mnist(Split::kTest);
  EXPECT_EQ(ds.size(), 10000);
  EXPECT_EQ(ds.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  const std::vector<int64_t> first{9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5, 7, 3, 4, 1, 2, 4, 8, 0};
  EXPECT_TRUE(ds.labels.slice(0, 0, 20).equal(torch::tensor(first)));
  EXPECT_NEAR(ds.images[0][0][14][14].item<double>(), normalised(110), 1e-5);
  EXPECT_NEAR(ds.images.mean().item<double>(), 0.0024, 1e-3);
}

TEST_F(FashionMnist, LeavesNoFilesBehind) {
  load_fashion_mnist(Split::kTest);
  EXPECT_EQ(testing::list_dir("."), cwd_before_);
  EXPECT_EQ(testing::list_dir(kFashionMnistDir), dir_before_);
}

TEST_F(FashionMnist, BatchGathersRows) {
  const Dataset& ds = *train_;
  const torch::Tensor idx = torch::tensor(std::vector<int64_t>{59999, 0, 7, 7, 123});
  auto [images, labels] = ds.batch(idx);
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{5, 1, 28, 28}));
  EXPECT_TRUE(images.is_contiguous());
  EXPECT_TRUE(images.equal(ds.images.index_select(0, idx)));
  EXPECT_TRUE(labels.equal(ds.labels.index_select(0, idx)));
  // A copy, not a view: training may modify its batch.
  images.zero_();
  EXPECT_FALSE(ds.images[0].eq(0).all().item<bool>());
  EXPECT_EQ(ds.batch(torch::empty({0}, torch::kLong)).first.size(0), 0);
  EXPECT_THROW(ds.batch(torch::tensor(std::vector<int64_t>{60000})), InternalError);
  EXPECT_THROW(ds.batch(torch::tensor(std::vector<int64_t>{-1})), InternalError);
  EXPECT_THROW(ds.batch(torch::zeros({1}, torch::kInt)), InternalError);
}

// A fake dataset directory with small, well-formed files, damaged one at a time.
class FakeFashionMnist : public ::testing::Test {
 protected:
  void write(uint32_t images, std::vector<uint32_t> image_dims, const std::string& labels) {
    image_dims.insert(image_dims.begin(), images);
    testing::write_gz(images_path_, testing::idx_bytes(image_dims, testing::pattern(
                                                           images * 28 * 28)));
    testing::write_gz(labels_path_, testing::idx_bytes({uint32_t(labels.size())}, labels));
  }
  // The loader must throw E naming `where`.
  template <typename E>
  void expect_error(const std::string& where) {
    try {
      load_fashion_mnist(Split::kTest, dir_path_);
      ADD_FAILURE() << "no error";
    } catch (const E& e) {
      EXPECT_EQ(e.where_part(), where) << e.what();
    }
  }

  TempDir dir_{"fmnist"};
  std::string dir_path_ = dir_.path();
  std::string images_path_ = dir_path_ + "/t10k-images-idx3-ubyte.gz";
  std::string labels_path_ = dir_path_ + "/t10k-labels-idx1-ubyte.gz";
};

TEST_F(FakeFashionMnist, SmallWellFormedFilesLoad) {
  write(3, {28, 28}, std::string{1, 9, 0});
  const Dataset ds = load_fashion_mnist(Split::kTest, dir_path_);
  EXPECT_EQ(ds.size(), 3);
  EXPECT_TRUE(ds.labels.equal(torch::tensor(std::vector<int64_t>{1, 9, 0})));
  EXPECT_NEAR(ds.images[2][0][27][27].item<double>(),
              (testing::pattern(3 * 784)[3 * 784 - 1] / 255.0 - kFashionMnistMean) /
                  kFashionMnistStd, 1e-5);
}

TEST_F(FakeFashionMnist, CountMismatchIsRejected) {
  write(3, {28, 28}, std::string{1, 2, 3, 4});
  expect_error<CorruptFile>(labels_path_);
}

TEST_F(FakeFashionMnist, LabelOutOfRangeIsRejected) {
  write(3, {28, 28}, std::string{1, 10, 3});
  expect_error<CorruptFile>(labels_path_);
}

TEST_F(FakeFashionMnist, WrongImageSizeIsRejected) {
  write(3, {27, 28}, std::string{1, 2, 3});
  expect_error<CorruptFile>(images_path_);
}

TEST_F(FakeFashionMnist, MissingFileIsIoError) {
  write(3, {28, 28}, std::string{1, 2, 3});
  testing::fs::remove(labels_path_);
  expect_error<IoError>(labels_path_);
}

TEST(LoadDataset, ByName) {
  const Dataset s = load_dataset("synthetic", Split::kTrain, {4}, 3, 30, 1);
  EXPECT_EQ(s.name, "synthetic");
  EXPECT_EQ(s.size(), 30);
  EXPECT_THROW(load_dataset("mnist", Split::kTrain, {}, 0, 0, 1), ConfigError);
  EXPECT_THROW(load_dataset("fashion-mnist", Split::kTest, {2, 32, 32}, 0, 0, 1), ConfigError);
  EXPECT_THROW(load_dataset("fashion-mnist", Split::kTest, {784}, 0, 0, 1), ConfigError);
  EXPECT_THROW(load_dataset("fashion-mnist", Split::kTest, {}, 100, 0, 1), ConfigError);
  const Dataset native = load_dataset("fashion-mnist", Split::kTest, {1, 28, 28}, 10, 0, 1);
  EXPECT_EQ(native.size(), 10000);
  EXPECT_TRUE(native.resize_to.empty());
}

// Real images at a model's camera-sized input (W2's 3x96x96): resized per
// batch, channels repeated, the stored tensor untouched.
TEST(LoadDataset, FashionMnistResizedToAnotherShape) {
  const Dataset big = load_dataset("fashion-mnist", Split::kTest, {3, 96, 96}, 10, 0, 1);
  EXPECT_EQ(big.sample_shape(), (std::vector<int64_t>{3, 96, 96}));
  EXPECT_EQ(big.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  auto [x, y] = big.batch(torch::tensor({7, 0, 9999}, torch::kLong));
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, 3, 96, 96}));
  EXPECT_TRUE(x.is_contiguous());
  EXPECT_TRUE(y.equal(big.labels.index_select(0, torch::tensor({7, 0, 9999}, torch::kLong))));
  // Every channel is the same image, and it is the stored one resized: the
  // mean of a bilinear upsampling stays close to the original's.
  EXPECT_TRUE(x[0][0].equal(x[0][2]));
  EXPECT_NEAR(x[1][0].mean().item<double>(), big.images[0].mean().item<double>(), 0.05);
  auto [r, ry] = big.rows(0, 2);
  EXPECT_TRUE(r[0].equal(x[1]));
  EXPECT_EQ(ry.size(0), 2);
}

}  // namespace
}  // namespace dec::data
