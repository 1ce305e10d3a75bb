// The access log: one line per infer request, as JSON (one object a line) or
// as text (key=value pairs), each line one write(2) under a mutex so that
// lines from concurrent requests never interleave.
//
// JSON line fields: ts (UTC, ISO 8601 with milliseconds), id, model, node,
// tier, status, seconds (receipt to answer here), split [s1, s2] and
// chosen_by (when a split was made), tiers (each tier that ran: node, tier,
// blocks, queue_s, compute_s), bytes_in, bytes_out (the body received and
// answered), hop_bytes (sent to the next tier), predicted_s, device_j and
// cpu_util (at the device), batch_rows, fallback, error (when not 200).
//
// Thread safety: write() may be called from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <mutex>
#include <string>

namespace dec::serve {

struct AccessRecord {
  std::string id, model, node;
  int tier = 0;
  int status = 0;
  double seconds = 0;
  nlohmann::json split;  // [s1, s2] or null
  std::string chosen_by;
  nlohmann::json tiers = nlohmann::json::array();
  double bytes_in = 0, bytes_out = 0, hop_bytes = 0;
  double predicted_s = -1, device_j = -1, cpu_util = -1;  // < 0: not known here
  int64_t batch_rows = 0;
  std::string fallback, error;
};

class AccessLog {
 public:
  enum class Format { kJson, kText };
  // `path` "-" is stderr; a file is opened to append (created 0644).
  // Throws IoError when it cannot be opened, ConfigError for another format
  // than "json" or "text".
  AccessLog(const std::string& path, const std::string& format);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void write(const AccessRecord& r);
  // The line write() writes, without the newline.
  std::string line(const AccessRecord& r) const;

 private:
  Format format_;
  int fd_ = 2;
  bool owned_ = false;
  std::mutex mu_;  // one line at a time
};

}  // namespace dec::serve
