#include "dec/control/http_api.h"

#include <httplib.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "dec/control/api_error.h"
#include "dec/control/json_fields.h"
#include "dec/core/file.h"
#include "dec/core/json_depth.h"

namespace dec::control {

namespace {

using nlohmann::json;

std::string dump(const json& j) {
  // Text from a URL may be any bytes; it is replaced, never a reason to fail.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void answer(httplib::Response& res, int status, const json& body) {
  res.status = status;
  if (status == 204) return;
  res.set_content(dump(body), "application/json");
}

std::string bearer_token(const httplib::Request& req) {
  std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  std::string cookie = req.get_header_value("Cookie");
  const std::string name = "dec_session=";
  for (size_t at = cookie.find(name); at != std::string::npos; at = cookie.find(name, at + 1)) {
    if (at == 0 || cookie[at - 1] == ' ' || cookie[at - 1] == ';') {
      size_t end = cookie.find(';', at);
      return cookie.substr(at + name.size(), end == std::string::npos ? end : end - at - name.size());
    }
  }
  return "";
}

// The pattern httplib matches for an OpenAPI path: {id} is a decimal id.
std::string to_pattern(const std::string& path) {
  std::string out = path;
  auto at = out.find("{id}");
  if (at != std::string::npos) out.replace(at, 4, "(\\d{1,18})");
  return out;
}

const char* reason_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "conflict";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 422: return "invalid";
    case 429: return "rate_limited";
    default: return status >= 500 ? "internal" : "error";
  }
}

// The dashboard's pages, outside /api/ (std::regex: ECMAScript, so lookahead works).
constexpr const char* kDashboardPattern = R"(/(?!api(?:/|$)).*)";

// A request path that may name a file under web_dir: segments of letters,
// digits, '.', '_' and '-', none starting with '.' (no "..", no hidden files).
bool safe_file_path(const std::string& path) {
  if (path.size() < 2 || path.size() > 200 || path[0] != '/') return false;
  char prev = '/';
  for (char c : path.substr(1)) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '/';
    if (!ok || (prev == '/' && (c == '.' || c == '/'))) return false;
    prev = c;
  }
  return prev != '/';
}

const char* content_type(const std::filesystem::path& file) {
  std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

std::string default_web_dir() {
#ifdef DEC_WEB_DIR
  return DEC_WEB_DIR;
#else
  return "";
#endif
}

json error_body(const std::string& code, const std::string& message, const std::string& field) {
  return {{"error",
           {{"code", code}, {"message", message}, {"field", field.empty() ? json(nullptr) : json(field)}}}};
}

HttpApi::HttpApi(Control& control, Auth& auth, EventHub& hub, ApiOptions options)
    : control_(control), auth_(auth), hub_(hub), options_(options) {
  add_auth_routes();
  add_request_routes();
  add_people_routes();
  add_node_routes();
  add_agent_routes();
}

std::vector<RouteSpec> HttpApi::routes() const {
  std::vector<RouteSpec> out;
  for (const Route& r : routes_) out.push_back(r.spec);
  return out;
}

void HttpApi::add(const std::string& method, const std::string& path, std::optional<Role> role,
                  Handler h) {
  routes_.push_back(Route{RouteSpec{method, path, role}, std::move(h)});
}

void HttpApi::add_agent(const std::string& method, const std::string& path, Handler h) {
  routes_.push_back(Route{RouteSpec{method, path, std::nullopt, /*agent=*/true}, std::move(h)});
}

void HttpApi::install(httplib::Server& server) {
  server.set_payload_max_length(options_.max_body_bytes);
  for (const Route& route : routes_) {
    const Route* r = &route;
    auto handler = [this, r](const httplib::Request& req, httplib::Response& res) {
      handle(*r, req, res);
    };
    std::string pattern = to_pattern(route.spec.path);
    if (route.spec.method == "GET") server.Get(pattern, handler);
    else if (route.spec.method == "POST") server.Post(pattern, handler);
    else if (route.spec.method == "PATCH") server.Patch(pattern, handler);
    else if (route.spec.method == "DELETE") server.Delete(pattern, handler);
    else DEC_ASSERT(false, "unsupported method ", route.spec.method);
  }
  server.Get(kDashboardPattern, [this](const httplib::Request& req, httplib::Response& res) {
    serve_dashboard(req, res);
  });
  // Statuses httplib answers by itself (no route, body too large, bad request
  // line) get the same JSON error body as the API's own.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message = res.status == 404   ? "no such route"
                          : res.status == 413 ? "the body is larger than the limit"
                                              : std::string("the request was refused");
    res.set_content(dump(error_body(reason_code(res.status), message)), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        answer(res, 500, error_body("internal", "internal error"));
      });
}

