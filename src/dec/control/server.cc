#include "dec/control/server.h"

#include <httplib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <unistd.h>

#include "dec/control/sender.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "cpp-httplib without OpenSSL: every user of httplib.h must see CPPHTTPLIB_OPENSSL_SUPPORT (the cpp-httplib pkg-config target defines it)"
#endif

namespace dec::control {

ControlServer::ControlServer(ServerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock_),
      hub_(static_cast<size_t>(std::max(1, options_.threads / 2))) {
  DEC_CHECK(options_.redis_url.empty() || options_.redis_url.rfind("redis://", 0) == 0, ConfigError,
            "invalid Redis URL", "--redis", "must start with redis://, got '", options_.redis_url, "'");
  DEC_CHECK(options_.amqp_url.empty() || options_.amqp_url.rfind("amqp://", 0) == 0, ConfigError,
            "invalid RabbitMQ URL", "--amqp", "must start with amqp://, got '", options_.amqp_url, "'");
  DEC_CHECK(options_.sender == "file" || options_.sender == "log", ConfigError,
            "invalid code sender", "--sender", "must be file or log, got '", options_.sender, "'");
  DEC_CHECK(options_.threads >= 2, ConfigError, "invalid thread count", "--threads",
            "must be at least 2, got ", options_.threads);
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  DEC_CHECK(!ec, IoError, "cannot create the data directory", options_.data_dir, ec.message());
  if (options_.db_url.empty()) {
    db_ = open_sqlite((std::filesystem::path(options_.data_dir) / "control.db").string());
  } else {
    DEC_CHECK(options_.db_url.rfind("postgresql://", 0) == 0 ||
                  options_.db_url.rfind("postgres://", 0) == 0,
              ConfigError, "invalid database URL", "--db", "must start with postgresql://");
    db_ = open_postgres(options_.db_url, options_.threads);
  }
  auto log = options_.log ? options_.log : [](const std::string&) {};
  if (options_.sender == "file") {
    sender_ = std::make_unique<FileSender>(codes_file());
  } else {
    sender_ = std::make_unique<LogSender>(log);
  }
  wire_login_and_cache();
  control_ = std::make_unique<Control>(*db_, *clock_, options_.control);
  control_->set_cache(cache_.get());
  wire_notifications();
  if (!options_.admin.empty()) control_->bootstrap_admin(options_.admin);
  api_ = std::make_unique<HttpApi>(*control_, *auth_, hub_, options_.api);

  make_http();
  // Without TCP_NODELAY a kept-alive connection waits on delayed ACKs (~40
  // requests/s); the default of 5 requests per connection defeats keep-alive.
  http_->set_tcp_nodelay(true);
  http_->set_keep_alive_max_count(options_.keep_alive_max_count);
  http_->set_keep_alive_timeout(options_.keep_alive_timeout_s);
  int threads = options_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  api_->install(*http_);
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host);
    DEC_CHECK(port_ > 0, IoError, "cannot listen", options_.host, std::strerror(errno));
  } else {
    DEC_CHECK(http_->bind_to_port(options_.host, options_.port), IoError, "cannot listen",
              str(options_.host, ":", options_.port), std::strerror(errno));
    port_ = options_.port;
  }
  relay_->start();
  offline_sweep_ = std::make_unique<PeriodicTimer>([c = control_.get()] { c->sweep_offline(); },
                                                   options_.offline_check_ms);
}

// Plain HTTP, or HTTPS (OpenSSL through cpp-httplib) when given a certificate.
void ControlServer::make_http() {
  if (options_.tls_cert.empty() && options_.tls_key.empty()) {
    http_ = std::make_unique<httplib::Server>();
    return;
  }
  DEC_CHECK(!options_.tls_cert.empty() && !options_.tls_key.empty(), ConfigError,
            "TLS needs a certificate and its key", "--tls-cert, --tls-key", "give both or neither");
  for (const std::string& file : {options_.tls_cert, options_.tls_key}) {
    DEC_CHECK(::access(file.c_str(), R_OK) == 0, ConfigError, "cannot read a TLS file", file,
              std::strerror(errno));
  }
  auto https = std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
  DEC_CHECK(https->is_valid(), ConfigError, "OpenSSL refused the TLS certificate or key",
            options_.tls_cert, "not PEM, or the key is not the certificate's");
  http_ = std::move(https);
}

