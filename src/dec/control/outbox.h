// Notifications: the outbox table is their source of truth (a row is written in
// the same transaction as the change it announces); a relay delivers rows to a
// sink after commit and marks them delivered. A sink that fails leaves its rows
// for the next pass: a notification is delayed, never lost. Delivery is at least
// once: a crash between delivering and marking repeats a message, which carries
// its outbox id so that consumers drop duplicates.
//
// Embedded mode's sink is the EventHub: in-process fan-out to the API's
// server-sent event streams (GET /api/v1/events). With a broker the sink is a
// BrokerSink (broker.h): RabbitMQ with confirms, and the EventHub as well.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "dec/control/db.h"

namespace dec::control {

struct OutboxMessage {
  int64_t id = 0;  // the outbox row's id: the message id consumers deduplicate by
  int64_t at = 0;
  std::string topic;    // "request.approved", "node.changed", ...
  std::string payload;  // JSON
};

// Contract: deliver() returns once the message is durably handed over (for a
// broker, confirmed) and throws dec::Error when it cannot; called from the
// relay's thread only, in outbox order.
class OutboxSink {
 public:
  virtual ~OutboxSink() = default;
  virtual void deliver(const OutboxMessage& message) = 0;
  // A batch, in order, under the same contract (a broker confirms it as one:
  // none of it counts as delivered unless it all returns).
  virtual void deliver_batch(const std::vector<OutboxMessage>& messages) {
    for (const OutboxMessage& m : messages) deliver(m);
  }
};

// One reader of the hub: a bounded queue; when a slow reader falls more than
// `capacity` messages behind, the oldest are dropped and `dropped` counts them
// (an event stream is a live view; the audit log is the complete record).
class Subscription {
 public:
  explicit Subscription(size_t capacity) : capacity_(capacity) {}
  // The next message, or nullopt after timeout_ms or once the hub is closed.
  std::optional<OutboxMessage> next(int timeout_ms);
  bool closed();
  int64_t dropped();

 private:
  friend class EventHub;
  void push(const OutboxMessage& m);
  void close();
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<OutboxMessage> queue_;  // GUARDED_BY(mutex_)
  bool closed_ = false;              // GUARDED_BY(mutex_)
  int64_t dropped_ = 0;              // GUARDED_BY(mutex_)
};

// Fan-out to the event streams. A message id it got already is dropped: with
// several instances a row reaches the hub from the local relay and again from
// the broker or Redis (the live feeds in broker.h), and a batch the broker
// refused is delivered again. Ids are remembered for the last
// `remembered_ids` messages.
class EventHub : public OutboxSink {
 public:
  explicit EventHub(size_t max_subscribers = 32, size_t queue_capacity = 256,
                    size_t remembered_ids = 65536)
      : max_subscribers_(max_subscribers), queue_capacity_(queue_capacity), remembered_ids_(remembered_ids) {}
  void deliver(const OutboxMessage& message) override { offer(message); }
  // Hands a message to every stream unless its id was seen; whether it was new.
  bool offer(const OutboxMessage& message);
  // nullptr when max_subscribers are already connected.
  std::shared_ptr<Subscription> subscribe();
  void unsubscribe(const std::shared_ptr<Subscription>& s);
  // Ends every subscription (shutdown); later subscribe() calls get a closed one.
  void close();
  size_t subscribers();

 private:
  size_t max_subscribers_, queue_capacity_, remembered_ids_;
  std::mutex mutex_;
  std::set<std::shared_ptr<Subscription>> subscribers_;  // GUARDED_BY(mutex_)
  std::unordered_set<int64_t> seen_;                      // GUARDED_BY(mutex_)
  std::deque<int64_t> seen_order_;                        // GUARDED_BY(mutex_), oldest first
  bool closed_ = false;                                   // GUARDED_BY(mutex_)
};

struct RelayOptions {
  int poll_ms = 1000;  // a pass runs at least this often, and at once after poke()
  int batch = 100;     // rows claimed per transaction
};

class OutboxRelay {
 public:
  OutboxRelay(Db& db, OutboxSink& sink, RelayOptions options = {});
  ~OutboxRelay();
  void start();
  // Wakes the relay's thread (after a commit that wrote outbox rows).
  void poke();
  // Stops the thread after its current pass (pending rows stay for the next start).
  void stop();
  // One synchronous pass: delivers and marks up to `batch` rows; returns how many.
  // Throws what the sink or the database throws.
  int pass();
  int64_t delivered() const { return delivered_; }
  int64_t failures() const { return failures_; }

 private:
  void run();
  Db& db_;
  OutboxSink& sink_;
  RelayOptions options_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool poked_ = false;    // GUARDED_BY(mutex_)
  bool stopping_ = false; // GUARDED_BY(mutex_)
  std::thread thread_;
  std::atomic<int64_t> delivered_{0}, failures_{0};
};

}  // namespace dec::control
