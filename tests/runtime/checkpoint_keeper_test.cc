// Checkpoints without a shared filesystem: `dec worker` processes on loopback,
// each with a checkpoint directory of its own, as on machines that share no
// disk. The keeper alone writes; resume reads from its disk only; a rank
// killed during a save leaves the keeper's last complete checkpoint intact
// and resumable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/planner/plan.h"
#include "dec/runtime/checkpoint.h"
#include "test_util.h"
#include "worker_procs.h"

extern char** environ;

namespace dec::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kSgd = {"--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"};

// The three ranks, rank r with flags(r) and job deadlines short enough for a test.
std::vector<Proc> start_job(const testing::TempDir& dir, const std::function<std::vector<std::string>(int)>& flags) {
  return start_job(dir, 3, 3, [&](int r) { return with(flags(r), {"--timeout", "20", "--join-timeout", "20"}); });
}

void wait_all(std::vector<Proc>& procs) {
  std::vector<Proc*> all;
  for (auto& p : procs) all.push_back(&p);
  wait_all(all, kHangGuard);
}

// Runs a job to completion; true if every rank succeeded.
bool run(const testing::TempDir& dir, const std::function<std::vector<std::string>(int)>& flags) {
  std::vector<Proc> procs = start_job(dir, flags);
  if (procs.size() != 3u) return false;
  wait_all(procs);
  bool all = true;
  for (auto& p : procs) {
    EXPECT_TRUE(ok(p)) << read_file(p.err_path);
    all = all && ok(p);
  }
  return all;
}

planner::Plan plan_of(std::vector<planner::PlanPath> paths) {
  planner::Plan p;
  p.model = "fmnist-cnn";
  p.blocks = {"conv1", "conv2", "fc1", "fc2"};
  for (auto& path : paths) p.batch += path.samples;
  p.paths = std::move(paths);
  p.micro_batches = 2;
  for (const auto& b : p.blocks) p.replicas.push_back({b, {}});
  return p;
}

planner::PlanPath path(std::vector<std::string> nodes, std::vector<planner::BlockRange> ranges, int64_t samples,
                       int micro) {
  planner::PlanPath pp;
  pp.source = nodes.front();
  pp.nodes = std::move(nodes);
  pp.ranges = std::move(ranges);
  pp.samples = samples;
  pp.micro_batches = micro;
  return pp;
}

// The device and the edge own blocks the cloud (the keeper) does not hold.
planner::Plan pipeline() { return plan_of({path({"device", "edge", "cloud"}, {{0, 1}, {1, 3}, {3, 4}}, 16, 4)}); }
planner::Plan data_parallel() {
  return plan_of({path({"device"}, {{0, 4}}, 6, 1), path({"edge"}, {{0, 4}}, 5, 1), path({"cloud"}, {{0, 4}}, 5, 1)});
}

std::map<std::string, torch::Tensor> checkpoint_params(const std::string& dir) {
  Checkpoint c = open_checkpoint(dir);
  std::map<std::string, torch::Tensor> out;
  for (const auto& b : c.blocks) {
    for (auto& [n, t] : read_block(c, b).params) out[n] = t;
  }
  return out;
}

// step -> loss of every iteration rank 0 logged to `metrics`.
std::map<int64_t, double> losses(const std::string& metrics) {
  std::map<int64_t, double> out;
  std::istringstream in(read_file(metrics));
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line);
    if (j.value("event", "") == "iteration") out[j.at("step").get<int64_t>()] = j.at("loss").get<double>();
  }
  return out;
}

// Every rank's flags: its own checkpoint directory `root`/<node>, rank 0's metrics.
std::function<std::vector<std::string>(int)> own_disks(const testing::TempDir& dir, const std::string& plan,
                                                       const std::string& root, std::vector<std::string> extra,
                                                       const std::string& metrics) {
  return [=, &dir](int r) {
    std::vector<std::string> f = with(kSgd, {"--plan", plan, "--checkpoint-dir", dir / (root + "/" + kNodes[r])});
    if (r == 0) f = with(f, {"--metrics", dir / metrics});
    return with(f, extra);
  };
}

