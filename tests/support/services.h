// Real Redis, PostgreSQL and RabbitMQ servers started by a test.
//
// Each class starts the Debian-packaged server as a child process on a free
// port of 127.0.0.1, with its data in a fresh temporary directory, and returns
// from its constructor only once the server answers (Redis: PING; PostgreSQL:
// pg_isready; RabbitMQ: the AMQP handshake's connection.start). Ports are
// chosen at random in [20000, 32000): below the ephemeral range and away from
// the ports rabbitmqctl uses (35672-35682).
//
// Contract:
// - Every server process is started with the parent-death signal SIGKILL
//   (setpriv --pdeathsig), so a test binary that crashes or is killed by its
//   timeout leaves no server behind. The signal follows the THREAD that
//   started the server: start servers from the test's main thread (a
//   GoogleTest Environment, a fixture's SetUpTestSuite or shared()), never
//   from a thread that ends before the test does.
// - stop() ends the server gracefully (Redis SIGTERM, PostgreSQL SIGINT,
//   RabbitMQ SIGTERM), kill9() with SIGKILL; both wait for it by its PID,
//   never by name. start() starts it again on the same port with the same
//   data; restart() is stop() then start(). The destructor stops the server
//   (and RabbitMQ's own epmd) and removes the directory.
// - Every wait has a deadline; a server that does not come up in time is an
//   IoError naming it, with the tail of its log in the message.
// - shared() is one server per test binary, started on first use and stopped
//   at exit: RabbitMQ takes 5-7 s to start, so tests share it (and clean up
//   what they declare, or use names of their own).
// - Not thread-safe: drive one server from one thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace dec::test {

// A TCP port on 127.0.0.1 in [20000, 32000) that nothing listens on now.
int free_port();

class ServerProcess;  // the common part: a child process, its port and directory

class RedisServer {
 public:
  RedisServer();  // starts it; throws IoError if it does not answer in 10 s
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  static RedisServer& shared();  // one per test binary

  std::string url() const;  // redis://127.0.0.1:P
  int port() const;
  pid_t pid() const;        // -1 while stopped
  bool running() const;
  const std::string& dir() const;

  void start();    // after stop() or kill9(); no-op while running
  void stop();     // SIGTERM, waits (SIGKILL after 10 s)
  void kill9();    // SIGKILL, waits
  void restart();  // stop() then start()

 private:
  std::unique_ptr<ServerProcess> p_;
};

class PostgresServer {
 public:
  PostgresServer();  // initdb as the postgres user, then starts it
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  static PostgresServer& shared();

  std::string url() const;  // postgresql://postgres@127.0.0.1:P/postgres (trust auth)
  int port() const;
  pid_t pid() const;
  bool running() const;
  const std::string& dir() const;

  void start();
  void stop();  // SIGINT (fast shutdown)
  void kill9();  // SIGKILL; start() waits for the old backends to go
  void restart();

 private:
  std::unique_ptr<ServerProcess> p_;
};

class RabbitMqServer {
 public:
  RabbitMqServer();  // its own epmd, HOME and cookie; ready in 5-7 s
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  static RabbitMqServer& shared();

  std::string url() const;  // amqp://guest:guest@127.0.0.1:P/
  int port() const;
  pid_t pid() const;        // the Erlang VM (beam)
  bool running() const;
  const std::string& dir() const;

  void start();
  void stop();  // SIGTERM: the broker shuts down cleanly (persistent messages kept)
  void kill9();
  void restart();

 private:
  std::unique_ptr<ServerProcess> p_;
  std::unique_ptr<ServerProcess> epmd_;
};

}  // namespace dec::test
