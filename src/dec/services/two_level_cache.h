// A two-level read-through cache: L1 in this process, L2 in Redis (optional).
//
// get(key, loader) reads L1, then L2, then calls loader (the database), and
// fills back both levels. Every value carries a logical expiry
// (logical_ttl_s after it was loaded), apart from the levels' own lifetimes
// (l1_ttl_s, short; l2_ttl_s, long):
// - A key found nowhere is loaded once per process: concurrent callers of the
//   same key wait for the one load (single flight) and share its result or
//   its exception.
// - A key found but logically expired is reloaded by exactly one caller, under
//   a per-key flight in this process and, with Redis, a lock key across
//   processes (SET NX PX); every other caller meanwhile gets the stale value at
//   once. So a hot key that expires under load costs one loader call.
// - invalidate(key) removes the key from L2 and from L1 of every instance that
//   shares the Redis and the channel: it publishes the key, each instance's
//   subscriber drops its L1 copy and acknowledges, and invalidate() returns
//   once every subscriber that received the message has acknowledged (or
//   after invalidate_timeout_s). A load that was running while an invalidation
//   arrived is returned to its caller but cached in neither level (L2 fills
//   are conditional on the key's version, bumped by every invalidation). So
//   after invalidate() returns, no instance serves the value from before it.
// - While an instance's subscriber is disconnected it cannot hear
//   invalidations: it then bypasses L1 (reads go to L2 and the loader) and
//   clears L1 when it subscribes again.
// - Redis failing (down, restarting, slow) is never an error of get(): L2 is
//   skipped for l2_retry_s and reads fall back to the loader.
// - No Redis (redis_url empty): L1 alone; invalidate() is local.
// Thread safety: every method may be called from any thread. loader runs on
// the calling thread, without any of the cache's locks held, and may throw
// (the exception reaches the callers that waited for that load).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dec::services {

class RedisClient;
class RedisSubscriber;
struct RedisOptions;

struct TwoLevelCacheOptions {
  std::string redis_url;              // empty: L1 only
  std::string prefix = "dec:cache:";  // Redis key and channel prefix; instances sharing it see each other
  size_t l1_max_entries = 10000;      // least recently used entries go first
  double l1_ttl_s = 5;                // an L1 entry is re-read from L2 after this
  double l2_ttl_s = 3600;             // Redis expires the entry after this
  double logical_ttl_s = 60;          // a value older than this is reloaded (once) and served stale meanwhile
  double l2_retry_s = 1;              // after a Redis failure, L2 is skipped for this long
  double invalidate_timeout_s = 2;    // invalidate() waits this long for acknowledgements at most
  double redis_timeout_s = 1;         // connect and command timeout of the cache's Redis connections
};

struct TwoLevelCacheStats {
  uint64_t l1_hits = 0, l2_hits = 0, loads = 0, stale_served = 0, redis_errors = 0;
  uint64_t invalidations_received = 0;
};

class TwoLevelCache {
 public:
  using Loader = std::function<std::string()>;
  using Clock = std::chrono::system_clock;  // logical expiries cross processes

  explicit TwoLevelCache(TwoLevelCacheOptions options);
  ~TwoLevelCache();
  TwoLevelCache(const TwoLevelCache&) = delete;
  TwoLevelCache& operator=(const TwoLevelCache&) = delete;

  std::string get(const std::string& key, const Loader& loader);
  void invalidate(const std::string& key);

  // With Redis: waits until this instance hears invalidations; false after timeout_s.
  bool wait_ready(double timeout_s) const;
  TwoLevelCacheStats stats() const;
  size_t l1_size() const;

 private:
  struct Entry {
    std::string value;
    Clock::time_point logical_expiry;
  };
  struct L1Item {
    Entry entry;
    std::chrono::steady_clock::time_point l1_expiry;
    std::list<std::string>::iterator lru;
  };
  struct Flight;

  bool l1_usable() const;
  bool l1_find(const std::string& key, Entry* out);
  void l1_put(const std::string& key, const Entry& e, uint64_t epoch);
  void l1_erase(const std::string& key);
  void l1_clear();
  bool l2_get(const std::string& key, Entry* out, std::string* version);
  void l2_put(const std::string& key, const Entry& e, const std::string& version);
  bool l2_lock(const std::string& key);
  void l2_unlock(const std::string& key);
  RedisOptions redis_options() const;  // every connection of the cache: its URL and timeout
  template <typename F>
  bool with_redis(F&& f);  // runs f on the Redis client; false if L2 is off or failed
  void l2_failed();
  bool fresh(const Entry& e) const { return Clock::now() < e.logical_expiry; }
  std::string load_and_fill(const std::string& key, const Loader& loader, const std::string& version,
                            uint64_t epoch);
  bool find_fresh(const std::string& key, Entry* e, std::string* version, uint64_t* epoch);
  std::shared_ptr<Flight> join_flight(const std::string& key, bool* leader);
  void land(const std::string& key, Flight& f, const std::string* value, std::exception_ptr error);
  std::string refresh(const std::string& key, const Loader& loader, const Entry& stale);
  std::string load_cold(const std::string& key, const Loader& loader);
  void on_message(const std::string& channel, const std::string& message);

  TwoLevelCacheOptions options_;
  std::string id_;  // this instance, in acknowledgements

  mutable std::mutex mu_;  // guards l1_, lru_, flights_, stats_
  std::unordered_map<std::string, L1Item> l1_;
  std::list<std::string> lru_;  // most recent first
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  TwoLevelCacheStats stats_;
  std::atomic<uint64_t> epoch_{0};  // bumped by every invalidation heard

  std::mutex redis_mu_;  // guards redis_ and l2_down_until_
  std::unique_ptr<RedisClient> redis_;
  std::chrono::steady_clock::time_point l2_down_until_{};
  std::unique_ptr<RedisClient> ack_redis_;  // used by the subscriber's thread only

  std::mutex ack_mu_;
  std::condition_variable ack_cv_;
  std::unordered_map<std::string, int> acks_;  // nonce -> acknowledgements received

  std::unique_ptr<RedisSubscriber> subscriber_;
};

}  // namespace dec::services
