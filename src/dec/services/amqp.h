// RabbitMQ over rabbitmq-c: durable topology, confirmed publishing, a
// manual-ack consumer with a retry rule and a dead-letter queue, delayed
// messages, and an outbox relay (docs/services.md).
//
// Failures are typed (core/error.h): ConfigError for a bad amqp:// URL,
// PeerLost when the broker cannot be reached or the connection breaks,
// Timeout when a confirm or a reply does not come in time, Mismatch when the
// broker refuses something (a nack, a declaration that contradicts an
// existing one). A broken connection is reopened by the next call (and the
// topology and confirm mode set up again), so publishers and consumers
// outlive a broker restart. No class here is thread-safe: one per thread.
//
// Delivery guarantees: publish() returns once the broker has confirmed every
// message (basic.ack after confirm.select): persistent messages in durable
// queues, so a confirmed message survives a broker restart. A message whose
// confirm did not come is published again by the caller (the outbox relay
// does so), so consumers see duplicates and must be idempotent (Idempotent
// below, keyed by the message id).
//
// Retry rule: a handler that throws has its message rejected back to the
// queue (basic.reject, requeue) and the failure counted by message id in the
// consumer; once a message has failed max_attempts times in a row it is
// rejected without requeue and the queue's dead-letter exchange routes it to
// the dead-letter queue. Counts live in the consumer (bounded): a consumer
// that restarts counts again, and a consumer that dies before acking does not
// count (the broker redelivers the message, flagged redelivered).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dec::services {

struct AmqpOptions {
  std::string url = "amqp://guest:guest@127.0.0.1:5672/";  // amqp://user:password@host:port/vhost
  double connect_timeout_s = 2;
  double confirm_timeout_s = 10;  // publish() waits this long for the broker's acks
};

// The exchanges and queues; declare() creates them (idempotently) on every (re)connection.
//
// Unroutable messages: a message that no binding of `exchange` matches is
// discarded by the broker, although it is confirmed. With unrouted_exchange
// set, `exchange` is declared with that alternate exchange (a durable fanout)
// and its durable queue unrouted_queue keeps them for inspection or replay.
// Declaring an existing exchange with other arguments fails
// (PRECONDITION_FAILED, a Mismatch here): one created without the argument must
// be deleted once (docs/control.md). The queue is bounded to
// unrouted_max_length messages, dropping the oldest (x-overflow drop-head):
// reject-publish would nack every publish once it is full, so a topic nobody
// binds would stop all publishing until someone drained it, while the
// publisher's own record (the control plane's outbox table) keeps every message.
//
// Transient subscribers (AmqpSubscription: a process's live view) must not
// count as routes, or `exchange` would never find a message unroutable while
// one runs. With live_exchange set, publish() sends to that durable fanout
// exchange instead, which is bound to `exchange` (everything goes on to it,
// routed by its own routing key there); live views bind to live_exchange.
struct AmqpTopology {
  std::string exchange = "dec.events";     // durable topic exchange messages are routed by
  std::string unrouted_exchange;           // "" = none; else `exchange`'s alternate exchange
  std::string unrouted_queue;              // durable queue of unroutable messages
  int64_t unrouted_max_length = 100000;    // messages kept in it, the oldest dropped first
  std::string live_exchange;               // "" = publish() sends to `exchange`
  std::string dead_letter_exchange = "dec.dead";  // durable fanout exchange of rejected messages
  std::string dead_letter_queue = "dec.dead";     // durable queue bound to it
  std::string delay_exchange = "dec.delay";  // durable fanout exchange of delayed messages
  std::string delay_queue = "dec.delay";     // no consumer: its messages expire into `exchange`
  struct Queue {
    std::string name;                       // durable, dead-lettering to dead_letter_exchange
    std::vector<std::string> binding_keys;  // topic patterns on `exchange` ("node.*", "#")
  };
  std::vector<Queue> queues;
};

struct AmqpMessage {
  std::string id;           // message id: what idempotent consumers key on
  std::string routing_key;  // "request.decided"
  std::string body;
  std::string content_type = "application/json";
};

