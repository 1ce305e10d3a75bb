#include "dec/comm/link_shaper.h"

#include <algorithm>
#include <cmath>

#include "dec/core/error.h"

namespace dec::comm {

void TokenBucketShaper::set_link(int src, int dst, const LinkSpec& spec) {
  const std::string where = dec::str("link ", src, " -> ", dst);
  DEC_CHECK(std::isfinite(spec.mbps) && spec.mbps >= 0, ConfigError, "invalid link rate", where,
            spec.mbps, " Mbit/s");
  DEC_CHECK(std::isfinite(spec.latency_s) && spec.latency_s >= 0, ConfigError,
            "invalid link latency", where, spec.latency_s, " s");
  DEC_CHECK(std::isfinite(spec.burst_s) && spec.burst_s >= 0, ConfigError, "invalid link burst",
            where, spec.burst_s, " s");
  std::lock_guard<std::mutex> lock(mu_);
  Link& link = links_[{src, dst}];
  link.spec = spec;
}

double TokenBucketShaper::reserve(int src, int dst, std::size_t bytes, int latencies, double now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = links_.find({src, dst});
  if (it == links_.end()) return now;
  Link& link = it->second;
  const double lat = link.spec.latency_s * std::max(latencies, 0);
  if (link.spec.mbps <= 0) return now + lat;
  const double bytes_per_s = link.spec.mbps * 1e6 / 8;
  // A full bucket is a link that has been idle for burst_s; tokens beyond that
  // are lost, so transmission cannot start before now - burst_s. Time the sender
  // spent in the real transfer of the previous message does not count as idle.
  const double start = std::max(link.free_at, now - link.spec.burst_s - link.credit);
  link.credit = 0;
  link.last_tx = static_cast<double>(bytes) / bytes_per_s;
  link.free_at = start + link.last_tx;
  return std::max(link.free_at, now) + lat;
}

void TokenBucketShaper::credit(int src, int dst, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = links_.find({src, dst});
  if (it == links_.end()) return;
  it->second.credit = std::clamp(seconds, 0.0, it->second.last_tx);
}

void TokenBucketShaper::transmit(int src, int dst, std::size_t bytes, int latencies,
                                 const std::function<void()>& send) {
  const double arrive = reserve(src, dst, bytes, latencies, clock_.now());
  clock_.sleep_until(arrive);
  const double t0 = clock_.now();
  send();
  credit(src, dst, clock_.now() - t0);
}

}  // namespace dec::comm
