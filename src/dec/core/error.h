// DEC's error policy (docs/errors.md).
//
// Every failure that reaches a user is a dec::Error carrying three parts:
//   what  - the thing that failed        ("cannot read checkpoint")
//   where - the file, field, node or peer ("ckpt/step-100/manifest.json")
//   why   - the reason, with values      ("sha256 mismatch for conv1.pt")
// and is printed by the CLI, in one place, as
//   dec: error: <what> (<where>): <why>
// Library code never prints and never aborts: it throws one of the types below.
//
//   DEC_CHECK(cond, Type, what, where, why...)  bad input from a user, a file or a peer
//   DEC_ASSERT(cond, why...)                     an internal invariant: a bug in DEC
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace dec {

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

// Formats anything streamable into one string: dec::str("rank ", r, " of ", n).
template <typename... Args>
std::string str(Args&&... args) {
  return detail::concat(std::forward<Args>(args)...);
}

class Error : public std::runtime_error {
 public:
  Error(std::string what, std::string where, std::string why);

  const std::string& what_part() const { return what_; }
  const std::string& where_part() const { return where_; }
  const std::string& why_part() const { return why_; }
  // Process exit code the CLI uses for this kind of error.
  virtual int exit_code() const { return 1; }

 private:
  std::string what_, where_, why_;
};

// A user's configuration or command line is wrong (bad flag, bad spec file).
class ConfigError : public Error {
 public:
  using Error::Error;
};
// A file exists but its content is invalid, truncated or fails its checksum.
class CorruptFile : public Error {
 public:
  using Error::Error;
};
// The operating system refused an I/O operation (open, write, rename...).
class IoError : public Error {
 public:
  using Error::Error;
};
// No plan satisfies the constraints; where names the binding node or link.
class PlanInfeasible : public Error {
 public:
  using Error::Error;
};
// A blocking wait passed its deadline; where names the peer or operation.
class Timeout : public Error {
 public:
  using Error::Error;
};
// A peer process went away (connection reset, exited, crashed).
class PeerLost : public Error {
 public:
  using Error::Error;
};
// Two participants disagree (versions, model hashes, tokens, plans).
class Mismatch : public Error {
 public:
  using Error::Error;
};
// A broken internal invariant: a bug in DEC, not the user's fault.
class InternalError : public Error {
 public:
  using Error::Error;
  int exit_code() const override { return 70; }  // EX_SOFTWARE
};

}  // namespace dec

#define DEC_CHECK(cond, Type, what, where, ...)                          \
  do {                                                                   \
    if (!(cond)) throw Type((what), (where), ::dec::str(__VA_ARGS__));   \
  } while (0)

#define DEC_STRINGIFY_(x) #x
#define DEC_STRINGIFY(x) DEC_STRINGIFY_(x)

#define DEC_ASSERT(cond, ...)                                                    \
  do {                                                                           \
    if (!(cond))                                                                 \
      throw ::dec::InternalError("internal invariant violated",                  \
                                 __FILE__ ":" DEC_STRINGIFY(__LINE__),           \
                                 ::dec::str("`" #cond "` ", ##__VA_ARGS__));     \
  } while (0)
