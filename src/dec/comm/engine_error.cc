#include "dec/comm/engine_error.h"

#include <c10/util/Exception.h>
#include <gloo/common/error.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "dec/core/error.h"

namespace dec::comm::detail {
namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Gloo strips nothing from its messages: they start with "[file:line] ".
std::string strip_location(std::string m) {
  while (!m.empty() && m[0] == '[') {
    const auto close = m.find("] ");
    if (close == std::string::npos || m.find(':') > close) break;
    m = m.substr(close + 2);
  }
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.pop_back();
  return m;
}

// Whether `e` is a T. Only asks: the caller handles `e` whatever it is.
template <typename T>
bool holds(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const T&) {
    return true;
  } catch (...) {  // any other type: not a T
    return false;
  }
}

}  // namespace

Failure classify(const std::string& message) {
  std::string m = message;
  std::transform(m.begin(), m.end(), m.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Gloo: "Timed out waiting 1000ms for recv operation to complete";
  // Work::wait: "Operation timed out!"; TCPStore: "Socket Timeout", "timeout".
  static constexpr std::array<std::string_view, 3> kTimeout = {"timed out", "timeout", "deadline"};
  // Gloo's pair: "Connection reset by peer", "Connection closed by peer [addr]:port",
  // "Broken pipe", "Connection refused"; c10d's sockets: same strerror texts.
  static constexpr std::array<std::string_view, 7> kLost = {"connection reset",
                                                            "closed by peer",
                                                            "connection closed",
                                                            "broken pipe",
                                                            "connection refused",
                                                            "econnreset",
                                                            "epipe"};
  for (auto n : kLost)
    if (contains(m, n)) return Failure::kPeerLost;
  for (auto n : kTimeout)
    if (contains(m, n)) return Failure::kTimeout;
  return Failure::kOther;
}

std::string engine_message(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const c10::Error& err) {
    return strip_location(err.what_without_backtrace());
  } catch (const std::exception& err) {
    return strip_location(err.what());
  } catch (...) {  // a type of no known base carries no message to name
    return "unknown exception";
  }
}

void rethrow_as_dec(const std::exception_ptr& e, const std::string& what, const std::string& where,
                    const std::string& timeout_note) {
  if (holds<dec::Error>(e)) std::rethrow_exception(e);
  // Gloo raises IoException only for transport failures: the peer is unreachable.
  const bool io = holds<::gloo::IoException>(e);
  const std::string message = engine_message(e);
  const std::string& why = message;
  switch (classify(message)) {
    case Failure::kTimeout:
      throw Timeout(what, where, timeout_note.empty() ? why : timeout_note + ": " + why);
    case Failure::kPeerLost:
      throw PeerLost(what, where, why);
    case Failure::kOther:
      if (io) throw PeerLost(what, where, why);
      throw Error(what, where, why);
  }
  throw Error(what, where, why);
}

}  // namespace dec::comm::detail
