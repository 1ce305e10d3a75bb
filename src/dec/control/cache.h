// The control plane's read cache: hot, rarely changing answers (statistics,
// departments, node detail, the session check of every call) in front of the
// database, over services::TwoLevelCache (docs/control.md "Cache").
//
// Embedded (no Redis) it is L1 alone, in this process; with Redis, L1 + L2 and
// invalidations reach the L1 of every instance over pub/sub before
// invalidate() returns. Values are the JSON the domain answers, stored as text.
//
// Contract for writers: a change is committed first, then the keys it touched
// are invalidated, in the same call (Control and Auth do so), so that no
// instance serves a value older than a write once the write has answered.
// A loader's exception is never cached: it reaches the caller (and the callers
// that waited for that load).
// Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dec/services/two_level_cache.h"

namespace dec::control {

struct CacheOptions {
  std::string redis_url;                 // "" = L1 only (embedded)
  std::string prefix = "dec:control:";   // Redis keys and channels; instances sharing it see each other
  size_t l1_max_entries = 20000;         // sessions dominate: one entry per live token in use
  double l1_ttl_s = 5;                   // with Redis: L1 re-reads L2 this often (L1 only: logical_ttl_s)
  double logical_ttl_s = 30;             // a value older than this is reloaded once, served stale meanwhile
  double l2_ttl_s = 3600;
};

// The keys the control plane caches, in one place so that readers and
// invalidating writers agree.
namespace cache_key {
inline std::string stats() { return "stats"; }
inline std::string departments() { return "departments"; }
inline std::string node(int64_t id) { return "node:" + std::to_string(id); }
inline std::string session(const std::string& token_hash) { return "session:" + token_hash; }
}  // namespace cache_key

class ControlCache {
 public:
  // Throws ConfigError for a malformed Redis URL; an unreachable Redis is not an
  // error (reads fall back to the loader until it answers).
  explicit ControlCache(CacheOptions options);
  ~ControlCache();

  // The cached value of key, or loader()'s, which then fills the cache.
  nlohmann::json get(const std::string& key, const std::function<nlohmann::json()>& loader);
  // Drops the keys on every instance (see the contract above).
  void invalidate(const std::vector<std::string>& keys);
  // With Redis: waits until this instance hears invalidations; false after timeout_s.
  bool wait_ready(double timeout_s) const;
  services::TwoLevelCacheStats stats() const;
  bool shared() const { return !options_.redis_url.empty(); }

 private:
  CacheOptions options_;
  std::unique_ptr<services::TwoLevelCache> cache_;
};

}  // namespace dec::control
