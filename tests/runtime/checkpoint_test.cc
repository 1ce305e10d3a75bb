#include "dec/runtime/checkpoint.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/runtime/block_state.h"
#include "test_util.h"

extern char** environ;

namespace dec::runtime {
namespace {

namespace fs = std::filesystem;

BlockState big_block(float value, int64_t mib) {
  BlockState s;
  s.params["blk.weight"] = torch::full({mib * 1024 * 256}, value);  // mib MiB of float32
  s.buffers["blk.running_mean"] = torch::full({4}, value);
  s.optim["blk.weight/momentum_buffer"] = torch::full({8}, value);
  return s;
}

std::string save(const std::string& root, int64_t step, float value, int64_t mib = 1) {
  CheckpointWriter w(root, step);
  std::map<std::string, std::string> files;
  std::vector<std::string> blocks = {"a", "b"};
  for (const auto& b : blocks) files["blocks/" + b + ".pt"] = w.write_block(b, big_block(value, mib));
  files["rng.pt"] = w.write_rng();
  CheckpointState st;
  st.step = step;
  st.model = "test";
  st.model_hash = "abc";
  st.seed = 1;
  st.global_batch = 8;
  return w.commit(st, blocks, files, /*keep_last=*/2);
}

TEST(Checkpoint, RoundTripAndLatest) {
  testing::TempDir dir("ckpt");
  save(dir.str(), 1, 1.0f);
  save(dir.str(), 2, 2.0f);
  Checkpoint c = open_checkpoint(dir.str(), "abc");
  EXPECT_EQ(c.state.step, 2);
  EXPECT_EQ(c.blocks, (std::vector<std::string>{"a", "b"}));
  BlockState s = read_block(c, "b");
  EXPECT_TRUE(torch::equal(s.params.at("blk.weight"), big_block(2.0f, 1).params.at("blk.weight")));
  EXPECT_EQ(s.buffers.size(), 1u);
  EXPECT_EQ(s.optim.size(), 1u);
  // A specific step directory opens too.
  EXPECT_EQ(open_checkpoint(dir / "step-00000001").state.step, 1);
}

TEST(Checkpoint, ResavingAStepReplacesItAtomically) {
  testing::TempDir dir("resave");
  save(dir.str(), 5, 1.0f);
  save(dir.str(), 5, 3.0f);
  Checkpoint c = open_checkpoint(dir.str());
  EXPECT_EQ(read_block(c, "a").params.at("blk.weight")[0].item<float>(), 3.0f);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.str())) (void)e, ++entries;
  EXPECT_EQ(entries, 2);  // step-00000005 and latest
}

TEST(Checkpoint, KeepsOnlyTheNewest) {
  testing::TempDir dir("keep");
  for (int s = 1; s <= 4; ++s) save(dir.str(), s, 1.0f);
  EXPECT_FALSE(fs::exists(dir / "step-00000002"));
  EXPECT_TRUE(fs::exists(dir / "step-00000003"));
  EXPECT_TRUE(fs::exists(dir / "step-00000004"));
}

TEST(Checkpoint, RefusesCorruptShardNamingIt) {
  testing::TempDir dir("corrupt");
  std::string published = save(dir.str(), 3, 1.0f);
  const std::string shard = published + "/blocks/a.pt";
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x5a');
  }
  try {
    open_checkpoint(dir.str());
    FAIL() << "corrupt shard accepted";
  } catch (const CorruptFile& e) {
    EXPECT_EQ(e.where_part(), shard);
    EXPECT_NE(std::string(e.what()).find("sha256"), std::string::npos);
  }
}

TEST(Checkpoint, RefusesOtherModelAndMissingFiles) {
  testing::TempDir dir("other");
  std::string published = save(dir.str(), 3, 1.0f);
  EXPECT_THROW(open_checkpoint(dir.str(), "different-hash"), Mismatch);
  fs::remove(published + "/blocks/b.pt");
  EXPECT_THROW(open_checkpoint(dir.str()), CorruptFile);
  EXPECT_THROW(open_checkpoint(dir / "nothing-here"), ConfigError);
  write_file_atomic(dir / "manifest.json", "{not json");
  EXPECT_THROW(open_checkpoint(dir.str()), CorruptFile);
}

TEST(Checkpoint, RefusesAnUnknownVersionInOneLine) {
  testing::TempDir dir("version");
  const std::string published = save(dir.str(), 3, 1.0f);
  const std::string manifest = published + "/manifest.json";
  nlohmann::json m = nlohmann::json::parse(read_file(manifest));
  EXPECT_EQ(m["format_version"], kCheckpointFormatVersion);
  m["format_version"] = 2;
  write_file_atomic(manifest, m.dump());
  try {
    open_checkpoint(dir.str());
    FAIL() << "version 2 accepted";
  } catch (const CorruptFile& e) {
    EXPECT_EQ(std::string(e.what()), "unsupported checkpoint format (" + manifest +
                                         "): format_version 2; this dec reads 1");
  }
}

// Child mode of the kill test: saves checkpoints in a loop until killed.
TEST(CheckpointKill, ChildWriterLoop) {
  const char* root = std::getenv("DEC_KILL_TEST_ROOT");
  if (root == nullptr) GTEST_SKIP() << "runs only as the child of CheckpointKill.SaveKilledMidway";
  // Continue after the newest published step, as a resumed run would.
  for (int64_t step = open_checkpoint(root).state.step + 1;; ++step) {
    save(root, step, static_cast<float>(step), /*mib=*/24);
  }
}

// True while a save into `root` is staged and not yet published.
bool staging(const std::string& root) {
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.path().string().find(".partial") != std::string::npos) return true;
  }
  return false;
}

// A save killed at any moment leaves a checkpoint that loads and verifies.
TEST(CheckpointKill, SaveKilledMidwayLeavesPreviousLoadable) {
  testing::TempDir dir("kill");
  save(dir.str(), 1, 1.0f, 24);
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::mt19937 rng(42);
  int killed_midway = 0;
  for (int round = 0; round < 6; ++round) {
    std::string env_root = "DEC_KILL_TEST_ROOT=" + dir.str();
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e) envp.push_back(*e);
    envp.push_back(env_root.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=CheckpointKill.ChildWriterLoop";
    char* argv[] = {const_cast<char*>(self.c_str()), filter.data(), nullptr};
    // A stray staging directory from the last round would look like a save in progress.
    for (const auto& e : fs::directory_iterator(dir.str())) {
      if (e.path().string().find(".partial") != std::string::npos) fs::remove_all(e.path());
    }
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    // Kill inside a save: once the child stages one (its .partial directory
    // exists), after 0-9 ms, so that the rounds land at different points of it.
    // However long the child takes to start, the kill waits for it (up to a minute).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!staging(dir.str()) && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 10));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    if (staging(dir.str())) ++killed_midway;
    Checkpoint c = open_checkpoint(dir.str());  // verifies every sha256
    BlockState s = read_block(c, "a");
    EXPECT_EQ(s.params.at("blk.weight")[0].item<float>(), static_cast<float>(c.state.step));
  }
  // The test means something only if some kills did land inside a save.
  RecordProperty("killed_midway", killed_midway);
  EXPECT_GT(killed_midway, 0);
}

}  // namespace
}  // namespace dec::runtime
