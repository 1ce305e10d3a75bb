// The distributed runtime as users run it: `dec worker` processes on loopback
// (torchrun's environment), checkpoints across plans, and failures that always
// end — a missing node, a killed node, a mismatched model, a wrong token.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/data/dataset.h"
#include "dec/data/sampler.h"
#include "dec/model/model.h"
#include "dec/planner/plan.h"
#include "dec/runtime/block_state.h"
#include "dec/runtime/checkpoint.h"
#include "dec/runtime/job.h"
#include "dec/optim/optimizer.h"
#include "test_util.h"
#include "worker_procs.h"

extern char** environ;

namespace dec::runtime {
namespace {

std::string err(const Proc& p) { return read_file(p.err_path); }

// Waits until rank 0 has logged a few iterations to dir/m.jsonl (kHangGuard at most).
::testing::AssertionResult wait_for_iterations(const testing::TempDir& dir, const Proc& rank0) {
  auto t0 = Clock::now();
  while (!std::filesystem::exists(dir / "m.jsonl") || read_file(dir / "m.jsonl").size() < 2000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (std::chrono::duration<double>(Clock::now() - t0).count() > kHangGuard) {
      return ::testing::AssertionFailure() << "no iterations after " << kHangGuard << " s: " << err(rank0);
    }
  }
  return ::testing::AssertionSuccess();
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

planner::PlanPath path(std::vector<std::string> nodes, std::vector<planner::BlockRange> ranges,
                       int64_t samples, int micro) {
  planner::PlanPath pp;
  pp.source = nodes.front();
  pp.nodes = std::move(nodes);
  pp.ranges = std::move(ranges);
  pp.samples = samples;
  pp.micro_batches = micro;
  return pp;
}

// A 3-stage pipeline and a data-parallel plan over the same three nodes.
planner::Plan pipeline() {
  return plan_of({path({"device", "edge", "cloud"}, {{0, 1}, {1, 3}, {3, 4}}, 16, 4)});
}
planner::Plan data_parallel() {
  return plan_of({path({"device"}, {{0, 4}}, 6, 1), path({"edge"}, {{0, 4}}, 5, 1),
                  path({"cloud"}, {{0, 4}}, 5, 1)});
}

// Runs a 3-process job to completion; returns true if every worker succeeded.
bool run_job_processes(const testing::TempDir& dir, const std::string& plan_file,
                       const std::vector<std::string>& flags) {
  std::vector<Proc> procs = start_job(dir, 3, 3, [&](int) {
    return with({"--plan", plan_file, "--timeout", "20", "--join-timeout", "20"}, flags);
  });
  if (procs.size() != 3u) return false;
  wait_all({&procs[0], &procs[1], &procs[2]}, kHangGuard);
  bool all = true;
  for (auto& p : procs) {
    EXPECT_TRUE(ok(p)) << err(p);
    all = all && ok(p);
  }
  return all;
}

std::map<std::string, torch::Tensor> checkpoint_params(const std::string& dir) {
  Checkpoint c = open_checkpoint(dir);
  std::map<std::string, torch::Tensor> out;
  for (const auto& b : c.blocks) {
    for (auto& [n, t] : read_block(c, b).params) out[n] = t;
  }
  return out;
}

// Single-node SGD+momentum on the batches the job draws (drop_last sampler).
std::map<std::string, torch::Tensor> reference(int steps, int64_t batch) {
  torch::set_num_threads(1);
  model::ModelSpec spec = model::make_model("fmnist-cnn");
  torch::nn::Sequential net = spec.build_all(kSeed);
  optim::NamedParams params = named_parameters(net);
  optim::OptimizerConfig c;
  c.kind = "sgd";
  c.lr = 0.05;
  c.momentum = 0.9;
  auto opt = optim::make_optimizer(params, c);
  data::Dataset data = data::make_synthetic({1, 28, 28}, 10, kData, kSeed);
  data::EpochSampler sampler(kData, kSeed);
  const int64_t per_epoch = kData / batch;
  for (int s = 0; s < steps; ++s) {
    sampler.set_epoch(s / per_epoch);
    auto [x, y] = data.batch(sampler.batch_indices(s % per_epoch, batch));
    opt->zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt->step();
  }
  std::map<std::string, torch::Tensor> out;
  for (auto& [n, t] : params) out[n] = t.detach().clone();
  return out;
}

const std::vector<std::string> kSgd = {"--optimizer", "sgd", "--lr", "0.05", "--momentum", "0.9"};

TEST(Launch, ResumeUnderTheSameAndADifferentPlan) {
  testing::TempDir dir("resume_plans");
  planner::save_plan(dir / "pipeline.json", pipeline());
  planner::save_plan(dir / "dp.json", data_parallel());
  // Uninterrupted: 6 iterations under the pipeline.
  ASSERT_TRUE(run_job_processes(dir, dir / "pipeline.json",
                                with(kSgd, {"--steps", "6", "--checkpoint-dir", dir / "full"})));
  // 3 iterations, then resume under the same plan, and under a different one.
  ASSERT_TRUE(run_job_processes(dir, dir / "pipeline.json",
                                with(kSgd, {"--steps", "3", "--checkpoint-dir", dir / "half"})));
  ASSERT_TRUE(run_job_processes(dir, dir / "pipeline.json",
                                with(kSgd, {"--steps", "6", "--resume", dir / "half",
                                            "--checkpoint-dir", dir / "same"})));
  ASSERT_TRUE(run_job_processes(dir, dir / "dp.json",
                                with(kSgd, {"--steps", "6", "--resume", dir / "half",
                                            "--checkpoint-dir", dir / "other"})));
  auto full = checkpoint_params(dir / "full");
  auto same = checkpoint_params(dir / "same");
  auto other = checkpoint_params(dir / "other");
  auto ref = reference(6, 16);
  ASSERT_EQ(full.size(), 8u);
  for (const auto& [name, t] : full) {
    EXPECT_TRUE(torch::equal(t, same.at(name))) << name << ": resume under the same plan differs";
    EXPECT_LT((other.at(name) - ref.at(name)).abs().max().item<double>(), 1e-5)
        << name << ": resume under another plan differs from single-node training";
    EXPECT_LT((t - ref.at(name)).abs().max().item<double>(), 1e-5) << name;
  }
}

// The device forwards raw samples of one path an iteration ahead; with a
// batch of 96 of 256 samples every second step starts an epoch, so the batch
// it sends ahead comes from the next epoch's order. Training must still equal
// single-node training on the job's batches.
TEST(Launch, RawInputsSentAheadAcrossEpochs) {
  testing::TempDir dir("raw_ahead");
  planner::save_plan(dir / "plan.json",
                     plan_of({path({"device", "edge", "cloud"}, {{0, 0}, {0, 2}, {2, 4}}, 64, 4),
                              path({"device"}, {{0, 4}}, 32, 1)}));
  ASSERT_TRUE(run_job_processes(dir, dir / "plan.json",
                                with(kSgd, {"--steps", "5", "--checkpoint-dir", dir / "ckpt"})));
  auto got = checkpoint_params(dir / "ckpt");
  auto ref = reference(5, 96);
  ASSERT_EQ(got.size(), ref.size());
  for (const auto& [name, t] : got) {
    EXPECT_LT((t - ref.at(name)).abs().max().item<double>(), 1e-5)
        << name << " differs from single-node training";
  }
}

TEST(LaunchFailure, MissingNodeIsNamedWithinTheJoinTimeout) {
  testing::TempDir dir("missing");
  planner::save_plan(dir / "p.json", pipeline());
  // Rank 2 (cloud) never starts.
  std::vector<Proc> procs = start_job(dir, 3, 2, [&](int) {
    return std::vector<std::string>{"--plan", dir / "p.json", "--join-timeout", "2"};
  });
  ASSERT_EQ(procs.size(), 2u);
  wait_all({&procs[0], &procs[1]}, kHangGuard);
  for (auto& p : procs) {
    EXPECT_FALSE(ok(p));
    EXPECT_NE(err(p).find("rank 2"), std::string::npos) << err(p);
    // Rank 0 prints join progress first; the error is the last line.
    const std::string e = err(p);
    const size_t last = e.rfind('\n', e.size() - 2);
    EXPECT_EQ(e.compare(last == std::string::npos ? 0 : last + 1, 12, "dec: error: "), 0) << e;
  }
}

class LaunchKill : public ::testing::TestWithParam<int> {};

TEST_P(LaunchKill, SurvivorsExitNamingTheLostNode) {
  const int victim = GetParam();
  testing::TempDir dir("kill");
  planner::save_plan(dir / "p.json", pipeline());
  std::vector<Proc> procs = start_job(dir, 3, 3, [&](int) {
    return with(kSgd, {"--plan", dir / "p.json", "--steps", "100000", "--timeout", "3", "--metrics",
                       dir / "m.jsonl"});
  });
  ASSERT_EQ(procs.size(), 3u);
  // Wait until iterations run, then kill mid-iteration.
  ASSERT_TRUE(wait_for_iterations(dir, procs[0]));
  ::kill(procs[victim].pid, SIGKILL);
  ::waitpid(procs[victim].pid, &procs[victim].status, 0);
  procs[victim].done = true;
  std::vector<Proc*> survivors;
  for (int r = 0; r < 3; ++r) {
    if (r != victim) survivors.push_back(&procs[r]);
  }
  wait_all(survivors, kHangGuard);
  // Every survivor fails; the one that lost the connection names the victim,
  // the others may name the survivor that failed before them (a cascade).
  int naming = 0;
  std::string all;
  for (auto* p : survivors) {
    EXPECT_FALSE(ok(*p));
    const std::string e = err(*p);
    all += e;
    if (e.find(kNodes[victim]) != std::string::npos ||
        e.find("rank " + std::to_string(victim)) != std::string::npos) {
      ++naming;
    }
  }
  EXPECT_GE(naming, 1) << "no survivor names " << kNodes[victim] << ":\n" << all;
}

INSTANTIATE_TEST_SUITE_P(EachRole, LaunchKill, ::testing::Values(0, 1, 2));

// A frozen node (SIGSTOP) is only seen through the deadline: the others end by then.
TEST(LaunchFailure, FrozenNodeEndsTheJobAtTheDeadline) {
  testing::TempDir dir("frozen");
  planner::save_plan(dir / "p.json", pipeline());
  std::vector<Proc> procs = start_job(dir, 3, 3, [&](int) {
    return with(kSgd, {"--plan", dir / "p.json", "--steps", "100000", "--timeout", "3", "--metrics",
                       dir / "m.jsonl"});
  });
  ASSERT_EQ(procs.size(), 3u);
  ASSERT_TRUE(wait_for_iterations(dir, procs[0]));
  ::kill(procs[1].pid, SIGSTOP);  // the edge freezes mid-run
  wait_all({&procs[0], &procs[2]}, kHangGuard);
  ::kill(procs[1].pid, SIGKILL);
  ::waitpid(procs[1].pid, &procs[1].status, 0);
  procs[1].done = true;
  EXPECT_FALSE(ok(procs[0]));
  EXPECT_FALSE(ok(procs[2]));
  const std::string e = err(procs[0]) + err(procs[2]);
  EXPECT_TRUE(e.find("edge") != std::string::npos || e.find("rank 1") != std::string::npos) << e;
}

TEST(LaunchFailure, MismatchedModelAndWrongTokenAreRefused) {
  testing::TempDir dir("mismatch");
  planner::save_plan(dir / "p.json", pipeline());
  {
    std::vector<Proc> procs = start_job(dir, 3, 3, [&](int r) {
      std::vector<std::string> f = {"--plan", dir / "p.json", "--timeout", "5"};
      if (r == 2) f.insert(f.end(), {"--model", "lenet5"});
      return f;
    });
    ASSERT_EQ(procs.size(), 3u);
    wait_all({&procs[0], &procs[1], &procs[2]}, kHangGuard);
    for (auto& p : procs) {
      EXPECT_FALSE(ok(p));
      EXPECT_NE(err(p).find("models differ"), std::string::npos) << err(p);
    }
  }
  {
    std::vector<Proc> procs = start_job(dir, 3, 3, [&](int r) {
      return std::vector<std::string>{"--plan", dir / "p.json", "--join-timeout", "3", "--token",
                                      r == 1 ? "wrong" : "right"};
    });
    ASSERT_EQ(procs.size(), 3u);
    wait_all({&procs[0], &procs[1], &procs[2]}, kHangGuard);
    EXPECT_NE(err(procs[1]).find("token"), std::string::npos) << err(procs[1]);
    for (auto& p : procs) EXPECT_FALSE(ok(p));
  }
}

}  // namespace
}  // namespace dec::runtime

namespace dec::runtime {
namespace {

// Ranks as threads calling run_job: one announces another DEC version.
TEST(LaunchFailure, DifferentVersionsAreRefusedOnEveryRank) {
  testing::TempDir dir("version");
  planner::save_plan(dir / "p.json", data_parallel());
  // Rank 0 listens on a port the kernel picks and hands it to the others.
  std::promise<uint16_t> listening;
  std::shared_future<uint16_t> port = listening.get_future().share();
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      JobOptions o;
      if (r == 0) {
        o.rendezvous.init.master_port = 0;
        o.rendezvous.on_listening = [&](uint16_t p) { listening.set_value(p); };
      } else if (port.wait_for(std::chrono::seconds(60)) == std::future_status::ready) {
        o.rendezvous.init.master_port = port.get();
      } else {
        errors[r] = "rank 0 never listened";
        return;
      }
      o.rendezvous.init.rank = r;
      o.rendezvous.init.world_size = 3;
      o.rendezvous.node_name = kNodes[r];
      o.rendezvous.join_timeout = std::chrono::seconds(10);
      o.timeout = std::chrono::seconds(10);
      o.plan_path = dir / "p.json";
      o.dataset = "synthetic";
      o.input_shape = {1, 28, 28};
      o.synthetic_size = kData;
      o.evaluate = false;
      o.max_steps = 1;
      if (r == 2) o.version = "0.0.0-other";
      try {
        run_job(o, nullptr);
      } catch (const Error& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 3; ++r) {
    EXPECT_NE(errors[r].find("DEC versions differ"), std::string::npos) << "rank " << r << ": " << errors[r];
    EXPECT_NE(errors[r].find("0.0.0-other"), std::string::npos) << errors[r];
  }
}

}  // namespace
}  // namespace dec::runtime

namespace dec::runtime {
namespace {

struct LaunchRun {
  int exit_code = -1;
  std::string err;
};

LaunchRun run_launch(const testing::TempDir& dir, const std::string& args) {
  const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 timeout 60 ") + DEC_BINARY_DIR +
                          "/dec launch --master-port 0 --threads 1 --dataset synthetic --input "
                          "1x28x28 --synthetic-size 256 --no-eval " + args + " >/dev/null 2>" +
                          (dir / "launch.err");
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir / "launch.err")};
}

TEST(Launch, StartsAndSupervisesLocalWorkers) {
  testing::TempDir dir("launcher");
  planner::save_plan(dir / "p.json", pipeline());
  LaunchRun ok_run = run_launch(dir, "--nproc-per-node 3 --node-name device,edge,cloud --steps 3 --plan " +
                                   (dir / "p.json") + " --checkpoint-dir " + (dir / "ck"));
  EXPECT_EQ(ok_run.exit_code, 0) << ok_run.err;
  EXPECT_EQ(open_checkpoint(dir / "ck").state.step, 3);

  // A node the plan does not know: every worker fails, the launcher names the first.
  LaunchRun bad = run_launch(dir, "--nproc-per-node 3 --node-name device,edge,nowhere --steps 3 "
                            "--timeout 10 --plan " + (dir / "p.json"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("worker failed (local rank"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("'cloud'"), std::string::npos) << bad.err;

  // A node the plan gives nothing to do idles: the data-parallel plan on two of three.
  planner::save_plan(dir / "two.json",
                     plan_of({path({"device"}, {{0, 4}}, 8, 1), path({"edge"}, {{0, 4}}, 8, 1)}));
  LaunchRun idle = run_launch(dir, "--nproc-per-node 3 --node-name device,edge,cloud --steps 3 "
                                   "--plan " + (dir / "two.json"));
  EXPECT_EQ(idle.exit_code, 0) << idle.err;
}

TEST(Launch, AutoModeProfilesPlansAndRuns) {
  // No --plan: every rank profiles itself, rank 0 solves for the cluster spec.
  testing::TempDir dir("auto");
  LaunchRun run = run_launch(dir, "--nproc-per-node 3 --node-name dev0,edge0,cloud --steps 2 "
                                  "--planner-time-limit 5 --cluster " DEC_SOURCE_DIR
                                  "/scenarios/S2.yaml --checkpoint-dir " + (dir / "ck"));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("plan (hash"), std::string::npos) << run.err;
  Checkpoint c = open_checkpoint(dir / "ck");
  EXPECT_EQ(c.state.step, 2);
  EXPECT_FALSE(c.state.plan_hash.empty());
}

}  // namespace
}  // namespace dec::runtime

