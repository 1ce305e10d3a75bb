#include "dec/serve/split.h"

#include <cmath>
#include <limits>

#include "dec/core/error.h"

namespace dec::serve {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool finite_non_negative(double x) { return std::isfinite(x) && x >= 0; }

}  // namespace

std::string describe(size_t s1, size_t s2, size_t n) {
  std::string out;
  auto add = [&out](const char* tier) { out += (out.empty() ? "" : "+") + std::string(tier); };
  if (s1 > 0) add("device");
  if (s2 > s1) add("edge");
  if (s2 < n) add("cloud");
  return out;
}

SplitDecider::SplitDecider(SplitModel model, EnergyModel energy)
    : model_(std::move(model)), energy_(energy), n_(model_.num_blocks()) {
  DEC_CHECK(n_ >= 1, ConfigError, "invalid split model", "boundary_bytes",
            "needs n + 1 >= 2 boundaries, got ", model_.boundary_bytes.size());
  for (double b : model_.boundary_bytes) {
    DEC_CHECK(finite_non_negative(b), ConfigError, "invalid split model", "boundary_bytes",
              "bytes must be finite and >= 0, got ", b);
  }
  for (int t = 0; t < kTiers; ++t) {
    DEC_CHECK(model_.block_s[t].size() == n_, ConfigError, "invalid split model", "block_s",
              "tier ", t, " has ", model_.block_s[t].size(), " block times for ", n_, " blocks");
    prefix_[t].assign(n_ + 1, 0);
    for (size_t l = 0; l < n_; ++l) {
      DEC_CHECK(finite_non_negative(model_.block_s[t][l]), ConfigError, "invalid split model",
                "block_s", "tier ", t, " block ", l, ": seconds must be finite and >= 0, got ",
                model_.block_s[t][l]);
      prefix_[t][l + 1] = prefix_[t][l] + model_.block_s[t][l];
    }
  }
}

double SplitDecider::hop(const Conditions& c, int h, double bytes) const {
  return c.latency_s[h] + (bytes > 0 ? bytes / c.bandwidth_Bps[h] : 0);
}

double SplitDecider::device_part(const Conditions& c, size_t s1) const {
  const double dev = s1 > 0 ? c.queue_s[0] + prefix_[0][s1] : 0;
  return s1 < n_ ? dev + hop(c, 0, model_.boundary_bytes[s1]) : dev;
}

double SplitDecider::cloud_part(const Conditions& c, size_t s2) const {
  const double out = model_.boundary_bytes[n_];
  return hop(c, 1, model_.boundary_bytes[s2]) + c.queue_s[2] + prefix_[2][n_] - prefix_[2][s2] +
         hop(c, 1, out) + hop(c, 0, out);
}

double SplitDecider::energy_of(size_t s1, double latency_s) const {
  const EnergyModel& e = energy_;
  const double sent_mb = s1 < n_ ? model_.boundary_bytes[s1] / 1e6 : 0;
  return e.base_w * latency_s + e.cpu_w_per_ghz * e.cpu_util * e.ghz * prefix_[0][s1] +
         e.j_per_mb * sent_mb;
}

Split SplitDecider::evaluate(const Conditions& c, size_t s1, size_t s2) const {
  DEC_ASSERT(s1 <= s2 && s2 <= n_, "split (", s1, ", ", s2, ") of ", n_, " blocks");
  double t = device_part(c, s1);
  if (s1 < n_) {
    const double edge = s2 > s1 ? c.queue_s[1] + prefix_[1][s2] - prefix_[1][s1] : 0;
    t += edge + (s2 < n_ ? cloud_part(c, s2) : hop(c, 0, model_.boundary_bytes[n_]));
  }
  return Split{s1, s2, t, energy_of(s1, t), true};
}

Split SplitDecider::fastest(const Conditions& c) const {
  Split best = evaluate(c, n_, n_);
  auto consider = [&](size_t s1, size_t s2, double t) {
    if (t < best.latency_s) best = Split{s1, s2, t, 0, true};
  };
  const double out_edge = hop(c, 0, model_.boundary_bytes[n_]);
  // Running minimum over s1 < s2 of device_part(s1) - P1[s1]: the edge computes [s1, s2).
  double lead = kInf;
  size_t lead_s1 = 0;
  for (size_t s = 0; s < n_; ++s) {
    const double up = device_part(c, s);
    consider(s, n_, up + c.queue_s[1] + prefix_[1][n_] - prefix_[1][s] + out_edge);
    const double rest = cloud_part(c, s);
    consider(s, s, up + rest);
    if (s > 0) consider(lead_s1, s, lead + c.queue_s[1] + prefix_[1][s] + rest);
    if (up - prefix_[1][s] < lead) {
      lead = up - prefix_[1][s];
      lead_s1 = s;
    }
  }
  best.device_energy_j = energy_of(best.s1, best.latency_s);
  return best;
}

Split SplitDecider::least_energy(const Conditions& c, double latency_bound_s) const {
  // For a fixed s1 the energy grows with the latency alone, so each s1 takes
  // its fastest s2; suffix minima give the edge-computes case in O(1) each.
  std::vector<double> tail(n_ + 1, kInf);  // tail[k] = min_{k <= s2 < n} P1[s2] + cloud_part(s2)
  std::vector<size_t> tail_at(n_ + 1, n_);
  for (size_t s = n_; s-- > 0;) {
    const double v = prefix_[1][s] + cloud_part(c, s);
    tail[s] = tail[s + 1];
    tail_at[s] = tail_at[s + 1];
    if (v < tail[s]) {
      tail[s] = v;
      tail_at[s] = s;
    }
  }
  const double out_edge = hop(c, 0, model_.boundary_bytes[n_]);
  Split best;
  bool found = false;
  auto consider = [&](size_t s1, size_t s2, double t) {
    if (!(t <= latency_bound_s)) return;  // a NaN bound admits nothing
    const double e = energy_of(s1, t);
    if (!found || e < best.device_energy_j) best = Split{s1, s2, t, e, true};
    found = true;
  };
  consider(n_, n_, device_part(c, n_));
  for (size_t s1 = 0; s1 < n_; ++s1) {
    const double up = device_part(c, s1);
    size_t s2 = n_;
    double t = up + c.queue_s[1] + prefix_[1][n_] - prefix_[1][s1] + out_edge;
    if (const double relay = up + cloud_part(c, s1); relay < t) {
      t = relay;
      s2 = s1;
    }
    if (s1 + 1 < n_) {
      if (const double e = up + c.queue_s[1] - prefix_[1][s1] + tail[s1 + 1]; e < t) {
        t = e;
        s2 = tail_at[s1 + 1];
      }
    }
    consider(s1, s2, t);
  }
  if (found) return best;
  Split f = fastest(c);
  f.meets_bound = false;
  return f;
}

}  // namespace dec::serve
