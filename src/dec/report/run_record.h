// A training run as recorded in its metrics file (JSON lines, docs/metrics.md):
// the one reader of a run, for `dec report` (docs/report.md) and `dec demo`.
//
// Every line is one object with "event" and "time" (Unix seconds). The events
// read here are start, plan, iteration, step (version 1's `dec train`), epoch,
// trace, baseline and summary; any subset may be present, and lines with another
// event are skipped (counted in RunRecord::ignored). Numbers that a line leaves
// out or writes as null read as NaN.
//
// Versions kOldestMetricsFormatVersion to kMetricsFormatVersion are read
// (metrics_format.h): a file whose first event is not `start` is version 1.
// Errors are CorruptFile naming "<file>:<line>", one line each: a line that is
// not a JSON object, has no string "event", or gives a known field the wrong
// type; and a `start` event of another version:
//   unsupported metrics format (<file>:<line>): format_version 9; this dec reads 1 to 2
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dec/planner/plan.h"
#include "dec/report/metrics_format.h"

namespace dec::report {

// What one node measured during one iteration (`iteration` event, "nodes").
struct NodeTimes {
  double wall_s = 0, compute_s = 0;
  double recv_wait_s = 0, send_wait_s = 0, sync_wait_s = 0;
  double loss_sum = 0, loss_samples = 0;
};

// `iteration` (a distributed job's rank 0, or `dec train`), or version 1's
// `step` (`dec train`).
struct Iteration {
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  double measured_s = 0;   // wall time of the iteration: iteration.measured_s or step.step_s
  double predicted_s = 0;  // the plan's prediction; NaN without a plan (`dec train`)
  std::map<std::string, NodeTimes> nodes;    // by node name
  std::map<std::string, double> bytes_sent;  // "a->b" -> bytes in this iteration
};

// `epoch`: evaluation at the end of an epoch.
struct Epoch {
  int64_t epoch = 0;                                        // 0-based
  int64_t step = 0;                                         // the last step of the epoch
  double train_loss = 0, test_loss = 0, test_accuracy = 0;  // accuracy in [0, 1]
};

// One interval of a node's work within one iteration (`trace` event).
struct Span {
  std::string kind;  // "compute", "send", "recv", "allreduce" (others are drawn as "other")
  double start_s = 0, end_s = 0;  // seconds from the iteration's start on that node
  std::string label;              // e.g. "fwd p0 mb1"; may be empty
};

// `trace`: one measured iteration, per node in the order the file lists them.
struct Trace {
  int64_t step = 0;
  std::vector<std::pair<std::string, std::vector<Span>>> nodes;
};

// `baseline`: a baseline plan that `dec demo` ran (or only predicted).
struct BaselineRun {
  std::string kind;        // "cloud-only", "device-only", ...
  double predicted_s = 0;  // NaN if the baseline does not apply
  double measured_s = 0;   // NaN when it was not run (null in the file)
  int64_t iterations = 0;  // iterations measured
  std::string note;
};

struct RunRecord {
  std::string source;                  // the file it was read from
  int format_version = 0;              // of the first event (1: no `start`); 0 for no lines
  std::optional<planner::Plan> plan;   // the last `plan` event
  std::vector<Iteration> iterations;   // `iteration` and `step` events, in file order
  // A run without a plan (`dec train`): iterations, but no `plan` event and no
  // iteration with a prediction.
  bool single_node = false;
  std::vector<Epoch> epochs;           // in file order
  std::optional<Trace> trace;          // the last `trace` event
  std::vector<BaselineRun> baselines;  // one per kind, the last one of each, in first-seen order
  // `summary` events merged (a later key replaces an earlier one), in first-seen
  // order; values as display text (strings unquoted, other JSON as written).
  std::vector<std::pair<std::string, std::string>> summary;
  double first_time = 0, last_time = 0;  // range of "time" over the file; NaN if none
  int64_t lines = 0;                     // non-blank lines read
  int64_t ignored = 0;                   // lines with an event not listed above
};

// Parses metrics text; `where` names it in errors (a path). Throws CorruptFile
// with where = "<where>:<line>" on the first bad line (1-based line numbers).
RunRecord parse_metrics(const std::string& text, const std::string& where);

// Reads and parses a metrics file. Throws IoError if it cannot be read, and
// CorruptFile as parse_metrics.
RunRecord read_metrics(const std::string& path);

}  // namespace dec::report
