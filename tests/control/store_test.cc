// The storage contract (db.h), on SQLite; the PostgreSQL run of the same tests
// is in store_pg_test.cc.
#include "store_contract.h"

namespace dec::control::testing {
namespace {

class SqliteBackend : public Backend {
 public:
  std::unique_ptr<Db> open() override { return open_sqlite(dir_.file("control.db")); }
  std::string path() const { return dir_.file("control.db"); }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract,
                         ::testing::Values(+[]() -> std::unique_ptr<Backend> {
                           return std::make_unique<SqliteBackend>();
                         }));

TEST(SqliteStore, ReopensAtTheSameSchemaVersionAndKeepsData) {
  TempDir dir;
  {
    auto db = open_sqlite(dir.file("control.db"));
    db->transact([](Tx& tx) {
      tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {std::string("lab"), int64_t{1}});
    });
  }
  auto db = open_sqlite(dir.file("control.db"));
  EXPECT_EQ(scalar(*db, "SELECT MAX(version) FROM schema_version"), kSchemaVersion);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM schema_version"), kSchemaVersion);
  EXPECT_EQ(scalar(*db, "SELECT COUNT(*) FROM departments"), 1);
  Rows mode = db->query("PRAGMA journal_mode");
  EXPECT_EQ(mode[0].text("journal_mode"), "wal");
}

TEST(SqliteStore, RefusesADatabaseFromANewerBuild) {
  TempDir dir;
  {
    auto db = open_sqlite(dir.file("control.db"));
    db->transact([](Tx& tx) { tx.exec("INSERT INTO schema_version (version) VALUES (999)"); });
  }
  EXPECT_THROW(open_sqlite(dir.file("control.db")), DbError);
}

}  // namespace
}  // namespace dec::control::testing
