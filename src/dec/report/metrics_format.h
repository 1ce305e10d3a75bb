// The metrics file's format version (JSON lines, docs/metrics.md), shared by
// its writer (runtime::MetricsWriter) and its reader (report::parse_metrics).
//
// Every writer that opens the file first writes a `start` event carrying
// kMetricsFormatVersion; a file whose first event is not `start` predates
// versions and is version 1. Header-only and dependency-free, so the runtime
// includes it without LibTorch reaching the report or the report reaching the runtime.
#pragma once

namespace dec::report {

// The version this dec writes, and the oldest it still reads.
inline constexpr int kMetricsFormatVersion = 2;
inline constexpr int kOldestMetricsFormatVersion = 1;

// The event that opens every writer's lines: {"event": "start", "format_version": 2, ...}.
inline constexpr const char* kStartEvent = "start";

}  // namespace dec::report
