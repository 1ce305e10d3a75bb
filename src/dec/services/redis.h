// A Redis client and a pub/sub subscriber over hiredis (docs/services.md).
//
// RedisClient is one connection: command() sends one command with binary-safe
// arguments (redisCommandArgv) and returns the reply copied into a RedisReply.
// Failures are typed (core/error.h):
//   ConfigError  the URL is not redis://host:port[/db]
//   PeerLost     the server cannot be reached or the connection broke
//   Timeout      no answer within command_timeout_s (the connection is dropped)
//   Mismatch     the server answered with an error reply ("WRONGTYPE ...")
// A broken connection is reopened by the next call, so a client outlives a
// server restart. command() retries once on a fresh connection when the old
// one turns out to be broken, so a command can run twice when the connection
// breaks after the server executed it: use it for idempotent commands
// (GET, SET, DEL, PUBLISH, EVAL of an idempotent script) and command_once()
// for the others (INCR).
// Thread safety: none; one client per thread, or a mutex around it.
//
// RedisSubscriber runs one thread that subscribes to channels and calls a
// handler per message. When the connection breaks it reconnects (every
// reconnect_interval_s) and subscribes again; messages published meanwhile
// are lost (Redis pub/sub keeps nothing), so on_connected is called after each
// (re)subscription and a user that must not miss messages resynchronises
// there. Handlers run on the subscriber's thread, one at a time, and must not
// throw. The destructor stops the thread within poll_interval_s.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

struct redisContext;

namespace dec::services {

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379";  // redis://host:port[/db]
  double connect_timeout_s = 1.0;
  double command_timeout_s = 2.0;
};

struct RedisReply {
  enum class Type { Nil, Status, String, Integer, Array, Error };
  Type type = Type::Nil;
  std::string str;       // String, Status and Error
  long long integer = 0;  // Integer
  std::vector<RedisReply> elements;  // Array

  bool is_nil() const { return type == Type::Nil; }
};

// host, port and database of a redis:// URL; ConfigError if malformed.
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
  static RedisAddress parse(const std::string& url);
};

class RedisClient {
 public:
  // Connects; PeerLost if the server cannot be reached, ConfigError on a bad URL.
  explicit RedisClient(RedisOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  RedisReply command(const std::vector<std::string>& args);
  RedisReply command_once(const std::vector<std::string>& args);

  bool connected() const { return ctx_ != nullptr; }
  const std::string& url() const { return options_.url; }

 private:
  void connect();
  void drop();
  RedisReply send(const std::vector<std::string>& args);

  RedisOptions options_;
  RedisAddress address_;
  redisContext* ctx_ = nullptr;
};

struct SubscriberOptions {
  RedisOptions redis;
  std::vector<std::string> channels;
  double reconnect_interval_s = 0.2;
  double poll_interval_s = 0.1;  // how often the thread checks for stop
};

class RedisSubscriber {
 public:
  using Handler = std::function<void(const std::string& channel, const std::string& message)>;

  // Starts the thread; never throws for an unreachable server (it keeps trying).
  RedisSubscriber(SubscriberOptions options, Handler handler,
                  std::function<void()> on_connected = {});
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // True while subscribed (after the server confirmed every channel).
  bool subscribed() const { return subscribed_.load(); }
  // Waits until subscribed; false after timeout_s.
  bool wait_subscribed(double timeout_s) const;
  // Times the thread has (re)subscribed; 1 after the first subscription.
  int subscriptions() const { return subscriptions_.load(); }

 private:
  void run();
  void serve(redisContext* c);

  SubscriberOptions options_;
  Handler handler_;
  std::function<void()> on_connected_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> subscribed_{false};
  std::atomic<int> subscriptions_{0};
  std::thread thread_;
};

}  // namespace dec::services
