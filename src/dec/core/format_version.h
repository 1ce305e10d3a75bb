// How every reader of a versioned file refuses a version it does not know: one
// line naming the file and both versions (docs/errors.md, docs/architecture.md
// "File formats"), e.g.
//   unsupported plan format (plan.json): format_version 9; this dec reads 1 to 2
#pragma once

#include <cstdint>
#include <string>

#include "dec/core/error.h"

namespace dec {

// "format_version <found>; this dec reads <oldest> to <newest>" ("reads <newest>"
// when it reads one version only).
inline std::string format_version_why(const std::string& found, int oldest, int newest) {
  return oldest == newest ? str("format_version ", found, "; this dec reads ", newest)
                          : str("format_version ", found, "; this dec reads ", oldest, " to ", newest);
}

// Throws E("unsupported <format> format", where, format_version_why(...)) unless
// oldest <= version <= newest.
template <typename E>
void check_format_version(int64_t version, int oldest, int newest, const std::string& format,
                          const std::string& where) {
  if (version < oldest || version > newest) {
    throw E("unsupported " + format + " format", where, format_version_why(std::to_string(version), oldest, newest));
  }
}

}  // namespace dec
