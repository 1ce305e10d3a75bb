// The HTML report of a training run (`dec report`, docs/report.md).
//
// One self-contained page that opens offline from a file: Chart.js 3 (Debian's
// libjs-chart.js, inlined at build time), the page's own script and style, and
// the run's data as JSON, all inside the HTML. Sections appear for what the
// metrics hold and say what is missing otherwise: summary; the plan (drawing
// and tables); a measured timeline of one iteration per node; loss and test
// accuracy; predicted against measured iteration time for the plan and every
// baseline, with the speedup of DEC over each.
//
// The page sets <body data-rendered="ok"> once every chart is drawn, or
// data-rendered="error" with the message in #report-errors when a script fails,
// so a headless browser can check it.
//
// Thread safety: the functions keep no state; concurrent calls are safe.
#pragma once

#include <string>

#include "dec/report/run_record.h"

namespace dec::report {

struct ReportOptions {
  // Page title. "" = "DEC run report", followed by the summary's "scenario" and
  // "workload" values when the run has them.
  std::string title;
  // Most points per line chart (loss, iteration time per step); longer series
  // are averaged over consecutive steps to this many. >= 2.
  int max_points = 2000;
};

// The whole HTML page. Pure: no file or clock access; the same run and options
// give the same bytes. Throws ConfigError if options are invalid.
std::string render_report(const RunRecord& run, const ReportOptions& options = {});

// render_report() written to `path` atomically (temp file + fsync + rename): a
// failed write leaves the old file or none, never half a page. Throws IoError.
void write_report(const std::string& path, const RunRecord& run, const ReportOptions& options = {});

}  // namespace dec::report
