#include "dec/services/two_level_cache.h"

#include <cstdlib>
#include <exception>
#include <random>

#include "dec/core/error.h"
#include "dec/services/redis.h"

namespace dec::services {

namespace {

// Redis keys under the prefix: v:<key> the value ("<logical expiry ms>|<value>"),
// ver:<key> its version (bumped by invalidate), lock:<key> the refresher's lock;
// channels inv (invalidations: "<origin> <nonce> <key>") and ack:<origin> (nonces).
// The fill is conditional on the version read before the load.
constexpr const char* kFillScript =
    "if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0";
constexpr const char* kInvalidateScript =
    "redis.call('INCR', KEYS[2]) redis.call('PEXPIRE', KEYS[2], ARGV[1]) "
    "redis.call('DEL', KEYS[1]) return 1";

std::string random_hex(size_t n) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* digits = "0123456789abcdef";
  std::string s(n, '0');
  for (auto& c : s) c = digits[rng() % 16];
  return s;
}

long long ms_of(TwoLevelCache::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string ms_string(double seconds) { return std::to_string(static_cast<long long>(seconds * 1000)); }

}  // namespace

struct TwoLevelCache::Flight {
  std::mutex m;
  std::condition_variable cv;
  uint64_t epoch = 0;  // epoch_ when it began
  bool done = false;
  std::string value;
  std::exception_ptr error;
};

RedisOptions TwoLevelCache::redis_options() const {
  RedisOptions o;
  o.url = options_.redis_url;
  o.connect_timeout_s = o.command_timeout_s = options_.redis_timeout_s;
  return o;
}

TwoLevelCache::TwoLevelCache(TwoLevelCacheOptions options)
    : options_(std::move(options)), id_(random_hex(16)) {
  DEC_CHECK(options_.l1_max_entries > 0, ConfigError, "bad cache options", "l1_max_entries", "must be > 0");
  if (options_.redis_url.empty()) return;
  RedisAddress::parse(options_.redis_url);
  SubscriberOptions so;
  so.redis = redis_options();
  so.channels = {options_.prefix + "inv", options_.prefix + "ack:" + id_};
  subscriber_ = std::make_unique<RedisSubscriber>(
      so, [this](const std::string& ch, const std::string& m) { on_message(ch, m); },
      [this] { l1_clear(); });
}

TwoLevelCache::~TwoLevelCache() { subscriber_.reset(); }

bool TwoLevelCache::wait_ready(double timeout_s) const {
  return !subscriber_ || subscriber_->wait_subscribed(timeout_s);
}

TwoLevelCacheStats TwoLevelCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

size_t TwoLevelCache::l1_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return l1_.size();
}

// ---- L1 ----------------------------------------------------------------------

bool TwoLevelCache::l1_usable() const { return !subscriber_ || subscriber_->subscribed(); }

bool TwoLevelCache::l1_find(const std::string& key, Entry* out) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = l1_.find(key);
  if (it == l1_.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second.l1_expiry) {
    lru_.erase(it->second.lru);
    l1_.erase(it);
    return false;
  }
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  *out = it->second.entry;
  ++stats_.l1_hits;
  return true;
}

void TwoLevelCache::l1_put(const std::string& key, const Entry& e, uint64_t epoch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (epoch_.load() != epoch) return;  // an invalidation came in while this value was read
  auto l1_expiry = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(options_.l1_ttl_s));
  auto it = l1_.find(key);
  if (it != l1_.end()) {
    it->second.entry = e;
    it->second.l1_expiry = l1_expiry;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return;
  }
  lru_.push_front(key);
  l1_.emplace(key, L1Item{e, l1_expiry, lru_.begin()});
  while (l1_.size() > options_.l1_max_entries) {
    l1_.erase(lru_.back());
    lru_.pop_back();
  }
}

void TwoLevelCache::l1_erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  auto it = l1_.find(key);
  if (it == l1_.end()) return;
  lru_.erase(it->second.lru);
  l1_.erase(it);
}

void TwoLevelCache::l1_clear() {
  std::lock_guard<std::mutex> lock(mu_);
  ++epoch_;
  l1_.clear();
  lru_.clear();
}

// ---- L2 ----------------------------------------------------------------------

