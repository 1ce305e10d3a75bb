#include "dec/control/schema.h"

namespace dec::control {

namespace {

// Version 1: the whole first schema. Times are int64 milliseconds since the epoch,
// JSON documents are text, booleans are 0/1 integers: the same in both dialects.
Migration first_schema() {
  return {1,
          {
              "CREATE TABLE departments (id {id}, name TEXT NOT NULL UNIQUE, "
              "created_at BIGINT NOT NULL)",
              "CREATE TABLE users (id {id}, address TEXT NOT NULL UNIQUE, "
              "name TEXT NOT NULL DEFAULT '', "
              "role TEXT NOT NULL CHECK (role IN ('operator', 'leader', 'admin')), "
              "department TEXT NOT NULL DEFAULT '', disabled INTEGER NOT NULL DEFAULT 0, "
              "created_at BIGINT NOT NULL)",
              "CREATE TABLE nodes (id {id}, name TEXT NOT NULL, "
              "tier TEXT NOT NULL CHECK (tier IN ('device', 'edge', 'cloud')), "
              "category TEXT NOT NULL, department TEXT NOT NULL, "
              "owner_id BIGINT REFERENCES users (id), project TEXT NOT NULL DEFAULT '', "
              "hardware TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL, "
              "created_at BIGINT NOT NULL, heartbeat_at BIGINT)",
              // A rejected enrolment frees its name.
              "CREATE UNIQUE INDEX nodes_name ON nodes (name) WHERE state <> 'rejected'",
              // The equipment list's covering index: a state's rows newest first,
              // and the cursor (created_at, id) is a range in it.
              "CREATE INDEX nodes_list ON nodes (state, created_at DESC, id)",
              "CREATE INDEX nodes_recent ON nodes (created_at DESC, id)",
              "CREATE TABLE requests (id {id}, "
              "kind TEXT NOT NULL CHECK (kind IN ('enrol', 'assign', 'return', 'fault', "
              "'decommission')), "
              "node_id BIGINT NOT NULL REFERENCES nodes (id), "
              "filer_id BIGINT NOT NULL REFERENCES users (id), "
              "state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', "
              "'approved', 'rejected')), "
              "payload TEXT NOT NULL DEFAULT '{}', reason TEXT NOT NULL DEFAULT '', "
              "decided_by BIGINT REFERENCES users (id), created_at BIGINT NOT NULL, "
              "decided_at BIGINT, version BIGINT NOT NULL DEFAULT 1)",
              "CREATE INDEX requests_queue ON requests (state, created_at DESC, id)",
              "CREATE INDEX requests_filer ON requests (filer_id, created_at DESC, id)",
              "CREATE INDEX requests_node ON requests (node_id, state)",
              "CREATE TABLE audit_events (id {id}, at BIGINT NOT NULL, actor_id BIGINT, "
              "action TEXT NOT NULL, entity TEXT NOT NULL, entity_id BIGINT, "
              "before_json TEXT, after_json TEXT)",
              "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, "
              "user_id BIGINT NOT NULL REFERENCES users (id), created_at BIGINT NOT NULL, "
              "expires_at BIGINT NOT NULL)",
              "CREATE INDEX sessions_user ON sessions (user_id)",
              "CREATE TABLE login_codes (address TEXT PRIMARY KEY, code_hash TEXT NOT NULL, "
              "expires_at BIGINT NOT NULL, attempts_left INTEGER NOT NULL)",
              "CREATE TABLE outbox (id {id}, at BIGINT NOT NULL, topic TEXT NOT NULL, "
              "payload TEXT NOT NULL, delivered_at BIGINT)",
              "CREATE INDEX outbox_pending ON outbox (delivered_at, id)",
          }};
}

// Version 2: reminders of requests left pending (each reminds once), and the
// message ids consumers have handled (their idempotence, processed_ids.h).
Migration reminders_and_processed_ids() {
  return {2,
          {
              "ALTER TABLE requests ADD COLUMN reminded_at BIGINT",
              "CREATE TABLE processed_messages (consumer TEXT NOT NULL, message_id TEXT NOT NULL, "
              "at BIGINT NOT NULL, PRIMARY KEY (consumer, message_id))",
          }};
}

// Version 3: agents (docs/agent.md). A node's credential and an enrolment's
// claim are stored only hashed; measured is the agent's last report (JSON);
// online flips with heartbeats and the offline sweep, so that statistics and
// events follow transitions. A decommissioned node frees its name (its agent
// may enrol again as a new node). Enrolment tokens let an agent file an
// enrolment on behalf of the leader who made the token.
Migration agents() {
  return {3,
          {
              "ALTER TABLE nodes ADD COLUMN credential_hash TEXT",
              "ALTER TABLE nodes ADD COLUMN claim_hash TEXT",
              "ALTER TABLE nodes ADD COLUMN measured TEXT NOT NULL DEFAULT '{}'",
              "ALTER TABLE nodes ADD COLUMN online INTEGER NOT NULL DEFAULT 0",
              "CREATE UNIQUE INDEX nodes_credential ON nodes (credential_hash)",
              "CREATE UNIQUE INDEX nodes_claim ON nodes (claim_hash)",
              "CREATE INDEX nodes_online ON nodes (online, heartbeat_at)",
              "DROP INDEX nodes_name",
              "CREATE UNIQUE INDEX nodes_name ON nodes (name) "
              "WHERE state NOT IN ('rejected', 'decommissioned')",
              "CREATE TABLE enrol_tokens (id {id}, token_hash TEXT NOT NULL UNIQUE, "
              "created_by BIGINT NOT NULL REFERENCES users (id), department TEXT NOT NULL, "
              "category TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
          }};
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all{first_schema(), reminders_and_processed_ids(), agents()};
  return all;
}

std::string dialect_sql(const std::string& sql, Dialect dialect) {
  std::string out = sql;
  replace_all(out, "{id}",
              dialect == Dialect::kSqlite ? "INTEGER PRIMARY KEY"
                                          : "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  return out;
}

int migrate(Db& db) {
  int reached = 0;
  db.transact([&](Tx& tx) {
    if (db.dialect() == Dialect::kPostgres) {
      // Instances starting together over one database migrate one at a time.
      tx.query("SELECT pg_advisory_xact_lock(4242)");
    }
    tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    Rows rows = tx.query("SELECT MAX(version) AS v FROM schema_version");
    int current = rows.empty() ? 0 : static_cast<int>(rows[0].integer("v"));
    DEC_CHECK(current <= kSchemaVersion, DbError, "database schema is newer than this build",
              db.where(), "schema version ", current, ", this build knows up to ",
              kSchemaVersion);
    for (const Migration& m : migrations()) {
      if (m.version <= current) continue;
      for (const std::string& statement : m.statements) {
        tx.exec(dialect_sql(statement, db.dialect()));
      }
      tx.exec("INSERT INTO schema_version (version) VALUES ($1)", {int64_t{m.version}});
      current = m.version;
    }
    reached = current;
  });
  return reached;
}

}  // namespace dec::control
