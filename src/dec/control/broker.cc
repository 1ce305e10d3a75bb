#include "dec/control/broker.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>

namespace dec::control {

namespace {

services::AmqpOptions amqp_options(const BrokerOptions& o) {
  services::AmqpOptions a;
  a.url = o.url;
  a.confirm_timeout_s = o.confirm_timeout_s;
  return a;
}

// The reminder trigger of a filed request (its outbox payload names it).
std::optional<services::AmqpMessage> reminder_trigger(const OutboxMessage& m) {
  if (m.topic != "request.filed") return std::nullopt;
  auto payload = nlohmann::json::parse(m.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("entity_id")) return std::nullopt;
  int64_t request = payload["entity_id"].get<int64_t>();
  services::AmqpMessage trigger;
  trigger.id = "remind-" + std::to_string(request);
  trigger.routing_key = kRemindDueTopic;
  trigger.body = nlohmann::json{{"request_id", request}}.dump();
  return trigger;
}

}  // namespace

services::AmqpTopology broker_topology(const BrokerOptions& options) {
  services::AmqpTopology t;
  t.exchange = options.exchange;
  t.delay_exchange = options.delay_exchange;
  t.delay_queue = options.delay_queue;
  t.live_exchange = options.live_exchange;
  t.unrouted_exchange = options.unrouted_exchange;
  t.unrouted_queue = options.unrouted_queue;
  t.unrouted_max_length = options.unrouted_max_length;
  t.queues.push_back({options.reminder_queue, {kRemindDueTopic}});
  return t;
}

BrokerSink::BrokerSink(BrokerOptions options, EventHub& hub) : options_(std::move(options)), hub_(hub) {
  services::AmqpAddress::parse(options_.url);
}

BrokerSink::~BrokerSink() = default;

void BrokerSink::deliver_batch(const std::vector<OutboxMessage>& messages) {
  std::vector<services::AmqpMessage> out, triggers;
  for (const OutboxMessage& m : messages) {
    hub_.offer(m);  // a retried batch is not repeated on the stream: the hub knows the ids
    out.push_back({std::to_string(m.id), m.topic, m.payload});
    if (options_.remind_after_s > 0) {
      if (auto t = reminder_trigger(m)) triggers.push_back(*t);
    }
  }
  try {
    if (!publisher_) {
      publisher_ = std::make_unique<services::AmqpPublisher>(amqp_options(options_),
                                                              broker_topology(options_));
    }
    publisher_->publish(out);
    // After the rows: a crash between the two publishes both again, and a
    // repeated trigger reminds nobody twice (Control::remind is conditional).
    if (!triggers.empty()) publisher_->publish_delayed(triggers, options_.remind_after_s);
  } catch (const Error&) {
    publisher_.reset();  // a fresh connection for the retry
    throw;
  }
}

BrokerLiveFeed::BrokerLiveFeed(BrokerOptions options, EventHub& hub)
    : options_(std::move(options)), hub_(hub), thread_([this] { run(); }) {}

BrokerLiveFeed::~BrokerLiveFeed() {
  stop_ = true;
  thread_.join();
}

bool BrokerLiveFeed::wait_ready(double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!ready_ && refused().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return ready_;
}

std::string BrokerLiveFeed::refused() {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_;
}

void BrokerLiveFeed::run() {
  // Bounded like an event stream's queue: a live view, not a record.
  services::AmqpSubscription subscription(amqp_options(options_), broker_topology(options_), {"#"}, 10000);
  services::AmqpMessage m;
  while (!stop_) {
    bool got = subscription.poll(0.2, &m);
    ready_ = subscription.connected();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      refused_ = subscription.refused() ? subscription.last_error() : std::string();
    }
    if (!got) continue;
    ++received_;
    char* end = nullptr;
    long long id = std::strtoll(m.id.c_str(), &end, 10);
    if (m.id.empty() || *end != '\0') continue;  // not an outbox row
    if (hub_.offer({id, 0, m.routing_key, m.body})) ++shown_;
  }
}

RedisEventSink::RedisEventSink(std::string redis_url, std::string channel, EventHub& hub)
    : url_(std::move(redis_url)), channel_(std::move(channel)), hub_(hub) {
  services::RedisAddress::parse(url_);
}

RedisEventSink::~RedisEventSink() = default;

void RedisEventSink::deliver_batch(const std::vector<OutboxMessage>& messages) {
  nlohmann::json rows = nlohmann::json::array();
  for (const OutboxMessage& m : messages) {
    hub_.offer(m);
    rows.push_back({{"id", m.id}, {"at", m.at}, {"topic", m.topic}, {"payload", m.payload}});
  }
  // After a failure Redis is left alone for a second, so that a Redis that
  // hangs does not hold every batch for its timeouts.
  auto now = std::chrono::steady_clock::now();
  if (now < retry_at_) {
    ++failures_;
    return;
  }
  try {
    if (!client_) {
      services::RedisOptions o;
      o.url = url_;
      client_ = std::make_unique<services::RedisClient>(o);
    }
    client_->command({"PUBLISH", channel_, rows.dump()});
  } catch (const Error&) {
    ++failures_;  // other instances' streams miss this batch; the outbox keeps it
    retry_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  }
}

RedisEventFeed::RedisEventFeed(std::string redis_url, std::string channel, EventHub& hub) : hub_(hub) {
  services::SubscriberOptions o;
  o.redis.url = std::move(redis_url);
  o.channels = {std::move(channel)};
  subscriber_ = std::make_unique<services::RedisSubscriber>(
      o, [this](const std::string&, const std::string& text) {
        auto rows = nlohmann::json::parse(text, nullptr, false);
        if (!rows.is_array()) return;
        for (const auto& r : rows) {
          try {
            OutboxMessage m{r.at("id").get<int64_t>(), r.value("at", int64_t{0}),
                            r.at("topic").get<std::string>(), r.at("payload").get<std::string>()};
            if (hub_.offer(m)) ++shown_;
          } catch (const nlohmann::json::exception&) {
            // not a row of ours: skipped (the handler must not throw)
          }
        }
      });
}

RedisEventFeed::~RedisEventFeed() = default;

ReminderConsumer::ReminderConsumer(BrokerOptions options, Control& control)
    : options_(std::move(options)), control_(control), thread_([this] { run(); }) {}

ReminderConsumer::~ReminderConsumer() {
  stop_ = true;
  thread_.join();
}

void ReminderConsumer::run() {
  std::unique_ptr<services::AmqpConsumer> consumer;
  auto handle = [this](const services::AmqpDelivery& d) {
    auto body = nlohmann::json::parse(d.message.body, nullptr, false);
    if (!body.is_object() || !body.value("request_id", json()).is_number_integer()) return;  // not ours: acked, dropped
    if (control_.remind(body["request_id"].get<int64_t>())) ++reminded_;
  };
  while (!stop_) {
    try {
      if (!consumer) {
        consumer = std::make_unique<services::AmqpConsumer>(
            amqp_options(options_), broker_topology(options_), options_.reminder_queue, handle);
      }
      consumer->poll(0.2);
    } catch (const Error&) {
      // The broker is down: try again shortly (the triggers wait in their queue).
      consumer.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

}  // namespace dec::control
