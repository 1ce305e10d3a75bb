// SQLite behind the Db interface: one writer connection (transactions are
// serialised on it, BEGIN IMMEDIATE so that a writer never fails half-way on a
// lock upgrade) and a small pool of reader connections, which WAL lets read
// while the writer writes.
#include <SQLiteCpp/SQLiteCpp.h>
#include <sqlite3.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "dec/control/db.h"
#include "dec/control/schema.h"

namespace dec::control {

namespace {

// $N -> ?N: SQLite binds ?N to parameter N exactly, whatever the order of use.
std::string to_sqlite_params(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && out[i + 1] >= '0' && out[i + 1] <= '9') out[i] = '?';
  }
  return out;
}

class Connection {
 public:
  Connection(const std::string& path, int flags, int busy_timeout_ms) : db_(path, flags) {
    db_.setBusyTimeout(busy_timeout_ms);
    db_.exec("PRAGMA foreign_keys = ON");
  }
  SQLite::Database& raw() { return db_; }

  Rows query(const std::string& sql, const Params& params, int64_t* changes) {
    SQLite::Statement& st = prepare(sql);
    Rows rows;
    try {
      st.reset();
      st.clearBindings();
      for (size_t i = 0; i < params.size(); ++i) bind(st, static_cast<int>(i + 1), params[i]);
      std::shared_ptr<std::vector<std::string>> names;
      while (st.executeStep()) {
        if (!names) {
          names = std::make_shared<std::vector<std::string>>();
          for (int c = 0; c < st.getColumnCount(); ++c) names->push_back(st.getColumnName(c));
        }
        std::vector<Value> values;
        values.reserve(names->size());
        for (int c = 0; c < st.getColumnCount(); ++c) values.push_back(column(st, c));
        rows.emplace_back(names, std::move(values));
      }
      // A stepped statement (RETURNING in particular) holds its transaction
      // open until it is reset.
      st.reset();
    } catch (const SQLite::Exception& e) {
      st.tryReset();
      rethrow(e, sql);
    }
    if (changes) *changes = sqlite3_changes(db_.getHandle());
    return rows;
  }

  [[noreturn]] void rethrow(const SQLite::Exception& e, const std::string& sql) {
    int code = e.getErrorCode();
    if (code == SQLITE_CONSTRAINT &&
        (e.getExtendedErrorCode() == SQLITE_CONSTRAINT_UNIQUE ||
         e.getExtendedErrorCode() == SQLITE_CONSTRAINT_PRIMARYKEY)) {
      throw DbConflict("database refused a duplicate", db_.getFilename(), e.what());
    }
    throw DbError("database statement failed", db_.getFilename(),
                  str(e.what(), " in: ", sql.substr(0, 120)));
  }

 private:
  SQLite::Statement& prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return *it->second;
    try {
      auto st = std::make_unique<SQLite::Statement>(db_, to_sqlite_params(sql));
      return *cache_.emplace(sql, std::move(st)).first->second;
    } catch (const SQLite::Exception& e) {
      rethrow(e, sql);
    }
  }

  static void bind(SQLite::Statement& st, int index, const Value& v) {
    if (auto* i = std::get_if<int64_t>(&v)) {
      st.bind(index, *i);
    } else if (auto* d = std::get_if<double>(&v)) {
      st.bind(index, *d);
    } else if (auto* s = std::get_if<std::string>(&v)) {
      st.bind(index, *s);
    } else {
      st.bind(index);  // NULL
    }
  }

  static Value column(SQLite::Statement& st, int c) {
    SQLite::Column col = st.getColumn(c);
    switch (col.getType()) {
      case SQLITE_INTEGER: return static_cast<int64_t>(col.getInt64());
      case SQLITE_FLOAT: return col.getDouble();
      case SQLITE_NULL: return nullptr;
      default: return col.getString();
    }
  }

  SQLite::Database db_;
  std::map<std::string, std::unique_ptr<SQLite::Statement>> cache_;
};

class SqliteTx : public Tx {
 public:
  explicit SqliteTx(Connection& c) : c_(c) {}
  Rows query(const std::string& sql, const Params& params) override {
    return c_.query(sql, params, nullptr);
  }
  int64_t exec(const std::string& sql, const Params& params) override {
    int64_t changes = 0;
    c_.query(sql, params, &changes);
    return changes;
  }

 private:
  Connection& c_;
};

class SqliteDb : public Db {
 public:
  SqliteDb(const std::string& path, const SqliteOptions& options) : path_(path) {
    try {
      writer_ = std::make_unique<Connection>(
          path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX,
          options.busy_timeout_ms);
      writer_->raw().exec("PRAGMA journal_mode = WAL");
      // NORMAL in WAL mode: a power loss may drop the last commits, never corrupt.
      writer_->raw().exec("PRAGMA synchronous = NORMAL");
      for (int i = 0; i < options.readers; ++i) {
        readers_.push_back(std::make_unique<Connection>(
            path, SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX, options.busy_timeout_ms));
        free_.push_back(readers_.back().get());
      }
    } catch (const SQLite::Exception& e) {
      throw DbError("cannot open database", path, e.what());
    }
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  std::string where() const override { return path_; }

  void transact(const std::function<void(Tx&)>& fn) override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    writer_->query("BEGIN IMMEDIATE", {}, nullptr);
    try {
      SqliteTx tx(*writer_);
      fn(tx);
      writer_->query("COMMIT", {}, nullptr);
    } catch (...) {
      // Rolls back and rethrows the original failure; a failed ROLLBACK (the
      // transaction already ended) would only hide it.
      try {
        writer_->query("ROLLBACK", {}, nullptr);
      } catch (const DbError&) {
      }
      throw;
    }
  }

  Rows query(const std::string& sql, const Params& params) override {
    Connection* c = acquire();
    try {
      Rows rows = c->query(sql, params, nullptr);
      release(c);
      return rows;
    } catch (...) {
      release(c);
      throw;
    }
  }

  std::vector<std::string> explain(const std::string& sql, const Params& params) override {
    std::vector<std::string> lines;
    for (const Row& r : query("EXPLAIN QUERY PLAN " + sql, params)) lines.push_back(r.text("detail"));
    return lines;
  }

 private:
  Connection* acquire() {
    std::unique_lock<std::mutex> lock(pool_mutex_);
    pool_cv_.wait(lock, [&] { return !free_.empty(); });
    Connection* c = free_.back();
    free_.pop_back();
    return c;
  }
  void release(Connection* c) {
    {
      std::lock_guard<std::mutex> lock(pool_mutex_);
      free_.push_back(c);
    }
    pool_cv_.notify_one();
  }

  std::string path_;
  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;  // GUARDED_BY(write_mutex_)
  std::vector<std::unique_ptr<Connection>> readers_;
  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<Connection*> free_;  // GUARDED_BY(pool_mutex_)
};

}  // namespace

std::unique_ptr<Db> open_sqlite(const std::string& path, const SqliteOptions& options) {
  SqliteOptions o = options;
  if (o.readers < 1) o.readers = 1;
  // The readers open read-only, which needs the file to exist: the writer
  // creates it first inside the constructor.
  auto db = std::make_unique<SqliteDb>(path, o);
  migrate(*db);
  return db;
}

}  // namespace dec::control