namespace dec::runtime {
namespace {

TEST(Launch, EmulatedClusterRunsItsPlanAndEveryBaselineAndRecordsTraces) {
  // --emulate: speeds and links from the spec (S1: WiFi, a 100 Mbit/s WAN).
  testing::TempDir dir("emulated");
  const std::string common = "--nproc-per-node 3 --node-name cloud,edge0,dev0 --emulate --steps 4 "
                             "--no-eval --planner-time-limit 5 --cluster " DEC_SOURCE_DIR
                             "/scenarios/S1.yaml ";
  LaunchRun run = run_launch(dir, common + "--metrics " + (dir / "m.jsonl"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string metrics = read_file(dir / "m.jsonl");
  for (const char* event : {"\"event\":\"plan\"", "\"event\":\"trace\"", "\"kind\":\"compute\""}) {
    EXPECT_NE(metrics.find(event), std::string::npos) << event;
  }
  // A baseline of the recorded plan, with the same runtime.
  std::string plan_json;
  std::istringstream events(metrics);
  for (std::string line; plan_json.empty() && std::getline(events, line);) {
    const auto e = nlohmann::json::parse(line);
    if (e.at("event") == "plan") plan_json = e.at("plan").dump();
  }
  ASSERT_FALSE(plan_json.empty()) << "no plan event";
  planner::save_plan(dir / "plan.json", planner::plan_from_json(plan_json, "metrics"));
  LaunchRun base = run_launch(dir, common + "--plan " + (dir / "plan.json") +
                                       " --baseline cloud-only --metrics " + (dir / "b.jsonl"));
  EXPECT_EQ(base.exit_code, 0) << base.err;
  EXPECT_NE(base.err.find("cloud[0,4)"), std::string::npos) << base.err;
  LaunchRun bad = run_launch(dir, common + "--plan " + (dir / "plan.json") + " --baseline nope");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("unknown baseline (--baseline nope)"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace dec::runtime
