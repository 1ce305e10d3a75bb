#include "dec/control/cache.h"

#include "dec/services/two_level_cache.h"

namespace dec::control {

ControlCache::ControlCache(CacheOptions options) : options_(std::move(options)) {
  services::TwoLevelCacheOptions o;
  o.redis_url = options_.redis_url;
  o.prefix = options_.prefix;
  o.l1_max_entries = options_.l1_max_entries;
  o.logical_ttl_s = options_.logical_ttl_s;
  o.l2_ttl_s = options_.l2_ttl_s;
  // Alone, this process makes every write and so every invalidation: L1 may
  // keep a value as long as it is logically fresh.
  o.l1_ttl_s = options_.redis_url.empty() ? options_.logical_ttl_s : options_.l1_ttl_s;
  cache_ = std::make_unique<services::TwoLevelCache>(o);
}

ControlCache::~ControlCache() = default;

nlohmann::json ControlCache::get(const std::string& key,
                                 const std::function<nlohmann::json()>& loader) {
  std::string text = cache_->get(key, [&] { return loader().dump(); });
  return nlohmann::json::parse(text);
}

void ControlCache::invalidate(const std::vector<std::string>& keys) {
  for (const std::string& key : keys) cache_->invalidate(key);
}

bool ControlCache::wait_ready(double timeout_s) const { return cache_->wait_ready(timeout_s); }

services::TwoLevelCacheStats ControlCache::stats() const { return cache_->stats(); }

}  // namespace dec::control
