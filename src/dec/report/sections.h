// The report's sections as HTML fragments (internal to dec_report; report.cc
// assembles the page). Each returns one <section> that is complete without
// script: tables and notes are written here, and a chart is an empty
// <canvas id="..."> that report.js fills from chart_data(). A section whose
// events are missing says which events it needs instead.
#pragma once

#include <string>

#include "dec/report/run_record.h"

namespace dec::report {

std::string summary_section(const RunRecord& run);
std::string plan_section(const RunRecord& run);
std::string timeline_section(const RunRecord& run);
std::string training_section(const RunRecord& run);
std::string times_section(const RunRecord& run);

// "2024-05-01 12:00:00 UTC" for Unix seconds; "-" when not finite.
std::string format_utc(double unix_seconds);

}  // namespace dec::report
