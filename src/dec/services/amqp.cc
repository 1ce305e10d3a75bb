#include "dec/services/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "dec/core/error.h"

namespace dec::services {

namespace {

constexpr amqp_channel_t kChannel = 1;

timeval to_timeval(double s) {
  s = std::max(s, 0.0);
  timeval tv;
  tv.tv_sec = static_cast<long>(s);
  tv.tv_usec = static_cast<long>((s - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

amqp_bytes_t bytes(const std::string& s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());
  return b;
}

std::string to_string(amqp_bytes_t b) { return std::string(static_cast<const char*>(b.bytes), b.len); }

int parse_int(const std::string& s, const std::string& url, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  DEC_CHECK(!s.empty() && *end == '\0' && v > 0 && v < 65536, ConfigError, "bad AMQP URL", url, what,
            " '", s, "' is not a port number");
  return static_cast<int>(v);
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::strtol(s.substr(i + 1, 2).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

AmqpAddress AmqpAddress::parse(const std::string& url) {
  const std::string scheme = "amqp://";
  DEC_CHECK(url.compare(0, scheme.size(), scheme) == 0, ConfigError, "bad AMQP URL", url,
            "expected amqp://user:password@host:port/vhost");
  AmqpAddress a;
  std::string rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    std::string vhost = percent_decode(rest.substr(slash + 1));
    if (!vhost.empty()) a.vhost = vhost;  // "amqp://h/" is the default vhost "/"
    rest = rest.substr(0, slash);
  }
  auto at = rest.rfind('@');
  if (at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    a.user = percent_decode(cred.substr(0, colon));
    a.password = colon == std::string::npos ? "" : percent_decode(cred.substr(colon + 1));
  }
  auto colon = rest.rfind(':');
  a.host = rest.substr(0, colon);
  if (colon != std::string::npos) a.port = parse_int(rest.substr(colon + 1), url, "port");
  DEC_CHECK(!a.host.empty(), ConfigError, "bad AMQP URL", url, "no host");
  return a;
}

// One connection to the broker with channel 1 open. Every failure throws and
// leaves the connection for the caller to drop.
class AmqpConnection {
 public:
  explicit AmqpConnection(const AmqpOptions& o) : url_(o.url) {
    state_ = amqp_new_connection();
    try {
      open(o);
    } catch (...) {
      amqp_destroy_connection(state_);
      throw;
    }
  }

  ~AmqpConnection() {
    if (healthy_) {
      amqp_channel_close(state_, kChannel, AMQP_REPLY_SUCCESS);
      amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(state_);
  }

  amqp_connection_state_t state() { return state_; }

  // Throws for an RPC reply that is not normal (and marks the connection unusable).
  void check(amqp_rpc_reply_t r, const std::string& what) {
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return;
    healthy_ = false;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION) {
      if (r.library_error == AMQP_STATUS_TIMEOUT)
        throw Timeout("RabbitMQ did not answer", url_, what);
      throw PeerLost("lost the connection to RabbitMQ", url_,
                     str(what, ": ", amqp_error_string2(r.library_error)));
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      auto* m = static_cast<amqp_channel_close_t*>(r.reply.decoded);
      throw Mismatch("RabbitMQ refused an operation", url_,
                     str(what, ": ", m->reply_code, " ", to_string(m->reply_text)));
    }
    if (r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION && r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      auto* m = static_cast<amqp_connection_close_t*>(r.reply.decoded);
      throw PeerLost("RabbitMQ closed the connection", url_,
                     str(what, ": ", m->reply_code, " ", to_string(m->reply_text)));
    }
    throw PeerLost("lost the connection to RabbitMQ", url_, what);
  }

  void check_status(int status, const std::string& what) {
    if (status == AMQP_STATUS_OK) return;
    healthy_ = false;
    if (status == AMQP_STATUS_TIMEOUT) throw Timeout("RabbitMQ did not answer", url_, what);
    throw PeerLost("lost the connection to RabbitMQ", url_, str(what, ": ", amqp_error_string2(status)));
  }

  void declare(const AmqpTopology& t) {
    Args ex_args;
    if (!t.unrouted_exchange.empty()) {
      exchange(t.unrouted_exchange, "fanout");
      Args q;
      q.text("x-overflow", "drop-head");
      q.integer("x-max-length", t.unrouted_max_length);
      queue(t.unrouted_queue, q);
      bind(t.unrouted_queue, t.unrouted_exchange, "");
      ex_args.text("alternate-exchange", t.unrouted_exchange);
    }
    exchange(t.exchange, "topic", ex_args);
    if (!t.live_exchange.empty()) {
      exchange(t.live_exchange, "fanout");
      amqp_exchange_bind(state_, kChannel, bytes(t.exchange), bytes(t.live_exchange), amqp_empty_bytes,
                         amqp_empty_table);
      check(amqp_get_rpc_reply(state_), "exchange.bind " + t.exchange);
    }
    exchange(t.dead_letter_exchange, "fanout");
    queue(t.dead_letter_queue, Args());
    bind(t.dead_letter_queue, t.dead_letter_exchange, "");
    exchange(t.delay_exchange, "fanout");
    queue(t.delay_queue, Args().text("x-dead-letter-exchange", t.exchange));  // expired delayed messages go on
    bind(t.delay_queue, t.delay_exchange, "");
    for (const auto& q : t.queues) {
      queue(q.name, Args().text("x-dead-letter-exchange", t.dead_letter_exchange));
      for (const auto& key : q.binding_keys) bind(q.name, t.exchange, key);
    }
  }

  // A server-named, exclusive, auto-delete queue bounded to max_length; its name.
  std::string transient_queue(int64_t max_length) {
    Args args;
    args.text("x-overflow", "drop-head");
    args.integer("x-max-length", max_length);
    amqp_table_t table = args.table();
    auto* ok = amqp_queue_declare(state_, kChannel, amqp_empty_bytes, 0, 0, 1, 1, table);
    check(amqp_get_rpc_reply(state_), "queue.declare (server-named)");
    return to_string(ok->queue);
  }

  void bind(const std::string& queue, const std::string& exchange, const std::string& key) {
    amqp_queue_bind(state_, kChannel, bytes(queue), bytes(exchange), bytes(key), amqp_empty_table);
    check(amqp_get_rpc_reply(state_), "queue.bind " + queue);
  }

  void mark_broken() { healthy_ = false; }
  const std::string& url() const { return url_; }

 private:
  void open(const AmqpOptions& o) {
    AmqpAddress a = AmqpAddress::parse(o.url);
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    DEC_CHECK(socket, PeerLost, "cannot connect to RabbitMQ", url_, "no socket");
    timeval tv = to_timeval(o.connect_timeout_s);
    int status = amqp_socket_open_noblock(socket, a.host.c_str(), a.port, &tv);
    DEC_CHECK(status == AMQP_STATUS_OK, PeerLost, "cannot connect to RabbitMQ", url_,
              amqp_error_string2(status));
    amqp_set_handshake_timeout(state_, &tv);
    timeval rpc = to_timeval(o.confirm_timeout_s);
    amqp_set_rpc_timeout(state_, &rpc);
    check(amqp_login(state_, a.vhost.c_str(), 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, a.user.c_str(),
                     a.password.c_str()),
          "login");
    amqp_channel_open(state_, kChannel);
    check(amqp_get_rpc_reply(state_), "channel.open");
  }

  // Declaration arguments (strings and integers); the table points into it.
  class Args {
   public:
    Args& text(const char* key, const std::string& value) {
      amqp_table_entry_t e;
      e.key = amqp_cstring_bytes(key);
      e.value.kind = AMQP_FIELD_KIND_UTF8;
      strings_.push_back(value);
      e.value.value.bytes = bytes(strings_.back());
      entries_.push_back(e);
      return *this;
    }
    Args& integer(const char* key, int64_t value) {
      amqp_table_entry_t e;
      e.key = amqp_cstring_bytes(key);
      e.value.kind = AMQP_FIELD_KIND_I64;
      e.value.value.i64 = value;
      entries_.push_back(e);
      return *this;
    }
    amqp_table_t table() const {
      amqp_table_t t = amqp_empty_table;
      t.num_entries = static_cast<int>(entries_.size());
      t.entries = entries_.empty() ? nullptr : const_cast<amqp_table_entry_t*>(entries_.data());
      return t;
    }

   private:
    std::deque<std::string> strings_;  // stable addresses for the entries' bytes
    std::vector<amqp_table_entry_t> entries_;
  };

  void exchange(const std::string& name, const char* type, const Args& args = Args()) {
    amqp_exchange_declare(state_, kChannel, bytes(name), amqp_cstring_bytes(type), 0, 1, 0, 0, args.table());
    check(amqp_get_rpc_reply(state_), "exchange.declare " + name);
  }
  void queue(const std::string& name, const Args& args) {
    amqp_queue_declare(state_, kChannel, bytes(name), 0, 1, 0, 0, args.table());
    check(amqp_get_rpc_reply(state_), "queue.declare " + name);
  }

  std::string url_;
  amqp_connection_state_t state_ = nullptr;
  bool healthy_ = true;
};

// ---- consuming -----------------------------------------------------------------

// One delivery copied out of rabbitmq-c's envelope.
struct Envelope {
  AmqpMessage message;
  bool redelivered = false;
  uint64_t tag = 0;
};

// The next delivery on conn within timeout_s; nullopt on a timeout, and also
// when a frame other than a delivery (the broker closing the channel or the
// connection) or a broken socket ends the connection, which sets *broken.
static std::optional<Envelope> consume_one(AmqpConnection& conn, double timeout_s, bool* broken) {
  *broken = false;
  amqp_maybe_release_buffers(conn.state());
  amqp_envelope_t env;
  timeval tv = to_timeval(timeout_s);
  amqp_rpc_reply_t r = amqp_consume_message(conn.state(), &env, &tv, 0);
  if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
    return std::nullopt;
  }
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    *broken = true;
    return std::nullopt;
  }
  Envelope e;
  const auto& props = env.message.properties;
  if (props._flags & AMQP_BASIC_MESSAGE_ID_FLAG) e.message.id = to_string(props.message_id);
  if (props._flags & AMQP_BASIC_CONTENT_TYPE_FLAG) e.message.content_type = to_string(props.content_type);
  e.message.routing_key = to_string(env.routing_key);
  e.message.body = to_string(env.message.body);
  e.redelivered = env.redelivered;
  e.tag = env.delivery_tag;
  amqp_destroy_envelope(&env);
  return e;
}

// ---- publisher ---------------------------------------------------------------

// Reads frames until the broker has acked every tag in `pending`.
static void wait_confirms(AmqpConnection* conn_, std::set<uint64_t>& pending, double timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!pending.empty()) {
    double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      throw Timeout("RabbitMQ did not confirm", conn_->url(), str(pending.size(), " messages unconfirmed"));
    timeval tv = to_timeval(left);
    amqp_frame_t frame;
    int status = amqp_simple_wait_frame_noblock(conn_->state(), &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT) continue;
    conn_->check_status(status, "waiting for confirms");
    if (frame.frame_type != AMQP_FRAME_METHOD) continue;
    auto id = frame.payload.method.id;
    if (id == AMQP_BASIC_ACK_METHOD) {
      auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
      if (ack->multiple)
        pending.erase(pending.begin(), pending.upper_bound(ack->delivery_tag));
      else
        pending.erase(ack->delivery_tag);
    } else if (id == AMQP_BASIC_NACK_METHOD) {
      throw Mismatch("RabbitMQ refused a message", conn_->url(), "basic.nack");
    } else if (id == AMQP_CHANNEL_CLOSE_METHOD || id == AMQP_CONNECTION_CLOSE_METHOD) {
      conn_->mark_broken();
      throw PeerLost("RabbitMQ closed the channel", conn_->url(), "while confirming");
    }
  }
}

AmqpPublisher::AmqpPublisher(AmqpOptions options, AmqpTopology topology)
    : options_(std::move(options)), topology_(std::move(topology)) {
  AmqpAddress::parse(options_.url);
}

AmqpPublisher::~AmqpPublisher() = default;

void AmqpPublisher::publish(const std::vector<AmqpMessage>& messages) {
  publish_to(topology_.live_exchange.empty() ? topology_.exchange : topology_.live_exchange, messages, "");
}

void AmqpPublisher::publish_delayed(const std::vector<AmqpMessage>& messages, double delay_s) {
  publish_to(topology_.delay_exchange, messages, std::to_string(static_cast<long long>(delay_s * 1000)));
}

void AmqpPublisher::publish_to(const std::string& exchange, const std::vector<AmqpMessage>& messages,
                               const std::string& expiration_ms) {
  try {
    if (!conn_) {
      auto c = std::make_unique<AmqpConnection>(options_);
      c->declare(topology_);
      amqp_confirm_select(c->state(), kChannel);
      c->check(amqp_get_rpc_reply(c->state()), "confirm.select");
      conn_ = std::move(c);
      next_tag_ = 1;
    }
    std::set<uint64_t> pending;
    for (const auto& m : messages) {
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
      props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
      props.message_id = bytes(m.id);
      props.content_type = bytes(m.content_type);
      if (!expiration_ms.empty()) {
        props._flags |= AMQP_BASIC_EXPIRATION_FLAG;
        props.expiration = bytes(expiration_ms);
      }
      conn_->check_status(amqp_basic_publish(conn_->state(), kChannel, bytes(exchange), bytes(m.routing_key), 0, 0,
                                             &props, bytes(m.body)),
                          "basic.publish");
      pending.insert(next_tag_++);
    }
    wait_confirms(conn_.get(), pending, options_.confirm_timeout_s);
  } catch (...) {
    conn_.reset();  // the next call starts over on a fresh connection
    throw;
  }
}

// ---- consumer ----------------------------------------------------------------

AmqpConsumer::AmqpConsumer(AmqpOptions options, AmqpTopology topology, std::string queue, Handler handler,
                           ConsumerOptions consumer)
    : options_(std::move(options)),
      topology_(std::move(topology)),
      queue_(std::move(queue)),
      handler_(std::move(handler)),
      consumer_(consumer) {
  connect();
}

AmqpConsumer::~AmqpConsumer() = default;

void AmqpConsumer::connect() {
  auto c = std::make_unique<AmqpConnection>(options_);
  c->declare(topology_);
  amqp_basic_qos(c->state(), kChannel, 0, static_cast<uint16_t>(consumer_.prefetch), 0);
  c->check(amqp_get_rpc_reply(c->state()), "basic.qos");
  amqp_basic_consume(c->state(), kChannel, bytes(queue_), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  c->check(amqp_get_rpc_reply(c->state()), "basic.consume " + queue_);
  conn_ = std::move(c);
}

bool AmqpConsumer::poll(double timeout_s) {
  if (!conn_) {
    try {
      connect();
      ++reconnects_;
    } catch (const Error&) {
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(timeout_s, 0.2)));
      return false;
    }
  }
  bool broken = false;
  std::optional<Envelope> e = consume_one(*conn_, timeout_s, &broken);
  if (broken) conn_.reset();  // start over on a fresh connection
  if (!e) return false;
  AmqpDelivery d;
  d.message = std::move(e->message);
  d.redelivered = e->redelivered;
  uint64_t tag = e->tag;
  auto f = failures_.find(d.message.id);
  d.attempts = f == failures_.end() ? 0 : f->second;
  std::exception_ptr failure;
  try {
    handler_(d);
  } catch (...) {
    failure = std::current_exception();
  }
  settle(d, tag, failure);
  return true;
}

void AmqpConsumer::settle(const AmqpDelivery& d, uint64_t tag, std::exception_ptr failure) {
  int status = AMQP_STATUS_OK;
  if (!failure) {
    failures_.erase(d.message.id);
    status = amqp_basic_ack(conn_->state(), kChannel, tag, 0);
  } else if (d.attempts + 1 >= consumer_.max_attempts) {
    failures_.erase(d.message.id);
    ++dead_lettered_;
    status = amqp_basic_reject(conn_->state(), kChannel, tag, 0);  // to the dead-letter queue
  } else {
    if (failures_.size() >= 100000) failures_.clear();  // bounded: counts restart, messages still end
    failures_[d.message.id] = d.attempts + 1;
    status = amqp_basic_reject(conn_->state(), kChannel, tag, 1);  // back to the queue
  }
  // An ack lost with its connection is harmless: the broker delivers the
  // message again and the idempotent handler skips it.
  if (status != AMQP_STATUS_OK) conn_.reset();
}

// ---- transient subscription -------------------------------------------------

AmqpSubscription::AmqpSubscription(AmqpOptions options, AmqpTopology topology,
                                   std::vector<std::string> binding_keys, int64_t max_length)
    : options_(std::move(options)),
      topology_(std::move(topology)),
      binding_keys_(std::move(binding_keys)),
      max_length_(max_length) {
  AmqpAddress::parse(options_.url);
}

AmqpSubscription::~AmqpSubscription() = default;

void AmqpSubscription::connect() {
  auto c = std::make_unique<AmqpConnection>(options_);
  c->declare(topology_);
  std::string queue = c->transient_queue(max_length_);
  const std::string& source = topology_.live_exchange.empty() ? topology_.exchange : topology_.live_exchange;
  for (const auto& key : binding_keys_) c->bind(queue, source, key);
  amqp_basic_consume(c->state(), kChannel, bytes(queue), amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
  c->check(amqp_get_rpc_reply(c->state()), "basic.consume " + queue);
  conn_ = std::move(c);
}

bool AmqpSubscription::poll(double timeout_s, AmqpMessage* out) {
  if (!conn_) {
    try {
      connect();
      last_error_.clear();
      refused_ = false;
      return false;  // connected() tells at once
    } catch (const Error& e) {
      last_error_ = e.what();
      refused_ = dynamic_cast<const Mismatch*>(&e) != nullptr;
      std::this_thread::sleep_for(std::chrono::duration<double>(std::min(timeout_s, 0.2)));
      return false;
    }
  }
  bool broken = false;
  std::optional<Envelope> e = consume_one(*conn_, timeout_s, &broken);
  if (broken) conn_.reset();  // reconnect (a new queue) on the next call
  if (!e) return false;
  *out = std::move(e->message);
  return true;
}

// ---- idempotence -------------------------------------------------------------

void MemoryProcessedIds::add(const std::string& id) {
  if (!set_.insert(id).second) return;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

FileProcessedIds::FileProcessedIds(std::string path) : path_(std::move(path)) {
  {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) set_.insert(line);
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  DEC_CHECK(fd_ >= 0, IoError, "cannot open the processed-id file", path_, std::strerror(errno));
}

FileProcessedIds::~FileProcessedIds() {
  if (fd_ >= 0) ::close(fd_);
}

void FileProcessedIds::add(const std::string& id) {
  DEC_CHECK(id.find('\n') == std::string::npos, Mismatch, "bad message id", path_, "contains a newline");
  if (!set_.insert(id).second) return;
  std::string line = id + "\n";
  ssize_t n = ::write(fd_, line.data(), line.size());
  DEC_CHECK(n == static_cast<ssize_t>(line.size()), IoError, "cannot record a processed id", path_,
            std::strerror(errno));
}

AmqpConsumer::Handler idempotent(ProcessedIds& ids, AmqpConsumer::Handler handler,
                                 std::atomic<uint64_t>* duplicates) {
  return [&ids, handler = std::move(handler), duplicates](const AmqpDelivery& d) {
    if (!d.message.id.empty() && ids.contains(d.message.id)) {
      if (duplicates) ++*duplicates;
      return;
    }
    handler(d);
    if (!d.message.id.empty()) ids.add(d.message.id);
  };
}

// ---- outbox relay ------------------------------------------------------------

OutboxRelay::OutboxRelay(AmqpPublisher& publisher, OutboxSource& source, OutboxRelayOptions options)
    : publisher_(publisher), source_(source), options_(options) {}

size_t OutboxRelay::relay_once() {
  std::vector<AmqpMessage> batch = source_.fetch_unsent(options_.batch);
  if (batch.empty()) return 0;
  published_ += batch.size();
  publisher_.publish(batch);  // throws: nothing is marked, the batch goes again later
  confirmed_ += batch.size();
  std::vector<std::string> ids;
  ids.reserve(batch.size());
  for (const auto& m : batch) ids.push_back(m.id);
  source_.mark_sent(ids);
  return batch.size();
}

}  // namespace dec::services
