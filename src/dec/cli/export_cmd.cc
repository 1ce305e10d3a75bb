// `dec export`: a checkpoint as one state dict that Python's torch.load opens.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "dec/core/units.h"
#include "dec/runtime/export.h"

namespace dec::cli {

void add_export_command(CLI::App& app) {
  auto checkpoint = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "export",
      "Gather a checkpoint's blocks into one state dict for Python (torch.load gives a dict).\n"
      "Example: dec export --checkpoint ckpt --out model.pt   "
      "then in Python: torch.load('model.pt')");
  cmd->add_option("--checkpoint", *checkpoint, "Checkpoint root or step directory")->required();
  cmd->add_option("--out", *out, "Output file (.pt)")->required();
  cmd->callback([checkpoint, out] {
    runtime::ExportSummary s = runtime::export_state_dict(*checkpoint, *out);
    std::printf("exported %zu tensors (%s) from %s (step %lld) to %s\n", s.tensors,
                format_bytes(s.bytes).c_str(), s.checkpoint_dir.c_str(),
                static_cast<long long>(s.step), out->c_str());
  });
}

}  // namespace dec::cli
