// The control plane's domain: personnel, requests on equipment and their
// decisions, the equipment list, statistics and the audit log. Plain calls with
// the acting user, no HTTP (http_api.cc maps them to routes); every result is
// the JSON the API answers.
//
// Every state change runs in one transaction that also writes its audit event
// (who, what, when, before/after) and its outbox row (the notification, relayed
// after commit by an OutboxRelay); after each such commit the cache keys it
// touched are invalidated (on every instance, before the call returns) and
// `on_commit` is called so that the relay wakes.
//
// With a cache (set_cache), statistics(), list_departments() and get_node()
// are served from it: a cached answer reads no database.
//
// Failures the caller caused throw ApiError (404, 409, 422, 403); storage
// failures throw DbError. Thread-safe: all state lives in the database.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>

#include "dec/control/cache.h"
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
  // A node whose last heartbeat is older than this is offline (the sweep marks it).
  int64_t heartbeat_timeout_ms = 30000;
  int64_t enrol_token_max_ttl_ms = 30LL * 24 * 3600 * 1000;  // the longest an enrolment token lives
  // A request pending this long reminds the leaders once (0 = never).
  int64_t remind_after_ms = 24 * 3600 * 1000LL;
};

class Control {
 public:
  Control(Db& db, Clock& clock, ControlOptions options = {});

  void set_on_commit(std::function<void()> fn) { on_commit_ = std::move(fn); }
  // The read cache (nullptr = none: every read goes to the database). Not owned.
  void set_cache(ControlCache* cache) { cache_ = cache; }
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

  // Agents (docs/agent.md). An enrolment token (made by a leader) lets an
  // agent file an enrolment on the leader's behalf; the agent gets a claim,
  // which after approval it exchanges once for the node's credential; the
  // credential authenticates its heartbeats. Tokens, claims and credentials
  // are random, shown once, stored only hashed. 401 for an unknown one.
  json create_enrol_token(const User& actor, const json& body);
  json agent_enrol(const std::string& enrol_token, const json& body);
  // The enrolment's state; once approved, the first call also answers the
  // credential (a new one replaces any earlier) and voids the claim.
  json agent_enrolment(const std::string& claim);
  // Records the node's facts and measured figures and its last heartbeat; a
  // node that was offline comes online (event node.online). 401 for a
  // credential revoked (decommissioned) or unknown.
  json heartbeat(const std::string& credential, const json& body);
  // Marks offline every online node whose heartbeat is older than
  // heartbeat_timeout_ms (event node.offline each, once even between
  // instances); returns how many.
  int sweep_offline();

  // Reminders of requests left pending (docs/control.md "Reminders").
  // remind(id): if request id is still pending and has not reminded yet, marks
  // it reminded and writes a "request.reminder" event (audit and outbox) for the
  // leaders; returns whether it did. Idempotent: the update is conditional, so
  // of several instances (or a redelivered message) one reminds.
  bool remind(int64_t request_id);
  // Reminds every request pending for remind_after_ms by the clock and not yet
  // reminded (the embedded timer's pass); returns how many.
  int send_due_reminders();
  json audit(int limit, int64_t before_id, const std::string& entity, int64_t entity_id);

  // Writes one audit event and one outbox row in tx (the helper every state
  // change uses). before/after may be null.
  void record(Tx& tx, const User* actor, const std::string& action, const std::string& entity,
              int64_t entity_id, const json& before, const json& after);

 private:
  // After a commit: drops the cache keys the change made stale, wakes the relay.
  void committed(const std::vector<std::string>& stale = {}) {
    if (cache_ && !stale.empty()) cache_->invalidate(stale);
    if (on_commit_) on_commit_();
  }
  json cached(const std::string& key, const std::function<json()>& load) {
    return cache_ ? cache_->get(key, load) : load();
  }
  json load_statistics();
  // file_request; an enrolment's new node gets claim_hash (an agent's claim) when given.
  json file_request_as(const User& actor, const json& body, const std::string& claim_hash);
  int clamp_limit(int limit) const;

  Db& db_;
  Clock& clock_;
  ControlOptions options_;
  std::function<void()> on_commit_;
  ControlCache* cache_ = nullptr;
};

// The cache keys of a user's live sessions (read in tx before they change).
std::vector<std::string> session_keys(Tx& tx, int64_t user_id);

}  // namespace dec::control
