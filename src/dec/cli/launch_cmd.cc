// `dec launch`: torchrun for DEC. Starts this machine's worker processes with
// torchrun's environment and supervises them: when one fails, the others are
// stopped and `dec launch` ends with the failed worker's exit code.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dec/cli/cli_util.h"
#include "dec/cli/job_flags.h"
#include "dec/comm/init_method.h"
#include "dec/core/error.h"
#include "dec/core/process.h"

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

// This machine's ranks: the flags' layout, with a free master port for --master-port 0.
std::vector<comm::InitOptions> local_ranks(JobFlags& f) {
  comm::InitOptions init;
  init.master_addr = f.master_addr;
  init.master_port = static_cast<uint16_t>(f.master_port);
  DEC_CHECK(f.master_port >= 0 && f.master_port <= 65535, ConfigError, "invalid flag",
            "--master-port", "must be in 0..65535, got ", f.master_port);
  if (!f.init_method.empty()) init = comm::parse_init_method(f.init_method, init);
  finish_job_options(f, 0);  // validates the flags before anything starts
  if (init.master_port == 0) {
    DEC_CHECK(f.nnodes == 1, ConfigError, "invalid flag", "--master-port",
              "0 (pick a free port) needs --nnodes 1: other machines could not learn it");
    init.master_port = static_cast<uint16_t>(free_port(init.master_addr));
    std::fprintf(stderr, "dec launch: master port %d\n", init.master_port);
  }
  std::vector<comm::InitOptions> ranks;
  for (int local = 0; local < f.nproc_per_node; ++local) {
    ranks.push_back(comm::layout_ranks(init, f.nnodes, f.nproc_per_node, f.node_rank, local));
  }
  return ranks;
}

// The workers' arguments: this command line with `worker` in place of `launch`.
std::vector<std::string> worker_args(const CLI::App& cmd) {
  std::vector<std::string> args = {"worker"};
  for (const auto& r : cmd.remaining()) args.push_back(r);
  for (const auto* opt : cmd.get_options()) {
    if (opt->count() == 0 || opt->get_name() == "--help") continue;
    if (opt->get_lnames().empty()) continue;
    const std::string flag = "--" + opt->get_lnames().front();
    for (const auto& v : opt->results()) {
      args.push_back(flag);
      if (opt->get_expected_min() == 0) break;  // a flag without a value
      args.push_back(v);
    }
  }
  return args;
}

// torchrun's environment for one worker; OpenBLAS single-threaded unless the user says otherwise.
Environment worker_env(const comm::InitOptions& r) {
  Environment env = {{"MASTER_ADDR", r.master_addr},
                     {"MASTER_PORT", std::to_string(r.master_port)},
                     {"RANK", std::to_string(r.rank)},
                     {"WORLD_SIZE", std::to_string(r.world_size)},
                     {"LOCAL_RANK", std::to_string(r.local_rank)},
                     {"NODE_RANK", std::to_string(r.node_rank)}};
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr) env.push_back({"OPENBLAS_NUM_THREADS", "1"});
  return env;
}

// Waits for every worker. The first failure (or a SIGINT/SIGTERM to launch)
// stops the others: the same signal, then SIGKILL after 5 s. Throws
// ChildFailed with the first failed worker's exit code (128 + signal when
// launch itself was interrupted).
void supervise(std::vector<Child>& workers, const std::vector<comm::InitOptions>& ranks) {
  std::unique_ptr<ChildFailed> failure;
  auto deadline = std::chrono::steady_clock::time_point::max();
  auto stop_all = [&](int sig) {
    for (auto& w : workers) w.kill(sig);
    if (sig != SIGKILL) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  };
  for (size_t running = workers.size(); running > 0;) {
    running = 0;
    for (size_t i = 0; i < workers.size(); ++i) {
      if (!workers[i].running()) continue;
      const std::optional<ExitStatus> s = workers[i].poll();
      if (!s) {
        ++running;
      } else if (!s->ok() && !failure) {
        failure = std::make_unique<ChildFailed>(
            "worker failed", str("local rank ", i, ", rank ", ranks[i].rank),
            s->describe() + "; the other workers were stopped", s->code);
        stop_all(SIGTERM);
      }
    }
    if (g_signal && !failure) {
      failure = std::make_unique<ChildFailed>(
          "interrupted", "dec launch", str("signal ", g_signal, " (", ::strsignal(g_signal),
                                           "); the workers were stopped"),
          128 + g_signal);
      stop_all(g_signal);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop_all(SIGKILL);
      deadline = std::chrono::steady_clock::time_point::max();
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (failure) throw *failure;
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
    const std::vector<comm::InitOptions> ranks = local_ranks(*f);
    const std::vector<std::string> args = worker_args(*cmd);
    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);
    std::vector<Child> workers;
    for (size_t i = 0; i < ranks.size(); ++i) {
      workers.push_back(
          Child::spawn(kSelfExe, args, worker_env(ranks[i]), str("worker (local rank ", i, ")")));
    }
    supervise(workers, ranks);
  });
}

}  // namespace dec::cli
