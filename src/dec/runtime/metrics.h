// Metrics as JSON lines: one object per line, appended and flushed as they
// happen, so a crashed run keeps everything up to its last line and a resumed
// run continues the same file. docs/metrics.md specifies every event and field,
// and the format's versions (report/metrics_format.h).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace dec::runtime {

class MetricsWriter {
 public:
  // path "" = discard. Opens the file for append and writes the `start` event
  // that carries the format version, {"event": "start", "format_version": N,
  // "dec_version": "0.1.0", "time": ...}: the file's first line, or the first
  // of this writer's lines after a resumed run's or an earlier writer's.
  // Throws IoError if the file cannot be opened or written.
  explicit MetricsWriter(const std::string& path);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Writes `record` as one line (adds "time": seconds since the epoch).
  void write(nlohmann::json record);

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
};

}  // namespace dec::runtime
