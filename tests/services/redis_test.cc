// RedisClient and RedisSubscriber against a real redis-server.
#include "dec/services/redis.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "dec/core/error.h"
#include "support/services.h"

namespace dec::services {
namespace {

using test::RedisServer;

RedisOptions options_for(const RedisServer& s) {
  RedisOptions o;
  o.url = s.url();
  return o;
}

TEST(RedisAddress, ParsesUrls) {
  auto a = RedisAddress::parse("redis://10.0.0.1:7000/3");
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, 7000);
  EXPECT_EQ(a.db, 3);
  EXPECT_EQ(RedisAddress::parse("redis://cache").port, 6379);
  EXPECT_THROW(RedisAddress::parse("http://x:1"), ConfigError);
  EXPECT_THROW(RedisAddress::parse("redis://x:port"), ConfigError);
  EXPECT_THROW(RedisAddress::parse("redis://x:1/db"), ConfigError);
  EXPECT_THROW(RedisAddress::parse("redis://u:p@x:1"), ConfigError);
}

TEST(RedisClient, BinarySafeArgumentsAndTypedReplies) {
  RedisClient c(options_for(RedisServer::shared()));
  std::string value("a\0b\r\n c", 7);
  EXPECT_EQ(c.command({"SET", "bin", value}).str, "OK");
  auto got = c.command({"GET", "bin"});
  EXPECT_EQ(got.type, RedisReply::Type::String);
  EXPECT_EQ(got.str, value);
  EXPECT_TRUE(c.command({"GET", "missing"}).is_nil());
  EXPECT_EQ(c.command_once({"INCR", "n"}).integer, 1);
  c.command({"RPUSH", "l", "x", "y"});
  auto list = c.command({"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(list.type, RedisReply::Type::Array);
  ASSERT_EQ(list.elements.size(), 2u);
  EXPECT_EQ(list.elements[1].str, "y");
  EXPECT_THROW(c.command({"INCR", "l"}), Mismatch);  // WRONGTYPE
  EXPECT_TRUE(c.connected());                        // an error reply keeps the connection
  c.command({"DEL", "bin", "n", "l"});
}

TEST(RedisClient, UnreachableServerIsPeerLost) {
  RedisOptions o;
  o.url = "redis://127.0.0.1:" + std::to_string(test::free_port());
  EXPECT_THROW(RedisClient{o}, PeerLost);
}

TEST(RedisClient, SurvivesAServerRestart) {
  RedisServer s;
  RedisClient c(options_for(s));
  c.command({"SET", "k", "v"});
  s.restart();  // no persistence: the data is gone, the client is not
  EXPECT_TRUE(c.command({"GET", "k"}).is_nil());
  s.stop();
  EXPECT_THROW(c.command({"GET", "k"}), PeerLost);
  EXPECT_THROW(c.command({"GET", "k"}), PeerLost);
  s.start();
  EXPECT_EQ(c.command({"SET", "k", "w"}).str, "OK");
}

struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> messages;

  void add(const std::string& channel, const std::string& m) {
    std::lock_guard<std::mutex> lock(mu);
    messages.push_back(channel + ":" + m);
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return messages.size() >= n; });
  }
};

TEST(RedisSubscriber, DeliversAndResubscribesAfterARestart) {
  RedisServer s;
  Inbox inbox;
  SubscriberOptions so;
  so.redis = options_for(s);
  so.channels = {"a", "b"};
  RedisSubscriber sub(so, [&](const std::string& ch, const std::string& m) { inbox.add(ch, m); });
  ASSERT_TRUE(sub.wait_subscribed(10));
  RedisClient pub(options_for(s));
  pub.command({"PUBLISH", "a", "1"});
  pub.command({"PUBLISH", "b", std::string("2\0x", 3)});
  pub.command({"PUBLISH", "c", "ignored"});
  ASSERT_TRUE(inbox.wait_for(2));

  s.kill9();
  s.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sub.subscriptions() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(sub.subscriptions(), 2);
  pub.command({"PUBLISH", "a", "3"});
  ASSERT_TRUE(inbox.wait_for(3));
  std::lock_guard<std::mutex> lock(inbox.mu);
  EXPECT_EQ(inbox.messages, (std::vector<std::string>{"a:1", std::string("b:2\0x", 5), "a:3"}));
}

}  // namespace
}  // namespace dec::services