void expect_only_keeper_wrote(const testing::TempDir& dir, const std::string& root) {
  EXPECT_TRUE(fs::exists(dir / (root + "/cloud/latest"))) << root;
  EXPECT_FALSE(fs::exists(dir / (root + "/device"))) << root << ": a non-keeper wrote to its disk";
  EXPECT_FALSE(fs::exists(dir / (root + "/edge"))) << root << ": a non-keeper wrote to its disk";
}

// The pieces the keeper is built from: a shard encoded in memory, written
// elsewhere by its bytes, reads back the same from the file and from memory.
TEST(CheckpointKeeper, ShardsEncodedInMemoryAreTheShardsOnDisk) {
  testing::TempDir dir("keeper_unit");
  BlockState s;
  s.params["fc.weight"] = torch::arange(6, torch::kFloat32).reshape({2, 3});
  s.buffers["bn.running_mean"] = torch::ones({3});
  s.optim["fc.weight/exp_avg"] = torch::full({2, 3}, 0.5);
  CheckpointWriter mem = CheckpointWriter::in_memory(7);
  const std::string sha = mem.write_block("fc", s);
  ASSERT_EQ(mem.shards().size(), 1u);
  const std::string& bytes = mem.shards().at("blocks/fc.pt");
  EXPECT_FALSE(fs::exists(dir / "step-00000007.partial")) << "an in-memory writer wrote";

  CheckpointWriter disk(dir.str(), 7);
  EXPECT_EQ(disk.write_encoded(block_file("fc"), bytes), sha);
  disk.commit({7, 0, 7, kSeed, 16, "m", "h", "", "sgd"}, {"fc"}, {{"blocks/fc.pt", sha}}, 0);
  Checkpoint c = open_checkpoint(dir.str());
  Checkpoint in_memory = c;
  in_memory.received["fc"] = bytes;
  for (const Checkpoint* from : {&c, &in_memory}) {
    const BlockState got = read_block(*from, "fc");
    EXPECT_TRUE(torch::equal(got.params.at("fc.weight"), s.params.at("fc.weight")));
    EXPECT_TRUE(torch::equal(got.buffers.at("bn.running_mean"), s.buffers.at("bn.running_mean")));
    EXPECT_TRUE(torch::equal(got.optim.at("fc.weight/exp_avg"), s.optim.at("fc.weight/exp_avg")));
  }
  EXPECT_THROW(decode_block("not a pickle", "x"), CorruptFile);
}

TEST(CheckpointKeeper, SavesOnTheKeepersDiskAndResumesUnderAnyPlan) {
  testing::TempDir dir("keeper");
  planner::save_plan(dir / "pipeline.json", pipeline());
  planner::save_plan(dir / "dp.json", data_parallel());
  // Uninterrupted, the keeper by default: the cloud tier's rank.
  auto tiers = [](int r) { return std::vector<std::string>{"--tier", kNodes[r]}; };
  ASSERT_TRUE(run(dir, [&](int r) {
    return with(own_disks(dir, dir / "pipeline.json", "full", {"--steps", "6"}, "full.jsonl")(r), tiers(r));
  }));
  expect_only_keeper_wrote(dir, "full");
  // 3 iterations (the keeper named by node), then resume from the keeper's disk
  // (named by rank) under the same plan and under another; the other ranks'
  // --resume names nothing that exists: they never read it.
  ASSERT_TRUE(run(dir, own_disks(dir, dir / "pipeline.json", "half",
                                 {"--steps", "3", "--checkpoint-keeper", "cloud"}, "half.jsonl")));
  expect_only_keeper_wrote(dir, "half");
  auto resume = [&](const std::string& plan, const std::string& root) {
    return [&, plan, root](int r) {
      const std::string from = r == 2 ? dir / "half/cloud" : dir / "nowhere";
      return own_disks(dir, plan, root, {"--steps", "6", "--checkpoint-keeper", "2", "--resume", from},
                       root + ".jsonl")(r);
    };
  };
  ASSERT_TRUE(run(dir, resume(dir / "pipeline.json", "same")));
  ASSERT_TRUE(run(dir, resume(dir / "dp.json", "other")));
  expect_only_keeper_wrote(dir, "same");

  const auto full = checkpoint_params(dir / "full/cloud");
  const auto same = checkpoint_params(dir / "same/cloud");
  const auto other = checkpoint_params(dir / "other/cloud");
  ASSERT_EQ(full.size(), 8u);
  for (const auto& [name, t] : full) {
    EXPECT_TRUE(torch::equal(t, same.at(name))) << name << ": resume under the same plan differs";
    EXPECT_LT((t - other.at(name)).abs().max().item<double>(), 1e-5) << name << ": resume under another plan";
  }
  const auto uninterrupted = losses(dir / "full.jsonl");
  const auto resumed = losses(dir / "same.jsonl");
  ASSERT_EQ(uninterrupted.size(), 6u);
  ASSERT_EQ(resumed.size(), 3u);
  for (const auto& [step, loss] : resumed) EXPECT_EQ(loss, uninterrupted.at(step)) << "step " << step;
}

