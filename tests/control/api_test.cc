// The HTTP API end to end (in-process server, real sockets): login, the
// authorisation matrix, the OpenAPI document, event delivery.
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <thread>

#include "api_fixture.h"

namespace dec::control::testing {
namespace {

class ApiTest : public ApiFixture {
 protected:
  void seed() {
    call("POST", "/api/v1/departments", admin_, nlohmann::json{{"name", "lab"}});
    auto add = [&](const char* address, const char* role) {
      Reply r = call("POST", "/api/v1/users", admin_,
                     nlohmann::json{{"address", address}, {"role", role}, {"department", "lab"}});
      EXPECT_EQ(r.status, 201) << r.body.dump();
      return r.body.value("id", int64_t{0});
    };
    leader_id_ = add("leader@example.org", "leader");
    op_id_ = add("op@example.org", "operator");
    leader_ = login("leader@example.org");
    op_ = login("op@example.org");
  }
  std::string leader_, op_;
  int64_t leader_id_ = 0, op_id_ = 0;
};

TEST_F(ApiTest, LoginWithACodeAndLogout) {
  seed();
  Reply me = call("GET", "/api/v1/me", op_);
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.body["role"], "operator");
  EXPECT_EQ(call("DELETE", "/api/v1/auth/session", op_).status, 204);
  Reply after = call("GET", "/api/v1/me", op_);
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.body["error"]["code"], "unauthenticated");
}

TEST_F(ApiTest, ACodeExpiresAfterFiveMinutes) {
  seed();
  call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "op@example.org"}});
  std::string code = last_code_in(server_->codes_file(), "op@example.org");
  clock_.advance_ms(5 * 60 * 1000 + 1);
  Reply r = call("POST", "/api/v1/auth/session", "",
                 nlohmann::json{{"address", "op@example.org"}, {"code", code}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body["error"]["field"], "code");
}

TEST_F(ApiTest, FiveWrongCodesVoidTheCode) {
  seed();
  call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "op@example.org"}});
  std::string code = last_code_in(server_->codes_file(), "op@example.org");
  std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(call("POST", "/api/v1/auth/session", "",
                   nlohmann::json{{"address", "op@example.org"}, {"code", wrong}})
                  .status,
              401);
  }
  EXPECT_EQ(call("POST", "/api/v1/auth/session", "",
                 nlohmann::json{{"address", "op@example.org"}, {"code", code}})
                .status,
            401);
}

TEST_F(ApiTest, CodeRequestsAreRateLimitedPerAddress) {
  seed();
  int limited = 0;
  for (int i = 0; i < 8; ++i) {
    Reply r = call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "op@example.org"}});
    if (r.status == 429) ++limited;
  }
  EXPECT_EQ(limited, 8 - 4);  // seed() used one of the five
  // An unknown address answers like a known one (and counts the same).
  EXPECT_EQ(call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "nobody@example.org"}})
                .status,
            202);
  clock_.advance_ms(15 * 60 * 1000);
  EXPECT_EQ(call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "op@example.org"}}).status,
            202);
}

TEST_F(ApiTest, DisablingAUserEndsTheirSessions) {
  seed();
  EXPECT_EQ(call("GET", "/api/v1/me", op_).status, 200);
  Reply r = call("PATCH", "/api/v1/users/" + std::to_string(op_id_), leader_,
                 nlohmann::json{{"disabled", true}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/me", op_).status, 401);
  call("POST", "/api/v1/auth/code", "", nlohmann::json{{"address", "op@example.org"}});
  EXPECT_EQ(last_code_in(server_->codes_file(), "op@example.org").size(), 6u);  // the old one
}

TEST_F(ApiTest, ErrorsAreJsonWithTheRightStatus) {
  seed();
  Reply r = call("GET", "/api/v1/nope", op_);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"]["code"], "not_found");
  r = call("POST", "/api/v1/requests", op_, std::string("{not json"));
  EXPECT_EQ(r.status, 400);
  r = call("POST", "/api/v1/requests", op_, std::string(200 * 1024, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body["error"]["code"], "payload_too_large");
  r = call("POST", "/api/v1/requests", op_, nlohmann::json{{"kind", "enrol"}, {"node", 5}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["field"], "node");
  r = call("GET", "/api/v1/nodes?page=abc", leader_);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["error"]["field"], "page");
  r = call("GET", "/api/v1/nodes", op_);
  EXPECT_EQ(r.status, 403);
}

TEST_F(ApiTest, ConcurrentApprovalsOverHttpAnswerOne200AndThe409s) {
  seed();
  Reply filed = call("POST", "/api/v1/requests", op_, enrol_body("race"));
  ASSERT_EQ(filed.status, 201);
  std::string path = "/api/v1/requests/" + std::to_string(filed.body["id"].get<int64_t>()) + "/approve";
  std::atomic<int> ok{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      int s = call("POST", path, t % 2 ? leader_ : admin_, nlohmann::json::object()).status;
      (s == 200 ? ok : s == 409 ? conflicts : ok)++;
      if (s != 200 && s != 409) ADD_FAILURE() << "status " << s;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(conflicts.load(), 5);
}

TEST_F(ApiTest, DecisionsReachTheEventStream) {
  seed();
  std::atomic<bool> got{false};
  std::string seen;
  std::thread reader([&] {
    auto c = client();
    httplib::Headers h{{"Authorization", "Bearer " + leader_}};
    c.Get("/api/v1/events", h, [&](const char* data, size_t n) {
      seen.append(data, n);
      if (seen.find("event: request.approved") != std::string::npos) got = true;
      return !got.load();
    });
  });
  while (server_->hub().subscribers() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Reply filed = call("POST", "/api/v1/requests", op_, enrol_body("evented"));
  call("POST", "/api/v1/requests/" + std::to_string(filed.body["id"].get<int64_t>()) + "/approve",
       leader_, nlohmann::json::object());
  reader.join();
  EXPECT_TRUE(got.load()) << seen;
  EXPECT_NE(seen.find("event: request.filed"), std::string::npos) << seen;
}

// The session check is cached: a role change reaches it before the PATCH answers.
TEST_F(ApiTest, ARoleChangeHoldsFromTheNextCall) {
  seed();
  EXPECT_EQ(call("GET", "/api/v1/nodes", leader_).status, 200);
  Reply r = call("PATCH", "/api/v1/users/" + std::to_string(leader_id_), admin_,
                 nlohmann::json{{"role", "operator"}});
  EXPECT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(call("GET", "/api/v1/nodes", leader_).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/me", leader_).body["role"], "operator");
}

// Embedded, a timer reminds the leaders of a request left pending.
class ReminderTimerTest : public ApiTest {
 protected:
  void customise(ServerOptions& o) override { o.reminder_check_ms = 20; }
};

TEST_F(ReminderTimerTest, RemindsOfARequestLeftPending) {
  if (kWithServices) GTEST_SKIP() << "with RabbitMQ, delayed messages remind (ControlBroker tests)";
  seed();
  Reply filed = call("POST", "/api/v1/requests", op_, enrol_body("waiting"));
  ASSERT_EQ(filed.status, 201);
  int64_t id = filed.body["id"];
  clock_.advance_ms(server_->control().options().remind_after_ms);
  nlohmann::json events;
  for (int i = 0; i < 500; ++i) {
    events = server_->control().audit(5, 0, "request", id)["items"];
    if (events[0]["action"] == "request.reminder") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(events[0]["action"], "request.reminder");
  EXPECT_EQ(events.size(), 2u);  // filed, reminded once
}

}  // namespace
}  // namespace dec::control::testing
