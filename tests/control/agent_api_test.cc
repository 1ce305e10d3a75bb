// The agents' API (docs/agent.md) end to end over HTTP: enrolment tokens, an
// agent's enrolment and claim, the credential shown once, heartbeats, the
// offline sweep (on the ManualClock), revocation by decommissioning.
#include <chrono>
#include <thread>

#include "api_fixture.h"

namespace dec::control::testing {
namespace {

class AgentApiTest : public ApiFixture {
 protected:
  void customise(ServerOptions& o) override {
    o.control.heartbeat_timeout_ms = 30000;
    o.offline_check_ms = 20;
  }
  void seed() {
    call("POST", "/api/v1/departments", admin_, nlohmann::json{{"name", "lab"}});
    Reply r = call("POST", "/api/v1/users", admin_,
                   nlohmann::json{{"address", "leader@example.org"}, {"role", "leader"},
                                  {"department", "lab"}});
    leader_id_ = r.body.value("id", int64_t{0});
    leader_ = login("leader@example.org");
    Reply t = call("POST", "/api/v1/enrol-tokens", leader_, nlohmann::json{{"department", "lab"}});
    ASSERT_EQ(t.status, 201) << t.body.dump();
    token_ = t.body["token"];
  }
  nlohmann::json facts() { return {{"name", "edge-1"}, {"tier", "edge"}, {"hardware", {{"cores", 2}}}}; }

