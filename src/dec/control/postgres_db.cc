// PostgreSQL behind the Db interface (libpqxx 6.4): a fixed pool of connections,
// each preparing a statement the first time it sees its text.
#include <pqxx/pqxx>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>

#include "dec/control/db.h"
#include "dec/control/schema.h"

namespace dec::control {

namespace {

// The URL without its password, for messages.
std::string redact(const std::string& url) {
  auto at = url.find('@');
  auto scheme = url.find("://");
  if (at == std::string::npos || scheme == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

struct PgConnection {
  std::unique_ptr<pqxx::connection> conn;
  std::set<std::string> prepared;
};

Rows to_rows(const pqxx::result& r) {
  Rows rows;
  auto names = std::make_shared<std::vector<std::string>>();
  for (pqxx::row::size_type c = 0; c < r.columns(); ++c) names->push_back(r.column_name(c));
  rows.reserve(r.size());
  for (const auto& row : r) {
    std::vector<Value> values;
    values.reserve(names->size());
    for (const auto& field : row) {
      if (field.is_null()) {
        values.emplace_back(nullptr);
      } else {
        values.emplace_back(std::string(field.c_str(), field.size()));
      }
    }
    rows.emplace_back(names, std::move(values));
  }
  return rows;
}

class PgTx : public Tx {
 public:
  PgTx(PgConnection& c, pqxx::work& w, std::string where) : c_(c), w_(w), where_(std::move(where)) {}

  Rows query(const std::string& sql, const Params& params) override {
    return to_rows(run(sql, params));
  }
  int64_t exec(const std::string& sql, const Params& params) override {
    return static_cast<int64_t>(run(sql, params).affected_rows());
  }

 private:
  pqxx::result run(const std::string& sql, const Params& params) {
    std::string name = "s" + std::to_string(std::hash<std::string>{}(sql));
    if (!c_.prepared.count(name)) {
      c_.conn->prepare(name, sql);
      c_.prepared.insert(name);
    }
    std::vector<std::string> texts(params.size());
    std::vector<const char*> pointers(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (auto* n = std::get_if<int64_t>(&v)) {
        texts[i] = std::to_string(*n);
      } else if (auto* d = std::get_if<double>(&v)) {
        texts[i] = str(*d);
      } else if (auto* s = std::get_if<std::string>(&v)) {
        texts[i] = *s;
      } else {
        continue;  // NULL
      }
      pointers[i] = texts[i].c_str();
    }
    return w_.exec_prepared(name, pqxx::prepare::make_dynamic_params(pointers));
  }

  PgConnection& c_;
  pqxx::work& w_;
  std::string where_;
};

class PostgresDb : public Db {
 public:
  PostgresDb(const std::string& url, int connections) : url_(url), where_(redact(url)) {
    for (int i = 0; i < std::max(1, connections); ++i) {
      auto c = std::make_unique<PgConnection>();
      try {
        c->conn = std::make_unique<pqxx::connection>(url);
      } catch (const std::exception& e) {
        throw DbError("cannot connect to PostgreSQL", where_, e.what());
      }
      free_.push_back(c.get());
      pool_.push_back(std::move(c));
    }
  }

  Dialect dialect() const override { return Dialect::kPostgres; }
  std::string where() const override { return where_; }

  void transact(const std::function<void(Tx&)>& fn) override {
    PgConnection* c = acquire();
    try {
      pqxx::work w(*c->conn);
      PgTx tx(*c, w, where_);
      fn(tx);
      w.commit();
    } catch (const pqxx::unique_violation& e) {
      release(c);
      throw DbConflict("database refused a duplicate", where_, e.what());
    } catch (const pqxx::broken_connection& e) {
      reconnect(c);
      release(c);
      throw DbError("lost the connection to PostgreSQL", where_, e.what());
    } catch (const pqxx::failure& e) {
      release(c);
      throw DbError("database statement failed", where_, e.what());
    } catch (...) {
      release(c);
      throw;
    }
    release(c);
  }

  Rows query(const std::string& sql, const Params& params) override {
    Rows rows;
    transact([&](Tx& tx) { rows = tx.query(sql, params); });
    return rows;
  }

  std::vector<std::string> explain(const std::string& sql, const Params& params) override {
    std::vector<std::string> lines;
    for (const Row& r : query("EXPLAIN " + sql, params)) lines.push_back(r.text("QUERY PLAN"));
    return lines;
  }

 private:
  void reconnect(PgConnection* c) {
    c->prepared.clear();
    try {
      c->conn = std::make_unique<pqxx::connection>(url_);
    } catch (const std::exception&) {
      // Still down: the next transaction on this connection fails and retries.
    }
  }
  PgConnection* acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !free_.empty(); });
    PgConnection* c = free_.back();
    free_.pop_back();
    if (!c->conn || !c->conn->is_open()) reconnect(c);
    return c;
  }
  void release(PgConnection* c) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(c);
    }
    cv_.notify_one();
  }

  std::string url_, where_;
  std::vector<std::unique_ptr<PgConnection>> pool_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<PgConnection*> free_;  // GUARDED_BY(mutex_)
};

}  // namespace

std::unique_ptr<Db> open_postgres(const std::string& url, int connections) {
  auto db = std::make_unique<PostgresDb>(url, connections);
  migrate(*db);
  return db;
}

}  // namespace dec::control
