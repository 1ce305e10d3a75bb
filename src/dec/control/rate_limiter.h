// Rate limits for login (per address, per client address). The in-process
// limiter counts per instance; a limiter shared by several instances (Redis)
// plugs in behind the same interface.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "dec/control/clock.h"

namespace dec::control {

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one event for key; true while the key has had at most `limit` events
  // in the current fixed window of window_ms. Thread-safe.
  virtual bool allow(const std::string& key, int limit, int64_t window_ms) = 0;
};

class LocalRateLimiter : public RateLimiter {
 public:
  // At most max_keys windows are kept; beyond, expired ones are dropped first
  // and, if none has expired, the limiter refuses new keys (a flood of distinct
  // addresses cannot grow it without bound).
  explicit LocalRateLimiter(Clock& clock, size_t max_keys = 100000)
      : clock_(clock), max_keys_(max_keys) {}
  bool allow(const std::string& key, int limit, int64_t window_ms) override;

 private:
  struct Window {
    int64_t ends_ms;
    int count;
  };
  Clock& clock_;
  size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;  // GUARDED_BY(mutex_)
};

}  // namespace dec::control
