// `dec report`: the metrics of a run -> one self-contained HTML page
// (docs/report.md). The work is in dec::report; this file only maps flags.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "dec/report/report.h"
#include "dec/report/run_record.h"

namespace dec::cli {

namespace {
struct ReportFlags {
  std::string metrics;
  std::string out = "report.html";
  std::string title;
};
}  // namespace

void add_report_command(CLI::App& app) {
  auto f = std::make_shared<ReportFlags>();
  auto* cmd = app.add_subcommand(
      "report",
      "Write a self-contained HTML report of a training run from its metrics file: the plan,\n"
      "a measured timeline of one iteration, loss and accuracy, predicted vs measured iteration\n"
      "time for the plan and each baseline. Opens offline.\n"
      "Example: dec report --metrics out/demo/metrics.jsonl --out out/demo/report.html");
  cmd->add_option("--metrics", f->metrics, "Metrics file of the run (JSON lines, docs/metrics.md)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", f->out, "Write the HTML report here")->capture_default_str();
  cmd->add_option("--title", f->title,
                  "Page title (default: \"DEC run report\" and the run's scenario and workload)");
  cmd->callback([f] {
    const report::RunRecord run = report::read_metrics(f->metrics);
    report::ReportOptions options;
    options.title = f->title;
    report::write_report(f->out, run, options);
    std::printf("%s\n", f->out.c_str());
  });
}

}  // namespace dec::cli
