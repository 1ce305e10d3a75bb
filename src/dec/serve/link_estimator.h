// A link's bandwidth and latency as live transfers show them.
//
// Each transfer of `bytes` that took `seconds` (sent to answered, less the
// far side's compute and queue) is a point of the line seconds = latency +
// bytes / bandwidth. The estimator keeps exponentially weighted moments of
// those points (weight `alpha` on the newest), so that old conditions fade
// after a few requests, and fits the line through them: with transfers of
// different sizes both terms come out; with sizes too alike to tell them
// apart (relative spread of the sizes under `min_size_spread`) it keeps the
// latency it last knew (a fit, a probe or the prior) and takes the bandwidth
// from the mean transfer. A probe (an empty request when the link is idle)
// is a transfer of 0 bytes: it measures the latency alone.
//
// A transfer that the current estimate mispredicts by more than
// `restart_ratio` (and by more than `restart_min_s`) means the link changed:
// the moments restart from that transfer, so that a link that recovered is
// believed after one probe instead of after the slow points fade (about
// 1/alpha transfers).
//
// Thread safety: none; the owner serialises calls (one mutex per link).
#pragma once

#include <cstdint>

namespace dec::serve {

struct LinkEstimatorOptions {
  double alpha = 0.2;            // weight of the newest transfer, in (0, 1]
  double min_size_spread = 0.1;  // (std dev / mean) of sizes needed to fit the latency
  double restart_ratio = 4;      // a transfer this many times off the prediction restarts the moments
  double restart_min_s = 0.002;  // ... when it is off by at least this many seconds too
  double prior_bandwidth_Bps = 1e6;  // before any transfer (e.g. the cluster spec's link)
  double prior_latency_s = 0.01;
};

class LinkEstimator {
 public:
  // Throws ConfigError for options out of range (alpha, a prior not > 0 / >= 0).
  explicit LinkEstimator(LinkEstimatorOptions options = {});

  // A transfer of `bytes` (>= 0) that took `seconds` (> 0). Returns false and
  // ignores it when either is negative or not finite.
  bool observe(double bytes, double seconds);
  // A probe: a round trip of (almost) no payload, `rtt_s` there and back.
  bool observe_probe(double rtt_s) { return observe(0, rtt_s / 2); }
  // A round trip: `up` bytes there, `down` bytes back, `seconds` on the wire
  // (the far side's own time taken off). 2 latency + (up + down) / bandwidth
  // is the line at half the bytes and half the time.
  bool observe_round_trip(double up, double down, double seconds) {
    return observe((up + down) / 2, seconds / 2);
  }

  double bandwidth_Bps() const { return bandwidth_; }
  double latency_s() const { return latency_; }
  // Predicted seconds for `bytes`.
  double predict_s(double bytes) const { return latency_ + bytes / bandwidth_; }
  int64_t transfers() const { return transfers_; }

 private:
  LinkEstimatorOptions options_;
  double mx_ = 0, my_ = 0, mxx_ = 0, mxy_ = 0;  // weighted moments of (bytes, seconds)
  double weight_ = 0;                           // total weight (1 - (1 - alpha)^k)
  double bandwidth_, latency_;
  int64_t transfers_ = 0;

  void refit();
};

}  // namespace dec::serve
