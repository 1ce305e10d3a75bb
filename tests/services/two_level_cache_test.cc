// TwoLevelCache: L1 alone, and L1 + L2 over a real redis-server.
#include "dec/services/two_level_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "dec/core/error.h"
#include "support/services.h"

namespace dec::services {
namespace {

using test::RedisServer;

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// A prefix of its own per test, so that tests sharing the Redis never meet.
TwoLevelCacheOptions with_redis(const std::string& name) {
  TwoLevelCacheOptions o;
  o.redis_url = RedisServer::shared().url();
  o.prefix = "test:" + name + ":";
  return o;
}

// Releases every thread at once.
class StartLine {
 public:
  explicit StartLine(int n) : waiting_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ == 0) cv_.notify_all();
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return waiting_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

TEST(TwoLevelCache, L1AloneLoadsOnceAndInvalidates) {
  TwoLevelCache c(TwoLevelCacheOptions{});
  int loads = 0;
  auto loader = [&] { return "v" + std::to_string(++loads); };
  EXPECT_EQ(c.get("k", loader), "v1");
  EXPECT_EQ(c.get("k", loader), "v1");
  c.invalidate("k");
  EXPECT_EQ(c.get("k", loader), "v2");
  EXPECT_EQ(c.stats().loads, 2u);
  EXPECT_EQ(c.stats().l1_hits, 1u);
}

TEST(TwoLevelCache, L1IsBoundedLeastRecentlyUsedFirst) {
  TwoLevelCacheOptions o;
  o.l1_max_entries = 2;
  TwoLevelCache c(o);
  int loads = 0;
  auto loader = [&] { return std::to_string(++loads); };
  c.get("a", loader);
  c.get("b", loader);
  c.get("a", loader);  // a is now the most recent
  c.get("c", loader);  // evicts b
  EXPECT_EQ(c.l1_size(), 2u);
  EXPECT_EQ(loads, 3);
  c.get("a", loader);
  EXPECT_EQ(loads, 3);
  c.get("b", loader);
  EXPECT_EQ(loads, 4);
}

TEST(TwoLevelCache, LoaderErrorsReachEveryWaiterAndAreNotCached) {
  TwoLevelCache c(TwoLevelCacheOptions{});
  EXPECT_THROW(c.get("k", []() -> std::string { throw IoError("db", "t", "down"); }), IoError);
  EXPECT_EQ(c.get("k", [] { return std::string("ok"); }), "ok");
}

// 200 readers of a hot key whose logical expiry has passed: one loads, the
// others are served the stale value meanwhile.
void stampede(TwoLevelCacheOptions o) {
  o.logical_ttl_s = 0.2;
  TwoLevelCache c(o);
  ASSERT_TRUE(c.wait_ready(10));
  std::atomic<int> loads{0};
  auto loader = [&] {
    int n = ++loads;
    sleep_s(0.05);
    return "v" + std::to_string(n);
  };
  ASSERT_EQ(c.get("hot", loader), "v1");
  sleep_s(0.3);
  constexpr int kReaders = 200;
  StartLine line(kReaders);
  std::vector<std::string> got(kReaders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i)
    threads.emplace_back([&, i] {
      line.arrive_and_wait();
      got[i] = c.get("hot", loader);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 2);  // the first load and exactly one reload
  int stale = 0;
  for (auto& v : got) {
    EXPECT_TRUE(v == "v1" || v == "v2") << v;
    stale += v == "v1";
  }
  EXPECT_EQ(c.get("hot", loader), "v2");
  EXPECT_EQ(c.stats().stale_served, static_cast<uint64_t>(stale));
}

TEST(TwoLevelCache, ExpiredHotKeyIsLoadedOnceL1Alone) { stampede(TwoLevelCacheOptions{}); }
TEST(TwoLevelCache, ExpiredHotKeyIsLoadedOnceWithRedis) { stampede(with_redis("stampede")); }

TEST(TwoLevelCache, ColdKeyIsLoadedOnceByConcurrentReaders) {
  TwoLevelCache c(with_redis("cold"));
  ASSERT_TRUE(c.wait_ready(10));
  std::atomic<int> loads{0};
  constexpr int kReaders = 200;
  StartLine line(kReaders);
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  for (int i = 0; i < kReaders; ++i)
    threads.emplace_back([&] {
      line.arrive_and_wait();
      right += c.get("cold", [&] {
        ++loads;
        sleep_s(0.05);
        return std::string("x");
      }) == "x";
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(right.load(), kReaders);
}

TEST(TwoLevelCache, TwoInstancesLoadAnExpiredKeyOnceBetweenThem) {
  auto o = with_redis("two-stampede");
  o.logical_ttl_s = 0.2;
  TwoLevelCache a(o), b(o);
  ASSERT_TRUE(a.wait_ready(10) && b.wait_ready(10));
  std::atomic<int> loads{0};
  auto loader = [&] {
    int n = ++loads;
    sleep_s(0.05);
    return "v" + std::to_string(n);
  };
  ASSERT_EQ(a.get("hot", loader), "v1");
  ASSERT_EQ(b.get("hot", loader), "v1");  // from L2
  sleep_s(0.3);
  StartLine line(100);
  std::vector<std::thread> threads;
  for (int i = 0; i < 100; ++i)
    threads.emplace_back([&, i] {
      line.arrive_and_wait();
      (i % 2 ? a : b).get("hot", loader);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 2);
  EXPECT_EQ(b.stats().l2_hits + a.stats().l2_hits > 0, true);
}

// A writer updates the "database" and invalidates through instance a while
// readers read through instance b: a read that starts after invalidate()
// returned never sees a version older than the write.
TEST(TwoLevelCache, InvalidationReachesTheOtherInstanceBeforeItReturns) {
  auto o = with_redis("invalidate");
  TwoLevelCache a(o), b(o);
  ASSERT_TRUE(a.wait_ready(10) && b.wait_ready(10));
  std::atomic<int> db{0}, committed{0};
  auto loader = [&] {
    int v = db.load();
    std::this_thread::yield();
    return std::to_string(v);
  };
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r)
    readers.emplace_back([&] {
      while (!stop) {
        int floor = committed.load();
        int v = std::stoi(b.get("item", loader));
        violations += v < floor;
        ++reads;
      }
    });
  for (int w = 1; w <= 200; ++w) {
    a.get("item", loader);
    db = w;
    a.invalidate("item");
    committed = w;
    EXPECT_EQ(std::stoi(b.get("item", loader)), w);
    EXPECT_EQ(std::stoi(a.get("item", loader)), w);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_GE(b.stats().invalidations_received, 200u);
}

TEST(TwoLevelCache, RedisRestartFallsBackToTheLoader) {
  RedisServer s;
  TwoLevelCacheOptions o;
  o.redis_url = s.url();
  o.l2_retry_s = 0.05;
  o.redis_timeout_s = 0.5;
  o.invalidate_timeout_s = 0.5;
  TwoLevelCache a(o), b(o);
  ASSERT_TRUE(a.wait_ready(10) && b.wait_ready(10));
  std::atomic<int> db{1}, loads{0};
  auto loader = [&] {
    ++loads;
    return std::to_string(db.load());
  };
  EXPECT_EQ(a.get("k", loader), "1");
  EXPECT_EQ(b.get("k", loader), "1");  // an L2 hit
  EXPECT_EQ(loads.load(), 1);

  s.kill9();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(a.get("k", loader), "1");
    EXPECT_EQ(b.get("k", loader), "1");
  }
  db = 2;
  a.invalidate("k");  // Redis is down: local only, and no error
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.get("k", loader), "2");
  // b cannot hear invalidations now, so it does not serve its L1 copy.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (b.get("k", loader) != "2" && std::chrono::steady_clock::now() < deadline) sleep_s(0.01);
  EXPECT_EQ(b.get("k", loader), "2");
  EXPECT_GT(a.stats().redis_errors + b.stats().redis_errors, 0u);

  s.start();
  ASSERT_TRUE(a.wait_ready(10) && b.wait_ready(10));
  db = 3;
  a.invalidate("k");
  EXPECT_EQ(a.get("k", loader), "3");
  EXPECT_EQ(b.get("k", loader), "3");
  sleep_s(0.1);
  int before = loads.load();
  EXPECT_EQ(a.get("k", loader), "3");
  EXPECT_EQ(loads.load(), before);  // served by a cache level again
}

}  // namespace
}  // namespace dec::services
