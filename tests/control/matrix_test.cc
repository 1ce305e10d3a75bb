// Table-driven: every route × {no session, operator, leader, admin} against the
// route's documented least role; the OpenAPI document against the routes the
// server registers and the statuses it answered; a fuzz run against every route.
#include <yaml-cpp/yaml.h>

#include <random>

#include "api_fixture.h"

namespace dec::control::testing {
namespace {

struct Case {
  std::string method, path;  // path as documented
  nlohmann::json body;       // null = no body
  std::string query;         // appended to the path
};

// One call per route, with a body that the least role may send.
std::vector<Case> cases() {
  return {
      {"GET", "/api/v1/health", nullptr, ""},
      {"POST", "/api/v1/auth/code", {{"address", "op@example.org"}}, ""},
      {"POST", "/api/v1/auth/session", {{"address", "op@example.org"}, {"code", "000000"}}, ""},
      {"GET", "/api/v1/me", nullptr, ""},
      {"GET", "/api/v1/me/nodes", nullptr, ""},
      {"GET", "/api/v1/events", nullptr, ""},
      {"GET", "/api/v1/requests", nullptr, "?state=pending&limit=5"},
      {"POST", "/api/v1/requests", {{"kind", "fault"}, {"node_id", 0}, {"description", "fan"}}, ""},
      {"GET", "/api/v1/requests/{id}", nullptr, ""},
      {"POST", "/api/v1/requests/{id}/approve", nlohmann::json::object(), ""},
      {"POST", "/api/v1/requests/{id}/reject", {{"reason", "late"}}, ""},
      {"GET", "/api/v1/approvals", nullptr, "?limit=10"},
      {"GET", "/api/v1/nodes", nullptr, "?state=available&tier=edge&q=n&per_page=10"},
      {"GET", "/api/v1/nodes/{id}", nullptr, ""},
      {"GET", "/api/v1/users", nullptr, "?role=operator"},
      {"POST", "/api/v1/users", {{"address", "new@example.org"}}, ""},
      {"PATCH", "/api/v1/users/{id}", {{"name", "renamed"}}, ""},
      {"GET", "/api/v1/departments", nullptr, ""},
      {"POST", "/api/v1/departments", {{"name", "new-dept"}}, ""},
      {"GET", "/api/v1/stats", nullptr, ""},
      {"GET", "/api/v1/audit", nullptr, "?limit=5&entity=request"},
      {"POST", "/api/v1/enrol-tokens", {{"department", "lab"}}, ""},
      // An agent's calls with a session's token: 401 for everyone.
      {"POST", "/api/v1/agent/enrol", {{"name", "a1"}, {"tier", "edge"}}, ""},
      {"GET", "/api/v1/agent/enrolment", nullptr, ""},
      {"POST", "/api/v1/agent/heartbeat", {{"measured", {{"matmul_gflops", 1.0}}}}, ""},
      {"DELETE", "/api/v1/auth/session", nullptr, ""},  // last: it ends the session
  };
}

class MatrixTest : public ApiFixture {
 protected:
  void seed() {
    call("POST", "/api/v1/departments", admin_, nlohmann::json{{"name", "lab"}});
    for (auto [address, role] : {std::pair{"leader@example.org", "leader"},
                                 std::pair{"op@example.org", "operator"}}) {
      Reply r = call("POST", "/api/v1/users", admin_,
                     nlohmann::json{{"address", address}, {"role", role}, {"department", "lab"}});
      if (std::string(role) == "operator") op_id_ = r.body["id"];
    }
    tokens_ = {"", login("op@example.org"), login("leader@example.org"), admin_};
    Reply filed = call("POST", "/api/v1/requests", tokens_[1], enrol_body("n1"), "/api/v1/requests");
    request_id_ = filed.body["id"];
    node_id_ = filed.body["node_id"];
    call("POST", "/api/v1/requests/" + std::to_string(request_id_) + "/approve", admin_,
         nlohmann::json::object(), "/api/v1/requests/{id}/approve");
    Reply pending = call("POST", "/api/v1/requests", tokens_[1], enrol_body("n2"), "/api/v1/requests");
    pending_id_ = pending.body["id"];
  }

  std::string target(const Case& c) {
    std::string t = c.path;
    auto at = t.find("{id}");
    if (at != std::string::npos) {
      int64_t id = t.find("/users/") != std::string::npos  ? op_id_
                   : t.find("/nodes/") != std::string::npos ? node_id_
                                                            : pending_id_;
      t.replace(at, 4, std::to_string(id));
    }
    return t + c.query;
  }