  // Enrols edge-1, approves it, collects the credential.
  std::string enrolled() {
    Reply e = call("POST", "/api/v1/agent/enrol", token_, facts());
    EXPECT_EQ(e.status, 201) << e.body.dump();
    node_id_ = e.body.value("node_id", int64_t{0});
    EXPECT_EQ(call("POST", "/api/v1/requests/" + std::to_string(e.body.value("request_id", 0)) +
                       "/approve",
                   leader_, nlohmann::json::object())
                  .status,
              200);
    Reply c = call("GET", "/api/v1/agent/enrolment", e.body.value("claim", ""));
    EXPECT_EQ(c.status, 200) << c.body.dump();
    return c.body.value("credential", "");
  }
  nlohmann::json node() { return call("GET", "/api/v1/nodes/" + std::to_string(node_id_), leader_).body; }
  // Polls (with a deadline, never a timing assertion) until the node's online flag is `online`.
  bool wait_online(bool online) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      Reply list = call("GET", "/api/v1/nodes?q=edge-1", leader_);
      if (!list.body["items"].empty() && list.body["items"][0]["online"] == online) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::string leader_, token_;
  int64_t leader_id_ = 0, node_id_ = 0;
};

TEST_F(AgentApiTest, EnrolWaitApproveCollectTheCredentialOnce) {
  seed();
  EXPECT_EQ(call("POST", "/api/v1/agent/enrol", "enrol-wrong", facts()).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/agent/enrol", "", facts()).status, 401);
  Reply e = call("POST", "/api/v1/agent/enrol", token_, facts());
  ASSERT_EQ(e.status, 201) << e.body.dump();
  std::string claim = e.body["claim"];
  EXPECT_EQ(claim.rfind("claim-", 0), 0u);
  Reply pending = call("GET", "/api/v1/agent/enrolment", claim);
  EXPECT_EQ(pending.status, 200);
  EXPECT_EQ(pending.body["state"], "pending");
  EXPECT_FALSE(pending.body.contains("credential"));
  // The request is the token maker's, with the agent's facts, in the approval queue.
  Reply queue = call("GET", "/api/v1/approvals", leader_);
  ASSERT_EQ(queue.body["items"].size(), 1u);
  EXPECT_EQ(queue.body["items"][0]["filer_id"], leader_id_);
  EXPECT_EQ(queue.body["items"][0]["payload"]["node"]["hardware"]["cores"], 2);
  EXPECT_EQ(call("POST", "/api/v1/agent/enrol", token_, facts()).status, 409);  // the name is taken
  ASSERT_EQ(call("POST", "/api/v1/requests/" + std::to_string(e.body["request_id"].get<int64_t>()) +
                     "/approve",
                 leader_, nlohmann::json::object())
                .status,
            200);
  Reply approved = call("GET", "/api/v1/agent/enrolment", claim);
  ASSERT_EQ(approved.status, 200);
  EXPECT_EQ(approved.body["state"], "approved");
  std::string credential = approved.body["credential"];
  EXPECT_EQ(credential.rfind("node-", 0), 0u);
  EXPECT_EQ(call("GET", "/api/v1/agent/enrolment", claim).status, 401);  // shown once
  // Secrets of one kind open nothing of another.
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", claim, nlohmann::json::object()).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", leader_, nlohmann::json::object()).status, 401);
  EXPECT_EQ(call("GET", "/api/v1/me", credential).status, 401);
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", credential, nlohmann::json::object()).status, 200);
}

TEST_F(AgentApiTest, HeartbeatsOnlineOfflineAndRevocation) {
  seed();
  std::string credential = enrolled();
  ASSERT_FALSE(credential.empty());
  EXPECT_EQ(node()["online"], false);
  nlohmann::json beat = {{"hardware", {{"cores", 4}}},
                         {"measured", {{"matmul_gflops", 3.5}, {"links", {{{"to", "control"}, {"rtt_ms", 0.4}}}}}}};
  Reply hb = call("POST", "/api/v1/agent/heartbeat", credential, beat);
  ASSERT_EQ(hb.status, 200) << hb.body.dump();
  EXPECT_EQ(hb.body["node_id"], node_id_);
  nlohmann::json n = node();
  EXPECT_EQ(n["online"], true);
  EXPECT_EQ(n["heartbeat_at"], clock_.now_ms());
  EXPECT_EQ(n["hardware"]["cores"], 4);
  EXPECT_EQ(n["measured"]["matmul_gflops"], 3.5);
  EXPECT_EQ(call("GET", "/api/v1/stats", leader_).body["nodes_online"], 1);
  clock_.advance_ms(29000);
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", credential, beat).status, 200);
  clock_.advance_ms(29000);  // 29 s after the last heartbeat: still online
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // several sweeps
  EXPECT_EQ(node()["online"], true);
  clock_.advance_ms(2000);
  ASSERT_TRUE(wait_online(false));
  EXPECT_EQ(node()["online"], false);
  EXPECT_EQ(call("GET", "/api/v1/stats", leader_).body["nodes_online"], 0);
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", credential, beat).status, 200);
  ASSERT_TRUE(wait_online(true));
  Reply audit = call("GET", "/api/v1/audit?entity=node&limit=50", leader_);
  int online = 0, offline = 0;
  for (const auto& ev : audit.body["items"]) {
    online += ev["action"] == "node.online";
    offline += ev["action"] == "node.offline";
  }
  EXPECT_EQ(online, 2);
  EXPECT_EQ(offline, 1);
  // Decommissioning revokes the credential and frees the name.
  Reply d = call("POST", "/api/v1/requests", leader_,
                 nlohmann::json{{"kind", "decommission"}, {"node_id", node_id_}});
  ASSERT_EQ(d.status, 201) << d.body.dump();
  ASSERT_EQ(call("POST", "/api/v1/requests/" + std::to_string(d.body["id"].get<int64_t>()) + "/approve",
                 leader_, nlohmann::json::object())
                .status,
            200);
  Reply refused = call("POST", "/api/v1/agent/heartbeat", credential, beat);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.body["error"]["code"], "unauthenticated");
  EXPECT_EQ(node()["online"], false);
  EXPECT_EQ(call("GET", "/api/v1/stats", leader_).body["nodes_online"], 0);
  // Its agent may enrol again (a new node; a new credential once approved).
  int64_t old_id = node_id_;
  std::string again = enrolled();
  EXPECT_NE(node_id_, old_id);
  EXPECT_NE(again, credential);
  EXPECT_EQ(call("POST", "/api/v1/agent/heartbeat", again, beat).status, 200);
}

TEST_F(AgentApiTest, RejectedEnrolmentAndExpiredToken) {
  seed();
  Reply e = call("POST", "/api/v1/agent/enrol", token_, facts());
  ASSERT_EQ(e.status, 201);
  ASSERT_EQ(call("POST", "/api/v1/requests/" + std::to_string(e.body["request_id"].get<int64_t>()) +
                     "/reject",
                 leader_, nlohmann::json{{"reason", "unknown machine"}})
                .status,
            200);
  Reply r = call("GET", "/api/v1/agent/enrolment", e.body["claim"].get<std::string>());
  EXPECT_EQ(r.body["state"], "rejected");
  EXPECT_EQ(r.body["reason"], "unknown machine");
  EXPECT_EQ(call("POST", "/api/v1/enrol-tokens", leader_, nlohmann::json{{"department", "nope"}}).status,
            422);
  EXPECT_EQ(call("POST", "/api/v1/enrol-tokens", leader_,
                 nlohmann::json{{"department", "lab"}, {"ttl_s", 1}})
                .status,
            422);
  clock_.advance_ms(24 * 3600 * 1000LL + 1);  // the token's default lifetime
  EXPECT_EQ(call("POST", "/api/v1/agent/enrol", token_, facts()).status, 401);
}

}  // namespace
}  // namespace dec::control::testing
