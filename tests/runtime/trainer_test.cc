#include "dec/runtime/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/report/metrics_format.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/training_data.h"
#include "test_util.h"

namespace dec::runtime {
namespace {

TrainOptions small_run(const std::string& optimizer) {
  TrainOptions o;
  o.model = "fmnist-cnn";
  o.dataset = "synthetic";
  o.input_shape = {1, 28, 28};
  o.num_classes = 10;
  o.synthetic_size = 256;  // 8 batches of 32 per epoch
  o.batch_size = 32;
  o.max_steps = 14;        // crosses an epoch boundary
  o.optimizer.kind = optimizer;
  o.optimizer.lr = optimizer == "adam" ? 1e-3 : 0.05;
  o.seed = 7;
  o.evaluate = false;
  return o;
}

class ResumeEquivalence : public ::testing::TestWithParam<std::string> {};

// Resuming from any checkpoint continues with exactly the uninterrupted losses.
TEST_P(ResumeEquivalence, LossesIdenticalAfterResume) {
  torch::set_num_threads(1);
  testing::TempDir dir("resume");
  TrainOptions full = small_run(GetParam());
  full.checkpoint_dir = dir / "ckpt";
  full.checkpoint_every = 5;
  full.keep_last = 0;
  TrainResult a = train(full, nullptr);
  ASSERT_EQ(a.losses.size(), 14u);
  EXPECT_LT(a.losses.back(), a.losses.front());

  for (int from : {5, 10}) {
    TrainOptions rest = small_run(GetParam());
    char step_dir[32];
    std::snprintf(step_dir, sizeof step_dir, "ckpt/step-%08d", from);
    rest.resume = dir / step_dir;
    TrainResult b = train(rest, nullptr);
    ASSERT_EQ(b.losses.size(), 14u - from);
    for (size_t i = 0; i < b.losses.size(); ++i) {
      EXPECT_EQ(b.losses[i], a.losses[from + i]) << "step " << from + i + 1;
    }
    EXPECT_EQ(b.steps, 14);
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, ResumeEquivalence, ::testing::Values("sgd", "adam"));

TEST(Trainer, DeterministicForASeed) {
  torch::set_num_threads(1);
  TrainOptions o = small_run("sgd");
  o.max_steps = 4;
  EXPECT_EQ(train(o, nullptr).losses, train(o, nullptr).losses);
  TrainOptions other = o;
  other.seed = 8;
  EXPECT_NE(train(other, nullptr).losses, train(o, nullptr).losses);
}

TEST(Trainer, RefusesCheckpointOfAnotherModel) {
  torch::set_num_threads(1);
  testing::TempDir dir("mismatch");
  TrainOptions o = small_run("sgd");
  o.max_steps = 2;
  o.checkpoint_dir = dir / "ckpt";
  train(o, nullptr);
  TrainOptions other = o;
  other.model = "lenet5";
  other.checkpoint_dir.clear();
  other.resume = dir / "ckpt";
  EXPECT_THROW(train(other, nullptr), Mismatch);
  TrainOptions batch = o;
  batch.checkpoint_dir.clear();
  batch.resume = dir / "ckpt";
  batch.batch_size = 16;
  EXPECT_THROW(train(batch, nullptr), Mismatch);
}

TEST(Trainer, RejectsBadOptionsNamingTheFlag) {
  auto where = [](TrainOptions o) {
    try {
      train(o, nullptr);
    } catch (const ConfigError& e) {
      return e.where_part();
    }
    return std::string("no error");
  };
  TrainOptions o = small_run("sgd");
  o.batch_size = 0;
  EXPECT_EQ(where(o), "--batch-size");
  o = small_run("sgd");
  o.optimizer.kind = "rmsprop";
  EXPECT_EQ(where(o), "--optimizer");
  o = small_run("sgd");
  o.optimizer.lr = -1;
  EXPECT_EQ(where(o), "--optimizer");
  o = small_run("sgd");
  o.checkpoint_every = 3;
  EXPECT_EQ(where(o), "--checkpoint-every");
  o = small_run("sgd");
  o.model = "nonexistent";
  EXPECT_THROW(train(o, nullptr), ConfigError);
}

TEST(Trainer, WritesMetricsLines) {
  torch::set_num_threads(1);
  testing::TempDir dir("metrics");
  TrainOptions o = small_run("sgd");
  o.max_steps = 3;
  o.evaluate = true;
  o.metrics_path = dir / "m.jsonl";
  TrainResult r = train(o, nullptr);
  EXPECT_GE(r.test_accuracy, 0);
  std::vector<nlohmann::json> events;
  std::istringstream lines(read_file(o.metrics_path));
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 5u);  // start, 3 iterations, 1 evaluation
  // The first event carries the format version (docs/metrics.md).
  EXPECT_EQ(events[0]["event"], "start");
  EXPECT_EQ(events[0]["format_version"], report::kMetricsFormatVersion);
  // The distributed job's iteration event, with no plan to predict it.
  for (int i = 1; i <= 3; ++i) {
    const nlohmann::json& e = events[i];
    EXPECT_EQ(e["event"], "iteration");
    EXPECT_EQ(e["step"], i);
    EXPECT_EQ(e["epoch"], 0);
    EXPECT_DOUBLE_EQ(e["loss"].get<double>(), r.losses[i - 1]);
    EXPECT_GT(e["measured_s"].get<double>(), 0);
    EXPECT_TRUE(e["predicted_s"].is_null());
    EXPECT_EQ(e["batch"], o.batch_size);
    EXPECT_GT(e["time"].get<double>(), 0);
  }
  EXPECT_EQ(events[4]["event"], "epoch");
  EXPECT_EQ(events[4]["step"], 3);
  // A later run on the same file (as a resumed one) appends its own start event.
  o.max_steps = 1;
  o.evaluate = false;
  train(o, nullptr);
  const std::string text = read_file(o.metrics_path);
  size_t starts = 0;
  for (size_t at = 0; (at = text.find("\"event\":\"start\"", at)) != std::string::npos; ++at) ++starts;
  EXPECT_EQ(starts, 2u);
}

}  // namespace
}  // namespace dec::runtime

namespace dec::runtime {
namespace {

// --input reaches Fashion-MNIST too: the run's samples have the model's shape
// (a shape given and silently dropped trained MobileNetV2 on 28x28 images).
TEST(TrainingData, FashionMnistTakesTheInputShape) {
  DataOptions o;
  o.dataset = "fashion-mnist";
  o.input_shape = {3, 96, 96};
  data::Dataset ds = load_training_data(o, data::Split::kTest);
  EXPECT_EQ(ds.sample_shape(), (std::vector<int64_t>{3, 96, 96}));
  o.input_shape = {};
  EXPECT_EQ(load_training_data(o, data::Split::kTest).sample_shape(), (std::vector<int64_t>{1, 28, 28}));
  o.input_shape = {5, 96, 96};
  EXPECT_THROW(load_training_data(o, data::Split::kTest), ConfigError);
}

}  // namespace
}  // namespace dec::runtime