  nlohmann::json body(const Case& c) {
    nlohmann::json b = c.body;
    if (b.is_object() && b.contains("node_id")) b["node_id"] = node_id_;
    return b;
  }

  // Status of a call; the event stream is cut after its headers.
  int status(const Case& c, const std::string& token) {
    if (c.path != "/api/v1/events") return call(c.method, target(c), token, body(c), c.path).status;
    auto cl = client();
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    int s = 0;
    cl.Get(target(c), h, [&](const httplib::Response& r) {
      s = r.status;
      return false;
    }, [](const char*, size_t) { return false; });
    note("GET", c.path, s);
    return s;
  }

  std::vector<std::string> tokens_;  // none, operator, leader, admin
  int64_t op_id_ = 0, request_id_ = 0, node_id_ = 0, pending_id_ = 0;
};

const char* kWho[] = {"no session", "operator", "leader", "admin"};

TEST_F(MatrixTest, EveryRouteByEveryRole) {
  seed();
  std::map<std::pair<std::string, std::string>, std::optional<Role>> least;
  for (const RouteSpec& r : server_->api().routes()) least[{r.method, r.path}] = r.min_role;
  std::set<std::pair<std::string, std::string>> covered;
  for (const Case& c : cases()) {
    auto it = least.find({c.method, c.path});
    ASSERT_NE(it, least.end()) << c.method << " " << c.path << " is not a route";
    covered.insert(it->first);
    for (int who = 0; who < 4; ++who) {
      int s = status(c, tokens_[who]);
      std::string where = c.method + " " + c.path + " as " + kWho[who] + ": " + std::to_string(s);
      ASSERT_NE(s, 0) << where;
      EXPECT_LT(s, 500) << where;
      if (!it->second) {
        EXPECT_NE(s, 403) << where;  // (a login with a wrong code is a 401 for anyone)
      } else if (who == 0) {
        EXPECT_EQ(s, 401) << where;
      } else if (who - 1 < static_cast<int>(*it->second)) {
        EXPECT_EQ(s, 403) << where;
      } else {
        EXPECT_NE(s, 401) << where;
        EXPECT_NE(s, 403) << where;
      }
    }
  }
  EXPECT_EQ(covered.size(), least.size()) << "a route has no row in the matrix";
}

struct Documented {
  std::optional<Role> min_role;
  std::set<int> statuses;
};

std::map<std::pair<std::string, std::string>, Documented> load_openapi() {
  YAML::Node doc = YAML::LoadFile(std::string(DEC_SOURCE_DIR) + "/docs/api/control-v1.yaml");
  std::map<std::pair<std::string, std::string>, Documented> out;
  for (const auto& path : doc["paths"]) {
    for (const char* method : {"get", "post", "patch", "delete", "put"}) {
      YAML::Node op = path.second[method];
      if (!op) continue;
      Documented d;
      if (op["x-min-role"]) d.min_role = parse_role(op["x-min-role"].as<std::string>());
      for (const auto& r : op["responses"]) d.statuses.insert(std::stoi(r.first.as<std::string>()));
      std::string m = method;
      for (auto& ch : m) ch = static_cast<char>(std::toupper(ch));
      out[{m, path.first.as<std::string>()}] = d;
    }
  }
  return out;
}

TEST_F(MatrixTest, OpenApiDocumentsExactlyTheRoutesAndTheStatusesAnswered) {
  auto documented = load_openapi();
  std::set<std::pair<std::string, std::string>> registered;
  for (const RouteSpec& r : server_->api().routes()) {
    registered.insert({r.method, r.path});
    auto it = documented.find({r.method, r.path});
    if (it == documented.end()) {
      ADD_FAILURE() << r.method << " " << r.path << " is served but not documented";
      continue;
    }
    EXPECT_EQ(it->second.min_role, r.min_role) << r.method << " " << r.path << ": x-min-role";
  }
  for (const auto& [key, d] : documented) {
    EXPECT_TRUE(registered.count(key)) << key.first << " " << key.second << " is documented but not served";
  }
  // A happy-path run (the matrix's calls) answers only documented statuses.
  seed();
  for (const Case& c : cases()) {
    for (int who = 3; who >= 0; --who) status(c, tokens_[who]);
  }
  for (const auto& [method, path, s] : seen_) {
    auto it = documented.find({method, path});
    ASSERT_NE(it, documented.end()) << method << " " << path;
    EXPECT_TRUE(it->second.statuses.count(s)) << method << " " << path << " answered " << s
                                              << ", which the OpenAPI file does not list";
  }
}

// Bodies that are not what a route expects, in every way we could think of.
std::vector<std::string> hostile_bodies(std::mt19937& rng, const nlohmann::json& good) {
  std::vector<std::string> out;
  const std::vector<nlohmann::json> odd_values = {
      5, -1, 0, 1e308, "x", "", nullptr, true, nlohmann::json::array(), nlohmann::json::object(),
      nlohmann::json::parse("99999999999999999999"), std::string(5000, 'a'),
      "' OR 1=1 --", "\"; DROP TABLE users; --", "%_\\", "\xE6\x97\xA5\xE6\x9C\xAC",
      "\xF0\x9F\x98\x80", std::string("a\0b", 3), "<script>alert(1)</script>", "../../etc/passwd"};
  if (good.is_object()) {
    for (const auto& [key, value] : good.items()) {
      for (const auto& odd : odd_values) {
        nlohmann::json b = good;
        b[key] = odd;
        out.push_back(b.dump());
      }
    }
    std::string text = good.dump();
    for (size_t cut = 1; cut < text.size(); cut += 3) out.push_back(text.substr(0, cut));
  }
  for (const auto& odd : odd_values) out.push_back(odd.dump());
  out.push_back("");
  out.push_back("{\"a\":");
  out.push_back(std::string(10000, '[') + std::string(10000, ']'));
  out.push_back("{\"kind\":\"enrol\",\"node\":" + std::string(40, '{') + std::string(40, '}') + "}");
  out.push_back(std::string(100 * 1024, '{'));
  out.push_back("\xFF\xFE\x00\x01");
  std::uniform_int_distribution<int> byte(0, 255), len(0, 300);
  for (int i = 0; i < 10; ++i) {
    std::string junk(len(rng), '\0');
    for (auto& ch : junk) ch = static_cast<char>(byte(rng));
    out.push_back(junk);
  }
  return out;
}

TEST_F(MatrixTest, FuzzNeverAnswers5xxNorCrashes) {
  seed();
  std::mt19937 rng(2026);
  std::map<int, int> by_status;
  int calls = 0;
  auto check = [&](const Reply& r, const std::string& what) {
    ++calls;
    ++by_status[r.status];
    ASSERT_NE(r.status, 0) << "no answer to " << what;
    ASSERT_LT(r.status, 500) << what << " -> " << r.body.dump();
  };
  const std::vector<std::string> queries = {
      "?page=-1", "?page=0&per_page=99999", "?cursor=garbage", "?cursor=1.2.3", "?cursor=%27",
      "?state=%27%20OR%201%3D1", "?q=%25%5F%5C", "?q=%FF%FE", "?limit=abc", "?before=-5",
      "?owner=1e9", "?tier=%E6%97%A5", "?entity_id=99999999999999999999", "?page=100&per_page=200"};
  for (const Case& c : cases()) {
    if (c.method == "DELETE" || c.path == "/api/v1/events") continue;
    std::string t = target(c);
    std::string base = t.substr(0, t.find('?'));
    if (c.method == "GET") {
      for (const auto& q : queries) {
        check(call("GET", base + q, admin_), c.path + q);
        check(call("GET", base + q, ""), c.path + q + " (no session)");
      }
      continue;
    }
    for (const std::string& b : hostile_bodies(rng, body(c))) {
      check(call(c.method, t, admin_, b), c.method + " " + c.path);
    }
  }
  for (const std::string& bad_path : {"/api/v1/requests/abc", "/api/v1/requests/-1/approve",
                                      "/api/v1/nodes/99999999999999999999", "/api/v1/%00",
                                      "/api/v2/health"}) {
    check(call("GET", bad_path, admin_), bad_path);
  }
  for (const std::string& token : {std::string("garbage"), std::string(5000, 'x'), std::string("' OR 1=1")}) {
    check(call("GET", "/api/v1/me", token), "bad token");
  }
  EXPECT_EQ(call("GET", "/api/v1/health", "").status, 200);
  std::string counts;
  for (auto [s, n] : by_status) counts += " " + std::to_string(s) + ":" + std::to_string(n);
  std::printf("fuzz: %d calls, by status:%s\n", calls, counts.c_str());
}

}  // namespace
}  // namespace dec::control::testing