struct AmqpDelivery {
  AmqpMessage message;
  bool redelivered = false;  // the broker delivered it before (a consumer died or the broker restarted)
  int attempts = 0;          // earlier failed handler calls in this consumer (retry rule)
};

// host, port, vhost, user and password of an amqp:// URL; ConfigError if malformed.
struct AmqpAddress {
  std::string host, vhost = "/", user = "guest", password = "guest";
  int port = 5672;
  static AmqpAddress parse(const std::string& url);
};

class AmqpConnection;  // one connection with one channel (in amqp.cc)

class AmqpPublisher {
 public:
  // Connects on the first publish (declaring the topology and selecting
  // confirm mode then, and again after every reconnection): constructing one
  // never fails for a broker that is down. publish({}) connects and declares
  // the topology without sending anything (a consumer's queue before the
  // first message that must reach it).
  AmqpPublisher(AmqpOptions options, AmqpTopology topology);
  ~AmqpPublisher();

  // Publishes the messages, persistent, to the topology's exchange (through
  // live_exchange when set) and waits
  // for the broker's confirms of all of them. Throws (PeerLost, Timeout,
  // Mismatch on a nack) when any is not confirmed: then none of them is known
  // to be delivered and the caller publishes them again.
  void publish(const std::vector<AmqpMessage>& messages);
  // The same, through the delay queue: each message reaches the exchange
  // (with its routing key) after delay_s. Expiry is per message, but a queue
  // only expires its head: use one delay for all messages of a delay queue.
  void publish_delayed(const std::vector<AmqpMessage>& messages, double delay_s);

 private:
  void publish_to(const std::string& exchange, const std::vector<AmqpMessage>& messages,
                  const std::string& expiration_ms);
  AmqpOptions options_;
  AmqpTopology topology_;
  std::unique_ptr<AmqpConnection> conn_;
  uint64_t next_tag_ = 1;  // delivery tag of the next publish on conn_
};

struct ConsumerOptions {
  int prefetch = 1;
  int max_attempts = 5;  // failed handler calls before the dead-letter queue
};

class AmqpConsumer {
 public:
  using Handler = std::function<void(const AmqpDelivery&)>;

  // Connects, declares the topology and starts consuming `queue` with manual
  // acks. PeerLost if the broker is down.
  AmqpConsumer(AmqpOptions options, AmqpTopology topology, std::string queue, Handler handler,
               ConsumerOptions consumer = {});
  ~AmqpConsumer();

  // Waits up to timeout_s for one message, hands it to the handler and acks
  // it (or applies the retry rule). Returns whether a message was handled.
  // A broken connection is reopened (false if the broker is still down), so a
  // loop over poll() rides through a broker restart.
  bool poll(double timeout_s);
  uint64_t reconnects() const { return reconnects_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  void connect();
  void settle(const AmqpDelivery& d, uint64_t tag, std::exception_ptr failure);
  AmqpOptions options_;
  AmqpTopology topology_;
  std::string queue_;
  Handler handler_;
  ConsumerOptions consumer_;
  std::unique_ptr<AmqpConnection> conn_;
  uint64_t reconnects_ = 0;
  uint64_t dead_lettered_ = 0;
  std::unordered_map<std::string, int> failures_;  // message id -> failed handler calls
};

// A transient subscription for a live view: a server-named, exclusive,
// auto-delete queue bound to the topology's live_exchange (or `exchange`) with
// `binding_keys`, consumed without acknowledgements (the broker forgets a
// message once it is sent) and bounded to max_length messages (oldest dropped).
// Messages published while it is disconnected are not seen: the queue goes
// with its connection and a new one is declared on reconnection. The topology
// is declared first. Connects on the first poll; never throws from poll().
class AmqpSubscription {
 public:
  AmqpSubscription(AmqpOptions options, AmqpTopology topology, std::vector<std::string> binding_keys,
                   int64_t max_length = 10000);
  ~AmqpSubscription();
  // Waits up to timeout_s for one message; false if none came. A call that
  // has to connect returns after connecting (false; or, the broker down, after
  // sleeping up to 0.2 s, and the next call tries again).
  bool poll(double timeout_s, AmqpMessage* out);
  // True while its queue is bound and consumed.
  bool connected() const { return conn_ != nullptr; }
  // The last connection failure ("" after a successful connection).
  const std::string& last_error() const { return last_error_; }
  // Whether that failure was the broker refusing the topology (a Mismatch,
  // such as an exchange declared before with other arguments).
  bool refused() const { return refused_; }

