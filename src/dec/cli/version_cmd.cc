#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <cstdio>

#include "dec/core/version.h"

namespace dec::cli {

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print DEC's version and the engine it runs on.\n"
                                            "Example: dec version");
  cmd->callback([] {
    std::printf("dec %s (LibTorch %s, C++17)\n", kVersion, TORCH_VERSION);
  });
}

}  // namespace dec::cli
