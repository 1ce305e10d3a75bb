#include "dec/comm/counters.h"

#include <utility>

namespace dec::comm {

double CountersSnapshot::total_seconds() const {
  double s = 0;
  for (const auto& [peer, t] : peers) s += t.send_seconds + t.recv_seconds;
  for (const auto& [key, c] : collectives) s += c.seconds;
  return s;
}

std::uint64_t CountersSnapshot::total_bytes_sent() const {
  std::uint64_t b = 0;
  for (const auto& [peer, t] : peers) b += t.bytes_sent + t.collective_bytes_sent;
  return b;
}

void Counters::add_send(int peer, std::uint64_t bytes, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  PeerTraffic& t = data_.peers[peer];
  t.bytes_sent += bytes;
  t.messages_sent += 1;
  t.send_seconds += seconds;
}

void Counters::add_recv(int peer, std::uint64_t bytes, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  PeerTraffic& t = data_.peers[peer];
  t.bytes_received += bytes;
  t.messages_received += 1;
  t.recv_seconds += seconds;
}

void Counters::add_collective_bytes(int next_peer, int prev_peer, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  data_.peers[next_peer].collective_bytes_sent += bytes;
  data_.peers[prev_peer].collective_bytes_received += bytes;
}

void Counters::add_collective(const std::string& key, std::uint64_t bytes, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  CollectiveTraffic& c = data_.collectives[key];
  c.calls += 1;
  c.bytes += bytes;
  c.seconds += seconds;
}

CountersSnapshot Counters::snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_;
}

CountersSnapshot Counters::take() {
  std::lock_guard<std::mutex> lock(mu_);
  CountersSnapshot out = std::move(data_);
  data_ = CountersSnapshot{};
  return out;
}

}  // namespace dec::comm
