// The `dec` command: subcommands are registered from the generated list
// (src/dec/cli/CMakeLists.txt); every error leaves here as one line.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>

#include "dec/cli/cli_util.h"
#include "dec/core/error.h"
#include "dec/core/malloc_tuning.h"
#include "dec/core/version.h"

#define DEC_COMMAND(name) void add_##name##_command(CLI::App& app);
namespace dec::cli {
#include "dec/cli/commands.inc"
}  // namespace dec::cli
#undef DEC_COMMAND

int main(int argc, char** argv) {
  dec::retain_freed_memory();  // before any thread or tensor exists
  CLI::App app{
      "dec: train deep networks across an end device, edge servers and the cloud.\n"
      "Run `dec <command> --help` for a command's flags and an example."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", std::string("dec ") + dec::kVersion);
#define DEC_COMMAND(name) dec::cli::add_##name##_command(app);
#include "dec/cli/commands.inc"
#undef DEC_COMMAND
  // CLI11 would only say "a subcommand is required" for a mistyped command.
  auto is_command = [&app](const std::string& name) {
    for (const auto* sub : app.get_subcommands({})) {
      if (sub->check_name(name)) return true;
    }
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    return dec::cli::report_error(
        std::string("unknown command '") + argv[1] + "' (dec): run `dec --help` for the list", 2);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return dec::cli::report_error(e.what(), 2);
  } catch (const dec::Error& e) {
    return dec::cli::report_error(e.what(), e.exit_code());
  } catch (const c10::Error& e) {
    return dec::cli::report_error(std::string("torch: ") + e.what_without_backtrace(), 70);
  } catch (const std::exception& e) {
    return dec::cli::report_error(std::string("unexpected: ") + e.what(), 70);
  }
  return 0;
}
