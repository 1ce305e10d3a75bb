// An in-process `dec control` on a free port over the binary's backend
// (fixture.h: SQLite in a temporary directory, or PostgreSQL + Redis +
// RabbitMQ), and a client that logs in through the file sender.
#pragma once

#include <httplib.h>

#include <map>
#include <mutex>
#include <set>

#include "dec/control/sender.h"
#include "dec/control/server.h"
#include "fixture.h"

namespace dec::control::testing {

struct Reply {
  int status = 0;  // 0: no answer (connection failed)
  nlohmann::json body;
};

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.data_dir = dir_.path();
    o.port = 0;
    o.admin = "admin@example.org";
    o.threads = 6;
    o.clock = &clock_;
    o.api.event_keepalive_ms = 50;
    o.relay.poll_ms = 50;
    if (kWithServices) {
      o.db_url = fresh_postgres_database();
      o.redis_url = test_redis_url();
      o.redis_prefix = unique_prefix();
      o.amqp_url = test_amqp_url();
    }
    customise(o);
    server_ = std::make_unique<ControlServer>(o);
    server_->start();
    admin_ = login("admin@example.org");
  }
  void TearDown() override { server_->stop(); }
  virtual void customise(ServerOptions&) {}

  httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    return c;
  }

  // Every (method, documented path, status) answered, for the OpenAPI check.
  void note(const std::string& method, const std::string& path, int status) {
    std::lock_guard<std::mutex> lock(seen_mutex_);
    seen_.insert({method, path, status});
  }

  Reply call(const std::string& method, const std::string& target, const std::string& token,
             const std::string& body = "", const std::string& documented = "") {
    auto c = client();
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result r(nullptr, httplib::Error::Unknown);
    if (method == "GET") r = c.Get(target, headers);
    else if (method == "POST") r = c.Post(target, headers, body, "application/json");
    else if (method == "PATCH") r = c.Patch(target, headers, body, "application/json");
    else if (method == "DELETE") r = c.Delete(target, headers);
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    if (!documented.empty()) note(method, documented, out.status);
    return out;
  }
  Reply call(const std::string& method, const std::string& target, const std::string& token,
             const nlohmann::json& body, const std::string& documented = "") {
    return call(method, target, token, body.is_null() ? std::string() : body.dump(), documented);
  }

  std::string login(const std::string& address) {
    Reply sent = call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", address}}.dump(),
                      "/api/v1/auth/code");
    EXPECT_EQ(sent.status, 202) << sent.body.dump();
    std::string code = last_code_in(server_->codes_file(), address);
    Reply s = call("POST", "/api/v1/auth/session", "",
                   nlohmann::json{{"address", address}, {"code", code}}.dump(), "/api/v1/auth/session");
    EXPECT_EQ(s.status, 201) << s.body.dump();
    return s.body.value("token", "");
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<ControlServer> server_;
  std::string admin_;
  std::mutex seen_mutex_;
  std::set<std::tuple<std::string, std::string, int>> seen_;
};

}  // namespace dec::control::testing
