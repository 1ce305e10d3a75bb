// Predicted against measured iteration time: DEC's plan beside every baseline.
//
// The plan's row takes its prediction from the `plan` event (else from the
// iterations' predicted_s) and its measurement from the `iteration` events:
// dec::steady_mean of their measured_s (core/stats.h: the first
// kWarmupIterations left out while any remain). A baseline's row merges the plan's baseline of that kind
// (prediction, note) with the `baseline` event of that kind (which wins).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dec/report/run_record.h"

namespace dec::report {

struct TimeRow {
  std::string kind;        // "dec" for the plan, else the baseline's kind
  double predicted_s = 0;  // NaN: unknown, or the baseline does not apply
  double measured_s = 0;   // NaN: not run
  int64_t iterations = 0;  // iterations behind measured_s
  std::string note;
  double ratio = 0;              // measured / predicted; NaN if either is unknown
  double predicted_speedup = 0;  // this row's predicted / DEC's predicted; NaN for "dec" or unknown
  double measured_speedup = 0;   // this row's measured / DEC's measured; NaN for "dec" or unknown
  bool same_plan_as_dec = false; // a baseline whose paths are DEC's (it measures DEC's plan again)
};

// Rows in order: "dec" first (when there is a plan or an iteration with a
// prediction), then the plan's baselines in plan order, then baselines known
// only from `baseline` events in file order. Empty when there is nothing to compare.
std::vector<TimeRow> compare_times(const RunRecord& run);

// The mean measured iteration time as compare_times computes it for "dec":
// dec::steady_mean over the iterations with a finite measured_s; NaN when none
// has one. `count` (optional) receives the iterations averaged. `dec report`
// and `dec demo` both take a run's time from here.
double mean_measured_s(const RunRecord& run, int64_t* count = nullptr);

// Node names for display: the plan's nodes by tier (device, edge, cloud, other),
// in plan order within a tier, then names seen only in the trace or the
// iterations, in the order first seen.
std::vector<std::string> node_order(const RunRecord& run);

}  // namespace dec::report
