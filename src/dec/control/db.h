// The control plane's storage seam: a small SQL interface with two implementations,
// SQLite (embedded, one file in the data directory) and PostgreSQL (several
// control-plane instances over one database).
//
// Contract:
// - Every statement is prepared and its parameters are bound; SQL text never
//   contains a value. Parameters are written $1, $2, ... in both dialects (the
//   SQLite implementation binds $N as ?N).
// - Prepared statements are cached per connection, keyed by their text.
// - transact() runs a function in one transaction: it commits when the function
//   returns and rolls back when it throws (the exception propagates). Writes go
//   through transact(); query() outside a transaction reads a consistent snapshot.
// - Thread safety: a Db may be used from any number of threads at once.
// - Failures: a broken connection, a constraint violation or a syntax error
//   throws DbError (a dec::Error) whose why is the driver's message; a unique
//   constraint violation throws DbConflict so that callers can answer 409.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "dec/core/error.h"

namespace dec::control {

// A bound parameter or a column value. Times are int64 milliseconds since the
// epoch; JSON documents are text.
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
using Params = std::vector<Value>;

// The parameters of a statement built piece by piece: bind(v) appends v and
// returns its placeholder ($1, $2, ... in order), the form both drivers take.
struct Binder {
  Params params;
  std::string bind(Value v) {
    params.push_back(std::move(v));
    return "$" + std::to_string(params.size());
  }
};

class DbError : public Error {
 public:
  using Error::Error;
};
// A unique or primary-key constraint refused a row.
class DbConflict : public DbError {
 public:
  using DbError::DbError;
};

// One result row; columns are read by name or position.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> names, std::vector<Value> values)
      : names_(std::move(names)), values_(std::move(values)) {}
  bool is_null(const std::string& column) const;
  int64_t integer(const std::string& column) const;  // 0 for NULL
  double real(const std::string& column) const;      // 0 for NULL
  std::string text(const std::string& column) const;  // "" for NULL
  const Value& at(size_t i) const { return values_.at(i); }
  size_t size() const { return values_.size(); }
  const std::vector<std::string>& names() const { return *names_; }

 private:
  const Value& find(const std::string& column) const;
  std::shared_ptr<const std::vector<std::string>> names_;
  std::vector<Value> values_;
};

using Rows = std::vector<Row>;

enum class Dialect { kSqlite, kPostgres };

// Statements inside one transaction (valid only during transact()).
class Tx {
 public:
  virtual ~Tx() = default;
  virtual Rows query(const std::string& sql, const Params& params = {}) = 0;
  // Returns the number of rows changed.
  virtual int64_t exec(const std::string& sql, const Params& params = {}) = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  virtual Dialect dialect() const = 0;
  virtual void transact(const std::function<void(Tx&)>& fn) = 0;
  virtual Rows query(const std::string& sql, const Params& params = {}) = 0;
  // The plan the database chooses for a statement, one line per step
  // (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN).
  virtual std::vector<std::string> explain(const std::string& sql, const Params& params) = 0;
  // Where the data is, for messages ("control.db", "postgresql://host/db").
  virtual std::string where() const = 0;
};

struct SqliteOptions {
  int busy_timeout_ms = 5000;  // a writer waits this long for another's lock
  int readers = 4;             // connections for reads outside transactions (WAL)
};

// Opens (creating if needed) a SQLite database in WAL mode and brings its schema
// to the current version.
std::unique_ptr<Db> open_sqlite(const std::string& path, const SqliteOptions& options = {});

// Connects to PostgreSQL (a libpq URL) with a pool of `connections` and brings the
// schema to the current version.
std::unique_ptr<Db> open_postgres(const std::string& url, int connections = 4);

// Returns a single value of the first row's first column (or 0 when empty).
int64_t scalar(Tx& tx, const std::string& sql, const Params& params = {});
int64_t scalar(Db& db, const std::string& sql, const Params& params = {});

}  // namespace dec::control
