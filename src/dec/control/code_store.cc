#include "dec/control/code_store.h"

namespace dec::control {

void DbCodeStore::put(const std::string& address, const std::string& code_hash, int64_t expires_at,
                      int attempts, int64_t) {
  db_.transact([&](Tx& tx) {
    tx.exec("DELETE FROM login_codes WHERE address = $1", {address});
    tx.exec("INSERT INTO login_codes (address, code_hash, expires_at, attempts_left) "
            "VALUES ($1, $2, $3, $4)",
            {address, code_hash, expires_at, int64_t{attempts}});
  });
}

void DbCodeStore::erase(const std::string& address) {
  db_.transact([&](Tx& tx) { tx.exec("DELETE FROM login_codes WHERE address = $1", {address}); });
}

CodeCheck DbCodeStore::check(const std::string& address, const std::string& code_hash, int64_t now) {
  CodeCheck out;
  std::string select =
      "SELECT code_hash, expires_at, attempts_left FROM login_codes WHERE address = $1";
  // SQLite's writer transaction is exclusive already; PostgreSQL locks the row
  // so that concurrent checks count every attempt.
  if (db_.dialect() == Dialect::kPostgres) select += " FOR UPDATE";
  db_.transact([&](Tx& tx) {
    Rows rows = tx.query(select, {address});
    if (rows.empty()) return;
    if (rows[0].integer("expires_at") <= now) {
      tx.exec("DELETE FROM login_codes WHERE address = $1", {address});
      return;
    }
    if (rows[0].text("code_hash") == code_hash) {
      tx.exec("DELETE FROM login_codes WHERE address = $1", {address});
      out.result = CodeCheck::Result::kOk;
      return;
    }
    out.result = CodeCheck::Result::kWrong;
    out.attempts_left = static_cast<int>(rows[0].integer("attempts_left")) - 1;
    if (out.attempts_left <= 0) {
      tx.exec("DELETE FROM login_codes WHERE address = $1", {address});
    } else {
      tx.exec("UPDATE login_codes SET attempts_left = $2 WHERE address = $1",
              {address, int64_t{out.attempts_left}});
    }
  });
  return out;
}

}  // namespace dec::control
