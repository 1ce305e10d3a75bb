// The routes of API v1: each parses its call, asks Control or Auth, answers JSON.
#include <httplib.h>

#include <cerrno>
#include <cstdint>

#include "dec/control/api_error.h"
#include "dec/control/http_api.h"
#include "dec/control/json_fields.h"

namespace dec::control {

namespace {

using nlohmann::json;

std::string param(const httplib::Request& req, const char* name, size_t max_len = 200) {
  if (!req.has_param(name)) return "";
  std::string v = req.get_param_value(name);
  if (v.size() > max_len) throw invalid(name, str("longer than ", max_len, " bytes"));
  return v;
}

int64_t int_param(const httplib::Request& req, const char* name, int64_t fallback, int64_t lo,
                  int64_t hi) {
  std::string v = param(req, name, 20);
  if (v.empty()) return fallback;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || n < lo || n > hi) {
    throw invalid(name, str("must be an integer in ", lo, "..", hi));
  }
  return n;
}

constexpr Role kOperator = Role::kOperator;
constexpr Role kLeader = Role::kLeader;
constexpr Role kAdmin = Role::kAdmin;

}  // namespace

void HttpApi::add_auth_routes() {
  add("GET", "/api/v1/health", std::nullopt, [this](Call&) -> Reply {
    scalar(control_.db(), "SELECT 1");  // the database answers
    return {200, {{"status", "ok"}, {"api", "v1"}}};
  });
  add("POST", "/api/v1/auth/code", std::nullopt, [this](Call& c) -> Reply {
    require_object(c.body);
    auth_.request_code(required_string(c.body, "address", 254), c.req.remote_addr);
    return {202, {{"sent", true}, {"expires_in_s", auth_.options().code_ttl_ms / 1000}}};
  });
  add("POST", "/api/v1/auth/session", std::nullopt, [this](Call& c) -> Reply {
    require_object(c.body);
    Session s = auth_.open_session(required_string(c.body, "address", 254),
                                   required_string(c.body, "code", 16), c.req.remote_addr);
    c.res.set_header("Set-Cookie", "dec_session=" + s.token +
                                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                       std::to_string(auth_.options().session_ttl_ms / 1000));
    return {201, {{"token", s.token}, {"expires_at", s.expires_at}, {"user", to_json(s.user)}}};
  });
  add("DELETE", "/api/v1/auth/session", kOperator, [this](Call& c) -> Reply {
    std::string auth = c.req.get_header_value("Authorization");
    std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
    if (token.empty()) {
      // The dashboard's cookie: ended the same way.
      std::string cookie = c.req.get_header_value("Cookie");
      auto at = cookie.find("dec_session=");
      if (at != std::string::npos) token = cookie.substr(at + 12, cookie.find(';', at) - at - 12);
    }
    auth_.close_session(token);
    c.res.set_header("Set-Cookie", "dec_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return {204, nullptr};
  });
  add("GET", "/api/v1/me", kOperator, [](Call& c) -> Reply { return {200, to_json(*c.user)}; });
  add("GET", "/api/v1/me/nodes", kOperator,
      [this](Call& c) -> Reply { return {200, control_.my_nodes(*c.user)}; });
  add("GET", "/api/v1/events", kOperator, [this](Call& c) { return events(c); });
}

void HttpApi::add_request_routes() {
  add("GET", "/api/v1/requests", kOperator, [this](Call& c) -> Reply {
    return {200, control_.list_requests(*c.user, param(c.req, "state", 20), param(c.req, "kind", 20),
                                        int_param(c.req, "limit", 50, 1, 1000),
                                        int_param(c.req, "before", 0, 0, INT64_MAX))};
  });
  add("POST", "/api/v1/requests", kOperator,
      [this](Call& c) -> Reply { return {201, control_.file_request(*c.user, c.body)}; });
  add("GET", "/api/v1/requests/{id}", kOperator,
      [this](Call& c) -> Reply { return {200, control_.get_request(*c.user, c.id)}; });
  auto decide = [this](bool approve) {
    return [this, approve](Call& c) -> Reply {
      require_object(c.body);
      return {200, control_.decide(*c.user, c.id, approve,
                                   optional_string(c.body, "reason", 1000).value_or(""),
                                   optional_integer(c.body, "version"))};
    };
  };
  add("POST", "/api/v1/requests/{id}/approve", kLeader, decide(true));
  add("POST", "/api/v1/requests/{id}/reject", kLeader, decide(false));
  add("GET", "/api/v1/approvals", kLeader, [this](Call& c) -> Reply {
    return {200, control_.approval_queue(*c.user, int_param(c.req, "limit", 50, 1, 1000))};
  });
}

void HttpApi::add_people_routes() {
  add("GET", "/api/v1/users", kLeader, [this](Call& c) -> Reply {
    return {200, control_.list_users(*c.user, param(c.req, "role", 20), param(c.req, "department"))};
  });
  add("POST", "/api/v1/users", kLeader,
      [this](Call& c) -> Reply { return {201, control_.create_user(*c.user, c.body)}; });
  add("PATCH", "/api/v1/users/{id}", kLeader,
      [this](Call& c) -> Reply { return {200, control_.update_user(*c.user, c.id, c.body)}; });
  add("GET", "/api/v1/departments", kOperator,
      [this](Call&) -> Reply { return {200, control_.list_departments()}; });
  add("POST", "/api/v1/departments", kAdmin,
      [this](Call& c) -> Reply { return {201, control_.create_department(*c.user, c.body)}; });
  add("GET", "/api/v1/audit", kLeader, [this](Call& c) -> Reply {
    return {200, control_.audit(int_param(c.req, "limit", 50, 1, 1000),
                                int_param(c.req, "before", 0, 0, INT64_MAX),
                                param(c.req, "entity", 20),
                                int_param(c.req, "entity_id", 0, 0, INT64_MAX))};
  });
}

void HttpApi::add_node_routes() {
  add("GET", "/api/v1/nodes", kLeader, [this](Call& c) -> Reply {
    NodeQuery q;
    q.state = param(c.req, "state", 20);
    q.tier = param(c.req, "tier", 20);
    q.category = param(c.req, "category");
    q.department = param(c.req, "department");
    q.text = param(c.req, "q");
    q.owner_id = int_param(c.req, "owner", 0, 0, INT64_MAX);
    q.per_page = static_cast<int>(int_param(c.req, "per_page", 50, 1, control_.options().max_per_page));
    q.page = static_cast<int>(int_param(c.req, "page", 1, 1, control_.options().max_page_number));
    std::string cursor = param(c.req, "cursor", 40);
    if (!cursor.empty()) {
      q.after = decode_cursor(cursor);
      if (!q.after) throw invalid("cursor", "not a cursor this API returned");
    }
    return {200, control_.list_nodes(q)};
  });
  add("GET", "/api/v1/nodes/{id}", kLeader,
      [this](Call& c) -> Reply { return {200, control_.get_node(c.id)}; });
  add("GET", "/api/v1/stats", kOperator,
      [this](Call&) -> Reply { return {200, control_.statistics()}; });
}

// The calls of `dec agent` (docs/agent.md), and the token a leader makes for it.
void HttpApi::add_agent_routes() {
  add("POST", "/api/v1/enrol-tokens", kLeader,
      [this](Call& c) -> Reply { return {201, control_.create_enrol_token(*c.user, c.body)}; });
  add_agent("POST", "/api/v1/agent/enrol",
            [this](Call& c) -> Reply { return {201, control_.agent_enrol(c.token, c.body)}; });
  add_agent("GET", "/api/v1/agent/enrolment",
            [this](Call& c) -> Reply { return {200, control_.agent_enrolment(c.token)}; });
  add_agent("POST", "/api/v1/agent/heartbeat",
            [this](Call& c) -> Reply { return {200, control_.heartbeat(c.token, c.body)}; });
}

// Server-sent events: each outbox message as `id: <outbox id>`, `event: <topic>`,
// `data: <payload>`; a comment line every event_keepalive_ms keeps proxies from
// closing an idle stream. The stream ends when the client goes or the server stops.
HttpApi::Reply HttpApi::events(Call& c) {
  std::shared_ptr<Subscription> sub = hub_.subscribe();
  if (!sub) throw ApiError(429, "rate_limited", "too many event streams are open");
  int keepalive = options_.event_keepalive_ms;
  EventHub* hub = &hub_;
  c.res.set_header("Cache-Control", "no-store");
  c.res.set_chunked_content_provider(
      "text/event-stream",
      [sub, keepalive](size_t, httplib::DataSink& sink) {
        auto m = sub->next(keepalive);
        if (sub->closed()) {
          sink.done();
          return true;
        }
        std::string text = m ? str("id: ", m->id, "\nevent: ", m->topic, "\ndata: ", m->payload, "\n\n")
                             : std::string(": keep-alive\n\n");
        return sink.write(text.data(), text.size());
      },
      [hub, sub](bool) { hub->unsubscribe(sub); });
  Reply r;
  r.streaming = true;
  return r;
}

}  // namespace dec::control
