// Runs a solver in a forked child so that a crash inside it (CBC has crashed in
// CglPreProcess on long time-limited solves of large models) cannot take the
// planner down. The child inherits the model by copy-on-write and sends the result back
// through a pipe; the parent enforces a wall-clock deadline.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "dec/core/error.h"
#include "dec/planner/solver.h"

namespace dec::planner {
namespace {

constexpr uint32_t kMagic = 0xdec501e5;

void append(std::string* buf, const void* p, size_t n) { buf->append(static_cast<const char*>(p), n); }

std::string encode(const SolveResult& r) {
  std::string b;
  const uint32_t magic = kMagic;
  const int32_t status = static_cast<int32_t>(r.status);
  const uint64_t n = r.values.size(), m = r.message.size();
  append(&b, &magic, sizeof magic);
  append(&b, &status, sizeof status);
  append(&b, &r.objective, sizeof r.objective);
  append(&b, &r.bound, sizeof r.bound);
  append(&b, &r.seconds, sizeof r.seconds);
  append(&b, &n, sizeof n);
  append(&b, r.values.data(), n * sizeof(double));
  append(&b, &m, sizeof m);
  b.append(r.message);
  return b;
}

// Returns false when the bytes are not one complete, well-formed result.
bool decode(const std::string& b, SolveResult* r) {
  size_t at = 0;
  auto take = [&](void* p, size_t n) {
    if (at + n > b.size()) return false;
    std::memcpy(p, b.data() + at, n);
    at += n;
    return true;
  };
  uint32_t magic = 0;
  int32_t status = 0;
  uint64_t n = 0, m = 0;
  if (!take(&magic, sizeof magic) || magic != kMagic) return false;
  if (!take(&status, sizeof status) || status < 0 || status > static_cast<int>(SolveStatus::kFailed))
    return false;
  r->status = static_cast<SolveStatus>(status);
  if (!take(&r->objective, sizeof(double)) || !take(&r->bound, sizeof(double)) ||
      !take(&r->seconds, sizeof(double)) || !take(&n, sizeof n) || n > (b.size() / sizeof(double)))
    return false;
  r->values.resize(n);
  if (!take(r->values.data(), n * sizeof(double)) || !take(&m, sizeof m) || at + m != b.size())
    return false;
  r->message.assign(b.data() + at, m);
  return true;
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // the parent went away: nothing left to do
    done += static_cast<size_t>(w);
  }
}

[[noreturn]] void run_child(Solver& inner, const Milp& milp, const SolveOptions& o, int fd) {
  // Library code never prints: silence anything the solver writes.
  int null = ::open("/dev/null", O_WRONLY);
  if (null >= 0) {
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
  }
  SolveResult r;
  try {
    r = inner.solve(milp, o);
  } catch (const std::exception& e) {
    r = SolveResult{};
    r.status = SolveStatus::kFailed;
    r.message = std::string("solver threw: ") + e.what();
  }
  write_all(fd, encode(r));
  ::close(fd);
  ::_exit(0);
}

class IsolatedSolver : public Solver {
 public:
  IsolatedSolver(std::unique_ptr<Solver> inner, double grace_s)
      : inner_(std::move(inner)), grace_s_(grace_s) {}

  std::string name() const override { return inner_->name() + " (isolated)"; }

  SolveResult solve(const Milp& milp, const SolveOptions& o) override {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    SolveResult failed;
    failed.status = SolveStatus::kFailed;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      failed.message = str("cannot create a pipe for the solver: ", std::strerror(errno));
      return failed;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      failed.message = str("cannot fork the solver: ", std::strerror(errno));
      return failed;
    }
    if (pid == 0) {
      ::close(fds[0]);
      run_child(*inner_, milp, o, fds[1]);
    }
    ::close(fds[1]);
    const auto deadline = t0 + std::chrono::duration<double>(o.time_limit_s + grace_s_);
    std::string bytes;
    bool timed_out = false;
    char buf[1 << 16];
    for (;;) {
      const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      pollfd p{fds[0], POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) continue;  // the loop re-checks the deadline
      ssize_t got = ::read(fds[0], buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;  // EOF: the child closed its end (done or dead)
      bytes.append(buf, static_cast<size_t>(got));
    }
    ::close(fds[0]);
    if (timed_out) ::kill(pid, SIGKILL);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (timed_out) {
      failed.message = str("the solver did not stop within ", o.time_limit_s, " s + ", grace_s_,
                           " s grace; it was killed");
      failed.seconds = seconds;
      return failed;
    }
    if (WIFSIGNALED(wstatus)) {
      failed.message = str("the solver crashed (signal ", WTERMSIG(wstatus), ", ",
                           strsignal(WTERMSIG(wstatus)), ")");
      failed.seconds = seconds;
      return failed;
    }
    SolveResult r;
    if (!decode(bytes, &r) || (r.has_solution() && r.values.size() != static_cast<size_t>(milp.num_vars()))) {
      failed.message = str("the solver exited (status ", WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
                           ") without a complete result (", bytes.size(), " bytes)");
      failed.seconds = seconds;
      return failed;
    }
    r.seconds = seconds;
    return r;
  }

 private:
  std::unique_ptr<Solver> inner_;
  double grace_s_;
};

}  // namespace

std::unique_ptr<Solver> isolate(std::unique_ptr<Solver> inner, double grace_s) {
  DEC_ASSERT(inner != nullptr, "no solver to isolate");
  return std::make_unique<IsolatedSolver>(std::move(inner), grace_s);
}

}  // namespace dec::planner
