// Files compiled into dec_report (src/dec/report/CMakeLists.txt generates their
// definitions with embed.cmake): the page never loads anything at run time.
#pragma once

#include <string_view>

namespace dec::report::embedded {

std::string_view chart_js();    // Chart.js 3 UMD build from libjs-chart.js (global `Chart`)
std::string_view report_js();   // src/dec/report/report.js: draws the charts from #report-data
std::string_view report_css();  // src/dec/report/report.css

}  // namespace dec::report::embedded
