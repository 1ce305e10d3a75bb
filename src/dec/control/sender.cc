#include "dec/control/sender.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "dec/core/error.h"

namespace dec::control {

void FileSender::send(const std::string& address, const std::string& code, int64_t expires_at_ms) {
  std::string line = str(address, " ", code, " ", expires_at_ms, "\n");
  std::lock_guard<std::mutex> lock(mutex_);
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  DEC_CHECK(fd >= 0, IoError, "cannot write login code", path_, std::strerror(errno));
  ssize_t n = ::write(fd, line.data(), line.size());
  int err = errno;
  ::close(fd);
  DEC_CHECK(n == static_cast<ssize_t>(line.size()), IoError, "cannot write login code", path_,
            std::strerror(err));
}

void LogSender::send(const std::string& address, const std::string& code, int64_t expires_at_ms) {
  log_(str("login code for ", address, ": ", code, " (valid until ", expires_at_ms, " ms)"));
}

std::string last_code_in(const std::string& path, const std::string& address) {
  std::ifstream in(path);
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string a, c;
    if (fields >> a >> c && a == address) found = c;
  }
  return found;
}

}  // namespace dec::control