void TwoLevelCache::l2_failed() {
  l2_down_until_ = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(options_.l2_retry_s));
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.redis_errors;
}

template <typename F>
bool TwoLevelCache::with_redis(F&& f) {
  if (options_.redis_url.empty()) return false;
  std::lock_guard<std::mutex> lock(redis_mu_);
  if (std::chrono::steady_clock::now() < l2_down_until_) return false;
  try {
    if (!redis_) {
      redis_ = std::make_unique<RedisClient>(redis_options());
    }
    f(*redis_);
    return true;
  } catch (const Error&) {
    // Down, restarting or slow: skip L2 for a while; the loader answers.
    l2_failed();
    return false;
  }
}

bool TwoLevelCache::l2_get(const std::string& key, Entry* out, std::string* version) {
  bool found = false;
  with_redis([&](RedisClient& r) {
    auto reply = r.command({"MGET", options_.prefix + "v:" + key, options_.prefix + "ver:" + key});
    if (reply.elements.size() != 2) return;
    *version = reply.elements[1].str;
    const std::string& s = reply.elements[0].str;
    auto bar = s.find('|');
    if (reply.elements[0].is_nil() || bar == std::string::npos) return;
    out->logical_expiry = Clock::time_point(std::chrono::milliseconds(std::atoll(s.c_str())));
    out->value = s.substr(bar + 1);
    found = true;
  });
  if (found) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.l2_hits;
  }
  return found;
}

void TwoLevelCache::l2_put(const std::string& key, const Entry& e, const std::string& version) {
  with_redis([&](RedisClient& r) {
    r.command({"EVAL", kFillScript, "2", options_.prefix + "v:" + key, options_.prefix + "ver:" + key,
               version, std::to_string(ms_of(e.logical_expiry)) + "|" + e.value,
               ms_string(options_.l2_ttl_s)});
  });
}

bool TwoLevelCache::l2_lock(const std::string& key) {
  bool got = true;  // without Redis, the in-process flight is the only lock
  with_redis([&](RedisClient& r) {
    auto reply = r.command_once({"SET", options_.prefix + "lock:" + key, id_, "NX", "PX",
                                 ms_string(options_.logical_ttl_s + 10)});
    got = !reply.is_nil();
  });
  return got;
}

void TwoLevelCache::l2_unlock(const std::string& key) {
  with_redis([&](RedisClient& r) { r.command({"DEL", options_.prefix + "lock:" + key}); });
}

// ---- reads -------------------------------------------------------------------

std::string TwoLevelCache::get(const std::string& key, const Loader& loader) {
  Entry e;
  bool found = l1_usable() && l1_find(key, &e);
  if (!found) {
    uint64_t epoch = epoch_.load();
    std::string version;
    found = l2_get(key, &e, &version);
    if (found) l1_put(key, e, epoch);
  }
  if (!found) return load_cold(key, loader);
  if (fresh(e)) return e.value;
  return refresh(key, loader, e);
}

std::string TwoLevelCache::load_and_fill(const std::string& key, const Loader& loader,
                                         const std::string& version, uint64_t epoch) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.loads;
  }
  Entry e;
  e.value = loader();
  e.logical_expiry = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(options_.logical_ttl_s));
  l2_put(key, e, version);
  l1_put(key, e, epoch);
  return e.value;
}

// The flight leader's second look: another flight may have landed a fresh
// value since this caller read a stale one or none. Leaves the epoch and the
// L2 version read before it looked, for a load that follows.
bool TwoLevelCache::find_fresh(const std::string& key, Entry* e, std::string* version, uint64_t* epoch) {
  *epoch = epoch_.load();
  if (l1_usable() && l1_find(key, e) && fresh(*e)) return true;
  if (l2_get(key, e, version) && fresh(*e)) {
    l1_put(key, *e, *epoch);
    return true;
  }
  return false;
}

std::shared_ptr<TwoLevelCache::Flight> TwoLevelCache::join_flight(const std::string& key, bool* leader) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = flights_[key];
  // A flight that began before an invalidation may bring the old value: a
  // caller that comes after it starts a flight of its own.
  *leader = !slot || slot->epoch != epoch_.load();
  if (*leader) {
    slot = std::make_shared<Flight>();
    slot->epoch = epoch_.load();
  }
  return slot;
}

