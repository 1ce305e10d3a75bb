// Shared pieces of the `dec` subcommands.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace dec::cli {

// Prints `dec: error: <message>` on stderr (one line) and returns the exit code.
int report_error(const std::string& message, int code);

// Sets torch's intra-op threads and keeps OpenBLAS single-threaded so the two
// pools do not oversubscribe the cores (see DESIGN.md, facts about the engine).
void set_threads(int threads);

// True when stderr is a terminal: progress is then a live line, else periodic lines.
bool stderr_is_tty();

}  // namespace dec::cli
