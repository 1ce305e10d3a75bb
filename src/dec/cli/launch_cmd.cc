// `dec launch`: torchrun for DEC. Starts this machine's worker processes with
// torchrun's environment and supervises them: when one fails, the others are
// stopped and `dec launch` ends with the failed worker's exit code.
#include <CLI/CLI.hpp>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dec/cli/cli_util.h"
#include "dec/cli/job_flags.h"
#include "dec/comm/init_method.h"
#include "dec/core/error.h"
#include "dec/core/file.h"
#include "dec/core/process.h"

namespace dec::cli {

namespace {

volatile sig_atomic_t g_signal = 0;
void on_signal(int sig) { g_signal = sig; }

// This machine's ranks: the flags' layout (master port 0: rank 0 picks one, start_workers).
std::vector<comm::InitOptions> local_ranks(JobFlags& f) {
  comm::InitOptions init;
  init.master_addr = f.master_addr;
  init.master_port = static_cast<uint16_t>(f.master_port);
  DEC_CHECK(f.master_port >= 0 && f.master_port <= 65535, ConfigError, "invalid flag",
            "--master-port", "must be in 0..65535, got ", f.master_port);
  if (!f.init_method.empty()) init = comm::parse_init_method(f.init_method, init);
  finish_job_options(f, 0);  // validates the flags before anything starts
  DEC_CHECK(init.master_port != 0 || f.nnodes == 1, ConfigError, "invalid flag", "--master-port",
            "0 (pick a free port) needs --nnodes 1: other machines could not learn it");
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

// Master port 0: rank 0 binds a free port itself and writes it to a file
// (kMasterPortFileEnv); no other process can take it between a probe and the
// bind. Waits for that file while rank 0 runs, up to the join timeout.
uint16_t await_master_port(Child& rank0, const std::string& file, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (;;) {
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) return static_cast<uint16_t>(std::stoi(read_file(file)));
    if (const std::optional<ExitStatus> s = rank0.poll()) {
      throw ChildFailed("worker failed", "local rank 0, rank 0", s->describe() + " before its store listened",
                        s->ok() ? 1 : s->code);
    }
    if (g_signal) {
      throw ChildFailed("interrupted", "dec launch", str("signal ", g_signal, " before rank 0 listened"),
                        128 + g_signal);
    }
    DEC_CHECK(std::chrono::steady_clock::now() < deadline, Timeout, "rank 0 did not listen",
              "--master-port 0", "no port after ", timeout_s, " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Starts this machine's workers; with master port 0, rank 0 first, and the
// others once it told its port.
std::vector<Child> start_workers(std::vector<comm::InitOptions>& ranks, const std::vector<std::string>& args,
                                 double join_timeout_s) {
  std::vector<Child> workers;
  const bool pick_port = ranks.front().master_port == 0;
  Environment env0 = worker_env(ranks.front());
  std::string dir;
  if (pick_port) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dec-launch-XXXXXX").string();
    DEC_CHECK(::mkdtemp(tmpl.data()) != nullptr, IoError, "cannot create a directory", tmpl,
              std::strerror(errno));
    dir = tmpl;
    env0.push_back({kMasterPortFileEnv, dir + "/port"});
  }
  workers.push_back(Child::spawn(kSelfExe, args, env0, "worker (local rank 0)"));
  if (pick_port) {
    const uint16_t port = await_master_port(workers.front(), dir + "/port", join_timeout_s);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    for (auto& r : ranks) r.master_port = port;
    std::fprintf(stderr, "dec launch: master port %d\n", port);
  }
  for (size_t i = 1; i < ranks.size(); ++i) {
    workers.push_back(Child::spawn(kSelfExe, args, worker_env(ranks[i]), str("worker (local rank ", i, ")")));
  }
  return workers;
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
    std::vector<comm::InitOptions> ranks = local_ranks(*f);
    const std::vector<std::string> args = worker_args(*cmd);
    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);
    std::vector<Child> workers = start_workers(ranks, args, f->join_timeout_s);
    supervise(workers, ranks);
  });
}

}  // namespace dec::cli
