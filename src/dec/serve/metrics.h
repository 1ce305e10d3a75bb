// The server's Prometheus metrics (text exposition format 0.0.4, GET /metrics).
//
//   dec_serve_requests_total{model}               infer requests answered (any status)
//   dec_serve_request_failures_total{model,code}  of which not 200, by status
//   dec_serve_request_seconds{model}              histogram: receipt to answer, 200 only
//   dec_serve_queue_seconds{model}                histogram: waiting for a compute slot
//   dec_serve_compute_seconds{model}              histogram: this tier's forward pass
//   dec_serve_batch_rows{model}                   histogram: rows per forward pass (dynamic batching)
//   dec_serve_device_joules{model}                histogram: the device's measured energy per request (energy.h)
//   dec_serve_split_total{model,tiers,split}      requests by where they ran (e.g. "device+cloud", "3,3")
//   dec_serve_hop_bytes_total{model,hop}          bytes this tier sent on to the next tier
//   dec_serve_inflight, dec_serve_queued, dec_serve_ready   gauges
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace dec::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);  // upper bounds, ascending; +Inf is added
  void observe(double v);
  uint64_t count() const { return count_; }
  // Appends `name`_bucket{labels,le=...}, _sum and _count lines.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServeMetrics {
 public:
  explicit ServeMetrics(std::string model);

  // One answered infer request; queue/compute < 0 when it never got there.
  void request(int status, double seconds, double queue_s, double compute_s);
  void batch(int64_t rows);  // one forward pass of `rows` rows
  void device_energy(double joules);
  void split(const std::string& tiers, size_t s1, size_t s2);
  void hop_bytes(const std::string& hop, double bytes);

  std::string render(int inflight, int queued, bool ready) const;

 private:
  const std::string model_;
  mutable std::mutex mu_;
  uint64_t requests_ = 0;
  std::map<int, uint64_t> failures_;
  Histogram latency_, queue_, compute_, batch_, joules_;
  std::map<std::pair<std::string, std::string>, uint64_t> splits_;
  std::map<std::string, double> hop_bytes_;
};

}  // namespace dec::serve
