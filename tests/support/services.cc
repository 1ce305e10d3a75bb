#include "support/services.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "dec/core/error.h"
#include "dec/core/process.h"

namespace dec::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kPortLow = 20000;
constexpr int kPortHigh = 32000;

void sleep_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// A socket connected to 127.0.0.1:port with 1 s send/receive timeouts, or -1.
int connect_local(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `hello` to the port and checks that the answer starts with `expect`.
bool probe(int port, const std::string& hello, const std::string& expect) {
  int fd = connect_local(port);
  if (fd < 0) return false;
  bool ok = ::send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(hello.size());
  std::string got;
  char buf[256];
  while (ok && got.size() < expect.size()) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return ok && got.compare(0, expect.size(), expect) == 0;
}

bool port_is_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok && connect_local(port) < 0;
}

std::string tail_of(const std::string& path, size_t bytes = 1500) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    DEC_CHECK(out.good(), IoError, "cannot write a test server's file", path, "write failed");
  }
  ::chmod(path.c_str(), mode);
}

std::string make_temp_dir(const std::string& name) {
  std::string templ = (fs::temp_directory_path() / ("dec-" + name + "-XXXXXX")).string();
  DEC_CHECK(::mkdtemp(templ.data()) != nullptr, IoError, "cannot create a test server's directory",
            templ, std::strerror(errno));
  ::chmod(templ.c_str(), 0755);  // PostgreSQL runs as another user
  return templ;
}

// Runs `argv` to completion under a deadline; true if it exited 0.
bool run_quiet(const std::vector<std::string>& argv, const std::string& log, double timeout_s) {
  std::vector<std::string> args = {"-c", "f=$1; shift; exec \"$@\" >>\"$f\" 2>&1", "sh", log};
  args.insert(args.end(), argv.begin(), argv.end());
  Child c = Child::spawn("/bin/sh", args, {}, argv.front());
  auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    if (auto st = c.poll()) return st->ok();
    sleep_ms(20);
  }
  c.kill(SIGKILL);
  c.wait();
  return false;
}

}  // namespace

int free_port() {
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> pick(kPortLow, kPortHigh - 1);
  for (int i = 0; i < 200; ++i) {
    int p = pick(rng);
    if (port_is_free(p)) return p;
  }
  throw IoError("cannot find a free port", "127.0.0.1", "200 random ports in use");
}

// One server: how to start it, how to tell that it answers, how to stop it.
class ServerProcess {
 public:
  std::string name;  // "redis-server", in errors
  std::string dir;
  std::string log;  // its stdout and stderr
  int port = 0;
  int port2 = 0;  // a second port some servers need (RabbitMQ's distribution port)
  int stop_signal = SIGTERM;
  double start_timeout_s = 10;
  // Runs as this user (setpriv --reuid); empty for the current user.
  std::string user;
  std::function<std::vector<std::string>()> argv;  // rebuilt per start (the port may change)
  std::function<Environment()> env = [] { return Environment{}; };
  std::function<bool()> ready;
  // Called before the first start and before a retry on a fresh port.
  std::function<void()> pick_ports = [this] { port = free_port(); };
  bool started_once = false;
  std::optional<Child> child;

  ~ServerProcess() {
    try {
      stop(stop_signal);
    } catch (...) {
    }
  }

  bool running() { return child && child->running() && !child->poll(); }
  pid_t pid() { return running() ? child->pid() : -1; }

  void start() {
    if (running()) return;
    // A port taken between the pick and the bind, or a restart that races the
    // previous instance's last processes: try again (a fresh port only before
    // the first start, so that a URL handed out stays valid).
    for (int attempt = 0;; ++attempt) {
      if (!started_once && attempt > 0) pick_ports();
      if (try_start()) break;
      if (attempt == 4)
        throw IoError("cannot start a test server", name + " in " + dir, "log tail:\n" + tail_of(log));
      sleep_ms(300);
    }
    started_once = true;
  }

  // Sends `sig` and waits for the exit (SIGKILL after 15 s).
  void stop(int sig) {
    if (!child) return;
    child->kill(sig);
    auto deadline = Clock::now() + std::chrono::seconds(15);
    while (!child->poll() && Clock::now() < deadline) sleep_ms(10);
    if (!child->poll()) {
      child->kill(SIGKILL);
      child->wait();
    }
    child.reset();
  }

