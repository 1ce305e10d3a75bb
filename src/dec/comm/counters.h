// Traffic and time counters, so the runtime can report bytes per link and the
// seconds each rank spent blocked in communication (docs/metrics.md).
//
// One Counters object is shared by a world Group and all its sub-groups; peers
// are keyed by global rank. Byte counts are what DEC handed to the transport
// (payload plus DEC's shape headers), not TCP's framing.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace dec::comm {

struct PeerTraffic {
  std::uint64_t bytes_sent = 0;      // point-to-point, to this peer
  std::uint64_t bytes_received = 0;  // point-to-point, from this peer
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  double send_seconds = 0;  // blocked in send to this peer (emulated delay included)
  double recv_seconds = 0;  // blocked in recv from this peer
  // Bytes a ring all-reduce moves to the next / from the previous rank of the ring:
  // 2 (n-1)/n of the buffer. An estimate of Gloo's traffic, kept apart from the
  // measured point-to-point bytes.
  std::uint64_t collective_bytes_sent = 0;
  std::uint64_t collective_bytes_received = 0;
};

struct CollectiveTraffic {
  std::uint64_t calls = 0;
  std::uint64_t bytes = 0;  // buffer bytes handed to the collective (per call, summed)
  double seconds = 0;       // blocked in the collective
};

struct CountersSnapshot {
  std::map<int, PeerTraffic> peers;                      // by global rank
  std::map<std::string, CollectiveTraffic> collectives;  // by "<op> <group name>"

  // Seconds blocked in any send, recv or collective.
  double total_seconds() const;
  std::uint64_t total_bytes_sent() const;
};

// Thread safety: every method may be called concurrently.
class Counters {
 public:
  void add_send(int peer, std::uint64_t bytes, double seconds);
  void add_recv(int peer, std::uint64_t bytes, double seconds);
  void add_collective_bytes(int next_peer, int prev_peer, std::uint64_t bytes);
  void add_collective(const std::string& key, std::uint64_t bytes, double seconds);

  CountersSnapshot snapshot() const;
  // Returns the counts so far and starts again from zero (per-iteration reports).
  CountersSnapshot take();

 private:
  mutable std::mutex mu_;
  CountersSnapshot data_;  // GUARDED_BY(mu_)
};

}  // namespace dec::comm
