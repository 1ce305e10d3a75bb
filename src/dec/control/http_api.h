// The HTTP/JSON API, version 1 (docs/api/control-v1.yaml), on cpp-httplib.
//
// Every route goes through one interceptor (HttpApi::handle): it reads the
// session token (Authorization: Bearer <token>, or the dec_session cookie),
// refuses a call without a live session (401) or below the route's role (403),
// (an agent's route takes its own Bearer token instead: docs/agent.md),
// parses the JSON body (400 when malformed, 413 beyond the size limit), calls the
// domain and maps its ApiError to {"error": {"code", "message", "field"}} with its
// status. Handlers are thin: parse, authorise, call Control or Auth, answer JSON.
//
// Every GET outside /api/ serves the web dashboard (docs/dashboard.md) from
// ApiOptions::web_dir: its files, and index.html for any other page path (the
// dashboard routes in the browser). The API's routes are not affected.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dec/control/auth.h"
#include "dec/control/control.h"
#include "dec/control/outbox.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace dec::control {

// Where this build's esbuild output went (the dec_dashboard target's
// directory in the build tree); "" when the build had no Node.js to make it.
std::string default_web_dir();

struct ApiOptions {
  size_t max_body_bytes = 64 * 1024;  // a larger body answers 413
  int max_json_depth = 32;            // deeper nesting answers 400
  int event_keepalive_ms = 15000;     // an event stream sends a comment this often
  // The dashboard's files: index.html and assets/. Without index.html there,
  // pages answer a 404 JSON error saying the dashboard was not built; the API
  // works either way.
  std::string web_dir = default_web_dir();
};

// A route as documented: method, OpenAPI path ("/api/v1/requests/{id}"), and the
// least role it needs (nullopt: no session needed).
struct RouteSpec {
  std::string method;
  std::string path;
  std::optional<Role> min_role;
  // An agent's call: its Bearer token is an enrolment token, a claim or a node
  // credential (the handler checks it), never a session.
  bool agent = false;
};

class HttpApi {
 public:
  HttpApi(Control& control, Auth& auth, EventHub& hub, ApiOptions options = {});
  // Registers every route, the error handlers and the body limit on server.
  void install(httplib::Server& server);
  std::vector<RouteSpec> routes() const;

 private:
  struct Call {
    const httplib::Request& req;
    httplib::Response& res;
    std::optional<User> user;
    int64_t id = 0;  // the {id} of the path, when it has one
    nlohmann::json body;
    std::string token;  // an agent route's Bearer token
  };
  struct Reply {
    int status = 200;
    nlohmann::json body;
    bool streaming = false;  // the handler set up the response itself
  };
  using Handler = std::function<Reply(Call&)>;
  struct Route {
    RouteSpec spec;
    Handler handler;
  };

  void handle(const Route& route, const httplib::Request& req, httplib::Response& res);
  void add(const std::string& method, const std::string& path, std::optional<Role> role, Handler h);
  void add_agent(const std::string& method, const std::string& path, Handler h);
  void add_auth_routes();
  void add_request_routes();
  void add_people_routes();
  void add_node_routes();
  void add_agent_routes();
  Reply events(Call& call);
  void serve_dashboard(const httplib::Request& req, httplib::Response& res) const;

  Control& control_;
  Auth& auth_;
  EventHub& hub_;
  ApiOptions options_;
  std::vector<Route> routes_;
};

// The error body the API answers: {"error": {"code", "message", "field"}}.
nlohmann::json error_body(const std::string& code, const std::string& message,
                          const std::string& field = "");

}  // namespace dec::control