 private:
  bool try_start() {
    std::vector<std::string> args = {"-c", "f=$1; shift; exec \"$@\" >>\"$f\" 2>&1", "sh", log,
                                     "setpriv", "--pdeathsig", "KILL"};
    if (!user.empty()) {
      args.insert(args.end(), {"--reuid=" + user, "--regid=" + user, "--init-groups"});
    }
    args.push_back("--");
    for (auto& a : argv()) args.push_back(a);
    child.emplace(Child::spawn("/bin/sh", args, env(), name));
    auto deadline = Clock::now() + std::chrono::duration<double>(start_timeout_s);
    while (Clock::now() < deadline) {
      if (child->poll()) {
        child.reset();
        return false;  // exited: the port was taken, or a previous instance is still going
      }
      if (ready()) return true;
      sleep_ms(50);
    }
    stop(SIGKILL);
    throw IoError("a test server did not answer in time", name + " in " + dir,
                  str(start_timeout_s, " s; log tail:\n", tail_of(log)));
  }
};

// ---- Redis -----------------------------------------------------------------

RedisServer::RedisServer() : p_(std::make_unique<ServerProcess>()) {
  auto& p = *p_;
  p.name = "redis-server";
  p.dir = make_temp_dir("redis");
  p.log = p.dir + "/log";
  p.argv = [&p] {
    return std::vector<std::string>{"redis-server", "--port", std::to_string(p.port), "--bind",
                                    "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", p.dir,
                                    "--logfile", p.dir + "/redis.log"};
  };
  p.ready = [&p] { return probe(p.port, "PING\r\n", "+PONG"); };
  p.pick_ports();
  p.start();
}

