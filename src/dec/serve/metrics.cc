#include "dec/serve/metrics.h"

#include <cstdio>

#include "dec/core/error.h"

namespace dec::serve {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

const std::vector<double>& seconds_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += str("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += str(name, "_bucket{", labels, ",le=\"", le, "\"} ", cumulative, "\n");
  }
  out += str(name, "_sum{", labels, "} ", number(sum_), "\n");
  out += str(name, "_count{", labels, "} ", count_, "\n");
}

ServeMetrics::ServeMetrics(std::string model)
    : model_(std::move(model)), latency_(seconds_buckets()), queue_(seconds_buckets()),
      compute_(seconds_buckets()), batch_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512}),
      joules_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void ServeMetrics::device_energy(double joules) {
  std::lock_guard<std::mutex> lock(mu_);
  joules_.observe(joules);
}

void ServeMetrics::batch(int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_.observe(static_cast<double>(rows));
}

void ServeMetrics::request(int status, double seconds, double queue_s, double compute_s) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  if (status != 200) ++failures_[status];
  else latency_.observe(seconds);
  if (queue_s >= 0) queue_.observe(queue_s);
  if (compute_s >= 0) compute_.observe(compute_s);
}

void ServeMetrics::split(const std::string& tiers, size_t s1, size_t s2) {
  std::lock_guard<std::mutex> lock(mu_);
  ++splits_[{tiers, str(s1, ",", s2)}];
}

void ServeMetrics::hop_bytes(const std::string& hop, double bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  hop_bytes_[hop] += bytes;
}

std::string ServeMetrics::render(int inflight, int queued, bool ready) const {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string m = str("model=\"", model_, "\"");
  std::string out;
  header(out, "dec_serve_requests_total", "counter", "Infer requests answered, any status.");
  out += str("dec_serve_requests_total{", m, "} ", requests_, "\n");
  header(out, "dec_serve_request_failures_total", "counter", "Infer requests answered with an error, by status.");
  for (const auto& [code, n] : failures_) out += str("dec_serve_request_failures_total{", m, ",code=\"", code, "\"} ", n, "\n");
  header(out, "dec_serve_request_seconds", "histogram", "Receipt to answer of successful infer requests.");
  latency_.render(out, "dec_serve_request_seconds", m);
  header(out, "dec_serve_queue_seconds", "histogram", "Time waiting for a compute slot.");
  queue_.render(out, "dec_serve_queue_seconds", m);
  header(out, "dec_serve_compute_seconds", "histogram", "This tier's forward pass of a request.");
  compute_.render(out, "dec_serve_compute_seconds", m);
  header(out, "dec_serve_batch_rows", "histogram", "Rows per forward pass (requests batched together).");
  batch_.render(out, "dec_serve_batch_rows", m);
  if (joules_.count() > 0) {
    header(out, "dec_serve_device_joules", "histogram",
           "The device's measured energy per request it decided (its _sum: joules in all).");
    joules_.render(out, "dec_serve_device_joules", m);
  }
  header(out, "dec_serve_split_total", "counter", "Requests by the tiers that computed and the split (s1,s2).");
  for (const auto& [k, n] : splits_) {
    out += str("dec_serve_split_total{", m, ",tiers=\"", k.first, "\",split=\"", k.second, "\"} ", n, "\n");
  }
  header(out, "dec_serve_hop_bytes_total", "counter", "Bytes sent on to the next tier.");
  for (const auto& [hop, b] : hop_bytes_) out += str("dec_serve_hop_bytes_total{", m, ",hop=\"", hop, "\"} ", number(b), "\n");
  header(out, "dec_serve_inflight", "gauge", "Requests computing now.");
  out += str("dec_serve_inflight{", m, "} ", inflight, "\n");
  header(out, "dec_serve_queued", "gauge", "Requests waiting for a compute slot.");
  out += str("dec_serve_queued{", m, "} ", queued, "\n");
  header(out, "dec_serve_ready", "gauge", "1 once warm-up is done.");
  out += str("dec_serve_ready{", m, "} ", ready ? 1 : 0, "\n");
  return out;
}

}  // namespace dec::serve