 private:
  void connect();
  AmqpOptions options_;
  AmqpTopology topology_;
  std::vector<std::string> binding_keys_;
  int64_t max_length_;
  std::unique_ptr<AmqpConnection> conn_;
  std::string last_error_;
  bool refused_ = false;
};

// Which message ids were handled already. The control plane keeps them in its
// database (in the transaction of the handler's effect); MemoryProcessedIds and
// FileProcessedIds serve tests and single-machine use.
class ProcessedIds {
 public:
  virtual ~ProcessedIds() = default;
  virtual bool contains(const std::string& id) = 0;
  // Called after the handler succeeded, before the ack.
  virtual void add(const std::string& id) = 0;
};

// The last `capacity` ids, in memory.
class MemoryProcessedIds : public ProcessedIds {
 public:
  explicit MemoryProcessedIds(size_t capacity = 100000) : capacity_(capacity) {}
  bool contains(const std::string& id) override { return set_.count(id) > 0; }
  void add(const std::string& id) override;

 private:
  size_t capacity_;
  std::unordered_set<std::string> set_;
  std::deque<std::string> order_;
};

// One id per line in a file, appended with one write() per id (so a process
// killed after add() returned has its id on disk); read back on open.
class FileProcessedIds : public ProcessedIds {
 public:
  explicit FileProcessedIds(std::string path);  // IoError if it cannot be opened
  ~FileProcessedIds() override;
  bool contains(const std::string& id) override { return set_.count(id) > 0; }
  void add(const std::string& id) override;
  size_t size() const { return set_.size(); }

 private:
  std::string path_;
  int fd_ = -1;
  std::unordered_set<std::string> set_;
};

// Wraps a handler: a message whose id `ids` contains is not handed on (and
// counted in *duplicates); after the handler returns, its id is added.
AmqpConsumer::Handler idempotent(ProcessedIds& ids, AmqpConsumer::Handler handler,
                                 std::atomic<uint64_t>* duplicates = nullptr);

// The transactional outbox, as the relay sees it: the control plane writes a
// message into its outbox table in the transaction of the change it reports,
// and implements this over that table.
class OutboxSource {
 public:
  virtual ~OutboxSource() = default;
  // Up to `limit` messages not marked sent yet, oldest first.
  virtual std::vector<AmqpMessage> fetch_unsent(size_t limit) = 0;
  // Marks them sent; called only after the broker confirmed them.
  virtual void mark_sent(const std::vector<std::string>& ids) = 0;
};

struct OutboxRelayOptions {
  size_t batch = 500;  // messages fetched, published and confirmed together
};

// Moves messages from an OutboxSource to the broker: publishes a batch with
// confirms and marks it sent only after the broker's acks. A crash or a
// broker failure between the two publishes the batch again later: at least
// once, never lost.
class OutboxRelay {
 public:
  OutboxRelay(AmqpPublisher& publisher, OutboxSource& source, OutboxRelayOptions options = {});
  // Relays one batch; returns how many messages were confirmed and marked
  // (0: nothing to send). Errors of the publisher propagate (nothing marked).
  size_t relay_once();
  uint64_t published() const { return published_; }  // handed to the broker, batches published again included
  uint64_t confirmed() const { return confirmed_; }  // confirmed by the broker (and marked sent)

 private:
  AmqpPublisher& publisher_;
  OutboxSource& source_;
  OutboxRelayOptions options_;
  uint64_t published_ = 0;
  uint64_t confirmed_ = 0;
};

}  // namespace dec::services
