// Child processes: start a program, wait for it, signal it. `dec launch` starts
// its workers and `dec demo` its runs this way, both as `dec` itself
// (kSelfExe) with other arguments.
//
// Contract:
// - spawn() forks and execs `program` with argv = {program, args...} and the
//   parent's environment with `env` set on top. It returns only once the exec
//   has happened: a program that cannot be executed is an IoError in the
//   parent (naming `what`), never a child that prints and exits. stdout and
//   stderr are flushed first, so nothing buffered is written twice.
// - The child stays in the parent's process group: a Ctrl-C on the terminal,
//   or a signal to the group, reaches it too.
// - A Child owns its process until it is reaped. Destroying one that is still
//   running sends it SIGKILL and reaps it, so an error while starting several
//   children leaves none behind.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dec {

// This program, as Linux names it for the running process.
inline constexpr const char* kSelfExe = "/proc/self/exe";

// How a child ended.
struct ExitStatus {
  int code = 0;    // its exit code, or 128 + the signal that ended it (the shell's convention)
  int signal = 0;  // the signal that ended it; 0 when it exited
  bool ok() const { return code == 0; }
  // "exit code 3", "killed by signal 9 (Killed)".
  std::string describe() const;
};

using Environment = std::vector<std::pair<std::string, std::string>>;  // name, value

class Child {
 public:
  // Starts `program args...`; `what` names it in errors ("worker (local rank 1)").
  // Throws IoError if the fork or the exec fails.
  static Child spawn(const std::string& program, const std::vector<std::string>& args,
                     const Environment& env, const std::string& what);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Blocks until the child ends (retrying when a signal interrupts the wait).
  ExitStatus wait();
  // The status if the child has ended, without blocking; nullopt while it runs.
  std::optional<ExitStatus> poll();
  // Sends `sig` to the child while it has not been reaped; else does nothing.
  void kill(int sig);

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

}  // namespace dec
