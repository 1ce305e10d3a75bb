#include "dec/control/broker.h"

#include <nlohmann/json.hpp>

#include <chrono>

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
    if (on_hub_.insert(m.id).second) hub_.deliver(m);
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
  for (const OutboxMessage& m : messages) on_hub_.erase(m.id);
}

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
