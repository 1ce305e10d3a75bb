// The data behind the report's charts, as the JSON that report.js reads from
// <script id="report-data">. Internal to dec_report; the keys are the contract
// with report.js, and a key is null when the run has nothing to draw for it:
//
//   timeline   {step, nodes: [name], spans: [{node, kind, start, end, label}],
//               predicted_s}                               from `trace`
//   loss       {train: [{x: step, y}], bucket, test: [{x: step, y}]}
//   accuracy   {labels: ["epoch 1", ...], accuracy: [percent]}   from `epoch`
//   times      {labels: [kind], predicted: [s], measured: [s]}   compare_times()
//   per_step   {measured: [{x, y}], predicted: [{x, y}], bucket}
//   breakdown  {nodes: [name], parts: [{name, values: [s per node]}]}
//
// Series longer than max_points are averaged over `bucket` consecutive steps.
#pragma once

#include <nlohmann/json.hpp>

#include "dec/report/run_record.h"

namespace dec::report {

nlohmann::json chart_data(const RunRecord& run, int max_points);

// Per node, the mean seconds per iteration spent computing, waiting to receive,
// waiting on sends, waiting on gradient sync, and the rest of its wall time,
// over the iterations that compare_times() measures. Empty when no iteration
// carries per-node times.
struct NodeBreakdown {
  std::string node;
  double wall_s = 0, compute_s = 0, recv_wait_s = 0, send_wait_s = 0, sync_wait_s = 0, other_s = 0;
};
std::vector<NodeBreakdown> node_breakdown(const RunRecord& run);

}  // namespace dec::report