void TwoLevelCache::land(const std::string& key, Flight& f, const std::string* value, std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = flights_.find(key);
    if (it != flights_.end() && it->second.get() == &f) flights_.erase(it);
  }
  std::lock_guard<std::mutex> lock(f.m);
  f.done = true;
  if (value) f.value = *value;
  f.error = error;
  f.cv.notify_all();
}

std::string TwoLevelCache::load_cold(const std::string& key, const Loader& loader) {
  bool leader = false;
  auto f = join_flight(key, &leader);
  if (!leader) {
    std::unique_lock<std::mutex> lock(f->m);
    // The leader runs the loader; a loader that hangs is the loader's bug,
    // but the waiters still end.
    if (!f->cv.wait_for(lock, std::chrono::seconds(60), [&] { return f->done; }))
      throw Timeout("cache load did not finish", key, "waited 60 s for another caller's load");
    if (f->error) std::rethrow_exception(f->error);
    return f->value;
  }
  try {
    Entry e;
    std::string version;
    uint64_t epoch = 0;
    std::string value = find_fresh(key, &e, &version, &epoch) ? e.value
                                                              : load_and_fill(key, loader, version, epoch);
    land(key, *f, &value, nullptr);
    return value;
  } catch (...) {
    land(key, *f, nullptr, std::current_exception());
    throw;
  }
}

std::string TwoLevelCache::refresh(const std::string& key, const Loader& loader, const Entry& stale) {
  bool leader = false;
  auto f = join_flight(key, &leader);
  auto serve_stale = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.stale_served;
    return stale.value;
  };
  if (!leader) return serve_stale();
  try {
    Entry e;
    std::string version;
    uint64_t epoch = 0;
    std::string value;
    if (find_fresh(key, &e, &version, &epoch)) {
      value = e.value;
    } else if (!l2_lock(key)) {
      value = serve_stale();  // another instance is reloading it
    } else {
      try {
        value = load_and_fill(key, loader, version, epoch);
      } catch (...) {
        l2_unlock(key);
        throw;
      }
      l2_unlock(key);
    }
    land(key, *f, &value, nullptr);
    return value;
  } catch (...) {
    land(key, *f, nullptr, std::current_exception());
    throw;
  }
}

// ---- invalidation ------------------------------------------------------------

void TwoLevelCache::invalidate(const std::string& key) {
  l1_erase(key);
  if (options_.redis_url.empty()) return;
  std::string nonce = random_hex(16);
  {
    std::lock_guard<std::mutex> lock(ack_mu_);
    acks_[nonce] = 0;
  }
  long long receivers = 0;
  with_redis([&](RedisClient& r) {
    r.command({"EVAL", kInvalidateScript, "2", options_.prefix + "v:" + key, options_.prefix + "ver:" + key,
               ms_string(2 * options_.l2_ttl_s)});
    receivers = r.command_once({"PUBLISH", options_.prefix + "inv", id_ + " " + nonce + " " + key}).integer;
  });
  std::unique_lock<std::mutex> lock(ack_mu_);
  ack_cv_.wait_for(lock, std::chrono::duration<double>(options_.invalidate_timeout_s),
                   [&] { return acks_[nonce] >= receivers; });
  acks_.erase(nonce);
}

void TwoLevelCache::on_message(const std::string& channel, const std::string& message) {
  if (channel == options_.prefix + "ack:" + id_) {
    std::lock_guard<std::mutex> lock(ack_mu_);
    auto it = acks_.find(message);
    if (it != acks_.end()) ++it->second;
    ack_cv_.notify_all();
    return;
  }
  auto first = message.find(' ');
  auto second = first == std::string::npos ? first : message.find(' ', first + 1);
  if (second == std::string::npos) return;  // not ours
  std::string origin = message.substr(0, first);
  std::string nonce = message.substr(first + 1, second - first - 1);
  l1_erase(message.substr(second + 1));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.invalidations_received;
  }
  try {
    if (!ack_redis_) {
      ack_redis_ = std::make_unique<RedisClient>(redis_options());
    }
    ack_redis_->command({"PUBLISH", options_.prefix + "ack:" + origin, nonce});
  } catch (const Error&) {
    // The invalidator stops waiting at its deadline; our L1 copy is gone already.
  }
}

}  // namespace dec::services
