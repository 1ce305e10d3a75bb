// The workloads table (scenarios/workloads.yaml) as `dec demo` reads it.
#include "dec/cli/workloads.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dec/core/error.h"

namespace dec::cli {
namespace {

const std::string kFile = std::string(DEC_SOURCE_DIR) + "/scenarios/workloads.yaml";

std::string write_temp(const std::string& text) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("dec_workloads_" + std::to_string(::getpid()) + ".yaml"))
          .string();
  std::ofstream(path) << text;
  return path;
}

// What the message of the ConfigError that `load_workloads` throws on `text` says.
std::string load_error(const std::string& text) {
  const std::string path = write_temp(text);
  try {
    load_workloads(path);
  } catch (const ConfigError& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "no error";
}

TEST(Workloads, TheRepositorysFileDefinesW1ToW3) {
  const std::vector<Workload> w = load_workloads(kFile);
  ASSERT_EQ(w.size(), 3u);
  const Workload& w2 = find_workload(w, "W2", "--workload", kFile);
  EXPECT_EQ(w2.model, "mobilenetv2");
  EXPECT_EQ(w2.input, "3x96x96");
  EXPECT_EQ(w2.batch, 32);
  EXPECT_EQ(w2.micro_batch, 8);
  EXPECT_EQ(w2.dataset, "synthetic");
  EXPECT_EQ(w2.demo_eval_samples, 1000);
  EXPECT_EQ(find_workload(w, "W1", "--workload", kFile).model, "fmnist-cnn");
  EXPECT_EQ(find_workload(w, "W3", "--workload", kFile).model, "lenet5");
  for (const auto& x : w) {
    EXPECT_EQ(x.batch, 4 * x.micro_batch) << x.id << ": the profiler times a quarter of the batch";
    EXPECT_GT(x.demo_epochs, 0) << x.id;
  }
}

TEST(Workloads, AnUnknownIdIsOneLineNamingTheFlagAndTheKnownIds) {
  const std::vector<Workload> w = load_workloads(kFile);
  try {
    find_workload(w, "W9", "--workload", kFile);
    FAIL() << "no throw";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(e.where_part(), "--workload");
    EXPECT_NE(m.find("'W9'"), std::string::npos) << m;
    EXPECT_NE(m.find("W1, W2, W3"), std::string::npos) << m;
  }
}

constexpr const char* kOne =
    "format_version: 1\n"
    "workloads:\n"
    "  - {id: W7, what: x, model: mlp, input: 1x28x28, classes: 10, batch: 8, micro_batch: 2,\n"
    "     dataset: synthetic, demo: {epochs: 0.5, eval_samples: 0}}\n";

TEST(Workloads, ReadsAnotherFile) {
  const std::string path = write_temp(kOne);
  const std::vector<Workload> w = load_workloads(path);
  std::filesystem::remove(path);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].id, "W7");
  EXPECT_EQ(w[0].demo_epochs, 0.5);
}

TEST(Workloads, ErrorsNameTheField) {
  std::string text = kOne;
  EXPECT_NE(load_error(text.replace(text.find("batch: 8"), 8, "batch: x")).find("workloads[0].batch"),
            std::string::npos);
  text = kOne;
  EXPECT_NE(load_error(text.replace(text.find("model: mlp, "), 12, "")).find("workloads[0].model): missing"),
            std::string::npos);
  text = kOne;
  EXPECT_NE(load_error(text.replace(text.find("eval_samples"), 12, "eval_sample")).find("demo.eval_sample): unknown"),
            std::string::npos);
  text = kOne;
  EXPECT_NE(load_error(text.replace(text.find("synthetic"), 9, "imagenet")).find("imagenet"),
            std::string::npos);
}

TEST(Workloads, AnUnknownVersionIsRefusedNamingBoth) {
  std::string text = kOne;
  const std::string m = load_error(text.replace(0, 17, "format_version: 2"));
  EXPECT_NE(m.find("unsupported workloads format"), std::string::npos) << m;
  EXPECT_NE(m.find("format_version 2; this dec reads 1"), std::string::npos) << m;
}

}  // namespace
}  // namespace dec::cli
