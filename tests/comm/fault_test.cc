// Failures of real processes: a peer killed with SIGKILL, a peer frozen with SIGSTOP.
// The test process only forks and watches; both ranks are children, so no Gloo or
// store thread exists in the parent when it forks. Children report through pipes
// and always end with _exit; TearDown kills and reaps whatever is left.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "comm_testing.h"
#include "dec/comm/group.h"
#include "dec/core/error.h"

namespace dec::comm {
namespace {

using namespace std::chrono_literals;

struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() { EXPECT_EQ(::pipe(fd), 0); }
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void write(const std::string& s) const {
    const std::string line = s + "\n";
    ssize_t n = ::write(fd[1], line.data(), line.size());
    (void)n;
  }
  // Reads one line, waiting at most `timeout`; "" on timeout or EOF.
  std::string read_line(std::chrono::milliseconds timeout) const {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{fd[0], POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char c;
      if (::read(fd[0], &c, 1) != 1) return "";
      if (c == '\n') return out;
      out += c;
    }
  }
};

class ProcessFault : public ::testing::Test {
 protected:
  // Runs `body` in a child process that exits with its return value (1 if it throws).
  pid_t spawn(const std::function<int()>& body) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 1;
      try {
        rc = body();
      } catch (...) {  // the child reports through its pipe; exit code 1 says it threw
      }
      ::_exit(rc);
    }
    EXPECT_GT(pid, 0);
    children_.push_back(pid);
    return pid;
  }

  void TearDown() override {
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);  // also ends a stopped process
      ::waitpid(pid, nullptr, 0);
    }
  }

  // Rank 0 (the survivor, in a child) hosts the store, builds the world group with
  // `timeout`, reports its port, and runs `op` (by default a recv_tensor from
  // rank 1); it reports the error type, message and seconds spent in `op`. Rank 1 (the victim)
  // joins, builds the group, reports "ready" and waits for a signal. Returns the survivor's report
  // after `act` has been applied to the victim.
  std::string survivor_report(
      std::chrono::milliseconds timeout, const std::function<void(pid_t victim)>& act,
      const std::function<void(Group&)>& op = [](Group& g) { g.recv_tensor(1, 7); }) {
    Pipe port_pipe, ready_pipe, result_pipe;
    spawn([&] {
      auto o = testing::rank_options(0, 2, "fault", 10000ms);
      o.node_name = "survivor";
      o.on_listening = [&](std::uint16_t port) { port_pipe.write(std::to_string(port)); };
      Rendezvous rv = rendezvous(o);
      Group g = Group::world(rv, GroupOptions().with_timeout(timeout));
      const auto t0 = std::chrono::steady_clock::now();
      try {
        op(g);
        result_pipe.write("returned");
      } catch (const PeerLost& e) {
        result_pipe.write(dec::str("PeerLost ", testing::seconds_since(t0), " ", e.what()));
      } catch (const Timeout& e) {
        result_pipe.write(dec::str("Timeout ", testing::seconds_since(t0), " ", e.what()));
      } catch (const std::exception& e) {
        result_pipe.write(dec::str("other ", testing::seconds_since(t0), " ", e.what()));
      }
      return 0;
    });
    const std::string port = port_pipe.read_line(10s);
    if (port.empty()) return "no port";
    const pid_t victim = spawn([&] {
      auto o = testing::rank_options(1, 2, "fault", 10000ms);
      o.init.master_port = static_cast<std::uint16_t>(std::stoi(port));
      o.node_name = "victim";
      Rendezvous rv = rendezvous(o);
      Group g = Group::world(rv, GroupOptions().with_timeout(timeout));
      ready_pipe.write("ready");
      for (;;) ::pause();
      return 0;
    });
    if (ready_pipe.read_line(10s) != "ready") return "victim not ready";
    std::this_thread::sleep_for(200ms);  // the survivor is now blocked in recv
    act(victim);
    return result_pipe.read_line(10s);
  }

  std::vector<pid_t> children_;
};

TEST_F(ProcessFault, KilledPeerIsReportedAsPeerLostQuickly) {
  std::chrono::steady_clock::time_point killed;
  const std::string report = survivor_report(10000ms, [&](pid_t victim) {
    killed = std::chrono::steady_clock::now();
    ::kill(victim, SIGKILL);
  });
  RecordProperty("report", report);
  RecordProperty("latency_s", std::to_string(testing::seconds_since(killed)));
  // PeerLost, not Timeout: the survivor learnt it from the closed connection,
  // long before its 10 s deadline would have said so.
  EXPECT_EQ(report.rfind("PeerLost ", 0), 0u) << report;
  EXPECT_NE(report.find("rank 1 (victim)"), std::string::npos) << report;
}

TEST_F(ProcessFault, PeerKilledDuringAllreduceIsReportedAsPeerLost) {
  const std::string report = survivor_report(
      10000ms, [](pid_t victim) { ::kill(victim, SIGKILL); },
      [](Group& g) {
        at::Tensor t = at::ones({1 << 16});
        g.allreduce_sum(t);  // the victim never joins it
      });
  RecordProperty("report", report);
  EXPECT_EQ(report.rfind("PeerLost ", 0), 0u) << report;
  EXPECT_NE(report.find("group 'world'"), std::string::npos) << report;  // PeerLost: before the deadline
}

TEST_F(ProcessFault, FrozenPeerIsReportedAsTimeoutAtTheDeadline) {
  const std::string report = survivor_report(1000ms, [](pid_t victim) { ::kill(victim, SIGSTOP); });
  RecordProperty("report", report);
  EXPECT_EQ(report.rfind("Timeout ", 0), 0u) << report;
  EXPECT_NE(report.find("rank 1 (victim)"), std::string::npos) << report;
  // The recv started ~0.2 s before the signal; the deadline is 1 s from its start.
  const double seconds = std::stod(report.substr(8));
  EXPECT_GT(seconds, 0.9) << report;   // not before the deadline
  EXPECT_LT(seconds, 20.0) << report;  // the job's deadline, not Gloo's 30 minutes
}

}  // namespace
}  // namespace dec::comm
