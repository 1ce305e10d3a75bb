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

// Is s UTF-8 (RFC 3629: no overlong forms, no surrogates)? A query parameter
// bound as text must be: PostgreSQL refuses other bytes (an error of the
// database rather than of the caller) where SQLite stores them.
inline bool is_utf8(const std::string& s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = byte(i);
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (byte(i + k) & 0xC0) == 0x80;
    if (ok && n >= 3) {
      unsigned char d = byte(i + 1);
      ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d > 0x9F) && !(c == 0xF0 && d < 0x90) &&
           !(c == 0xF4 && d > 0x8F);
    }
    if (!ok) return false;
    i += n;
  }
  return true;
}

// A query parameter that must be UTF-8: ApiError 422 naming it otherwise.
inline void require_utf8(const char* field, const std::string& s) {
  if (!is_utf8(s)) throw invalid(field, "not UTF-8 text");
}

}  // namespace dec::control
