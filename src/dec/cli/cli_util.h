// Shared pieces of the `dec` subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "dec/core/error.h"

namespace dec::cli {

// A child process that a command started (a worker of `dec launch`, a run of
// `dec demo`) failed. The command ends with the child's exit code, as torchrun
// does, so a script sees the code of the failure itself; the child has already
// printed its own error, this names which child it was.
class ChildFailed : public Error {
 public:
  ChildFailed(std::string what, std::string where, std::string why, int code)
      : Error(std::move(what), std::move(where), std::move(why)), code_(code) {}
  int exit_code() const override { return code_; }

 private:
  int code_;
};

// Prints `dec: error: <message>` on stderr (one line) and returns the exit code.
int report_error(const std::string& message, int code);

// Prints `dec: warning: <what> (<where>): <why>` on stderr (one line): the
// command goes on.
void report_warning(const std::string& what, const std::string& where, const std::string& why);

// Sets torch's intra-op threads and keeps OpenBLAS single-threaded: the two
// pools would otherwise each start one thread per core and oversubscribe them.
void set_threads(int threads);

// True when stderr is a terminal: progress is then a live line, else periodic lines.
bool stderr_is_tty();

}  // namespace dec::cli
