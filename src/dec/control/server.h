// `dec control` as an object: storage, login, the domain, the outbox relay and
// the HTTP API, wired from one options struct. The CLI and the tests build it the
// same way.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "dec/control/auth.h"
#include "dec/control/control.h"
#include "dec/control/http_api.h"
#include "dec/control/outbox.h"

namespace httplib {
class Server;
}

namespace dec::control {

struct ServerOptions {
  std::string data_dir = "dec-control";  // SQLite database and login-codes.txt live here
  std::string db_url;      // "" = SQLite in data_dir; postgresql://... = PostgreSQL
  std::string redis_url;   // the shared cache and limits (not wired in this build: refused)
  std::string amqp_url;    // the broker for notifications (not wired in this build: refused)
  std::string host = "127.0.0.1";
  int port = 8080;         // 0 = a free port (see port())
  std::string admin;       // made an enabled admin at start (a fresh install's first login)
  std::string sender = "file";  // "file" (data_dir/login-codes.txt) or "log"
  int threads = 8;         // HTTP worker threads (an open event stream holds one)
  size_t keep_alive_max_count = 100000;  // requests per kept-alive connection
  AuthOptions auth;
  ControlOptions control;
  ApiOptions api;
  RelayOptions relay;
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
  // Where the file sender writes codes ("" with the log sender).
  std::string codes_file() const;

 private:
  ServerOptions options_;
  SystemClock system_clock_;
  Clock* clock_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<CodeSender> sender_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<Auth> auth_;
  std::unique_ptr<Control> control_;
  EventHub hub_;
  std::unique_ptr<OutboxRelay> relay_;
  std::unique_ptr<HttpApi> api_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace dec::control
