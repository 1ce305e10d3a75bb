// Which local address reaches a given host: the address a process should listen
// on so that its peers can connect back. Pure socket calls, no LibTorch.
#pragma once

#include <cstdint>
#include <string>

namespace dec::comm {

// The source address the kernel would use for packets to host:port (a UDP
// connect(2), which sends nothing). Inside a network namespace joined by a veth
// pair this is the namespace's own veth address, which its peers can reach; for
// a local job it is 127.0.0.1. Returns "127.0.0.1" when `host` does not resolve
// or has no route. Never throws.
std::string local_address_towards(const std::string& host, std::uint16_t port);

}  // namespace dec::comm
