#include "dec/cli/serve_launch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "dec/cli/cli_util.h"
#include "dec/cluster/load.h"
#include "dec/core/error.h"
#include "dec/core/process.h"
#include "dec/serve/split_inputs.h"

extern char** environ;

namespace dec::cli {

namespace {

volatile sig_atomic_t g_all_tiers_signal = 0;
void on_all_tiers_signal(int sig) { g_all_tiers_signal = sig; }

constexpr double kListenTimeoutS = 300;  // loading a large model on a busy machine
constexpr auto kStopGrace = std::chrono::seconds(10);

// One tier's server: its process, the pipe its stdout and stderr go to, and
// what its output said (the port it bound, whether it is ready).
struct Tier {
  std::string role, node, host;
  int port = 0;  // asked for; 0: any
  pid_t pid = -1;
  int out = -1;
  std::thread pump;
  std::atomic<int> bound_port{-1};
  std::atomic<bool> ready{false};
  std::optional<ExitStatus> status;

  bool running() const { return pid > 0 && !status; }
  std::string url() const {
    const std::string h = host == "0.0.0.0" ? "127.0.0.1" : host == "::" ? "::1" : host;
    return "http://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(bound_port);
  }
  std::string name() const { return node + " (" + role + ")"; }
};

// Reads the two lines of `dec serve` that this command follows: the one
// naming its URL ("dec serve: ... on http://HOST:PORT/v2/models/NAME") and
// "dec serve: ready ...".
void watch(Tier& t, const std::string& line) {
  if (line.rfind("dec serve: ", 0) != 0) return;
  if (line.rfind("dec serve: ready", 0) == 0) t.ready = true;
  const size_t at = line.find(" on http://");
  if (t.bound_port >= 0 || at == std::string::npos) return;
  const size_t path = line.find("/v2/", at);
  const size_t colon = line.rfind(':', path);
  if (path == std::string::npos || colon == std::string::npos || colon < at) return;
  const long port = std::strtol(line.c_str() + colon + 1, nullptr, 10);
  if (port > 0 && port <= 65535) t.bound_port = static_cast<int>(port);
}

// Copies a tier's output to stderr line by line, prefixed with its node; ends at EOF.
void pump(Tier& t, std::mutex& mu) {
  std::string pending;
  char buf[4096];
  auto emit = [&](const std::string& line) {
    watch(t, line);
    std::lock_guard<std::mutex> lock(mu);
    std::fprintf(stderr, "[%s] %s\n", t.node.c_str(), line.c_str());
  };
  for (;;) {
    const ssize_t n = ::read(t.out, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      emit(pending.substr(0, nl));
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty()) emit(pending);
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The tiers of one chain, device first. Destroying it kills and reaps the
// tiers still running and joins their output threads.
class TierGroup {
 public:
  std::array<Tier, 3> tiers;  // device, edge, cloud
  std::mutex out_mu;

  ~TierGroup() {
    for (auto& t : tiers) {
      if (t.running()) {
        ::kill(t.pid, SIGKILL);
        int status = 0;
        while (::waitpid(t.pid, &status, 0) < 0 && errno == EINTR) {
        }
      }
      if (t.pump.joinable()) t.pump.join();
      if (t.out >= 0) ::close(t.out);
    }
  }

  // Starts `dec <args>` for tier `t`, its stdout and stderr into a pipe that a
  // thread copies out. Between fork and exec the child only makes
  // async-signal-safe calls; it gets SIGTERM when this process ends.
  void spawn(Tier& t, const std::vector<std::string>& args) {
    std::vector<std::string> argv_strings = {kSelfExe};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv = pointers(argv_strings);
    int fds[2];
    DEC_CHECK(::pipe2(fds, O_CLOEXEC) == 0, IoError, "cannot start a process", t.name(), std::strerror(errno));
    const pid_t parent = ::getpid();
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(fds[0]);
      ::close(fds[1]);
      throw IoError("cannot start a process", t.name(), std::strerror(err));
    }
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
      ::execve(kSelfExe, argv.data(), environ);
      static const char msg[] = "dec serve: cannot execute /proc/self/exe\n";
      (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
      ::_exit(127);
    }
    ::close(fds[1]);
    t.pid = pid;
    t.out = fds[0];
    t.pump = std::thread(pump, std::ref(t), std::ref(out_mu));
  }

  // Reaps the tiers that ended; returns the first that ended in this call.
  Tier* reap() {
    Tier* ended = nullptr;
    for (auto& t : tiers) {
      if (!t.running()) continue;
      int status = 0;
      const pid_t r = ::waitpid(t.pid, &status, WNOHANG);
      if (r != t.pid) continue;
      ExitStatus s;
      if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) {
        s.signal = WTERMSIG(status);
        s.code = 128 + s.signal;
      }
      t.status = s;
      if (!ended) ended = &t;
    }
    return ended;
  }

  bool any_running() const {
    for (const auto& t : tiers) {
      if (t.running()) return true;
    }
    return false;
  }

  // SIGTERM to every running tier, SIGKILL to those left after the grace; waits for all.
  void stop_all() {
    for (auto& t : tiers) {
      if (t.running()) ::kill(t.pid, SIGTERM);
    }
    const auto deadline = std::chrono::steady_clock::now() + kStopGrace;
    while (any_running()) {
      reap();
      if (std::chrono::steady_clock::now() > deadline) {
        for (auto& t : tiers) {
          if (t.running()) ::kill(t.pid, SIGKILL);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void say(const std::string& text) {
    std::lock_guard<std::mutex> lock(out_mu);
    std::fprintf(stderr, "dec serve: %s\n", text.c_str());
  }
};

// Every serve flag given on the command line, except the ones each tier gets
// its own of, and for the edge and cloud the device's int8 flags: the int8
// blocks are the device's lightweight model; the servers run fp32.
std::vector<std::string> shared_flags(const CLI::App& cmd, bool device) {
  static const std::set<std::string> kPerTier = {"--all-tiers", "--listen", "--tier", "--next", "--name", "--help"};
  static const std::set<std::string> kDeviceOnly = {"--int8", "--int8-engine", "--calibration-batches",
                                                    "--calibration-data"};
  std::vector<std::string> args;
  for (const auto* opt : cmd.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    const std::string flag = "--" + opt->get_lnames().front();
    if (kPerTier.count(flag) > 0 || (!device && kDeviceOnly.count(flag) > 0)) continue;
    for (const auto& v : opt->results()) {
      args.push_back(flag);
      if (opt->get_expected_min() == 0) break;  // a flag without a value
      args.push_back(v);
    }
  }
  return args;
}

void check_flags(const CLI::App& cmd, const AllTiersOptions& o) {
  DEC_CHECK(!o.cluster.empty() && !o.device.empty(), ConfigError, "invalid flags", "--all-tiers",
            "needs --cluster and --device (the chain of tiers to start)");
  for (const char* flag : {"--tier", "--next", "--name"}) {
    DEC_CHECK(cmd.get_option(flag)->count() == 0, ConfigError, "invalid flags", "--all-tiers",
              flag, " is set for each tier from the cluster spec; leave it out");
  }
}

// The tiers' names and addresses from the spec and --listen (device: PORT, edge PORT+1, cloud PORT+2).
void plan_tiers(TierGroup& g, const AllTiersOptions& o) {
  const serve::TierChain chain = serve::tier_chain(cluster::load_cluster(o.cluster), o.device);
  const size_t colon = o.listen.rfind(':');
  DEC_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < o.listen.size(), ConfigError, "invalid flag",
            "--listen", "expected HOST:PORT, got '", o.listen, "'");
  std::string host = o.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const long port = std::strtol(o.listen.c_str() + colon + 1, &end, 10);
  DEC_CHECK(*end == '\0' && port >= 0 && port <= 65535 - 2, ConfigError, "invalid flag", "--listen",
            "port must be 0..65533 (the edge and the cloud take the next two), got '", o.listen.substr(colon + 1),
            "'");
  const char* roles[] = {"device", "edge", "cloud"};
  for (int i = 0; i < 3; ++i) {
    Tier& t = g.tiers[i];
    t.role = roles[i];
    t.node = chain.nodes[i];
    t.host = host;
    t.port = port == 0 ? 0 : static_cast<int>(port) + i;
  }
}

// The flags every tier gets (shared_flags), the device's and the servers'.
struct SharedFlags {
  std::vector<std::string> device, servers;
};

std::vector<std::string> tier_args(const Tier& t, const SharedFlags& flags, const Tier* next) {
  const std::vector<std::string>& shared = t.role == "device" ? flags.device : flags.servers;
  std::vector<std::string> args = {"serve", "--tier", t.role, "--name", t.node, "--listen",
                                   (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" +
                                       std::to_string(t.port)};
  if (next != nullptr) args.insert(args.end(), {"--next", next->url()});
  args.insert(args.end(), shared.begin(), shared.end());
  return args;
}

void announce(TierGroup& g, const AllTiersOptions& o) {
  std::string text = "all tiers ready; requests enter at the device: " + g.tiers[0].url() + "/v2/models/" +
                     o.model + "/infer";
  for (const auto& t : g.tiers) {
    char line[256];
    std::snprintf(line, sizeof line, "\n  %-6s %-12s %-28s pid %d", t.role.c_str(), t.node.c_str(),
                  t.url().c_str(), static_cast<int>(t.pid));
    text += line;
  }
  g.say(text);
}

// Starts the cloud, the edge and the device in turn, each once the one before
// it listens, then waits. Returns after a signal stopped them all; throws
// ChildFailed when one ended by itself.
void supervise(TierGroup& g, const SharedFlags& shared, const AllTiersOptions& o) {
  int started = 0;  // tiers started, from the cloud down
  auto waiting_since = std::chrono::steady_clock::now();
  bool announced = false;
  for (;;) {
    if (g_all_tiers_signal) {
      const int sig = g_all_tiers_signal;
      g.say(str("signal ", sig, " (", ::strsignal(sig), "): stopping every tier"));
      g.stop_all();
      g.say("every tier stopped");
      return;
    }
    if (Tier* ended = g.reap()) {
      const ExitStatus s = *ended->status;
      g.say(str(ended->name(), " ended (", s.describe(), "); stopping the other tiers"));
      g.stop_all();
      throw ChildFailed("tier failed", ended->name(), s.describe() + "; the other tiers were stopped",
                        s.ok() ? 1 : s.code);
    }
    Tier* last = started > 0 ? &g.tiers[3 - started] : nullptr;
    if (started < 3 && (last == nullptr || last->bound_port >= 0)) {
      Tier& t = g.tiers[2 - started];
      g.spawn(t, tier_args(t, shared, last));
      ++started;
      waiting_since = std::chrono::steady_clock::now();
    } else if (started < 3) {
      DEC_CHECK(std::chrono::steady_clock::now() - waiting_since < std::chrono::duration<double>(kListenTimeoutS),
                Timeout, "a tier did not listen", last->name(), "no URL in its output after ", kListenTimeoutS, " s");
    }
    if (!announced && started == 3 && g.tiers[0].bound_port >= 0 && g.tiers[0].ready && g.tiers[1].ready &&
        g.tiers[2].ready) {
      announce(g, o);
      announced = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

void serve_all_tiers(const CLI::App& cmd, const AllTiersOptions& options) {
  check_flags(cmd, options);
  TierGroup group;
  plan_tiers(group, options);
  const SharedFlags shared{shared_flags(cmd, true), shared_flags(cmd, false)};
  struct sigaction action {};
  action.sa_handler = on_all_tiers_signal;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
  supervise(group, shared, options);
}

}  // namespace dec::cli
