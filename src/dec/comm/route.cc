#include "dec/comm/route.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dec::comm {
namespace {

// The local address of a UDP socket connected to `ai`, or "" on failure.
std::string source_address(const addrinfo& ai) {
  const int fd = ::socket(ai.ai_family, SOCK_DGRAM, 0);
  if (fd < 0) return "";
  std::string out;
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr =
        local.ss_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
    if (::inet_ntop(local.ss_family, addr, buf, sizeof(buf)) != nullptr) out = buf;
  }
  ::close(fd);
  return out;
}

}  // namespace

std::string local_address_towards(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  // Port 0 is not routable for connect(2); any port gives the same route.
  const std::string service = std::to_string(port != 0 ? port : 9);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0) return "127.0.0.1";
  std::string out;
  for (addrinfo* ai = res; ai != nullptr && out.empty(); ai = ai->ai_next)
    out = source_address(*ai);
  ::freeaddrinfo(res);
  return out.empty() ? "127.0.0.1" : out;
}

}  // namespace dec::comm
