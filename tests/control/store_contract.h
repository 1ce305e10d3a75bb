// The storage contract, as value-parameterised tests that every Db
// implementation instantiates with a Backend factory.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "dec/control/control.h"
#include "dec/control/schema.h"
#include "fixture.h"

namespace dec::control::testing {

// Opens a fresh, migrated database for one test.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::unique_ptr<Db> open() = 0;
  // Brings a table to the state autovacuum keeps a live one in (its visibility
  // map current, so index-only scans are priced as such); nothing on SQLite.
  virtual void vacuum(const std::string& /*table*/) {}
};
using BackendFactory = std::unique_ptr<Backend> (*)();

class StoreContract : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    backend_ = GetParam()();
    db_ = backend_->open();
  }
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Db> db_;
};

inline bool plan_uses(const std::vector<std::string>& plan, const std::string& index) {
  for (const std::string& line : plan) {
    if (line.find(index) != std::string::npos) return true;
  }
  return false;
}

inline std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST_P(StoreContract, MigratesToTheCurrentVersionOnce) {
  EXPECT_EQ(scalar(*db_, "SELECT MAX(version) FROM schema_version"), kSchemaVersion);
  EXPECT_EQ(migrate(*db_), kSchemaVersion);  // a second run applies nothing
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
}

TEST_P(StoreContract, BindsValuesNeverSplicesThem) {
  const std::string nasty = "x'); DROP TABLE users; -- \xC3\xA9\xE2\x82\xAC \"$1 ?1";
  db_->transact([&](Tx& tx) {
    tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {nasty, int64_t{7}});
  });
  Rows rows = db_->query("SELECT name, created_at FROM departments WHERE name = $1", {nasty});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text("name"), nasty);
  EXPECT_EQ(rows[0].integer("created_at"), 7);
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM users"), 0);  // the table is still there
}

TEST_P(StoreContract, ParametersMayRepeatAndComeInAnyOrder) {
  Rows rows = db_->query("SELECT CAST($2 AS BIGINT) + CAST($1 AS BIGINT) + CAST($2 AS BIGINT) AS s",
                         {int64_t{1}, int64_t{10}});
  EXPECT_EQ(rows[0].integer("s"), 21);
}

TEST_P(StoreContract, NullsRoundTrip) {
  db_->transact([](Tx& tx) {
    tx.exec("INSERT INTO audit_events (at, actor_id, action, entity, entity_id, before_json) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            {int64_t{1}, nullptr, std::string("a"), std::string("e"), int64_t{2}, nullptr});
  });
  Rows rows = db_->query("SELECT actor_id, before_json, entity_id FROM audit_events");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].is_null("actor_id"));
  EXPECT_TRUE(rows[0].is_null("before_json"));
  EXPECT_EQ(rows[0].integer("entity_id"), 2);
}

TEST_P(StoreContract, AFailingTransactionLeavesNothing) {
  EXPECT_THROW(db_->transact([](Tx& tx) {
    tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {std::string("a"), int64_t{1}});
    throw std::runtime_error("give up");
  }),
               std::runtime_error);
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM departments"), 0);
  // The connection is usable afterwards.
  db_->transact([](Tx& tx) {
    tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {std::string("b"), int64_t{1}});
  });
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM departments"), 1);
}

TEST_P(StoreContract, ADuplicateIsAConflict) {
  auto insert = [&] {
    db_->transact([](Tx& tx) {
      tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {std::string("a"), int64_t{1}});
    });
  };
  insert();
  EXPECT_THROW(insert(), DbConflict);
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM departments"), 1);
}

TEST_P(StoreContract, ReturningRowsDoesNotBlockCommit) {
  db_->transact([](Tx& tx) {
    Rows r = tx.query("INSERT INTO departments (name, created_at) VALUES ($1, $2) RETURNING id",
                      {std::string("a"), int64_t{1}});
    EXPECT_EQ(r.size(), 1u);
  });
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM departments"), 1);
}

TEST_P(StoreContract, ConcurrentTransactionsAllCommit) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < 25; ++i) {
        db_->transact([&](Tx& tx) {
          tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)",
                  {str("d", t, "-", i), int64_t{i}});
        });
        db_->query("SELECT COUNT(*) FROM departments");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(scalar(*db_, "SELECT COUNT(*) FROM departments"), 100);
}

// The equipment list's cursor query reads its keys from the covering index
// (state, created_at DESC, id), on both databases, at a cursor in the middle of
// 3,000 nodes over five states.
TEST_P(StoreContract, CursorQueryUsesTheCoveringIndex) {
  const char* states[] = {"available", "assigned", "faulty", "pending", "decommissioned"};
  db_->transact([&](Tx& tx) {
    tx.exec("INSERT INTO users (address, role, created_at) VALUES ('a@example.org', 'admin', 0)");
    for (int64_t i = 0; i < 3000; ++i) {
      tx.exec("INSERT INTO nodes (name, tier, category, department, hardware, state, created_at) "
              "VALUES ($1, 'edge', 'c', 'lab', '{}', $2, $3)",
              {str("n", i), std::string(states[i % 5]), i});
    }
  });
  db_->transact([](Tx& tx) { tx.exec("ANALYZE nodes"); });
  backend_->vacuum("nodes");
  ManualClock clock;
  Control control(*db_, clock);
  NodeQuery q;
  q.state = "available";
  q.per_page = 50;
  q.after = Cursor{1500, 1501};  // the row at 1500 (id 1501) was the last seen
  auto [sql, params] = control.node_list_sql(q);
  std::vector<std::string> plan;
  if (db_->dialect() == Dialect::kSqlite) {
    plan = db_->explain(sql, params);
    EXPECT_TRUE(plan_uses(plan, "COVERING INDEX nodes_list")) << joined(plan);
  } else {
    // A table this small could be read whole; the plan asked for is the one a
    // large table gets, so sequential scans are priced out.
    db_->transact([&](Tx& tx) {
      tx.exec("SET LOCAL enable_seqscan = off");
      for (const Row& r : tx.query("EXPLAIN " + sql, params)) plan.push_back(r.text("QUERY PLAN"));
    });
    EXPECT_TRUE(plan_uses(plan, "using nodes_list")) << joined(plan);
  }
  // And the page it reads is the one the reference order gives.
  auto page = control.list_nodes(q);
  ASSERT_EQ(page["items"].size(), 50u);
  EXPECT_EQ(page["items"][0]["created_at"], 1495);
}

}  // namespace dec::control::testing