// The name of a step directory being staged under `root`, "" if none.
std::string partial_in(const std::string& root) {
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 8 && name.substr(name.size() - 8) == ".partial") return name;
  }
  return "";
}

// The edge (rank 1, owner of conv2 and fc1) is killed as soon as the keeper
// stages a checkpoint after the first complete one: the job ends, the keeper's
// last complete checkpoint verifies, and a job resumed from it alone ends
// with the losses and parameters of an uninterrupted run.
TEST(CheckpointKeeper, ARankKilledDuringASaveLeavesTheLastCheckpointResumable) {
  testing::TempDir dir("keeper_kill");
  planner::save_plan(dir / "pipeline.json", pipeline());
  constexpr int64_t kSteps = 40;
  std::vector<Proc> procs = start_job(dir, own_disks(dir, dir / "pipeline.json", "killed",
                                                     {"--steps", std::to_string(kSteps), "--checkpoint-every", "1",
                                                      "--checkpoint-keeper", "cloud"},
                                                     "killed.jsonl"));
  ASSERT_EQ(procs.size(), 3u);
  const std::string keeper_dir = dir / "killed/cloud";
  const auto t0 = Clock::now();
  bool killed = false;
  std::string staged;
  while (!killed && std::chrono::duration<double>(Clock::now() - t0).count() < kHangGuard) {
    if (fs::exists(keeper_dir + "/latest") && !(staged = partial_in(keeper_dir)).empty()) {
      ::kill(procs[1].pid, SIGKILL);
      killed = true;
    }
    int status = 0;
    if (::waitpid(procs[2].pid, &status, WNOHANG) == procs[2].pid) {
      procs[2].done = true;
      procs[2].status = status;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ASSERT_TRUE(killed) << "the keeper never staged a second checkpoint: " << read_file(procs[2].err_path);
  wait_all(procs);
  EXPECT_FALSE(ok(procs[0]));
  EXPECT_FALSE(ok(procs[2])) << "the keeper finished a job whose edge was killed";

  const Checkpoint last = open_checkpoint(keeper_dir);  // verifies every shard's sha256
  const int64_t step = last.state.step;
  ASSERT_GE(step, 1);
  ASSERT_LT(step, kSteps);
  std::cout << "edge killed while the keeper staged " << staged << "; last complete: step " << step
            << (partial_in(keeper_dir).empty() ? "" : " (the staged save was never committed)") << "\n";

  // Resume from the keeper's disk alone; and an uninterrupted run as long.
  const std::vector<std::string> to = {"--steps", std::to_string(step + 2), "--checkpoint-keeper", "cloud"};
  ASSERT_TRUE(run(dir, [&](int r) {
    return own_disks(dir, dir / "pipeline.json", "resumed",
                     with(to, {"--resume", r == 2 ? keeper_dir : dir / "nowhere"}), "resumed.jsonl")(r);
  }));
  ASSERT_TRUE(run(dir, own_disks(dir, dir / "pipeline.json", "straight", to, "straight.jsonl")));
  const auto straight = checkpoint_params(dir / "straight/cloud");
  const auto resumed = checkpoint_params(dir / "resumed/cloud");
  for (const auto& [name, t] : straight) EXPECT_TRUE(torch::equal(t, resumed.at(name))) << name;
  const auto want = losses(dir / "straight.jsonl");
  const auto got = losses(dir / "resumed.jsonl");
  ASSERT_EQ(got.size(), 2u);
  for (const auto& [s, loss] : got) EXPECT_EQ(loss, want.at(s)) << "step " << s;
}

}  // namespace
}  // namespace dec::runtime
