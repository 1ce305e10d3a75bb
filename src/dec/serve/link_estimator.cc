#include "dec/serve/link_estimator.h"

#include <cmath>

#include "dec/core/error.h"

namespace dec::serve {

LinkEstimator::LinkEstimator(LinkEstimatorOptions options)
    : options_(options), bandwidth_(options.prior_bandwidth_Bps), latency_(options.prior_latency_s) {
  DEC_CHECK(options_.alpha > 0 && options_.alpha <= 1, ConfigError, "invalid link estimator",
            "alpha", "must be in (0, 1], got ", options_.alpha);
  DEC_CHECK(options_.prior_bandwidth_Bps > 0 && std::isfinite(options_.prior_bandwidth_Bps),
            ConfigError, "invalid link estimator", "prior_bandwidth_Bps", "must be > 0, got ",
            options_.prior_bandwidth_Bps);
  DEC_CHECK(options_.prior_latency_s >= 0 && std::isfinite(options_.prior_latency_s), ConfigError,
            "invalid link estimator", "prior_latency_s", "must be >= 0, got ",
            options_.prior_latency_s);
  DEC_CHECK(options_.min_size_spread >= 0, ConfigError, "invalid link estimator",
            "min_size_spread", "must be >= 0, got ", options_.min_size_spread);
  DEC_CHECK(options_.restart_ratio > 1 && options_.restart_min_s >= 0, ConfigError, "invalid link estimator",
            "restart_ratio", "must be > 1 (and restart_min_s >= 0), got ", options_.restart_ratio);
}

bool LinkEstimator::observe(double bytes, double seconds) {
  if (!(std::isfinite(bytes) && bytes >= 0 && std::isfinite(seconds) && seconds > 0)) return false;
  const double predicted = predict_s(bytes);
  if (transfers_ > 0 && std::abs(seconds - predicted) > options_.restart_min_s &&
      (seconds > predicted * options_.restart_ratio || seconds * options_.restart_ratio < predicted)) {
    mx_ = my_ = mxx_ = mxy_ = weight_ = 0;  // the link changed: its past says nothing now
  }
  const double a = options_.alpha, k = 1 - a;
  mx_ = k * mx_ + a * bytes;
  my_ = k * my_ + a * seconds;
  mxx_ = k * mxx_ + a * bytes * bytes;
  mxy_ = k * mxy_ + a * bytes * seconds;
  weight_ = k * weight_ + a;
  ++transfers_;
  refit();
  return true;
}

void LinkEstimator::refit() {
  // Normalised moments: the weights sum to weight_ (< 1 for the first few).
  const double x = mx_ / weight_, y = my_ / weight_;
  const double var = std::max(0.0, mxx_ / weight_ - x * x);
  const double cov = mxy_ / weight_ - x * y;
  const double spread = x > 0 ? std::sqrt(var) / x : 0;
  if (x > 0 && spread >= options_.min_size_spread && cov > 0) {
    const double per_byte = cov / var;
    const double intercept = y - per_byte * x;
    if (intercept >= 0) {
      bandwidth_ = 1 / per_byte;
      latency_ = intercept;
      return;
    }
  }
  if (x <= 0) {
    latency_ = y;  // probes only: they time the latency
    return;
  }
  // Sizes too alike to fit both terms: keep the latency, the rest is bytes / bandwidth.
  const double transmit = y - latency_;
  if (transmit > 0) {
    bandwidth_ = x / transmit;
  } else {
    latency_ = y / 2;  // the latency known was too high for what the link shows now
    bandwidth_ = x / (y - latency_);
  }
}

}  // namespace dec::serve
