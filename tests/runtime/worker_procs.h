// `dec worker` processes of a job on loopback, as tests start them
// (torchrun's environment; rank 0 on a port the kernel picks), and waiting for
// them with a guard against a hang. Shared by launch_test.cc and
// checkpoint_keeper_test.cc.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "dec/core/file.h"
#include "test_util.h"

extern char** environ;

namespace dec::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kData = 256;  // synthetic samples
constexpr uint64_t kSeed = 5;
// How long a job may take before the test kills it and fails: a guard against
// a hang, far above what any of these jobs needs, never a measurement. That a
// failure ends the job in time is the job's own deadline (--timeout,
// --join-timeout); what the test checks is that each rank names the cause.
constexpr double kHangGuard = 120;

const char* kNodes[] = {"device", "edge", "cloud"};

struct Proc {
  pid_t pid = -1;
  std::string err_path;
  int status = 0;
  bool done = false;
};

// Starts `dec worker` as rank `rank` of `world` with extra flags.
Proc start_worker(const testing::TempDir& dir, int port, int rank, int world,
                  const std::string& node, const std::vector<std::string>& flags) {
  std::vector<std::string> env_strings = {
      "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + std::to_string(port),
      "RANK=" + std::to_string(rank), "WORLD_SIZE=" + std::to_string(world),
      "LOCAL_RANK=0", "OPENBLAS_NUM_THREADS=1"};
  // Port 0: rank 0 picks one and writes it where the test reads it back
  // (listening_port); an earlier job's file in the same directory is not this one's.
  if (port == 0) {
    std::filesystem::remove(dir / "master_port");
    env_strings.push_back("DEC_MASTER_PORT_FILE=" + (dir / "master_port"));
  }
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = {std::string(DEC_BINARY_DIR) + "/dec", "worker", "--node-name",
                                   node, "--threads", "1", "--dataset", "synthetic", "--input",
                                   "1x28x28", "--synthetic-size", std::to_string(kData),
                                   "--seed", std::to_string(kSeed), "--no-eval"};
  args.insert(args.end(), flags.begin(), flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Proc p;
  p.err_path = dir / ("err." + node);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, p.err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  EXPECT_EQ(posix_spawn(&p.pid, argv[0], &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The port rank 0 (`pid`, started with MASTER_PORT=0) listens on, as it reports
// it to `dec launch` (DEC_MASTER_PORT_FILE, set by start_worker). -1 if it exits
// or has not listened within `limit_s` (a guard against a hang, not a measurement).
int listening_port(const testing::TempDir& dir, pid_t pid, double limit_s) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < limit_s) {
    if (std::filesystem::exists(dir / "master_port")) return std::stoi(read_file(dir / "master_port"));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// Starts the first `started` ranks of a `world`-rank job, rank r with
// `flags(r)`. Rank 0 comes first, with MASTER_PORT=0: its store listens on a
// port the kernel picks, which the others are then given. No port is guessed,
// so concurrent tests cannot take each other's.
std::vector<Proc> start_job(const testing::TempDir& dir, int world, int started,
                            const std::function<std::vector<std::string>(int)>& flags) {
  std::vector<Proc> procs;
  procs.reserve(started);
  procs.push_back(start_worker(dir, 0, 0, world, kNodes[0], flags(0)));
  const int port = listening_port(dir, procs[0].pid, 60);
  if (port <= 0) {
    ADD_FAILURE() << "rank 0 never listened: " << read_file(procs[0].err_path);
    return procs;
  }
  for (int r = 1; r < started; ++r) procs.push_back(start_worker(dir, port, r, world, kNodes[r], flags(r)));
  return procs;
}

// Waits for every process; after `limit_s` (kHangGuard) kills the stragglers
// and fails the test.
void wait_all(std::vector<Proc*> procs, double limit_s) {
  const auto t0 = Clock::now();
  for (;;) {
    bool all = true;
    for (auto* p : procs) {
      if (p->done) continue;
      if (::waitpid(p->pid, &p->status, WNOHANG) == p->pid) p->done = true;
      else all = false;
    }
    if (all) return;
    if (std::chrono::duration<double>(Clock::now() - t0).count() > limit_s) {
      for (auto* p : procs) {
        if (!p->done) {
          ::kill(p->pid, SIGKILL);
          ::waitpid(p->pid, &p->status, 0);
          p->done = true;
          ADD_FAILURE() << "a worker did not end within " << limit_s << " s: " << p->err_path;
        }
      }
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool ok(const Proc& p) { return WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0; }

}  // namespace
}  // namespace dec::runtime
