// The control plane on RabbitMQ (`dec control --amqp URL`, docs/control.md
// "Notifications"):
//
// - BrokerSink, the outbox relay's sink: every outbox row goes to the durable
//   topic exchange as a persistent message (routing key = topic, message id =
//   outbox id, body = the row's JSON), published in batches with publisher
//   confirms; the relay marks rows delivered only after the confirms, so with
//   the broker down rows wait in the outbox and go when it is back. Each row
//   also goes to the in-process EventHub (the dashboard's event stream), once,
//   before the broker is asked: the stream does not wait for confirms.
//   A "request.filed" row also schedules its reminder: a delayed message
//   (per-message TTL in the delay queue, dead-lettered into the exchange after
//   remind_after_s) with routing key kRemindDueTopic.
// - ReminderConsumer: a thread consuming those due reminders (manual ack,
//   prefetch 1) and calling Control::remind(), which reminds a request still
//   pending once (a conditional update: a redelivered or duplicate trigger,
//   or one for a request decided meanwhile, does nothing).
//
// Consumers outside the control plane bind their own durable queues to the
// exchange by topic ("request.*", "node.changed", "request.reminder") and
// drop duplicates by message id (DbProcessedIds, processed_ids.h).
//
// Neither needs the broker at start: they connect on first use and reconnect
// after a broker restart. Failures reach the relay as dec::Error (PeerLost,
// Timeout, Mismatch), which retries the batch.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>

#include "dec/control/control.h"
#include "dec/control/outbox.h"
#include "dec/services/amqp.h"

namespace dec::control {

constexpr const char* kRemindDueTopic = "control.remind_due";

struct BrokerOptions {
  std::string url;                                  // amqp://user:password@host:port/vhost
  std::string exchange = "dec.events";              // durable topic exchange of every notification
  std::string delay_exchange = "dec.control.remind";  // reminders wait here (one delay per queue)
  std::string delay_queue = "dec.control.remind";
  std::string reminder_queue = "dec.control.reminders";  // due reminders, consumed by the control plane
  double remind_after_s = 24 * 3600;                // 0 = no reminders
  double confirm_timeout_s = 10;
};

// The exchanges and queues the control plane declares.
services::AmqpTopology broker_topology(const BrokerOptions& options);

class BrokerSink : public OutboxSink {
 public:
  // Checks the URL (ConfigError); connects on the first delivery.
  BrokerSink(BrokerOptions options, EventHub& hub);
  ~BrokerSink() override;
  void deliver(const OutboxMessage& message) override { deliver_batch({message}); }
  void deliver_batch(const std::vector<OutboxMessage>& messages) override;

 private:
  BrokerOptions options_;
  EventHub& hub_;
  std::unique_ptr<services::AmqpPublisher> publisher_;  // relay thread only
  // Rows handed to the hub whose broker delivery has not been confirmed yet:
  // a retried batch does not repeat them on the event stream.
  std::unordered_set<int64_t> on_hub_;
};

class ReminderConsumer {
 public:
  ReminderConsumer(BrokerOptions options, Control& control);  // starts the thread
  ~ReminderConsumer();  // stops it within ~0.2 s
  ReminderConsumer(const ReminderConsumer&) = delete;
  ReminderConsumer& operator=(const ReminderConsumer&) = delete;
  int64_t reminded() const { return reminded_; }

 private:
  void run();
  BrokerOptions options_;
  Control& control_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> reminded_{0};
  std::thread thread_;
};

}  // namespace dec::control
