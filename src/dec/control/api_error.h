// A request the control plane refuses, with the HTTP status and the error body
// it answers: {"error": {"code", "message", "field"}} (docs/api/control-v1.yaml).
// The domain classes throw it; the HTTP layer maps it, in one place.
#pragma once

#include <string>

#include "dec/core/error.h"

namespace dec::control {

class ApiError : public Error {
 public:
  // code is a stable machine-readable word ("invalid", "not_found", "conflict");
  // field names the offending JSON field or query parameter, "" when none.
  ApiError(int status, std::string code, std::string message, std::string field = "")
      : Error(message, field, code),
        status_(status),
        code_(std::move(code)),
        message_(std::move(message)),
        field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string code_, message_, field_;
};

inline ApiError invalid(const std::string& field, const std::string& message) {
  return ApiError(422, "invalid", message, field);
}
inline ApiError not_found(const std::string& what) {
  return ApiError(404, "not_found", what + " not found");
}
inline ApiError conflict(const std::string& message, const std::string& field = "") {
  return ApiError(409, "conflict", message, field);
}

}  // namespace dec::control
