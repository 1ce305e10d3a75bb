// `dec control` as an object: storage, login, the cache, the domain, the outbox
// relay, reminders and the HTTP API, wired from one options struct. The CLI, the
// tests and the benches build it the same way.
//
// What lives where (docs/control.md "What is where"):
//   data, sessions, audit, outbox      the database (SQLite in data_dir, or db_url)
//   login codes, rate-limit windows    the database / the process; Redis with redis_url
//   read cache                         this process (L1); + Redis (L2, invalidation) with redis_url
//   notifications                      the EventHub; + RabbitMQ with amqp_url
//   other instances' rows on the hub   RabbitMQ with amqp_url, else Redis pub/sub with redis_url
//   reminders                          a timer; RabbitMQ delayed messages with amqp_url
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "dec/control/auth.h"
#include "dec/control/broker.h"
#include "dec/control/cache.h"
#include "dec/control/code_store.h"
#include "dec/control/control.h"
#include "dec/control/http_api.h"
#include "dec/control/outbox.h"
#include "dec/control/redis_stores.h"
#include "dec/control/reminders.h"

namespace httplib {
class Server;
}

namespace dec::control {

struct ServerOptions {
  std::string data_dir = "dec-control";  // SQLite database and login-codes.txt live here
  std::string db_url;      // "" = SQLite in data_dir; postgresql://... = PostgreSQL
  std::string redis_url;   // "" = in-process cache, codes and limits; redis://host:port[/db] = shared
  std::string redis_prefix = "dec:control:";  // Redis keys and channels; instances sharing it see each other
  std::string amqp_url;    // "" = in-process notifications and reminder timer; amqp://... = RabbitMQ
  std::string host = "127.0.0.1";
  int port = 8080;         // 0 = a free port (see port())
  std::string admin;       // made an enabled admin at start (a fresh install's first login)
  std::string sender = "file";  // "file" (data_dir/login-codes.txt) or "log"
  // HTTP worker threads. A connection holds one for as long as it is open: an
  // event stream while it lasts (at most half the threads may be streams), an
  // idle kept-alive connection until keep_alive_timeout_s (a browser keeps up to
  // six), so a dashboard user takes several.
  int threads = 32;
  size_t keep_alive_max_count = 100000;  // requests per kept-alive connection
  int keep_alive_timeout_s = 2;
  AuthOptions auth;
  ControlOptions control;
  ApiOptions api;
  RelayOptions relay;
  CacheOptions cache;      // redis_url and prefix are taken from above
  BrokerOptions broker;    // url and remind_after_s are taken from amqp_url and control
  int reminder_check_ms = 60000;  // the embedded reminder timer's period
  int offline_check_ms = 1000;    // how often nodes with a stale heartbeat are marked offline
  // HTTPS with this PEM certificate (chain) and key; both "" = plain HTTP.
  std::string tls_cert, tls_key;
  // Lines for the operator's log (the log sender's codes, start-up notes);
  // nullptr = dropped.
  std::function<void(const std::string&)> log;
  Clock* clock = nullptr;  // nullptr = the system clock
};

class ControlServer {
 public:
  // Opens and migrates the database, makes the admin, binds the port. Throws
  // ConfigError (bad options), DbError, IoError (data directory, port).
  explicit ControlServer(ServerOptions options);
  ~ControlServer();

  int port() const { return port_; }
  bool tls() const { return !options_.tls_cert.empty(); }
  // Serves until stop() (from another thread or a signal watcher).
  void run();
  // run() on a thread of its own (tests); returns once the server accepts.
  void start();
  // Ends event streams, stops accepting, finishes requests in flight, stops the
  // relay. Idempotent.
  void stop();

  Db& db() { return *db_; }
  Control& control() { return *control_; }
  Auth& auth() { return *auth_; }
  HttpApi& api() { return *api_; }
  EventHub& hub() { return hub_; }
  OutboxRelay& relay() { return *relay_; }
  ControlCache& cache() { return *cache_; }
  // Where the file sender writes codes ("" with the log sender).
  std::string codes_file() const;

 private:
  void wire_login_and_cache();
  void wire_notifications();
  void make_http();
  ServerOptions options_;
  SystemClock system_clock_;
  Clock* clock_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<CodeSender> sender_;
  std::unique_ptr<ControlCache> cache_;
  std::unique_ptr<SharedRedis> redis_;
  std::unique_ptr<CodeStore> codes_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Control> control_;
  EventHub hub_;  // after options_: sized from threads
  std::unique_ptr<BrokerSink> broker_sink_;
  std::unique_ptr<RedisEventSink> redis_sink_;
  std::unique_ptr<BrokerLiveFeed> broker_feed_;
  std::unique_ptr<RedisEventFeed> redis_feed_;
  std::unique_ptr<OutboxRelay> relay_;
  std::unique_ptr<ReminderTimer> reminder_timer_;
  std::unique_ptr<ReminderConsumer> reminder_consumer_;
  std::unique_ptr<PeriodicTimer> offline_sweep_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dec::control