// Login state and the read cache: in this process, or shared through Redis.
void ControlServer::wire_login_and_cache() {
  CacheOptions cache = options_.cache;
  cache.redis_url = options_.redis_url;
  cache.prefix = options_.redis_prefix + "cache:";
  cache_ = std::make_unique<ControlCache>(cache);
  if (options_.redis_url.empty()) {
    codes_ = std::make_unique<DbCodeStore>(*db_);
    limiter_ = std::make_unique<LocalRateLimiter>(*clock_);
  } else {
    redis_ = std::make_unique<SharedRedis>(options_.redis_url, options_.redis_prefix);
    codes_ = std::make_unique<RedisCodeStore>(*redis_);
    limiter_ = std::make_unique<RedisRateLimiter>(*redis_, *clock_);
    // Serve once invalidations can be heard; a Redis that is down does not
    // stop the start (the cache bypasses L1 until it subscribes).
    cache_->wait_ready(2.0);
  }
  auth_ = std::make_unique<Auth>(*db_, *clock_, *sender_, *limiter_, *codes_, options_.auth,
                                 cache_.get());
}

// The outbox's sink and the reminders: in-process, or through RabbitMQ.
void ControlServer::wire_notifications() {
  const int64_t remind_ms = options_.control.remind_after_ms;
  if (options_.amqp_url.empty()) {
    if (options_.redis_url.empty()) {
      relay_ = std::make_unique<OutboxRelay>(*db_, hub_, options_.relay);
    } else {
      // Other instances' rows reach the event streams through Redis pub/sub.
      std::string channel = options_.redis_prefix + "events";
      redis_sink_ = std::make_unique<RedisEventSink>(options_.redis_url, channel, hub_);
      relay_ = std::make_unique<OutboxRelay>(*db_, *redis_sink_, options_.relay);
      redis_feed_ = std::make_unique<RedisEventFeed>(options_.redis_url, channel, hub_);
      redis_feed_->wait_ready(2.0);  // a Redis that is down does not stop the start
    }
    if (remind_ms > 0) {
      reminder_timer_ = std::make_unique<ReminderTimer>(*control_, options_.reminder_check_ms);
    }
  } else {
    BrokerOptions broker = options_.broker;
    broker.url = options_.amqp_url;
    broker.remind_after_s = static_cast<double>(std::max<int64_t>(remind_ms, 0)) / 1000.0;
    broker_sink_ = std::make_unique<BrokerSink>(broker, hub_);
    relay_ = std::make_unique<OutboxRelay>(*db_, *broker_sink_, options_.relay);
    if (remind_ms > 0) reminder_consumer_ = std::make_unique<ReminderConsumer>(broker, *control_);
    // Other instances' rows reach the event streams through the broker. Its
    // first connection also checks the topology: a broker that is down does
    // not stop the start, one that refuses the declarations does.
    broker_feed_ = std::make_unique<BrokerLiveFeed>(broker, hub_);
    broker_feed_->wait_ready(2.0);
    std::string refused = broker_feed_->refused();
    DEC_CHECK(refused.empty(), ConfigError, "RabbitMQ refused the control plane's exchanges", "--amqp",
              refused, " (an exchange declared before with other arguments: docs/control.md, Notifications)");
  }
  control_->set_on_commit([relay = relay_.get()] { relay->poke(); });
}

ControlServer::~ControlServer() { stop(); }

std::string ControlServer::codes_file() const {
  if (options_.sender != "file") return "";
  return (std::filesystem::path(options_.data_dir) / "login-codes.txt").string();
}

void ControlServer::run() { http_->listen_after_bind(); }

void ControlServer::start() {
  thread_ = std::thread([this] { run(); });
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ControlServer::stop() {
  hub_.close();
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
  offline_sweep_.reset();
  reminder_timer_.reset();
  reminder_consumer_.reset();
  broker_feed_.reset();
  redis_feed_.reset();
  if (relay_) relay_->stop();
}

}  // namespace dec::control
