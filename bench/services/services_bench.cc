// Throughput of the services layer on this machine, against a redis-server and
// a RabbitMQ it starts itself (tests/support/services.h):
//   cache get: an L1 hit, an L2 hit (Redis round trip), one thread;
//   publish with confirms: one message per confirm, and batches of 500.
// Prints each figure and the ratios between them.
//   build/bench/services_bench [--gets N] [--messages N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dec/services/amqp.h"
#include "dec/services/two_level_cache.h"
#include "support/services.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Gets per second of one key that `options` serve from one level.
double gets_per_s(dec::services::TwoLevelCacheOptions options, long n) {
  dec::services::TwoLevelCache cache(options);
  cache.wait_ready(10);
  auto loader = [] { return std::string(200, 'x'); };
  cache.get("key", loader);
  auto t = Clock::now();
  for (long i = 0; i < n; ++i) cache.get("key", loader);
  return static_cast<double>(n) / seconds_since(t);
}

double publishes_per_s(const std::string& url, long n, size_t batch) {
  dec::services::AmqpTopology topology;
  topology.exchange = "bench.events";
  topology.queues = {{"bench.q", {"#"}}};
  dec::services::AmqpOptions options;
  options.url = url;
  dec::services::AmqpPublisher publisher(options, topology);
  std::vector<dec::services::AmqpMessage> messages;
  long sent = 0;
  auto t = Clock::now();
  while (sent < n) {
    messages.clear();
    for (size_t i = 0; i < batch && sent < n; ++i, ++sent)
      messages.push_back({"m" + std::to_string(sent), "bench.event", std::string(200, 'x'), "application/json"});
    publisher.publish(messages);
  }
  return static_cast<double>(n) / seconds_since(t);
}

}  // namespace

int main(int argc, char** argv) {
  long gets = 200000, messages = 20000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--gets")) gets = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--messages")) messages = std::atol(argv[i + 1]);
  }
  try {
    dec::test::RedisServer redis;
    dec::services::TwoLevelCacheOptions l1;
    l1.redis_url = redis.url();
    double l1_rate = gets_per_s(l1, gets * 10);
    dec::services::TwoLevelCacheOptions l2 = l1;
    l2.l1_ttl_s = 0;  // every get goes to Redis
    double l2_rate = gets_per_s(l2, gets);
    std::printf("cache get, 200-byte value, one thread: L1 hit %.0f/s, L2 hit %.0f/s (L1/L2 %.1fx)\n", l1_rate,
                l2_rate, l1_rate / l2_rate);

    dec::test::RabbitMqServer rabbit;
    double one = publishes_per_s(rabbit.url(), messages / 10, 1);
    double many = publishes_per_s(rabbit.url(), messages, 500);
    std::printf(
        "publish with confirms, persistent 200-byte messages: 1 per confirm %.0f/s, 500 per confirm %.0f/s "
        "(%.1fx)\n",
        one, many, many / one);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "services_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
