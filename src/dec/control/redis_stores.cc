#include "dec/control/redis_stores.h"

#include <algorithm>

#include "dec/control/api_error.h"

namespace dec::control {

namespace {

// KEYS[1] the code; ARGV: hash, expiry, attempts, Redis TTL ms.
constexpr const char* kPutScript =
    "redis.call('DEL', KEYS[1]) "
    "redis.call('HSET', KEYS[1], 'h', ARGV[1], 'e', ARGV[2], 'a', ARGV[3]) "
    "redis.call('PEXPIRE', KEYS[1], ARGV[4]) return 1";
// KEYS[1] the code; ARGV: hash, now. Returns {0 none | 1 ok | 2 wrong, attempts left}.
constexpr const char* kCheckScript =
    "local c = redis.call('HMGET', KEYS[1], 'h', 'e', 'a') "
    "if not c[1] then return {0, 0} end "
    "if tonumber(c[2]) <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) return {0, 0} end "
    "if c[1] == ARGV[1] then redis.call('DEL', KEYS[1]) return {1, 0} end "
    "local left = tonumber(c[3]) - 1 "
    "if left <= 0 then redis.call('DEL', KEYS[1]) else redis.call('HSET', KEYS[1], 'a', left) end "
    "return {2, left}";
// KEYS[1] the window's counter; ARGV[1] its Redis TTL ms. Returns the count.
constexpr const char* kCountScript =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

}  // namespace

SharedRedis::SharedRedis(std::string url, std::string prefix) : prefix_(std::move(prefix)) {
  options_.url = std::move(url);
  services::RedisAddress::parse(options_.url);  // ConfigError now, not at the first login
}

services::RedisReply SharedRedis::run(const std::vector<std::string>& args, bool once) {
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    if (!client_) client_ = std::make_unique<services::RedisClient>(options_);
    return once ? client_->command_once(args) : client_->command(args);
  } catch (const Error&) {
    client_.reset();  // the next call connects afresh
    throw ApiError(503, "unavailable", "the login store (Redis) is unavailable; retry later");
  }
}

void RedisCodeStore::put(const std::string& address, const std::string& code_hash, int64_t expires_at,
                         int attempts, int64_t now) {
  int64_t ttl_ms = std::max<int64_t>(expires_at - now, 1000) + 60000;
  redis_.run({"EVAL", kPutScript, "1", key(address), code_hash, std::to_string(expires_at),
              std::to_string(attempts), std::to_string(ttl_ms)},
             false);
}

void RedisCodeStore::erase(const std::string& address) { redis_.run({"DEL", key(address)}, false); }

CodeCheck RedisCodeStore::check(const std::string& address, const std::string& code_hash, int64_t now) {
  services::RedisReply r =
      redis_.run({"EVAL", kCheckScript, "1", key(address), code_hash, std::to_string(now)}, true);
  CodeCheck out;
  if (r.elements.size() != 2) return out;
  long long result = r.elements[0].integer;
  out.result = result == 1   ? CodeCheck::Result::kOk
               : result == 2 ? CodeCheck::Result::kWrong
                             : CodeCheck::Result::kNone;
  out.attempts_left = static_cast<int>(r.elements[1].integer);
  return out;
}

bool RedisRateLimiter::allow(const std::string& key, int limit, int64_t window_ms) {
  int64_t window = clock_.now_ms() / std::max<int64_t>(window_ms, 1);
  services::RedisReply r =
      redis_.run({"EVAL", kCountScript, "1", str(redis_.prefix(), "rate:", key, ":", window),
                  std::to_string(2 * window_ms)},
                 true);
  return r.integer <= limit;
}

}  // namespace dec::control
