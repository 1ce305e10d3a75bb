#include "dec/control/rate_limiter.h"

namespace dec::control {

bool LocalRateLimiter::allow(const std::string& key, int limit, int64_t window_ms) {
  int64_t now = clock_.now_ms();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = windows_.find(key);
  if (it == windows_.end() || it->second.ends_ms <= now) {
    if (it == windows_.end() && windows_.size() >= max_keys_) {
      for (auto w = windows_.begin(); w != windows_.end();) {
        w = w->second.ends_ms <= now ? windows_.erase(w) : std::next(w);
      }
      if (windows_.size() >= max_keys_) return false;
    }
    windows_[key] = Window{now + window_ms, 1};
    return limit >= 1;
  }
  return ++it->second.count <= limit;
}

}  // namespace dec::control