RedisServer::~RedisServer() {
  std::string dir = p_->dir;
  p_.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

RedisServer& RedisServer::shared() {
  static RedisServer s;
  return s;
}

std::string RedisServer::url() const { return str("redis://127.0.0.1:", p_->port); }
int RedisServer::port() const { return p_->port; }
pid_t RedisServer::pid() const { return p_->pid(); }
bool RedisServer::running() const { return p_->running(); }
const std::string& RedisServer::dir() const { return p_->dir; }
void RedisServer::start() { p_->start(); }
void RedisServer::stop() { p_->stop(SIGTERM); }
void RedisServer::kill9() { p_->stop(SIGKILL); }
void RedisServer::restart() {
  stop();
  start();
}

// ---- PostgreSQL ------------------------------------------------------------

namespace {
constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin/";
}

PostgresServer::PostgresServer() : p_(std::make_unique<ServerProcess>()) {
  auto& p = *p_;
  p.name = "postgres";
  p.dir = make_temp_dir("postgres");
  p.log = p.dir + "/log";
  p.user = "postgres";
  p.stop_signal = SIGINT;
  p.start_timeout_s = 30;
  // initdb and the server run as postgres: it owns the directory.
  std::string chown = "postgres:postgres";
  DEC_CHECK(run_quiet({"chown", "-R", chown, p.dir}, p.dir + "/setup.log", 10), IoError,
            "cannot prepare PostgreSQL's directory", p.dir, tail_of(p.dir + "/setup.log"));
  bool ok = run_quiet({"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
                       std::string(kPgBin) + "initdb", "-D", p.dir + "/data", "-U", "postgres",
                       "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"},
                      p.dir + "/initdb.log", 60);
  DEC_CHECK(ok, IoError, "initdb failed", p.dir, tail_of(p.dir + "/initdb.log"));
  p.argv = [&p] {
    return std::vector<std::string>{std::string(kPgBin) + "postgres", "-D", p.dir + "/data", "-p",
                                    std::to_string(p.port), "-k", p.dir, "-c",
                                    "listen_addresses=127.0.0.1", "-c", "fsync=off"};
  };
  p.ready = [&p] {
    return run_quiet({std::string(kPgBin) + "pg_isready", "-q", "-h", "127.0.0.1", "-p",
                      std::to_string(p.port), "-t", "1"},
                     p.dir + "/pg_isready.log", 5);
  };
  p.pick_ports();
  p.start();
}

PostgresServer::~PostgresServer() {
  std::string dir = p_->dir;
  p_.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

PostgresServer& PostgresServer::shared() {
  static PostgresServer s;
  return s;
}

std::string PostgresServer::url() const {
  return str("postgresql://postgres@127.0.0.1:", p_->port, "/postgres");
}
int PostgresServer::port() const { return p_->port; }
pid_t PostgresServer::pid() const { return p_->pid(); }
bool PostgresServer::running() const { return p_->running(); }
const std::string& PostgresServer::dir() const { return p_->dir; }
void PostgresServer::start() { p_->start(); }
void PostgresServer::stop() { p_->stop(SIGINT); }
void PostgresServer::kill9() { p_->stop(SIGKILL); }
void PostgresServer::restart() {
  stop();
  start();
}

// ---- RabbitMQ --------------------------------------------------------------

RabbitMqServer::RabbitMqServer()
    : p_(std::make_unique<ServerProcess>()), epmd_(std::make_unique<ServerProcess>()) {
  auto& p = *p_;
  auto& e = *epmd_;
  p.name = "rabbitmq-server";
  p.dir = make_temp_dir("rabbitmq");
  p.log = p.dir + "/log.txt";
  p.start_timeout_s = 60;
  fs::create_directories(p.dir + "/home");
  std::random_device rd;
  write_file(p.dir + "/home/.erlang.cookie", str("DEC", rd(), rd(), rd()), 0400);
  write_file(p.dir + "/rabbitmq.conf", "loopback_users = none\n", 0644);
  write_file(p.dir + "/enabled_plugins", "[].\n", 0644);
  write_file(p.dir + "/rabbitmq-env.conf", "", 0644);

  // Its own epmd, so that none outlives the test; the broker finds it by ERL_EPMD_PORT.
  e.name = "epmd";
  e.dir = p.dir;
  e.log = p.dir + "/epmd.log";
  e.argv = [&e] {
    return std::vector<std::string>{"/usr/lib/erlang/bin/epmd", "-port", std::to_string(e.port),
                                    "-address", "127.0.0.1"};
  };
  e.ready = [&e] {
    int fd = connect_local(e.port);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  };
  e.pick_ports();
  e.start();

  p.pick_ports = [&p] {
    p.port = free_port();
    p.port2 = free_port();
  };
  p.pick_ports();
  p.argv = [] { return std::vector<std::string>{"/usr/lib/rabbitmq/bin/rabbitmq-server"}; };
  p.env = [&p, epmd_port = e.port] {
    const std::string& d = p.dir;
    return Environment{
        {"HOME", d + "/home"},
        {"RABBITMQ_NODENAME", str("dec", p.port, "@localhost")},
        {"RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1"},
        {"RABBITMQ_NODE_PORT", std::to_string(p.port)},
        {"RABBITMQ_DIST_PORT", std::to_string(p.port2)},
        {"ERL_EPMD_PORT", std::to_string(epmd_port)},
        {"RABBITMQ_MNESIA_BASE", d + "/mnesia"},
        {"RABBITMQ_LOG_BASE", d + "/log"},
        {"RABBITMQ_PID_FILE", d + "/rabbit.pid"},
        {"RABBITMQ_CONFIG_FILE", d + "/rabbitmq.conf"},
        {"RABBITMQ_ADVANCED_CONFIG_FILE", d + "/advanced.config"},
        {"RABBITMQ_ENABLED_PLUGINS_FILE", d + "/enabled_plugins"},
        {"RABBITMQ_FEATURE_FLAGS_FILE", d + "/feature_flags"},
        {"RABBITMQ_CONF_ENV_FILE", d + "/rabbitmq-env.conf"},
        {"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}"},
        // The script then execs the Erlang VM instead of waiting for it in a
        // shell, so that the PID we hold is the broker's.
        {"RUNNING_UNDER_SYSTEMD", "1"},
    };
  };
  // connection.start: a method frame (type 1) on channel 0.
  p.ready = [&p] { return probe(p.port, std::string("AMQP\0\0\x09\x01", 8), std::string("\x01\0\0", 3)); };
  p.start();
}

RabbitMqServer::~RabbitMqServer() {
  std::string dir = p_->dir;
  p_.reset();
  epmd_.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

RabbitMqServer& RabbitMqServer::shared() {
  static RabbitMqServer s;
  return s;
}

std::string RabbitMqServer::url() const { return str("amqp://guest:guest@127.0.0.1:", p_->port, "/"); }
int RabbitMqServer::port() const { return p_->port; }
pid_t RabbitMqServer::pid() const { return p_->pid(); }
bool RabbitMqServer::running() const { return p_->running(); }
const std::string& RabbitMqServer::dir() const { return p_->dir; }
void RabbitMqServer::start() { p_->start(); }
void RabbitMqServer::stop() { p_->stop(SIGTERM); }
void RabbitMqServer::kill9() { p_->stop(SIGKILL); }
void RabbitMqServer::restart() {
  stop();
  start();
}

}  // namespace dec::test
