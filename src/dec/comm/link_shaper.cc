#include "dec/comm/link_shaper.h"

#include <algorithm>
#include <cmath>

#include "dec/core/error.h"

namespace dec::comm {

void TokenBucketShaper::set_link(int a, int b, const LinkSpec& spec) {
  const std::string where = dec::str("link ", a, " -> ", b);
  DEC_CHECK(std::isfinite(spec.mbps) && spec.mbps >= 0, ConfigError, "invalid link rate", where,
            spec.mbps, " Mbit/s");
  DEC_CHECK(std::isfinite(spec.latency_s) && spec.latency_s >= 0, ConfigError,
            "invalid link latency", where, spec.latency_s, " s");
  DEC_CHECK(std::isfinite(spec.burst_s) && spec.burst_s >= 0, ConfigError, "invalid link burst",
            where, spec.burst_s, " s");
  std::lock_guard<std::mutex> lock(mu_);
  links_[{a, b}].spec = spec;
}

void TokenBucketShaper::set_route(int src, int dst, std::vector<int> endpoints) {
  DEC_CHECK(endpoints.size() >= 2, ConfigError, "invalid route", dec::str("ranks ", src, " -> ", dst),
            "needs at least two endpoints, got ", endpoints.size());
  std::lock_guard<std::mutex> lock(mu_);
  routes_[{src, dst}] = std::move(endpoints);
}

const std::vector<int>& TokenBucketShaper::route_locked(int src, int dst) {
  auto it = routes_.find({src, dst});
  if (it != routes_.end()) return it->second;
  return routes_.emplace(std::make_pair(src, dst), std::vector<int>{src, dst}).first->second;
}

TokenBucketShaper::Link* TokenBucketShaper::link_locked(int a, int b) {
  auto it = links_.find({a, b});
  return it == links_.end() ? nullptr : &it->second;
}

Transmission TokenBucketShaper::book_at(int src, int dst, std::size_t bytes, double now) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<int>& route = route_locked(src, dst);
  Transmission out{now, now};
  double t = now;  // when the message reaches the current hop
  for (size_t h = 0; h + 1 < route.size(); ++h) {
    Link* link = link_locked(route[h], route[h + 1]);
    if (link == nullptr) continue;
    if (link->spec.mbps > 0) {
      const double bytes_per_s = link->spec.mbps * 1e6 / 8;
      // A full bucket is a link that has been idle for burst_s; tokens beyond that
      // are lost, so transmission cannot start before t - burst_s.
      const double start = std::max(link->free_at, t - link->spec.burst_s);
      link->free_at = start + static_cast<double>(bytes) / bytes_per_s;
      t = std::max(link->free_at, t);
    }
    if (h == 0) out.leave_at = t;
    t += link->spec.latency_s;
  }
  out.arrive_at = t;
  return out;
}

Transmission TokenBucketShaper::book(int src, int dst, std::size_t bytes) {
  return book_at(src, dst, bytes, clock_.now());
}

double TokenBucketShaper::latency(int src, int dst) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<int>& route = route_locked(src, dst);
  double sum = 0;
  for (size_t h = 0; h + 1 < route.size(); ++h) {
    if (const Link* link = link_locked(route[h], route[h + 1])) sum += link->spec.latency_s;
  }
  return sum;
}

}  // namespace dec::comm
