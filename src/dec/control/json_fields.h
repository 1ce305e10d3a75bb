// Reading fields of a request's JSON body: a missing required field or a value of
// the wrong type or size is an ApiError 422 naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "dec/control/api_error.h"

namespace dec::control {

// The body must be a JSON object.
inline void require_object(const nlohmann::json& body) {
  if (!body.is_object()) throw ApiError(400, "bad_request", "the body must be a JSON object");
}

inline std::optional<std::string> optional_string(const nlohmann::json& body, const char* field,
                                                  size_t max_len = 200) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw invalid(field, "must be a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max_len) throw invalid(field, "longer than " + std::to_string(max_len) + " bytes");
  return s;
}

inline std::string required_string(const nlohmann::json& body, const char* field,
                                   size_t max_len = 200) {
  auto s = optional_string(body, field, max_len);
  if (!s || s->empty()) throw invalid(field, "is required");
  return *s;
}

inline std::optional<int64_t> optional_integer(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) throw invalid(field, "must be an integer");
  return it->get<int64_t>();
}

inline std::optional<bool> optional_bool(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) throw invalid(field, "must be true or false");
  return it->get<bool>();
}

}  // namespace dec::control
