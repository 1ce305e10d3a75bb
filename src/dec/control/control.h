// The control plane's domain: personnel, requests on equipment and their
// decisions, the equipment list, statistics and the audit log. Plain calls with
// the acting user, no HTTP (http_api.cc maps them to routes); every result is
// the JSON the API answers.
//
// Every state change runs in one transaction that also writes its audit event
// (who, what, when, before/after) and its outbox row (the notification, relayed
// after commit by an OutboxRelay); `on_commit` is called after each such commit
// so that the relay wakes.
//
// Failures the caller caused throw ApiError (404, 409, 422, 403); storage
// failures throw DbError. Thread-safe: all state lives in the database.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "dec/control/clock.h"
#include "dec/control/db.h"
#include "dec/control/user.h"

namespace dec::control {

using nlohmann::json;

// A position in the equipment list, newest first: the last row seen.
struct Cursor {
  int64_t created_at = 0;
  int64_t id = 0;
};
std::string encode_cursor(const Cursor& c);
std::optional<Cursor> decode_cursor(const std::string& s);

struct NodeQuery {
  std::string state, tier, category, department, text;  // "" = any
  int64_t owner_id = 0;                                  // 0 = any
  int per_page = 50;
  int page = 1;                 // 1-based page number (OFFSET), ignored with a cursor
  std::optional<Cursor> after;  // rows after this one (the cursor)
};

struct ControlOptions {
  int max_per_page = 200;       // largest page of any list
  int max_page_number = 100;    // deeper than this, the list asks for its cursor
  int64_t online_window_ms = 60000;  // a node with a heartbeat this recent is online
};

class Control {
 public:
  Control(Db& db, Clock& clock, ControlOptions options = {});

  void set_on_commit(std::function<void()> fn) { on_commit_ = std::move(fn); }
  Db& db() { return db_; }
  const ControlOptions& options() const { return options_; }

  // Personnel.
  // Makes address an enabled admin (creating the user if needed): how a fresh
  // install gets its first login. Returns the user.
  User bootstrap_admin(const std::string& address);
  json list_users(const User& actor, const std::string& role, const std::string& department);
  json create_user(const User& actor, const json& body);
  json update_user(const User& actor, int64_t id, const json& body);
  json list_departments();
  json create_department(const User& actor, const json& body);

  // Requests on equipment.
  json file_request(const User& actor, const json& body);
  json list_requests(const User& actor, const std::string& state, const std::string& kind,
                     int limit, int64_t before_id);
  json approval_queue(const User& actor, int limit);
  json get_request(const User& actor, int64_t id);
  // approve: true to approve, false to reject (reason required). expected_version,
  // when given, must be the request's version (optimistic concurrency). A request
  // is decided once: a second decision answers 409.
  json decide(const User& actor, int64_t id, bool approve, const std::string& reason,
              std::optional<int64_t> expected_version);

  // Equipment.
  json list_nodes(const NodeQuery& query);
  json get_node(int64_t id);
  json my_nodes(const User& actor);
  // The SQL and parameters list_nodes runs for a query (for EXPLAIN in tests and
  // the bench).
  std::pair<std::string, Params> node_list_sql(const NodeQuery& query) const;

  json statistics();
  json audit(int limit, int64_t before_id, const std::string& entity, int64_t entity_id);

  // Writes one audit event and one outbox row in tx (the helper every state
  // change uses). before/after may be null.
  void record(Tx& tx, const User* actor, const std::string& action, const std::string& entity,
              int64_t entity_id, const json& before, const json& after);

 private:
  void committed() {
    if (on_commit_) on_commit_();
  }
  int clamp_limit(int limit) const;

  Db& db_;
  Clock& clock_;
  ControlOptions options_;
  std::function<void()> on_commit_;
};

}  // namespace dec::control
