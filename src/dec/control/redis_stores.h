// Login state shared by every instance through Redis (`dec control --redis`):
// the one-time codes (RedisCodeStore) and the rate-limit windows
// (RedisRateLimiter), so that a code requested on one instance is checked on
// another and an address's limit counts its requests on all of them.
//
// Layout under the prefix: code:<address> a hash {h: code hash, e: expiry ms,
// a: attempts left}, expiring in Redis shortly after the code does;
// rate:<key>:<window number> a counter expiring after its window. Expiry and
// windows follow the control plane's Clock (passed into the scripts), so that
// tests move time without sleeping; Redis's own expiry only collects garbage.
// Every read-modify-write is one Lua script: atomic across instances.
//
// Failures: Redis unreachable or failing is ApiError 503 ("unavailable"), the
// same as a database that is down. Thread-safe (one connection, serialised:
// login calls are rare next to the cached reads).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dec/control/clock.h"
#include "dec/control/code_store.h"
#include "dec/control/rate_limiter.h"
#include "dec/services/redis.h"

namespace dec::control {

class SharedRedis {
 public:
  SharedRedis(std::string url, std::string prefix);
  // Runs a command; `once` for commands that must not run twice (see
  // RedisClient::command_once). Throws ApiError 503 on any Redis failure.
  services::RedisReply run(const std::vector<std::string>& args, bool once);
  const std::string& prefix() const { return prefix_; }

 private:
  services::RedisOptions options_;
  std::string prefix_;
  std::mutex mutex_;
  std::unique_ptr<services::RedisClient> client_;  // GUARDED_BY(mutex_); made on first use
};

class RedisCodeStore : public CodeStore {
 public:
  explicit RedisCodeStore(SharedRedis& redis) : redis_(redis) {}
  void put(const std::string& address, const std::string& code_hash, int64_t expires_at, int attempts,
           int64_t now) override;
  void erase(const std::string& address) override;
  CodeCheck check(const std::string& address, const std::string& code_hash, int64_t now) override;

 private:
  std::string key(const std::string& address) const { return redis_.prefix() + "code:" + address; }
  SharedRedis& redis_;
};

class RedisRateLimiter : public RateLimiter {
 public:
  RedisRateLimiter(SharedRedis& redis, Clock& clock) : redis_(redis), clock_(clock) {}
  // Fixed windows aligned to multiples of window_ms on the clock.
  bool allow(const std::string& key, int limit, int64_t window_ms) override;

 private:
  SharedRedis& redis_;
  Clock& clock_;
};

}  // namespace dec::control
