// The storage contract and the once-only decision on PostgreSQL: one server for
// the binary (support/services.h), a fresh database per test.
#include <pqxx/pqxx>

#include <atomic>
#include <thread>

#include "dec/control/api_error.h"
#include "store_contract.h"
#include "support/services.h"

namespace dec::control::testing {
namespace {

// A new, empty database on the shared server; its URL.
std::string fresh_database() {
  static int n = 0;
  std::string base = dec::test::PostgresServer::shared().url();
  std::string name = "t" + std::to_string(++n);
  pqxx::connection admin(base);
  pqxx::nontransaction w(admin);
  w.exec("DROP DATABASE IF EXISTS " + name);
  w.exec("CREATE DATABASE " + name);
  return base.substr(0, base.rfind('/') + 1) + name;
}

class PostgresBackend : public Backend {
 public:
  std::unique_ptr<Db> open() override {
    url_ = fresh_database();
    return open_postgres(url_, 4);
  }
  void vacuum(const std::string& table) override {
    pqxx::connection c(url_);
    pqxx::nontransaction w(c);  // VACUUM runs outside a transaction
    w.exec("VACUUM ANALYZE " + table);
  }

 private:
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract,
                         ::testing::Values(+[]() -> std::unique_ptr<Backend> {
                           return std::make_unique<PostgresBackend>();
                         }));

TEST(PostgresStore, TwoPoolsMigrateOneDatabaseOnce) {
  std::string url = fresh_database();
  std::unique_ptr<Db> a, b;
  std::thread t([&] { a = open_postgres(url, 2); });
  b = open_postgres(url, 2);
  t.join();
  EXPECT_EQ(scalar(*a, "SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
}

// Decisions from several threads and two Db pools (two instances over one
// database): exactly one wins, the rest are 409.
TEST(PostgresControl, ConcurrentDecisionsExactlyOneWins) {
  std::string url = fresh_database();
  auto db1 = open_postgres(url, 4);
  auto db2 = open_postgres(url, 4);
  ManualClock clock;
  Control c1(*db1, clock), c2(*db2, clock);
  Org org = seed_org(c1);
  for (int round = 0; round < 3; ++round) {
    auto r = c1.file_request(org.op, enrol_body("race-" + std::to_string(round)));
    std::atomic<int> won{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        try {
          (t % 2 ? c1 : c2).decide(t % 3 ? org.leader : org.admin, r["id"], t % 4 != 0, "r",
                                   std::nullopt);
          ++won;
        } catch (const ApiError& e) {
          if (e.status() == 409) ++conflicts;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(conflicts.load(), 7);
  }
  // Paging on PostgreSQL returns the same order as on SQLite's test.
  NodeQuery q;
  q.per_page = 2;
  auto first = c2.list_nodes(q);
  ASSERT_FALSE(first["next_cursor"].is_null());
  q.after = decode_cursor(first["next_cursor"]);
  auto second = c2.list_nodes(q);
  EXPECT_EQ(first["items"].size() + second["items"].size(), 3u);
}

}  // namespace
}  // namespace dec::control::testing
