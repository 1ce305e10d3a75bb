// The split decision of collaborative inference: where a request's forward
// pass leaves the device and where it leaves the edge.
//
// A request crosses a chain of three tiers, device (0) -> edge (1) -> cloud
// (2), joined by hop 0 (device-edge) and hop 1 (edge-cloud). A split (s1, s2),
// 0 <= s1 <= s2 <= n, runs blocks [0, s1) on the device, [s1, s2) on the edge
// and [s2, n) on the cloud. The cost model, per request (one sample):
//
//   dev     = s1 > 0 ? queue[0] + sum_{l < s1} t[0][l] : 0
//   hop(h, b) = latency[h] + b / bandwidth[h]            (links are full duplex)
//   (n, n)        device only:  dev
//   (s1, n), s1 < n   edge last: dev + hop(0, B[s1]) + queue[1] + sum_{s1 <= l < n} t[1][l]
//                               + hop(0, B[n])
//   (s1, s2), s2 < n  cloud last: dev + hop(0, B[s1]) + edge + hop(1, B[s2])
//                               + queue[2] + sum_{s2 <= l < n} t[2][l] + hop(1, B[n]) + hop(0, B[n])
//       edge = s2 > s1 ? queue[1] + sum_{s1 <= l < s2} t[1][l] : 0   (an edge that only relays
//                                                                   neither queues nor computes)
//
// B[s] is boundary s's bytes: the input at 0 (its upload counts when s1 = 0),
// the logits at n (the answer's way back from the last tier counts too). A
// tier's queue counts only when it computes.
//
// Device energy (the model: P = 2.1 + 0.8 cpu_util GHz W, + 0.3 J per
// MB sent): E = base_w * latency + cpu_w_per_ghz * cpu_util * ghz * device
// compute seconds + j_per_mb * MB the device sends (B[s1] when s1 < n). The
// base power is paid for the whole request (the device is awake, waiting for
// the answer); cpu_util is taken as 1 while the device computes, since it is
// not measured yet.
//
// SplitDecider precomputes prefix sums per model; each decision is O(n)
// (microseconds for the zoo's chains), and equals the exhaustive minimum of
// this cost model (tests/serve/split_test.cc enumerates every pair).
// Thread safety: a SplitDecider is immutable; decide from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace dec::serve {

inline constexpr int kTiers = 3;  // device, edge, cloud
inline constexpr int kHops = 2;   // device-edge, edge-cloud

// What the decision knows of a model on the chain: fixed per model and cluster.
struct SplitModel {
  // t[tier][l]: forward seconds of block l for one request on that tier.
  std::array<std::vector<double>, kTiers> block_s;
  // B[s], s = 0..n: bytes of boundary s per request.
  std::vector<double> boundary_bytes;

  size_t num_blocks() const { return boundary_bytes.empty() ? 0 : boundary_bytes.size() - 1; }
};

// What changes between requests: the links as estimated now, the queues.
struct Conditions {
  std::array<double, kHops> bandwidth_Bps{};  // bytes/s, each direction
  std::array<double, kHops> latency_s{};      // one way
  std::array<double, kTiers> queue_s{};       // expected wait before the tier starts computing
};

struct EnergyModel {
  double base_w = 2.1;         // the device's power when idle
  double cpu_w_per_ghz = 0.8;  // per GHz at full utilisation
  double ghz = 2.0;            // the device's clock (an assumption until measured)
  double cpu_util = 1;         // while the device computes (not measured yet)
  double j_per_mb = 0.3;       // joules per MB (1e6 bytes) the device sends
};

struct Split {
  size_t s1 = 0, s2 = 0;
  double latency_s = 0;        // predicted
  double device_energy_j = 0;  // predicted
  bool meets_bound = true;     // least_energy: false when no split meets the latency bound
};

// Where a split runs: "device", "device+edge", "edge+cloud", "device+edge+cloud", ...
// (the tiers that compute, in order; a relaying edge is not named).
std::string describe(size_t s1, size_t s2, size_t n);

class SplitDecider {
 public:
  // Throws ConfigError when the model is malformed: no blocks, block_s of
  // another length than n, boundary bytes or times negative or not finite.
  explicit SplitDecider(SplitModel model, EnergyModel energy = {});

  size_t num_blocks() const { return n_; }
  const SplitModel& model() const { return model_; }
  const EnergyModel& energy() const { return energy_; }

  // The cost model at one split. REQUIRES: s1 <= s2 <= n.
  Split evaluate(const Conditions& c, size_t s1, size_t s2) const;
  // The split of least predicted latency.
  Split fastest(const Conditions& c) const;
  // The split of least device energy among those whose latency is at most
  // `latency_bound_s`; when none is, the fastest split with meets_bound false.
  Split least_energy(const Conditions& c, double latency_bound_s) const;

 private:
  SplitModel model_;
  EnergyModel energy_;
  size_t n_ = 0;
  std::array<std::vector<double>, kTiers> prefix_;  // prefix_[t][k] = sum_{l < k} t[t][l]

  double hop(const Conditions& c, int h, double bytes) const;
  double device_part(const Conditions& c, size_t s1) const;  // dev + hop(0, B[s1])
  double cloud_part(const Conditions& c, size_t s2) const;   // hop(1, B[s2]) onwards, the answer back
  double energy_of(size_t s1, double latency_s) const;
};

}  // namespace dec::serve
