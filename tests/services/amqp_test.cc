// AMQP publisher, consumer, dead letters, delays and the outbox relay against
// a real RabbitMQ started once for this binary.
#include "dec/services/amqp.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "dec/core/error.h"
#include "dec/core/process.h"
#include "support/services.h"

namespace dec::services {
namespace {

using test::RabbitMqServer;
using Clock = std::chrono::steady_clock;

// A topology of its own per test (names under `name`), so tests never meet.
AmqpTopology topology(const std::string& name) {
  AmqpTopology t;
  t.exchange = name + ".events";
  t.dead_letter_exchange = t.dead_letter_queue = name + ".dead";
  t.delay_exchange = t.delay_queue = name + ".delay";
  t.queues = {{name + ".q", {"request.*", "node.#"}}};
  return t;
}

AmqpOptions options() {
  AmqpOptions o;
  o.url = RabbitMqServer::shared().url();
  return o;
}

AmqpMessage message(const std::string& id, const std::string& key = "request.decided") {
  return AmqpMessage{id, key, "{\"id\":\"" + id + "\"}", "application/json"};
}

TEST(AmqpAddress, ParsesUrls) {
  auto a = AmqpAddress::parse("amqp://u:p%40ss@broker:5673/dec%2Fprod");
  EXPECT_EQ(a.user, "u");
  EXPECT_EQ(a.password, "p@ss");
  EXPECT_EQ(a.host, "broker");
  EXPECT_EQ(a.port, 5673);
  EXPECT_EQ(a.vhost, "dec/prod");
  EXPECT_EQ(AmqpAddress::parse("amqp://guest:guest@127.0.0.1:1/").vhost, "/");
  EXPECT_EQ(AmqpAddress::parse("amqp://h").port, 5672);
  EXPECT_THROW(AmqpAddress::parse("http://h"), ConfigError);
  EXPECT_THROW(AmqpAddress::parse("amqp://h:x/"), ConfigError);
}

TEST(Amqp, UnreachableBrokerIsPeerLost) {
  AmqpOptions o;
  o.url = "amqp://guest:guest@127.0.0.1:" + std::to_string(test::free_port()) + "/";
  AmqpPublisher p(o, topology("unreachable"));
  EXPECT_THROW(p.publish({message("1")}), PeerLost);
}

TEST(Amqp, ConfirmedMessagesReachAManualAckConsumer) {
  auto t = topology("roundtrip");
  AmqpPublisher p(options(), t);
  p.publish({message("a"), message("b", "node.edge0.up"), message("c", "other.ignored")});
  std::vector<AmqpDelivery> got;
  AmqpConsumer c(options(), t, t.queues[0].name, [&](const AmqpDelivery& d) { got.push_back(d); });
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (got.size() < 2 && Clock::now() < deadline) c.poll(0.2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message.id, "a");
  EXPECT_EQ(got[0].message.body, "{\"id\":\"a\"}");
  EXPECT_EQ(got[1].message.routing_key, "node.edge0.up");
  EXPECT_FALSE(c.poll(0.2));  // "other.ignored" matched no binding
}

TEST(Amqp, AFailingMessageIsRetriedThenDeadLettered) {
  auto t = topology("retry");
  AmqpPublisher p(options(), t);
  p.publish({message("poison")});
  std::vector<int> attempts;
  ConsumerOptions co;
  co.max_attempts = 3;
  AmqpConsumer c(
      options(), t, t.queues[0].name,
      [&](const AmqpDelivery& d) {
        attempts.push_back(d.attempts);
        throw IoError("handler", d.message.id, "always fails");
      },
      co);
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (c.dead_lettered() < 1 && Clock::now() < deadline) c.poll(0.2);
  EXPECT_EQ(attempts, (std::vector<int>{0, 1, 2}));
  std::vector<AmqpDelivery> dead;
  AmqpConsumer dlq(options(), t, t.dead_letter_queue, [&](const AmqpDelivery& d) { dead.push_back(d); });
  while (dead.empty() && Clock::now() < deadline) dlq.poll(0.2);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].message.id, "poison");
  EXPECT_FALSE(c.poll(0.2));
}

