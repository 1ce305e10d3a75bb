// Pieces the server's sources share (not part of the module's interface).
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "dec/core/error.h"
#include "dec/serve/energy.h"
#include "dec/serve/server.h"

namespace dec::serve {

inline constexpr const char* kInputName = "input";
inline constexpr const char* kOutputName = "logits";

inline double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline void answer(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

inline void answer_error(httplib::Response& res, int status, const std::string& message) {
  if (status == 503) res.set_header("Retry-After", "1");
  answer(res, status, nlohmann::json{{"error", message}});
}

struct InferenceServer::Outcome {
  int status = 500;
  double queue_s = -1, compute_s = -1;
  // The request's deadline ("timeout" parameter, --request-timeout); max: none.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  double timeout_s = 0;  // the timeout that set the deadline (0: none)
  EnergyMeter meter;     // started at receipt (the device's measured energy)
  // For the answer and the access log:
  std::string id, chosen_by, fallback, error;
  nlohmann::json split, ran = nlohmann::json::array();
  double hop_bytes = 0, predicted_s = -1;
  double device_j = -1, cpu_util = -1, ghz = 0;
  std::string ghz_source;
  int64_t batch_rows = 0;
};

inline std::string deadline_message(double timeout_s) {
  return str("the request's deadline passed (timeout ", timeout_s, " s)");
}

}  // namespace dec::serve
