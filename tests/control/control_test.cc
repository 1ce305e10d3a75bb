// The domain (control.h) without HTTP, with its cache, on the binary's backend
// (fixture.h): requests and decisions, the equipment list's paging against a
// reference order, statistics, audit, reminders.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "dec/control/api_error.h"
#include "fixture.h"

namespace dec::control::testing {
namespace {

class ControlTest : public ::testing::Test {
 protected:
  ControlTest() : db_(open_test_db(dir_)), cache_(test_cache_options()), control_(*db_, clock_) {
    EXPECT_TRUE(cache_.wait_ready(10));
    control_.set_cache(&cache_);
    org_ = seed_org(control_);
  }

  int status_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const ApiError& e) {
      return e.status();
    }
    return 200;
  }

  int64_t enrol_and_approve(const std::string& name, const std::string& tier = "edge") {
    auto r = control_.file_request(org_.op, enrol_body(name, tier));
    control_.decide(org_.leader, r["id"], true, "", std::nullopt);
    return r["node_id"];
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Db> db_;
  ControlCache cache_;
  Control control_;
  Org org_;
};

TEST_F(ControlTest, EnrolmentApprovedMakesTheNodeAvailable) {
  auto r = control_.file_request(org_.op, enrol_body("edge-1"));
  EXPECT_EQ(r["state"], "pending");
  EXPECT_EQ(control_.get_node(r["node_id"])["state"], "pending");
  EXPECT_EQ(control_.approval_queue(org_.leader, 10)["items"].size(), 1u);
  clock_.advance_ms(1500);
  auto d = control_.decide(org_.leader, r["id"], true, "ok", std::nullopt);
  EXPECT_EQ(d["state"], "approved");
  EXPECT_EQ(d["decided_by"], org_.leader.id);
  EXPECT_EQ(d["version"], 2);
  EXPECT_EQ(control_.get_node(r["node_id"])["state"], "available");
  EXPECT_EQ(control_.approval_queue(org_.leader, 10)["items"].size(), 0u);
  auto stats = control_.statistics();
  EXPECT_EQ(stats["nodes_by_state"]["available"], 1);
  EXPECT_EQ(stats["nodes_by_tier"]["edge"], 1);
  EXPECT_EQ(stats["mean_time_to_approval_ms"], 1500.0);
}

TEST_F(ControlTest, NodeLifecycleThroughRequests) {
  int64_t node = enrol_and_approve("n1");
  auto file = [&](nlohmann::json body) {
    body["node_id"] = node;
    auto r = control_.file_request(org_.op, body);
    control_.decide(org_.leader, r["id"], true, "", std::nullopt);
    return control_.get_node(node);
  };
  auto n = file({{"kind", "assign"}, {"project", "vision"}});
  EXPECT_EQ(n["state"], "assigned");
  EXPECT_EQ(n["project"], "vision");
  EXPECT_EQ(file({{"kind", "return"}})["state"], "available");
  EXPECT_EQ(file({{"kind", "fault"}, {"description", "fan"}})["state"], "faulty");
  EXPECT_EQ(file({{"kind", "decommission"}})["state"], "decommissioned");
  // Nothing more can be filed on a decommissioned node.
  EXPECT_EQ(status_of([&] { control_.file_request(org_.op, {{"kind", "assign"}, {"node_id", node}, {"project", "x"}}); }), 409);
}

TEST_F(ControlTest, RejectionNeedsAReasonAndFreesTheName) {
  auto r = control_.file_request(org_.op, enrol_body("dup"));
  EXPECT_EQ(status_of([&] { control_.file_request(org_.op, enrol_body("dup")); }), 409);
  EXPECT_EQ(status_of([&] { control_.decide(org_.leader, r["id"], false, "", std::nullopt); }), 422);
  auto d = control_.decide(org_.leader, r["id"], false, "no budget", std::nullopt);
  EXPECT_EQ(d["state"], "rejected");
  EXPECT_EQ(d["reason"], "no budget");
  EXPECT_EQ(control_.get_node(r["node_id"])["state"], "rejected");
  EXPECT_NO_THROW(control_.file_request(org_.op, enrol_body("dup")));
}

TEST_F(ControlTest, ARequestIsDecidedOnce) {
  auto r = control_.file_request(org_.op, enrol_body("once"));
  control_.decide(org_.leader, r["id"], true, "", std::nullopt);
  EXPECT_EQ(status_of([&] { control_.decide(org_.admin, r["id"], false, "late", std::nullopt); }), 409);
  EXPECT_EQ(status_of([&] { control_.decide(org_.leader, 999, true, "", std::nullopt); }), 404);
  auto r2 = control_.file_request(org_.op, enrol_body("versioned"));
  EXPECT_EQ(status_of([&] { control_.decide(org_.leader, r2["id"], true, "", 5); }), 409);
}

TEST_F(ControlTest, ConcurrentDecisionsExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    auto r = control_.file_request(org_.op, enrol_body("race-" + std::to_string(round)));
    std::atomic<int> won{0}, conflicts{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        try {
          control_.decide(t % 2 ? org_.leader : org_.admin, r["id"], t % 3 != 0, "r", std::nullopt);
          ++won;
        } catch (const ApiError& e) {
          (e.status() == 409 ? conflicts : other)++;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(conflicts.load(), 7);
    EXPECT_EQ(other.load(), 0);
    EXPECT_EQ(control_.audit(200, 0, "request", r["id"])["items"].size(), 2u);  // filed + decided
  }
}

TEST_F(ControlTest, OperatorsSeeOnlyTheirOwnRequests) {
  auto mine = control_.file_request(org_.op, enrol_body("a"));
  control_.file_request(org_.op2, enrol_body("b", "cloud", "ops"));
  EXPECT_EQ(control_.list_requests(org_.op, "", "", 50, 0)["items"].size(), 1u);
  EXPECT_EQ(control_.list_requests(org_.leader, "", "", 50, 0)["items"].size(), 2u);
  EXPECT_EQ(status_of([&] { control_.get_request(org_.op2, mine["id"]); }), 404);
  EXPECT_NO_THROW(control_.get_request(org_.op, mine["id"]));
}

TEST_F(ControlTest, AnOperatorMayNotFileOnAnotherDepartmentsNode) {
  int64_t node = enrol_and_approve("lab-node");
  EXPECT_EQ(status_of([&] {
              control_.file_request(org_.op2, {{"kind", "fault"}, {"node_id", node}});
            }),
            403);
}

TEST_F(ControlTest, InvalidRequestsNameTheirField) {
  auto field_of = [&](const nlohmann::json& body) -> std::string {
    try {
      control_.file_request(org_.op, body);
    } catch (const ApiError& e) {
      return e.field();
    }
    return "(accepted)";
  };
  EXPECT_EQ(field_of({{"kind", "sell"}}), "kind");
  EXPECT_EQ(field_of({{"kind", 3}}), "kind");
  EXPECT_EQ(field_of({{"kind", "enrol"}}), "node");
  EXPECT_EQ(field_of(enrol_body("x", "moon")), "node.tier");
  EXPECT_EQ(field_of(enrol_body("x", "edge", "nowhere")), "node.department");
  EXPECT_EQ(field_of({{"kind", "assign"}, {"node_id", "7"}}), "node_id");
  EXPECT_EQ(field_of({{"kind", "assign"}, {"node_id", 7}}), "project");
}

// Page numbers and the cursor walk the same order as a reference sort.
TEST_F(ControlTest, PagesAndCursorFollowNewestFirst) {
  std::vector<std::pair<int64_t, int64_t>> reference;  // (created_at, id)
  for (int i = 0; i < 37; ++i) {
    if (i % 3 != 0) clock_.advance_ms(10);  // some share an instant: ties go by id
    int64_t id = enrol_and_approve("p" + std::to_string(i), i % 2 ? "edge" : "cloud");
    reference.push_back({control_.get_node(id)["created_at"], id});
  }
  std::sort(reference.begin(), reference.end(), [](auto a, auto b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<int64_t> expected;
  for (auto& r : reference) expected.push_back(r.second);

  NodeQuery q;
  q.state = "available";
  q.per_page = 5;
  std::vector<int64_t> by_page, by_cursor;
  for (q.page = 1; q.page <= 8; ++q.page) {
    auto page = control_.list_nodes(q);  // kept: a range-for over a temporary's member dangles
    for (auto& n : page["items"]) by_page.push_back(n["id"]);
  }
  q.page = 1;
  for (;;) {
    auto page = control_.list_nodes(q);
    for (auto& n : page["items"]) by_cursor.push_back(n["id"]);
    if (page["next_cursor"].is_null()) break;
    q.after = decode_cursor(page["next_cursor"]);
    ASSERT_TRUE(q.after);
  }
  EXPECT_EQ(by_page, expected);
  EXPECT_EQ(by_cursor, expected);

  NodeQuery edge;
  edge.tier = "edge";
  edge.text = "P1";  // p1, p11, ..., case-insensitive
  auto edges = control_.list_nodes(edge);
  for (auto& n : edges["items"]) {
    EXPECT_EQ(n["tier"], "edge");
    EXPECT_NE(n["name"].get<std::string>().find("p1"), std::string::npos);
  }
  NodeQuery percent;
  percent.text = "%";
  EXPECT_EQ(control_.list_nodes(percent)["items"].size(), 0u);  // LIKE metacharacters are literal
  NodeQuery deep;
  deep.page = 101;
  EXPECT_EQ(status_of([&] { control_.list_nodes(deep); }), 422);
}

TEST_F(ControlTest, EveryChangeIsAuditedWithAnOutboxRow) {
  auto r = control_.file_request(org_.op, enrol_body("audited"));
  control_.decide(org_.leader, r["id"], true, "", std::nullopt);
  int64_t audits = scalar(*db_, "SELECT COUNT(*) FROM audit_events");
  EXPECT_EQ(audits, scalar(*db_, "SELECT COUNT(*) FROM outbox"));
  auto events = control_.audit(10, 0, "", 0)["items"];
  EXPECT_EQ(events[0]["action"], "node.changed");
  EXPECT_EQ(events[0]["before"]["state"], "pending");
  EXPECT_EQ(events[0]["after"]["state"], "available");
  EXPECT_EQ(events[1]["action"], "request.approved");
  EXPECT_EQ(events[1]["actor_id"], org_.leader.id);
}

TEST_F(ControlTest, LeadersManageOperatorsOnly) {
  EXPECT_EQ(status_of([&] {
              control_.create_user(org_.leader, {{"address", "x@example.org"}, {"role", "admin"}});
            }),
            403);
  EXPECT_NO_THROW(control_.create_user(org_.leader, {{"address", "y@example.org"}}));
  EXPECT_EQ(status_of([&] { control_.update_user(org_.leader, org_.admin.id, {{"disabled", true}}); }), 403);
  EXPECT_EQ(status_of([&] { control_.update_user(org_.admin, org_.admin.id, {{"disabled", true}}); }), 409);
  auto u = control_.update_user(org_.leader, org_.op.id, {{"disabled", true}});
  EXPECT_EQ(u["disabled"], true);
  EXPECT_EQ(status_of([&] { control_.create_user(org_.admin, {{"address", "OP@example.org"}}); }), 409);
}

// Every write invalidates what it made stale, and a cached read loads nothing.
TEST_F(ControlTest, CachedReadsFollowEveryWrite) {
  int64_t node = enrol_and_approve("cached");
  EXPECT_EQ(control_.get_node(node)["state"], "available");
  EXPECT_EQ(control_.statistics()["nodes_by_state"]["available"], 1);
  EXPECT_EQ(control_.list_departments()["items"].size(), 2u);
  auto r = control_.file_request(org_.op, {{"kind", "fault"}, {"node_id", node}});
  EXPECT_EQ(control_.statistics()["pending_requests"], 1);
  control_.decide(org_.leader, r["id"], true, "", std::nullopt);
  EXPECT_EQ(control_.get_node(node)["state"], "faulty");
  EXPECT_EQ(control_.statistics()["nodes_by_state"]["faulty"], 1);
  EXPECT_EQ(control_.statistics()["pending_requests"], 0);
  control_.create_department(org_.admin, {{"name", "field"}});
  EXPECT_EQ(control_.list_departments()["items"].size(), 3u);
  EXPECT_EQ(status_of([&] { control_.get_node(node + 1000); }), 404);  // not cached: still 404 later
  uint64_t loads = cache_.stats().loads;
  for (int i = 0; i < 100; ++i) {
    control_.statistics();
    control_.get_node(node);
    control_.list_departments();
  }
  EXPECT_EQ(cache_.stats().loads, loads);
}

// A request left pending past remind_after_ms reminds once; one decided before
// does not.
TEST_F(ControlTest, APendingRequestRemindsTheLeadersOnceUnlessDecided) {
  auto slow = control_.file_request(org_.op, enrol_body("slow"));
  auto quick = control_.file_request(org_.op, enrol_body("quick"));
  EXPECT_EQ(control_.send_due_reminders(), 0);
  clock_.advance_ms(control_.options().remind_after_ms - 1);
  EXPECT_EQ(control_.send_due_reminders(), 0);
  control_.decide(org_.leader, quick["id"], true, "", std::nullopt);
  clock_.advance_ms(1);
  EXPECT_EQ(control_.send_due_reminders(), 1);
  EXPECT_EQ(control_.send_due_reminders(), 0);
  EXPECT_FALSE(control_.remind(slow["id"]));   // a repeated trigger
  EXPECT_FALSE(control_.remind(quick["id"]));  // decided
  auto events = control_.audit(10, 0, "request", slow["id"])["items"];
  EXPECT_EQ(events[0]["action"], "request.reminder");
  EXPECT_EQ(events[0]["after"]["to"], "leaders");
  EXPECT_EQ(events[0]["after"]["pending_ms"], control_.options().remind_after_ms);
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM outbox WHERE topic = 'request.reminder'"), 1);
}

}  // namespace
}  // namespace dec::control::testing
