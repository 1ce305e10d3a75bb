#include "dec/core/error.h"

namespace dec {
namespace {
std::string format(const std::string& what, const std::string& where, const std::string& why) {
  std::string s = what;
  if (!where.empty()) s += " (" + where + ")";
  if (!why.empty()) s += ": " + why;
  return s;
}
}  // namespace

Error::Error(std::string what, std::string where, std::string why)
    : std::runtime_error(format(what, where, why)),
      what_(std::move(what)),
      where_(std::move(where)),
      why_(std::move(why)) {}

}  // namespace dec
