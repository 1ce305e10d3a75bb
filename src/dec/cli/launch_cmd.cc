// `dec launch`: torchrun for DEC. Starts this machine's worker processes with
// torchrun's environment and supervises them: when one fails, the others are
// stopped and the exit code says who.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dec/cli/job_flags.h"
#include "dec/comm/init_method.h"
#include "dec/core/error.h"

namespace dec::cli {

namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// A free TCP port on `addr` (like torchrun's --master-port 0).
int free_port(const std::string& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  DEC_CHECK(fd >= 0, IoError, "cannot open a socket", addr, std::strerror(errno));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) sa.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof sa;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0;
  int err = errno;
  ::close(fd);
  DEC_CHECK(ok, IoError, "cannot find a free port", addr, std::strerror(err));
  return ntohs(sa.sin_port);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return str("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return str("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  return "stopped";
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  auto* cmd = app.add_subcommand(
      "launch",
      "Start this machine's processes of a distributed training job and supervise them\n"
      "(torchrun's flags; run it once on every machine).\n"
      "Example: dec launch --nnodes 3 --node-rank 0 --master-addr 10.0.0.1 --node-name device "
      "--plan plan.json");
  add_job_flags(cmd, *f);
  cmd->callback([f, cmd] {
    comm::InitOptions init;
    init.master_addr = f->master_addr;
    init.master_port = static_cast<uint16_t>(f->master_port);
    DEC_CHECK(f->master_port >= 0 && f->master_port <= 65535, ConfigError, "invalid flag",
              "--master-port", "must be in 0..65535, got ", f->master_port);
    if (!f->init_method.empty()) init = comm::parse_init_method(f->init_method, init);
    finish_job_options(*f, 0);  // validates the flags before anything starts
    if (init.master_port == 0) {
      DEC_CHECK(f->nnodes == 1, ConfigError, "invalid flag", "--master-port",
                "0 (pick a free port) needs --nnodes 1: other machines could not learn it");
      init.master_port = static_cast<uint16_t>(free_port(init.master_addr));
      std::fprintf(stderr, "dec launch: master port %d\n", init.master_port);
    }
    std::vector<comm::InitOptions> ranks;
    for (int local = 0; local < f->nproc_per_node; ++local) {
      ranks.push_back(comm::layout_ranks(init, f->nnodes, f->nproc_per_node, f->node_rank, local));
    }

    // The workers get this command line with `worker` in place of `launch`.
    std::vector<std::string> args = {"/proc/self/exe", "worker"};
    for (const auto& r : cmd->remaining()) args.push_back(r);
    std::vector<std::string> passed;
    for (const auto* opt : cmd->get_options()) {
      if (opt->count() == 0 || opt->get_name() == "--help") continue;
      if (opt->get_lnames().empty()) continue;
      const std::string flag = "--" + opt->get_lnames().front();
      for (const auto& v : opt->results()) {
        if (opt->get_expected_min() == 0) {
          args.push_back(flag);
          break;
        }
        args.push_back(flag);
        args.push_back(v);
      }
    }

    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);
    std::map<pid_t, int> local_of;
    for (size_t i = 0; i < ranks.size(); ++i) {
      pid_t pid = ::fork();
      DEC_CHECK(pid >= 0, IoError, "cannot start a worker", str("local rank ", i), std::strerror(errno));
      if (pid == 0) {
        const auto& r = ranks[i];
        ::setenv("MASTER_ADDR", r.master_addr.c_str(), 1);
        ::setenv("MASTER_PORT", std::to_string(r.master_port).c_str(), 1);
        ::setenv("RANK", std::to_string(r.rank).c_str(), 1);
        ::setenv("WORLD_SIZE", std::to_string(r.world_size).c_str(), 1);
        ::setenv("LOCAL_RANK", std::to_string(r.local_rank).c_str(), 1);
        ::setenv("NODE_RANK", std::to_string(r.node_rank).c_str(), 1);
        ::setenv("OPENBLAS_NUM_THREADS", "1", 0);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv("/proc/self/exe", argv.data());
        std::fprintf(stderr, "dec: error: cannot start a worker (local rank %zu): %s\n", i,
                     std::strerror(errno));
        ::_exit(127);
      }
      local_of[pid] = static_cast<int>(i);
    }

    // Supervise: the first failure stops everyone else.
    int exit_code = 0;
    bool stopping = false;
    auto stop_all = [&](int sig) {
      for (const auto& [pid, local] : local_of) ::kill(pid, sig);
    };
    auto deadline = std::chrono::steady_clock::time_point::max();
    while (!local_of.empty()) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        const int local = local_of[pid];
        local_of.erase(pid);
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && !stopping) {
          exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          std::fprintf(stderr, "dec: error: worker failed (local rank %d, rank %d): %s; stopping the others\n",
                       local, ranks[local].rank, describe_status(status).c_str());
          stopping = true;
          stop_all(SIGTERM);
          deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        }
        continue;
      }
      if (g_signal && !stopping) {
        stopping = true;
        exit_code = 128 + g_signal;
        stop_all(g_signal);
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      }
      if (std::chrono::steady_clock::now() > deadline) {
        stop_all(SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (exit_code != 0) std::exit(exit_code);
  });
}

}  // namespace dec::cli