TEST(Amqp, ADelayedMessageArrivesThroughTheDelayQueue) {
  auto t = topology("delay");
  AmqpPublisher p(options(), t);
  p.publish_delayed({message("reminder", "request.pending")}, 0.3);
  std::vector<AmqpDelivery> got;
  AmqpConsumer c(options(), t, t.queues[0].name, [&](const AmqpDelivery& d) { got.push_back(d); });
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (got.empty() && Clock::now() < deadline) c.poll(0.2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message.id, "reminder");
  EXPECT_EQ(got[0].message.routing_key, "request.pending");
}

TEST(Amqp, IdempotentSkipsKnownIds) {
  MemoryProcessedIds ids(2);
  std::atomic<uint64_t> dups{0};
  int calls = 0;
  auto h = idempotent(ids, [&](const AmqpDelivery&) { ++calls; }, &dups);
  AmqpDelivery d;
  for (const char* id : {"a", "a", "b", "c", "a"}) {
    d.message.id = id;
    h(d);
  }
  EXPECT_EQ(calls, 4);  // a, b, c, and a again once the capacity of 2 forgot it
  EXPECT_EQ(dups.load(), 1u);
}

// ---- 10,000 messages through the outbox relay --------------------------------

// The outbox table, in memory: what the control plane keeps in its database.
class MemoryOutbox : public OutboxSource {
 public:
  explicit MemoryOutbox(int n) {
    char id[16];
    for (int i = 1; i <= n; ++i) {
      std::snprintf(id, sizeof id, "m%05d", i);
      rows_.push_back({message(id), false});
    }
  }
  std::vector<AmqpMessage> fetch_unsent(size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<AmqpMessage> out;
    for (auto& r : rows_) {
      if (out.size() == limit) break;
      if (!r.sent) out.push_back(r.m);
    }
    return out;
  }
  void mark_sent(const std::vector<std::string>& ids) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> s(ids.begin(), ids.end());
    for (auto& r : rows_)
      if (s.count(r.m.id)) r.sent = true;
  }
  bool all_sent() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : rows_)
      if (!r.sent) return false;
    return true;
  }

 private:
  struct Row {
    AmqpMessage m;
    bool sent;
  };
  std::mutex mu_;
  std::vector<Row> rows_;
};

size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line)) n += !line.empty();
  return n;
}

