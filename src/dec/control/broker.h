// The control plane's notifications beyond its process (docs/control.md
// "Notifications"): RabbitMQ (`dec control --amqp URL`), and Redis pub/sub for
// the event streams of several instances without a broker.
//
// - BrokerSink, the outbox relay's sink: every outbox row goes to the durable
//   topic exchange as a persistent message (routing key = topic, message id =
//   outbox id, body = the row's JSON), published in batches with publisher
//   confirms; the relay marks rows delivered only after the confirms, so with
//   the broker down rows wait in the outbox and go when it is back. Each row
//   also goes to the in-process EventHub (the dashboard's event stream)
//   before the broker is asked: the stream does not wait for confirms.
//   Rows are published through the fanout exchange live_exchange, bound to the
//   topic exchange; a row that no durable queue's binding matches goes on to
//   the alternate exchange and waits in the bounded queue unrouted_queue
//   instead of being discarded (services::AmqpTopology says why bounded, why
//   drop-head, and why live views bind elsewhere). The alternative, mandatory
//   publishing with a returned message counted as a failure, would stop the
//   relay, which delivers in order, at the first topic nobody binds.
//   A "request.filed" row also schedules its reminder: a delayed message
//   (per-message TTL in the delay queue, dead-lettered into the exchange after
//   remind_after_s) with routing key kRemindDueTopic.
// - ReminderConsumer: a thread consuming those due reminders (manual ack,
//   prefetch 1) and calling Control::remind(), which reminds a request still
//   pending once (a conditional update: a redelivered or duplicate trigger,
//   or one for a request decided meanwhile, does nothing).
// - BrokerLiveFeed: other instances' rows on this instance's event streams, a
//   thread consuming a transient queue ('#' on live_exchange) into the hub,
//   which drops the rows it has (its own relay's).
// - RedisEventSink and RedisEventFeed: the same through Redis pub/sub, for
//   instances sharing Redis but no broker (`--redis` without `--amqp`): the
//   relay hands rows to the hub and publishes each batch on a channel, every
//   instance's feed hands them to its hub. Best effort: pub/sub keeps nothing
//   for a subscriber that is disconnected, and a publish that fails is
//   counted, not retried (the local hub had the rows, the outbox and the audit
//   log keep them; a failed publish leaves Redis alone for a second).
//
// Consumers outside the control plane bind their own durable queues to the
// exchange by topic ("request.*", "node.changed", "request.reminder") and
// drop duplicates by message id (DbProcessedIds, processed_ids.h).
//
// None needs the broker or Redis at start: they connect on first use and
// reconnect after a restart (ControlServer waits up to 2 s for the live
// feeds, and refuses to start if the broker refuses the exchanges). The
// broker's failures reach the relay as dec::Error (PeerLost, Timeout,
// Mismatch), which retries the batch.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "dec/control/control.h"
#include "dec/control/outbox.h"
#include "dec/services/amqp.h"
#include "dec/services/redis.h"

namespace dec::control {

constexpr const char* kRemindDueTopic = "control.remind_due";

struct BrokerOptions {
  std::string url;                                  // amqp://user:password@host:port/vhost
  std::string exchange = "dec.events";              // durable topic exchange of every notification
  std::string delay_exchange = "dec.control.remind";  // reminders wait here (one delay per queue)
  std::string delay_queue = "dec.control.remind";
  std::string reminder_queue = "dec.control.reminders";  // due reminders, consumed by the control plane
  std::string live_exchange = "dec.events.live";        // rows are published here; live views bind here
  std::string unrouted_exchange = "dec.events.unrouted";  // the exchange's alternate exchange
  std::string unrouted_queue = "dec.events.unrouted";   // rows no durable queue's binding matched
  int64_t unrouted_max_length = 100000;             // kept there, the oldest dropped first
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
};

// A thread feeding the hub from the broker (see above).
class BrokerLiveFeed {
 public:
  BrokerLiveFeed(BrokerOptions options, EventHub& hub);  // starts the thread
  ~BrokerLiveFeed();                                       // stops it within ~0.2 s
  BrokerLiveFeed(const BrokerLiveFeed&) = delete;
  BrokerLiveFeed& operator=(const BrokerLiveFeed&) = delete;
  // Waits until its queue is bound, or the broker refused the topology; true
  // if bound.
  bool wait_ready(double timeout_s);
  // Why the broker refused the topology ("" if it did not): an exchange
  // declared before with other arguments.
  std::string refused();
  int64_t received() const { return received_; }  // messages from the broker
  int64_t shown() const { return shown_; }        // of those, new to the hub

 private:
  void run();
  BrokerOptions options_;
  EventHub& hub_;
  std::atomic<bool> stop_{false}, ready_{false};
  std::mutex mutex_;
  std::string refused_;  // GUARDED_BY(mutex_)
  std::atomic<int64_t> received_{0}, shown_{0};
  std::thread thread_;
};

// The relay's sink with Redis and no broker: the hub, then one PUBLISH of the
// batch (a JSON array of {id, at, topic, payload}) on `channel`.
class RedisEventSink : public OutboxSink {
 public:
  RedisEventSink(std::string redis_url, std::string channel, EventHub& hub);
  ~RedisEventSink() override;
  void deliver(const OutboxMessage& message) override { deliver_batch({message}); }
  void deliver_batch(const std::vector<OutboxMessage>& messages) override;
  int64_t failures() const { return failures_; }

 private:
  std::string url_, channel_;
  EventHub& hub_;
  std::unique_ptr<services::RedisClient> client_;  // relay thread only; made on first use
  std::chrono::steady_clock::time_point retry_at_;  // no publishing before (after a failure)
  std::atomic<int64_t> failures_{0};  // batches not published
};

// Subscribes to that channel and hands every row to the hub.
class RedisEventFeed {
 public:
  RedisEventFeed(std::string redis_url, std::string channel, EventHub& hub);  // starts the thread
  ~RedisEventFeed();
  bool wait_ready(double timeout_s) { return subscriber_->wait_subscribed(timeout_s); }
  int64_t shown() const { return shown_; }

 private:
  EventHub& hub_;
  std::atomic<int64_t> shown_{0};
  std::unique_ptr<services::RedisSubscriber> subscriber_;
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
