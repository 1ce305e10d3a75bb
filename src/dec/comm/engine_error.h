// Internal to dec_comm: turning the engine's exceptions (c10::Error, gloo's
// IoException, std::system_error from the store's sockets) into DEC's typed errors.
//
// c10d and Gloo report every failure as an exception whose message is the only
// machine-readable part, so the kind is recovered from the text; the rules are
// in engine_error.cc, next to the messages they match, and tested.
#pragma once

#include <exception>
#include <string>

namespace dec::comm::detail {

enum class Failure {
  kTimeout,   // a deadline passed (Gloo's own, Work::wait's, a store wait's)
  kPeerLost,  // the connection to a peer was reset, closed or refused
  kOther,     // anything else: a usage error or an engine fault
};

Failure classify(const std::string& message);

// The engine's message for an exception, without LibTorch's C++ backtrace.
std::string engine_message(const std::exception_ptr& e);

// Rethrows `e` as a dec::Error. A dec::Error passes through unchanged. Otherwise
// the engine's message is classified and thrown as Timeout, PeerLost or Error with
//   what  = `what`  ("recv failed"),
//   where = `where` ("rank 2 (edge0), tag 7"),
//   why   = the engine's message; for a timeout prefixed with `timeout_note`
//           ("deadline 1000 ms") when not empty.
[[noreturn]] void rethrow_as_dec(const std::exception_ptr& e, const std::string& what,
                                 const std::string& where, const std::string& timeout_note = "");

}  // namespace dec::comm::detail