// The consumer process the test kills: this binary again, running only this
// test, with its parameters in the environment. Records handled ids in
// DEC_AMQP_IDS (FileProcessedIds: the effect and the dedup record are one
// write) and each suppressed duplicate as a line of DEC_AMQP_DUPS.
TEST(AmqpConsumerProcess, Run) {
  const char* url = std::getenv("DEC_AMQP_URL");
  if (!url) GTEST_SKIP() << "started by Amqp.OutboxRelayLosesNothing only";
  AmqpOptions o;
  o.url = url;
  auto t = topology(std::getenv("DEC_AMQP_NAME"));
  FileProcessedIds ids(std::getenv("DEC_AMQP_IDS"));
  int dups_fd = ::open(std::getenv("DEC_AMQP_DUPS"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  ASSERT_GE(dups_fd, 0);
  std::atomic<uint64_t> dups{0};
  auto handler = idempotent(ids, [](const AmqpDelivery&) {}, &dups);
  pid_t parent = ::getppid();
  auto deadline = Clock::now() + std::chrono::seconds(120);
  std::unique_ptr<AmqpConsumer> c;
  while (Clock::now() < deadline && ::getppid() == parent) {
    if (!c) {
      try {
        c = std::make_unique<AmqpConsumer>(o, t, t.queues[0].name, [&](const AmqpDelivery& d) {
          uint64_t before = dups;
          handler(d);
          if (dups != before) (void)!::write(dups_fd, "d\n", 2);
        });
      } catch (const Error&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }
    c->poll(0.2);
  }
}

Child start_consumer(const std::string& name, const std::string& dir) {
  Environment env = {{"DEC_AMQP_URL", RabbitMqServer::shared().url()},
                     {"DEC_AMQP_NAME", name},
                     {"DEC_AMQP_IDS", dir + "/ids"},
                     {"DEC_AMQP_DUPS", dir + "/dups"}};
  return Child::spawn(kSelfExe, {"--gtest_filter=AmqpConsumerProcess.Run", "--gtest_brief=1"}, env,
                      "consumer process");
}

bool wait_lines(const std::string& path, size_t n, double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (count_lines(path) < n) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(Amqp, OutboxRelayLosesNothingThroughAConsumerKillAndABrokerRestart) {
  constexpr int kMessages = 10000;
  const std::string name = "outbox";
  auto& rabbit = RabbitMqServer::shared();
  std::string dir = rabbit.dir() + "/outbox-test";
  std::filesystem::create_directories(dir);
  MemoryOutbox outbox(kMessages);
  AmqpPublisher publisher(options(), topology(name));
  OutboxRelay relay(publisher, outbox, OutboxRelayOptions{200});

  std::atomic<bool> stop{false};
  std::atomic<int> relay_errors{0};
  // The relay keeps at most kLead messages ahead of the consumer, so that it
  // is still publishing when the broker restarts.
  constexpr size_t kLead = 1000;
  std::thread relay_thread([&] {
    while (!stop && !outbox.all_sent()) {
      if (relay.confirmed() > count_lines(dir + "/ids") + kLead) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      try {
        if (relay.relay_once() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      } catch (const Error&) {
        ++relay_errors;  // the broker is restarting: the batch goes again
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });

  Child first = start_consumer(name, dir);
  bool reached = wait_lines(dir + "/ids", 2000, 60);
  first.kill(SIGKILL);
  ExitStatus killed = first.wait();
  EXPECT_TRUE(reached);
  EXPECT_EQ(killed.signal, SIGKILL);
  size_t at_kill = count_lines(dir + "/ids");

  Child second = start_consumer(name, dir);
  EXPECT_TRUE(wait_lines(dir + "/ids", at_kill + 2000, 60));
  size_t at_restart = count_lines(dir + "/ids");
  rabbit.restart();
  EXPECT_TRUE(wait_lines(dir + "/ids", kMessages, 90));
  stop = true;
  relay_thread.join();
  second.kill(SIGTERM);
  second.wait();

  std::ifstream in(dir + "/ids");
  std::set<std::string> unique;
  size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines) unique.insert(line);
  size_t dups = count_lines(dir + "/dups");
  EXPECT_EQ(lines, static_cast<size_t>(kMessages));
  EXPECT_EQ(unique.size(), static_cast<size_t>(kMessages));
  EXPECT_TRUE(outbox.all_sent());
  EXPECT_EQ(relay.confirmed(), static_cast<uint64_t>(kMessages));
  EXPECT_GE(relay.published(), relay.confirmed());
  std::printf(
      "outbox: %d messages, %zu handled once each, %zu duplicate deliveries suppressed, %llu published "
      "by the relay (%llu again after failed confirms), %d relay errors; consumer killed at %zu, broker "
      "restarted at %zu\n",
      kMessages, unique.size(), dups, static_cast<unsigned long long>(relay.published()),
      static_cast<unsigned long long>(relay.published() - kMessages), relay_errors.load(), at_kill, at_restart);
  RecordProperty("duplicates_suppressed", static_cast<int>(dups));
  RecordProperty("published", static_cast<int>(relay.published()));
}

}  // namespace
}  // namespace dec::services
