// int8 blocks (serve/quantize.h) through ServedModel: the accuracy gate on
// the real Fashion-MNIST test set against the fp32 model of the same
// checkpoint, every zoo block kind quantised, fp32 block boundaries (any split
// of an int8 chain equals the whole int8 chain), the per-block profile, and
// the refusals.
#include "dec/serve/quantize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../runtime/test_util.h"
#include "dec/core/error.h"
#include "dec/data/dataset.h"
#include "dec/runtime/trainer.h"
#include "dec/serve/served_model.h"
#include "serve_testing.h"

namespace dec::serve {
namespace {

using testing::max_abs_diff;
using testing::random_data;

// Accuracy in [0, 1] of `m` on the whole test split, 16 rows per run() (fp32
// takes 40x longer for 64 rows than for 16 here: docs/measurements.md).
double accuracy(const ServedModel& m, const data::Dataset& test) {
  int64_t correct = 0;
  const int64_t classes = m.boundary_elements(m.num_blocks());
  for (int64_t b = 0; b < test.size(); b += 16) {
    const auto [x, y] = test.rows(b, std::min(b + 16, test.size()));
    const int64_t rows = x.size(0);
    const std::vector<float> in(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    const std::vector<float> logits = m.run(in, rows, 0, m.num_blocks());
    const torch::Tensor pred = torch::from_blob(const_cast<float*>(logits.data()), {rows, classes}).argmax(1);
    correct += pred.eq(y).sum().item<int64_t>();
  }
  return static_cast<double>(correct) / test.size();
}

TEST(Int8, FashionMnistCnnWithinHalfAPointOfFp32OnTheTestSet) {
  if (!std::filesystem::exists(std::string(data::kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST is not installed (" << data::kFashionMnistDir << ")";
  }
  dec::testing::TempDir dir("quantize");
  runtime::TrainOptions t;
  t.model = "fmnist-cnn";
  t.max_steps = 150;
  t.batch_size = 64;
  t.optimizer.kind = "adam";
  t.optimizer.lr = 1e-3;
  t.evaluate = false;
  t.checkpoint_dir = dir / "ckpt";
  runtime::train(t, nullptr);
  ServedModelOptions o{"fmnist-cnn", {}, 0, dir / "ckpt", 0};
  const auto fp32 = ServedModel::load(o);
  o.int8 = true;
  const auto int8 = ServedModel::load(o);
  const data::Dataset test = data::load_fashion_mnist(data::Split::kTest);
  const double a32 = accuracy(*fp32, test), a8 = accuracy(*int8, test);
  RecordProperty("fp32_accuracy", std::to_string(a32));
  RecordProperty("int8_accuracy", std::to_string(a8));
  std::printf("fmnist-cnn, %lld steps: fp32 %.4f, int8 (%s) %.4f on %lld test images\n",
              static_cast<long long>(t.max_steps), a32, int8->int8_engine().c_str(), a8,
              static_cast<long long>(test.size()));
  EXPECT_GT(a32, 0.75);  // trained (chance is 0.1): the gate compares a real model
  EXPECT_GE(a8, a32 - 0.005);
}

struct Case {
  std::string model;
  std::vector<int64_t> input;
  std::string engine;
};

class Int8Chains : public ::testing::TestWithParam<Case> {};

// Every block of the zoo's kinds runs int8, close to fp32, and a split int8
// chain equals the whole int8 chain (fp32 at every boundary).
TEST_P(Int8Chains, EveryBlockInt8AndEverySplitEqualsTheWholeChain) {
  const Case& c = GetParam();
  ServedModelOptions o{c.model, c.input, 0, "", 3};
  const auto fp32 = ServedModel::load(o);
  o.int8 = true;
  o.int8_engine = c.engine;
  o.calibration_data = "synthetic";
  o.calibration_batches = 2;
  o.profile_repeats = 1;
  const auto int8 = ServedModel::load(o);
  const size_t n = int8->num_blocks();
  EXPECT_TRUE(int8->int8());
  EXPECT_EQ(int8->int8_engine(), c.engine);
  for (size_t i = 0; i < n; ++i) EXPECT_TRUE(int8->int8_block(i)) << int8->block_names()[i];
  ASSERT_EQ(int8->int8_block_s().size(), n);
  ASSERT_EQ(int8->fp32_block_s().size(), n);
  for (size_t i = 0; i < n; ++i) EXPECT_GT(int8->int8_block_s()[i], 0);
  const int64_t rows = 3;
  const std::vector<float> in = random_data(rows * int8->boundary_elements(0), 9);
  const std::vector<float> whole = int8->run(in, rows, 0, n);
  const std::vector<float> reference = fp32->run(in, rows, 0, n);
  double range = 0;
  for (float v : reference) range = std::max(range, double(std::fabs(v)));
  EXPECT_LE(max_abs_diff(whole, reference), 0.25 * range + 1e-3);
  for (size_t s = 0; s <= n; ++s) {
    const std::vector<float> a = int8->run(in, rows, 0, s);
    EXPECT_EQ(int8->run(a, rows, s, n), whole) << "split at " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, Int8Chains,
                         ::testing::Values(Case{"fmnist-cnn", {1, 28, 28}, "onednn"},
                                           Case{"fmnist-cnn", {1, 28, 28}, "qnnpack"},
                                           Case{"lenet5", {1, 28, 28}, "onednn"},
                                           Case{"mobilenetv2", {3, 32, 32}, "onednn"},
                                           Case{"resnet18", {3, 32, 32}, "onednn"}),
                         [](const auto& info) {
                           std::string name = info.param.model + "_" + info.param.engine;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(Int8, WithoutInt8NothingIsQuantisedOrProfiled) {
  const auto m = ServedModel::load({"fmnist-cnn", {}, 0, "", 0});
  EXPECT_FALSE(m->int8());
  EXPECT_FALSE(m->int8_block(0));
  EXPECT_TRUE(m->int8_engine().empty());
  EXPECT_TRUE(m->int8_block_s().empty());
}

TEST(Int8, Refusals) {
  ServedModelOptions o{"fmnist-cnn", {}, 0, "", 0};
  o.int8 = true;
  o.calibration_data = "synthetic";
  o.calibration_batches = 0;
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  o.calibration_batches = 1;
  o.int8_engine = "fbgemm";
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  o.int8_engine = "onednn";
  o.calibration_data = "imagenet";
  EXPECT_THROW(ServedModel::load(o), ConfigError);
  EXPECT_THROW(QuantizedChain::build({}, {}, QuantizeOptions{}), ConfigError);
}

}  // namespace
}  // namespace dec::serve
