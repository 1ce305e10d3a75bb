#include "dec/core/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "dec/core/error.h"

extern char** environ;

namespace dec {

namespace {

ExitStatus from_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
    s.code = 128 + s.signal;
  }
  return s;
}

// "NAME=value" strings: the parent's environment with `env` set on top.
std::vector<std::string> child_environment(const Environment& env) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [n, v] : env) replaced = replaced || n == name;
    if (!replaced) out.push_back(entry);
  }
  for (const auto& [n, v] : env) out.push_back(n + "=" + v);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signal != 0) return str("killed by signal ", signal, " (", ::strsignal(signal), ")");
  return str("exit code ", code);
}

Child Child::spawn(const std::string& program, const std::vector<std::string>& args,
                   const Environment& env, const std::string& what) {
  // Everything the child needs is built here: between fork and exec it only
  // calls async-signal-safe functions.
  std::vector<std::string> argv_strings = {program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = child_environment(env);
  std::vector<char*> argv = pointers(argv_strings);
  std::vector<char*> envp = pointers(env_strings);

  // The exec reports its failure through a close-on-exec pipe: EOF means it happened.
  int fds[2];
  DEC_CHECK(::pipe2(fds, O_CLOEXEC) == 0, IoError, "cannot start a process", what,
            std::strerror(errno));
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw IoError("cannot start a process", what, std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::execve(program.c_str(), argv.data(), envp.data());
    const int err = errno;
    (void)!::write(fds[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(fds[1]);
  Child child(pid);
  int err = 0;
  ssize_t n;
  while ((n = ::read(fds[0], &err, sizeof err)) < 0 && errno == EINTR) {
  }
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof err)) {
    child.wait();
    throw IoError("cannot start a process", what, str(program, ": ", std::strerror(err)));
  }
  return child;
}

Child::Child(Child&& other) noexcept : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    this->~Child();
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

Child::~Child() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

ExitStatus Child::wait() {
  if (status_) return *status_;
  DEC_ASSERT(pid_ > 0, "wait on a Child that owns no process");
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  DEC_CHECK(r == pid_, IoError, "cannot wait for a process", str("pid ", pid_),
            std::strerror(errno));
  status_ = from_wait_status(status);
  return *status_;
}

std::optional<ExitStatus> Child::poll() {
  if (status_) return status_;
  DEC_ASSERT(pid_ > 0, "poll on a Child that owns no process");
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  DEC_CHECK(r >= 0, IoError, "cannot wait for a process", str("pid ", pid_), std::strerror(errno));
  if (r == 0) return std::nullopt;
  status_ = from_wait_status(status);
  return status_;
}

void Child::kill(int sig) {
  if (running()) ::kill(pid_, sig);
}

}  // namespace dec
