#include "dec/serve/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "dec/core/error.h"

namespace dec::serve {

namespace {

using json = nlohmann::json;

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A text value: bare when it has no space, quote or '=', else JSON-quoted.
std::string text_value(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"=\t\n") == std::string::npos) return v;
  return json(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

AccessLog::AccessLog(const std::string& path, const std::string& format) {
  DEC_CHECK(format == "json" || format == "text", ConfigError, "invalid option", "--log-format",
            "must be json or text, got '", format, "'");
  format_ = format == "json" ? Format::kJson : Format::kText;
  if (path == "-") return;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  DEC_CHECK(fd_ >= 0, IoError, "cannot open the access log", path, std::strerror(errno));
  owned_ = true;
}

AccessLog::~AccessLog() {
  if (owned_) ::close(fd_);
}

std::string AccessLog::line(const AccessRecord& r) const {
  if (format_ == Format::kJson) {
    json j = {{"ts", utc_now()}, {"id", r.id},         {"model", r.model},       {"node", r.node},
              {"tier", r.tier},  {"status", r.status}, {"seconds", r.seconds},   {"bytes_in", r.bytes_in},
              {"bytes_out", r.bytes_out}};
    if (!r.split.is_null()) j["split"] = r.split;
    if (!r.chosen_by.empty()) j["chosen_by"] = r.chosen_by;
    if (!r.tiers.empty()) j["tiers"] = r.tiers;
    if (r.hop_bytes > 0) j["hop_bytes"] = r.hop_bytes;
    if (r.predicted_s >= 0) j["predicted_s"] = r.predicted_s;
    if (r.device_j >= 0) j["device_j"] = r.device_j;
    if (r.cpu_util >= 0) j["cpu_util"] = r.cpu_util;
    if (r.batch_rows > 0) j["batch_rows"] = r.batch_rows;
    if (!r.fallback.empty()) j["fallback"] = r.fallback;
    if (!r.error.empty()) j["error"] = r.error;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::string s = str("ts=", utc_now(), " id=", text_value(r.id), " model=", text_value(r.model),
                      " node=", text_value(r.node), " tier=", r.tier, " status=", r.status, " seconds=", num(r.seconds));
  if (!r.split.is_null()) s += str(" split=", r.split[0].get<size_t>(), ",", r.split[1].get<size_t>());
  if (!r.chosen_by.empty()) s += " chosen_by=" + text_value(r.chosen_by);
  // tiers=node:first-end:queue_s:compute_s,...
  std::string tiers;
  for (const json& e : r.tiers) {
    if (!tiers.empty()) tiers += ",";
    tiers += str(e.value("node", std::string("?")), ":", e["blocks"][0].get<size_t>(), "-",
                 e["blocks"][1].get<size_t>(), ":", num(e.value("queue_s", 0.0)), ":", num(e.value("compute_s", 0.0)));
  }
  if (!tiers.empty()) s += " tiers=" + text_value(tiers);
  s += str(" bytes_in=", num(r.bytes_in), " bytes_out=", num(r.bytes_out));
  if (r.hop_bytes > 0) s += " hop_bytes=" + num(r.hop_bytes);
  if (r.predicted_s >= 0) s += " predicted_s=" + num(r.predicted_s);
  if (r.device_j >= 0) s += " device_j=" + num(r.device_j);
  if (r.cpu_util >= 0) s += " cpu_util=" + num(r.cpu_util);
  if (r.batch_rows > 0) s += str(" batch_rows=", r.batch_rows);
  if (!r.fallback.empty()) s += " fallback=" + text_value(r.fallback);
  if (!r.error.empty()) s += " error=" + text_value(r.error);
  return s;
}

void AccessLog::write(const AccessRecord& r) {
  std::string l = line(r);
  l += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  size_t at = 0;
  while (at < l.size()) {
    const ssize_t n = ::write(fd_, l.data() + at, l.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or a closed stderr loses the line, not the request
    at += static_cast<size_t>(n);
  }
}

}  // namespace dec::serve
