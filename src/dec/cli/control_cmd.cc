// `dec control`: the fleet control plane (docs/control.md): an HTTP/JSON API
// over SQLite (embedded) or PostgreSQL, with Redis and RabbitMQ when given,
// until SIGTERM or SIGINT.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "dec/control/server.h"
#include "dec/core/error.h"

namespace dec::cli {

namespace {

int g_stop_pipe[2] = {-1, -1};
volatile sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int sig) {
  g_stop_signal = sig;
  char c = 1;
  ssize_t ignored = ::write(g_stop_pipe[1], &c, 1);  // async-signal-safe; a full pipe already woke it
  (void)ignored;
}

struct ControlFlags {
  control::ServerOptions options;
  std::string listen = "127.0.0.1:8080";
  std::string remind_after = "24h";
  std::string heartbeat_timeout = "30s";
};

// "90s", "30m", "24h", "2d" or "0" (never) as milliseconds.
int64_t parse_duration_ms(const std::string& text, const char* flag) {
  if (text == "0") return 0;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  double scale = unit == "s" ? 1e3 : unit == "m" ? 60e3 : unit == "h" ? 3600e3 : unit == "d" ? 86400e3 : 0;
  DEC_CHECK(end != text.c_str() && scale > 0 && value > 0, ConfigError, "invalid flag",
            flag, "expected a duration such as 90s, 30m, 24h, 2d or 0, got '", text, "'");
  return static_cast<int64_t>(value * scale);
}

void parse_listen(const std::string& listen, control::ServerOptions& o) {
  auto colon = listen.rfind(':');
  DEC_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < listen.size(), ConfigError,
            "invalid flag", "--listen", "expected HOST:PORT, got '", listen, "'");
  o.host = listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') {
    o.host = o.host.substr(1, o.host.size() - 2);
  }
  char* end = nullptr;
  long port = std::strtol(listen.c_str() + colon + 1, &end, 10);
  DEC_CHECK(*end == '\0' && port >= 0 && port <= 65535, ConfigError, "invalid flag", "--listen",
            "port must be 0..65535, got '", listen.substr(colon + 1), "'");
  o.port = static_cast<int>(port);
}

void run_control(ControlFlags& flags) {
  control::ServerOptions& o = flags.options;
  parse_listen(flags.listen, o);
  o.control.remind_after_ms = parse_duration_ms(flags.remind_after, "--remind-after");
  o.control.heartbeat_timeout_ms = parse_duration_ms(flags.heartbeat_timeout, "--heartbeat-timeout");
  DEC_CHECK(o.control.heartbeat_timeout_ms > 0, ConfigError, "invalid flag", "--heartbeat-timeout",
            "must be more than 0");
  // The sweep runs often enough that a node is marked offline within about a
  // tenth of the timeout after it (at least every 100 ms, at most every second).
  o.offline_check_ms =
      static_cast<int>(std::clamp<int64_t>(o.control.heartbeat_timeout_ms / 10, 100, 1000));
  if (o.admin.empty()) {
    if (const char* env = std::getenv("DEC_CONTROL_ADMIN")) o.admin = env;
  }
  o.log = [](const std::string& line) { std::fprintf(stderr, "dec control: %s\n", line.c_str()); };
  // SIGTERM and SIGINT: a handler (any thread may receive them; LibTorch starts
  // threads before this command runs) writes to a pipe that a watcher thread
  // reads, and the watcher stops the server outside signal context.
  DEC_CHECK(::pipe2(g_stop_pipe, O_CLOEXEC | O_NONBLOCK) == 0, IoError, "cannot create a pipe",
            "dec control", std::strerror(errno));
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  control::ControlServer server(o);
  std::fprintf(stderr, "dec control: listening on %s://%s:%d (%s%s%s)\n",
               server.tls() ? "https" : "http", o.host.c_str(),
               server.port(), server.db().where().c_str(),
               o.redis_url.empty() ? ", in-process cache" : ", Redis cache and login state",
               o.amqp_url.empty() ? ", in-process notifications" : ", RabbitMQ notifications");
  if (!server.codes_file().empty()) {
    std::fprintf(stderr, "dec control: login codes are written to %s\n", server.codes_file().c_str());
  }
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done) {
      pollfd p{g_stop_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, 200) == 1) {
        std::fprintf(stderr, "dec control: stopping (%s)\n",
                     g_stop_signal == SIGTERM ? "SIGTERM" : "SIGINT");
        server.stop();
        return;
      }
    }
  });
  server.run();
  done = true;
  watcher.join();
  server.stop();
}

}  // namespace

void add_control_command(CLI::App& app) {
  auto flags = std::make_shared<ControlFlags>();
  control::ServerOptions& o = flags->options;
  auto* cmd = app.add_subcommand(
      "control",
      "The fleet control plane: enrolment and approval of equipment, personnel, statistics,\n"
      "one-time-code login; an HTTP/JSON API at /api/v1 (docs/control.md).\n"
      "With no service flags it runs embedded: SQLite in the data directory, cache, login\n"
      "state, notifications and reminders in-process.\n"
      "Example: dec control --data-dir /var/lib/dec-control --admin you@example.org\n"
      "         (then POST /api/v1/auth/code {\"address\": \"you@example.org\"}; the code is in\n"
      "          /var/lib/dec-control/login-codes.txt)\n"
      "Example: dec control --db postgresql://dec@db.example.org/dec --redis redis://cache:6379 \\\n"
      "           --amqp amqp://dec:secret@mq:5672/ --listen 0.0.0.0:8080   (one of several instances)");
  cmd->add_option("--data-dir", o.data_dir, "Directory of the SQLite database and login-codes.txt")
      ->capture_default_str();
  cmd->add_option("--db", o.db_url, "PostgreSQL URL (postgresql://...) instead of SQLite");
  cmd->add_option("--redis", o.redis_url,
                  "Redis URL (redis://host:port[/db]): the cache's second level and cross-instance\n"
                  "invalidation, login codes and rate limits shared by every instance");
  cmd->add_option("--amqp", o.amqp_url,
                  "RabbitMQ URL (amqp://user:password@host:port/vhost): notifications through the\n"
                  "durable topic exchange dec.events with confirms; reminders as delayed messages");
  cmd->add_option("--remind-after", flags->remind_after,
                  "Remind the leaders once of a request pending this long (90s, 30m, 24h, 2d; 0 = never)")
      ->capture_default_str();
  cmd->add_option("--tls-cert", o.tls_cert,
                  "Serve HTTPS with this PEM certificate (or chain); needs --tls-key");
  cmd->add_option("--tls-key", o.tls_key, "The PEM private key of --tls-cert");
  cmd->add_option("--heartbeat-timeout", flags->heartbeat_timeout,
                  "A node whose agent has not sent a heartbeat for this long is offline (5s, 30s, 2m)")
      ->capture_default_str();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to serve on (port 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--admin", o.admin,
                  "Make this mail address or +phone an enabled admin at start (also "
                  "DEC_CONTROL_ADMIN): a fresh install's first login");
  cmd->add_option("--sender", o.sender, "Where login codes go: file (data dir) or log (stderr)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "HTTP worker threads")->capture_default_str();
  cmd->add_option("--web-dir", o.api.web_dir, "The dashboard's files (index.html, assets/)")
      ->capture_default_str();
  cmd->callback([flags] { run_control(*flags); });
}

}  // namespace dec::cli