// A dashboard file, or index.html for a page path (the dashboard routes in the
// browser). Assets carry a content hash in their names, so they may be cached
// for good; index.html is revalidated each time, so a new build shows at once.
void HttpApi::serve_dashboard(const httplib::Request& req, httplib::Response& res) const {
  namespace fs = std::filesystem;
  const fs::path root = options_.web_dir;
  std::error_code ec;
  if (root.empty() || !fs::is_regular_file(root / "index.html", ec)) {
    answer(res, 404,
           error_body("not_found", "the dashboard was not built (no index.html in '" +
                                       options_.web_dir +
                                       "'): build the dec_dashboard target (docs/dashboard.md); "
                                       "the API at /api/v1 works without it"));
    return;
  }
  fs::path file = root / "index.html";
  if (safe_file_path(req.path) && fs::is_regular_file(root / req.path.substr(1), ec)) {
    file = root / req.path.substr(1);
  } else if (req.path.find('.', req.path.rfind('/')) != std::string::npos) {
    // A file name that is not there (a page path has no dot in its last segment).
    answer(res, 404, error_body("not_found", "no such file"));
    return;
  }
  std::string body;
  try {
    body = read_file(file.string());
  } catch (const Error&) {
    answer(res, 404, error_body("not_found", "no such file"));
    return;
  }
  const bool asset = req.path.rfind("/assets/", 0) == 0;
  res.set_header("Cache-Control", asset ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (file.extension() == ".html") {
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                   "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set_header("Referrer-Policy", "no-referrer");
  }
  res.status = 200;
  res.set_content(body, content_type(file));
}

void HttpApi::handle(const Route& route, const httplib::Request& req, httplib::Response& res) {
  Call call{req, res, std::nullopt, 0, json(), ""};
  try {
    if (route.spec.agent) {
      // An agent's secret comes in the header only (a browser's cookie is a session).
      std::string auth = req.get_header_value("Authorization");
      if (auth.rfind("Bearer ", 0) == 0) call.token = auth.substr(7);
    } else if (std::string token = bearer_token(req); !token.empty()) {
      call.user = auth_.authenticate(token);
    }
    if (route.spec.min_role) {
      if (!call.user) throw ApiError(401, "unauthenticated", "log in first (no valid session)");
      if (static_cast<int>(call.user->role) < static_cast<int>(*route.spec.min_role)) {
        throw ApiError(403, "forbidden",
                       str("this call needs the ", role_name(*route.spec.min_role), " role"));
      }
    }
    if (req.matches.size() > 1) call.id = std::strtoll(req.matches[1].str().c_str(), nullptr, 10);
    if (route.spec.method == "POST" || route.spec.method == "PATCH") {
      if (req.body.empty()) {
        call.body = json::object();
      } else {
        if (json_depth(req.body) > options_.max_json_depth) {
          throw ApiError(400, "bad_json", "the JSON body is nested too deeply");
        }
        call.body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (call.body.is_discarded()) throw ApiError(400, "bad_json", "the body is not valid JSON");
      }
    }
    Reply reply = route.handler(call);
    if (!reply.streaming) answer(res, reply.status, reply.body);
  } catch (const ApiError& e) {
    if (e.status() == 429) res.set_header("Retry-After", "60");
    if (e.status() == 401) res.set_header("WWW-Authenticate", "Bearer");
    answer(res, e.status(), error_body(e.code(), e.message(), e.field()));
  } catch (const DbConflict&) {
    answer(res, 409, error_body("conflict", "the change conflicts with existing data"));
  } catch (const DbError&) {
    answer(res, 503, error_body("unavailable", "the database is unavailable; retry later"));
  } catch (const json::exception& e) {
    answer(res, 422, error_body("invalid", e.what()));
  }
}

}  // namespace dec::control
