// Shared by the report's tests: the realistic run under tests/report/data/ and
// small helpers to write metrics lines.
#pragma once

#include <string>

namespace dec::report::testing {

// A 3-node S2-fast job (dev0 - edge0 - cloud) as `dec demo` records it: the
// plan as the planner wrote it (6 baselines), 20 iterations over 2 epochs, a
// trace of step 5, 5 baseline runs (data-parallel equals DEC's plan and was not
// run), a summary and one checkpoint event (not drawn). Recorded before the
// metrics carried a version: a version 1 file, with no start event.
inline std::string demo_metrics_path() {
  return DEC_SOURCE_DIR "/tests/report/data/demo_metrics.jsonl";
}

}  // namespace dec::report::testing
