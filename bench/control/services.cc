// The control plane's services under load, against a redis-server and a
// RabbitMQ this program starts itself (tests/support/services.h):
//   stampede: 200 concurrent readers of a hot key whose logical expiry has
//     passed, through TwoLevelCache with a counting loader (a 50 ms "database
//     query"), with Redis (L1 + L2) and L1 alone: database loads per stampede
//     (must be 1; without the cache every reader would load: 200);
//   publish with confirms: persistent 200-byte messages to a durable topic
//     exchange and queue, one message per confirm and 500 per confirm;
//   outbox relay: outbox rows (written by Control::record, as every state change
//     writes them) relayed per second by the control plane's OutboxRelay to its
//     embedded sink (the EventHub behind GET /events) and to RabbitMQ through
//     BrokerSink (`dec control --amqp`: persistent messages, confirmed a batch at
//     a time, the EventHub fed too).
//
//   build/bench/control_services [--rounds 5] [--messages 20000] [--outbox 20000]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dec/control/broker.h"
#include "dec/control/clock.h"
#include "dec/control/control.h"
#include "dec/control/db.h"
#include "dec/control/outbox.h"
#include "dec/services/amqp.h"
#include "dec/services/two_level_cache.h"
#include "support/services.h"

namespace {

using Steady = std::chrono::steady_clock;

double seconds_since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }
void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Releases every waiting thread at once, when the last one arrives.
class StartLine {
 public:
  explicit StartLine(int n) : left_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--left_ == 0) cv_.notify_all();
    cv_.wait(lock, [&] { return left_ == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int left_;
};

struct Stampede {
  int loads = 0;        // loader calls during the stampede (the warm-up load excluded)
  uint64_t stale = 0;   // readers served the expired value while it reloaded
  double seconds = 0;   // from the start line to the last reader's answer
};

// One stampede on its own key: load it, let it expire logically, then 200
// readers at once.
Stampede stampede(dec::services::TwoLevelCacheOptions o, const std::string& key, int readers) {
  o.logical_ttl_s = 0.2;
  dec::services::TwoLevelCache cache(o);
  if (!cache.wait_ready(10)) throw std::runtime_error("the cache's subscriber did not connect");
  std::atomic<int> loads{0};
  auto loader = [&] {
    int n = ++loads;
    sleep_s(0.05);
    return std::string(200, 'a' + n % 26);
  };
  cache.get(key, loader);
  sleep_s(0.3);
  uint64_t stale_before = cache.stats().stale_served;
  StartLine line(readers + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i)
    threads.emplace_back([&] {
      line.arrive_and_wait();
      cache.get(key, loader);
    });
  line.arrive_and_wait();
  auto t = Steady::now();
  for (auto& th : threads) th.join();
  Stampede s;
  s.seconds = seconds_since(t);
  s.loads = loads.load() - 1;
  s.stale = cache.stats().stale_served - stale_before;
  return s;
}

void run_stampedes(const std::string& redis_url, int rounds) {
  const int readers = 200;
  for (bool with_redis : {true, false}) {
    dec::services::TwoLevelCacheOptions o;
    if (with_redis) o.redis_url = redis_url;
    o.prefix = "bench:stampede:";
    int worst = 0, total = 0;
    uint64_t stale = 0;
    double slowest = 0;
    for (int r = 0; r < rounds; ++r) {
      Stampede s = stampede(o, "hot" + std::to_string(r), readers);
      worst = std::max(worst, s.loads);
      total += s.loads;
      stale += s.stale;
      slowest = std::max(slowest, s.seconds);
    }
    std::printf("stampede (%s): %d readers on an expired hot key, %d rounds: database loads per stampede %s "
                "(max %d, total %d; without the cache %d each), stale answers %.0f per round, slowest "
                "stampede %.1f ms -> %s\n",
                with_redis ? "L1 + Redis" : "L1 only", readers, rounds, worst == 1 && total == rounds ? "1" : "NOT 1",
                worst, total, readers, static_cast<double>(stale) / rounds, slowest * 1000,
                worst == 1 && total == rounds ? "met" : "NOT met");
  }
}

double publishes_per_s(const std::string& url, long n, size_t batch) {
  dec::services::AmqpTopology topology;
  topology.exchange = "bench.events";  // names of its own, apart from the control plane's topology
  topology.dead_letter_exchange = topology.dead_letter_queue = "bench.dead";
  topology.delay_exchange = topology.delay_queue = "bench.delay";
  topology.queues = {{"bench.q", {"#"}}};  // one queue for both runs: each message stored once
  dec::services::AmqpOptions options;
  options.url = url;
  dec::services::AmqpPublisher publisher(options, topology);
  std::vector<dec::services::AmqpMessage> messages;
  long sent = 0;
  auto t = Steady::now();
  while (sent < n) {
    messages.clear();
    for (size_t i = 0; i < batch && sent < n; ++i, ++sent)
      messages.push_back({"m" + std::to_string(sent), "bench.event", std::string(200, 'x'), "application/json"});
    publisher.publish(messages);
  }
  return static_cast<double>(n) / seconds_since(t);
}

void bind_consumer_queue(const dec::control::BrokerOptions& broker) {
  dec::services::AmqpTopology topology = dec::control::broker_topology(broker);  // what BrokerSink declares
  topology.queues.push_back({"bench.notifications", {"#"}});
  dec::services::AmqpOptions options;
  options.url = broker.url;
  dec::services::AmqpPublisher publisher(options, topology);
  publisher.publish({{"setup", "bench.setup", "{}", "application/json"}});  // connects and declares
}

// Rows per second through the control plane's relay to `sink`, after `rows`
// state changes' outbox rows were written (SQLite in a temporary directory).
double relayed_per_s(dec::control::OutboxSink& sink, long rows, const std::string& dir) {
  using namespace dec::control;
  auto db = open_sqlite(dir + "/control.db");
  ManualClock clock;
  Control control(*db, clock);
  for (long start = 0; start < rows; start += 1000) {
    db->transact([&](Tx& tx) {
      for (long i = start; i < std::min(rows, start + 1000); ++i)
        control.record(tx, nullptr, "node.changed", "node", i, nullptr, json{{"state", "available"}});
    });
  }
  OutboxRelay relay(*db, sink);
  auto t = Steady::now();
  long n = 0;
  while (int k = relay.pass()) n += k;
  double rate = static_cast<double>(n) / seconds_since(t);
  if (n != rows) throw std::runtime_error("the relay delivered " + std::to_string(n) + " rows of " + std::to_string(rows));
  return rate;
}

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "dec-control-bench-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  long messages = 20000, outbox = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--messages")) messages = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--outbox")) outbox = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "control_services: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  try {
    {
      dec::test::RedisServer redis;
      run_stampedes(redis.url(), rounds);
    }
    dec::test::RabbitMqServer rabbit;
    double one = publishes_per_s(rabbit.url(), messages / 10, 1);
    double many = publishes_per_s(rabbit.url(), messages, 500);
    std::printf("publish with confirms, persistent 200-byte messages: 1 per confirm %.0f/s, 500 per confirm %.0f/s "
                "(%.1fx)\n",
                one, many, many / one);
    dec::control::EventHub hub;
    std::string dir = temp_dir();
    double hub_rate = relayed_per_s(hub, outbox, dir);
    std::filesystem::remove_all(dir);
    dec::control::BrokerOptions broker;
    broker.url = rabbit.url();
    broker.remind_after_s = 0;  // no reminder messages: only the notifications
    // A consumer's durable queue bound to every topic, as a subscriber of the
    // notifications declares it: without one the exchange routes nothing and
    // the broker confirms without storing.
    bind_consumer_queue(broker);
    dec::control::BrokerSink sink(broker, hub);
    dir = temp_dir();
    double broker_rate = relayed_per_s(sink, outbox, dir);
    std::filesystem::remove_all(dir);
    std::printf("outbox relay (SQLite, %d rows a pass), %ld rows: to the in-process EventHub %.0f rows/s, to "
                "RabbitMQ with confirms (BrokerSink, one durable queue bound) %.0f rows/s (EventHub / RabbitMQ %.1fx; "
                "RabbitMQ relay / bare publishing at 500 per confirm %.2fx)\n",
                dec::control::RelayOptions{}.batch, outbox, hub_rate, broker_rate, hub_rate / broker_rate,
                broker_rate / many);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "control_services: %s\n", e.what());
    return 1;
  }
  return 0;
}
