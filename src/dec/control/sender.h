// Where one-time login codes go. A real deployment plugs in an SMS or mail
// gateway; the file and log senders serve tests and single-machine use.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace dec::control {

// Contract: send() delivers one code to one address or throws dec::Error (the
// login call then answers 503 and the code is not kept). Called from many
// request threads at once: implementations are thread-safe.
class CodeSender {
 public:
  virtual ~CodeSender() = default;
  virtual void send(const std::string& address, const std::string& code, int64_t expires_at_ms) = 0;
};

// Appends one line per code, "<address> <code> <expires_at_ms>", to a file (the
// data directory's login-codes.txt for `dec control`); readable only by its owner.
class FileSender : public CodeSender {
 public:
  explicit FileSender(std::string path) : path_(std::move(path)) {}
  void send(const std::string& address, const std::string& code, int64_t expires_at_ms) override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;
};

// Hands each code, as one line of text, to a log function (the CLI's stderr).
class LogSender : public CodeSender {
 public:
  explicit LogSender(std::function<void(const std::string&)> log) : log_(std::move(log)) {}
  void send(const std::string& address, const std::string& code, int64_t expires_at_ms) override;

 private:
  std::function<void(const std::string&)> log_;
};

// The last code sent to address in a file written by FileSender, "" if none.
std::string last_code_in(const std::string& path, const std::string& address);

}  // namespace dec::control
