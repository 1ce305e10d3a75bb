#include "dec/services/redis.h"

#include <hiredis/hiredis.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "dec/core/error.h"

namespace dec::services {

namespace {

timeval to_timeval(double s) {
  timeval tv;
  tv.tv_sec = static_cast<long>(s);
  tv.tv_usec = static_cast<long>((s - static_cast<double>(tv.tv_sec)) * 1e6);
  return tv;
}

RedisReply copy_reply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<void, ReplyDeleter>;

// Connects to the address (and SELECTs its database); nullptr plus a reason on failure.
redisContext* connect_to(const RedisAddress& a, const RedisOptions& o, std::string* why) {
  redisContext* c = redisConnectWithTimeout(a.host.c_str(), a.port, to_timeval(o.connect_timeout_s));
  if (c == nullptr || c->err) {
    *why = c ? c->errstr : "cannot allocate a hiredis context";
    if (c) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, to_timeval(o.command_timeout_s));
  redisEnableKeepAlive(c);
  if (a.db != 0) {
    ReplyPtr r(redisCommand(c, "SELECT %d", a.db));
    auto* rr = static_cast<redisReply*>(r.get());
    if (!rr || rr->type == REDIS_REPLY_ERROR) {
      *why = rr ? std::string(rr->str, rr->len) : c->errstr;
      redisFree(c);
      return nullptr;
    }
  }
  return c;
}

}  // namespace

RedisAddress RedisAddress::parse(const std::string& url) {
  const std::string scheme = "redis://";
  DEC_CHECK(url.compare(0, scheme.size(), scheme) == 0, ConfigError, "bad Redis URL", url,
            "expected redis://host:port[/db]");
  std::string rest = url.substr(scheme.size());
  RedisAddress a;
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      char* end = nullptr;
      long v = std::strtol(db.c_str(), &end, 10);
      DEC_CHECK(*end == '\0' && v >= 0 && v < 1 << 16, ConfigError, "bad Redis URL", url,
                "database '", db, "' is not a number");
      a.db = static_cast<int>(v);
    }
  }
  DEC_CHECK(rest.find('@') == std::string::npos, ConfigError, "bad Redis URL", url,
            "passwords are not supported");
  auto colon = rest.rfind(':');
  a.host = rest.substr(0, colon);
  if (colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    char* end = nullptr;
    long v = std::strtol(port.c_str(), &end, 10);
    DEC_CHECK(!port.empty() && *end == '\0' && v > 0 && v < 65536, ConfigError, "bad Redis URL", url,
              "port '", port, "' is not a port number");
    a.port = static_cast<int>(v);
  }
  DEC_CHECK(!a.host.empty(), ConfigError, "bad Redis URL", url, "no host");
  return a;
}

RedisClient::RedisClient(RedisOptions options)
    : options_(std::move(options)), address_(RedisAddress::parse(options_.url)) {
  connect();
}

RedisClient::~RedisClient() { drop(); }

void RedisClient::connect() {
  std::string why;
  ctx_ = connect_to(address_, options_, &why);
  if (!ctx_) throw PeerLost("cannot connect to Redis", options_.url, why);
}

void RedisClient::drop() {
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
}

RedisReply RedisClient::send(const std::vector<std::string>& args) {
  if (!ctx_) connect();
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  ReplyPtr r(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    bool timed_out = ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    std::string why = ctx_->errstr;
    drop();  // a late answer would be taken for the next command's
    if (timed_out)
      throw Timeout("Redis did not answer", options_.url,
                    str(args.empty() ? "" : args[0], " after ", options_.command_timeout_s, " s"));
    throw PeerLost("lost the connection to Redis", options_.url, why);
  }
  RedisReply reply = copy_reply(static_cast<redisReply*>(r.get()));
  if (reply.type == RedisReply::Type::Error)
    throw Mismatch("Redis refused a command", options_.url, str(args.empty() ? "" : args[0], ": ", reply.str));
  return reply;
}

RedisReply RedisClient::command_once(const std::vector<std::string>& args) { return send(args); }

RedisReply RedisClient::command(const std::vector<std::string>& args) {
  bool had_connection = ctx_ != nullptr;
  try {
    return send(args);
  } catch (const PeerLost&) {
    // A connection the server closed while it was idle (a restart) fails on
    // its first use; one fresh connection is worth a try.
    if (!had_connection) throw;
  }
  return send(args);
}

// ---- subscriber ------------------------------------------------------------

RedisSubscriber::RedisSubscriber(SubscriberOptions options, Handler handler,
                                 std::function<void()> on_connected)
    : options_(std::move(options)), handler_(std::move(handler)), on_connected_(std::move(on_connected)) {
  RedisAddress::parse(options_.redis.url);  // a bad URL is the caller's error, now
  thread_ = std::thread([this] { run(); });
}

RedisSubscriber::~RedisSubscriber() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool RedisSubscriber::wait_subscribed(double timeout_s) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!subscribed_) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void RedisSubscriber::run() {
  RedisAddress address = RedisAddress::parse(options_.redis.url);
  while (!stop_) {
    std::string why;
    redisContext* c = connect_to(address, options_.redis, &why);
    if (c) {
      serve(c);
      redisFree(c);
    }
    subscribed_ = false;
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::duration<double>(options_.reconnect_interval_s);
    while (!stop_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Subscribes and delivers messages until the connection breaks or stop_.
void RedisSubscriber::serve(redisContext* c) {
  std::vector<const char*> argv = {"SUBSCRIBE"};
  std::vector<size_t> lens = {9};
  for (const auto& ch : options_.channels) {
    argv.push_back(ch.data());
    lens.push_back(ch.size());
  }
  if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
    return;
  int done = 0;
  while (!done)
    if (redisBufferWrite(c, &done) != REDIS_OK) return;
  size_t confirmed = 0;
  int poll_ms = static_cast<int>(options_.poll_interval_s * 1000);
  while (!stop_) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return;
    if (!raw) {
      pollfd p{c->fd, POLLIN, 0};
      int n = ::poll(&p, 1, poll_ms);
      if (n < 0 && errno != EINTR) return;
      if (n > 0 && redisBufferRead(c) != REDIS_OK) return;  // EOF: the server went away
      continue;
    }
    ReplyPtr r(raw);
    RedisReply m = copy_reply(static_cast<redisReply*>(raw));
    if (m.type != RedisReply::Type::Array || m.elements.size() < 3) continue;
    const std::string& kind = m.elements[0].str;
    if (kind == "subscribe" && ++confirmed == options_.channels.size()) {
      subscribed_ = true;
      ++subscriptions_;
      if (on_connected_) on_connected_();
    } else if (kind == "message") {
      handler_(m.elements[1].str, m.elements[2].str);
    }
  }
}

}  // namespace dec::services
