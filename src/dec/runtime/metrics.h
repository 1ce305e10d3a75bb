// Metrics as JSON lines: one object per line, appended and flushed as they
// happen, so a crashed run keeps everything up to its last line and a resumed
// run continues the same file. docs/metrics.md lists the fields per "event".
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace dec::runtime {

class MetricsWriter {
 public:
  // path "" = discard. Throws IoError if the file cannot be opened for append.
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
