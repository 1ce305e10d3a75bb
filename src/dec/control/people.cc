// Personnel: users, roles, departments; the audit/outbox helper.
#include "dec/control/api_error.h"
#include "dec/control/control.h"
#include "dec/control/json_fields.h"

namespace dec::control {

namespace {

std::optional<User> find_user(Tx& tx, const std::string& where, const Params& params) {
  Rows rows = tx.query(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + where, params);
  if (rows.empty()) return std::nullopt;
  return user_from_row(rows[0]);
}

void require_department(Tx& tx, const std::string& department) {
  if (department.empty()) return;
  if (scalar(tx, "SELECT COUNT(*) FROM departments WHERE name = $1", {department}) == 0) {
    throw invalid("department", "no department '" + department + "'");
  }
}

// A leader manages operators; roles above operator are given by admins.
void require_may_manage(const User& actor, Role role) {
  if (actor.role != Role::kAdmin && role != Role::kOperator) {
    throw ApiError(403, "forbidden", "only an admin manages leaders and admins", "role");
  }
}

}  // namespace

std::vector<std::string> session_keys(Tx& tx, int64_t user_id) {
  std::vector<std::string> keys;
  for (const Row& r : tx.query("SELECT token_hash FROM sessions WHERE user_id = $1", {user_id})) {
    keys.push_back(cache_key::session(r.text("token_hash")));
  }
  return keys;
}

Control::Control(Db& db, Clock& clock, ControlOptions options)
    : db_(db), clock_(clock), options_(options) {}

int Control::clamp_limit(int limit) const {
  if (limit <= 0) return 50;
  return std::min(limit, options_.max_per_page);
}

void Control::record(Tx& tx, const User* actor, const std::string& action,
                     const std::string& entity, int64_t entity_id, const json& before,
                     const json& after) {
  int64_t now = clock_.now_ms();
  Value actor_id = nullptr, before_text = nullptr, after_text = nullptr;
  if (actor) actor_id = actor->id;
  if (!before.is_null()) before_text = before.dump();
  if (!after.is_null()) after_text = after.dump();
  tx.exec("INSERT INTO audit_events (at, actor_id, action, entity, entity_id, before_json, "
          "after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          {now, actor_id, action, entity, entity_id, before_text, after_text});
  json message = {{"topic", action},   {"entity", entity}, {"entity_id", entity_id},
                  {"at", now},         {"actor_id", actor ? json(actor->id) : json(nullptr)},
                  {"after", after}};
  tx.exec("INSERT INTO outbox (at, topic, payload) VALUES ($1, $2, $3)",
          {now, action, message.dump()});
}

User Control::bootstrap_admin(const std::string& raw_address) {
  auto address = normalise_address(raw_address);
  DEC_CHECK(address, ConfigError, "invalid admin address", raw_address,
            "not a mail address or a phone number (+ and digits)");
  User admin;
  std::vector<std::string> stale;
  db_.transact([&](Tx& tx) {
    auto before = find_user(tx, "address = $1", {*address});
    if (before) {
      stale = session_keys(tx, before->id);
      tx.exec("UPDATE users SET role = 'admin', disabled = 0 WHERE id = $1", {before->id});
    } else {
      tx.exec("INSERT INTO users (address, name, role, department, disabled, created_at) "
              "VALUES ($1, '', 'admin', '', 0, $2)",
              {*address, clock_.now_ms()});
    }
    admin = *find_user(tx, "address = $1", {*address});
    record(tx, nullptr, "user.bootstrap_admin", "user", admin.id,
           before ? to_json(*before) : json(nullptr), to_json(admin));
  });
  committed(stale);
  return admin;
}

json Control::list_users(const User&, const std::string& role, const std::string& department) {
  // Stored values are UTF-8: other bytes match nobody (and never reach PostgreSQL).
  if (!is_utf8(role) || !is_utf8(department)) return {{"items", json::array()}};
  std::string sql = std::string("SELECT ") + kUserColumns + " FROM users WHERE 1 = 1";
  Binder b;
  if (!role.empty()) sql += " AND role = " + b.bind(role);
  if (!department.empty()) sql += " AND department = " + b.bind(department);
  json items = json::array();
  for (const Row& r : db_.query(sql + " ORDER BY id", b.params)) items.push_back(to_json(user_from_row(r)));
  return {{"items", items}};
}

json Control::create_user(const User& actor, const json& body) {
  require_object(body);
  auto address = normalise_address(required_string(body, "address", 254));
  if (!address) throw invalid("address", "not a mail address or a phone number (+ and digits)");
  std::string role_text = optional_string(body, "role").value_or("operator");
  auto role = parse_role(role_text);
  if (!role) throw invalid("role", "must be operator, leader or admin");
  require_may_manage(actor, *role);
  std::string name = optional_string(body, "name").value_or("");
  std::string department = optional_string(body, "department").value_or("");
  User created;
  db_.transact([&](Tx& tx) {
    require_department(tx, department);
    if (find_user(tx, "address = $1", {*address})) throw conflict("a user has this address", "address");
    tx.exec("INSERT INTO users (address, name, role, department, disabled, created_at) "
            "VALUES ($1, $2, $3, $4, 0, $5)",
            {*address, name, role_text, department, clock_.now_ms()});
    created = *find_user(tx, "address = $1", {*address});
    record(tx, &actor, "user.created", "user", created.id, nullptr, to_json(created));
  });
  committed();
  return to_json(created);
}

json Control::update_user(const User& actor, int64_t id, const json& body) {
  require_object(body);
  auto name = optional_string(body, "name");
  auto role_text = optional_string(body, "role");
  auto department = optional_string(body, "department");
  auto disabled = optional_bool(body, "disabled");
  std::optional<Role> role;
  if (role_text) {
    role = parse_role(*role_text);
    if (!role) throw invalid("role", "must be operator, leader or admin");
  }
  User after;
  std::vector<std::string> stale;
  db_.transact([&](Tx& tx) {
    auto before = find_user(tx, "id = $1", {id});
    if (!before) throw not_found("user");
    // A cached session carries its user: every change of the user ends those copies.
    stale = session_keys(tx, id);
    require_may_manage(actor, before->role);
    if (role) require_may_manage(actor, *role);
    if (before->id == actor.id && ((disabled && *disabled) || (role && *role != actor.role))) {
      throw ApiError(409, "conflict", "a user cannot disable or demote themselves", "disabled");
    }
    if (department) require_department(tx, *department);
    tx.exec("UPDATE users SET name = $2, role = $3, department = $4, disabled = $5 WHERE id = $1",
            {id, name.value_or(before->name), std::string(role_name(role.value_or(before->role))),
             department.value_or(before->department),
             int64_t{disabled.value_or(before->disabled) ? 1 : 0}});
    // A disabled user's sessions end now, not at their expiry.
    if (disabled.value_or(false)) tx.exec("DELETE FROM sessions WHERE user_id = $1", {id});
    after = *find_user(tx, "id = $1", {id});
    record(tx, &actor, after.disabled && !before->disabled ? "user.disabled" : "user.updated",
           "user", id, to_json(*before), to_json(after));
  });
  committed(stale);
  return to_json(after);
}

json Control::list_departments() {
  return cached(cache_key::departments(), [this] {
    json items = json::array();
    for (const Row& r : db_.query("SELECT id, name, created_at FROM departments ORDER BY name")) {
      items.push_back({{"id", r.integer("id")}, {"name", r.text("name")},
                       {"created_at", r.integer("created_at")}});
    }
    return json{{"items", items}};
  });
}

json Control::create_department(const User& actor, const json& body) {
  require_object(body);
  std::string name = required_string(body, "name", 100);
  json created;
  db_.transact([&](Tx& tx) {
    if (scalar(tx, "SELECT COUNT(*) FROM departments WHERE name = $1", {name}) > 0) {
      throw conflict("a department has this name", "name");
    }
    int64_t now = clock_.now_ms();
    tx.exec("INSERT INTO departments (name, created_at) VALUES ($1, $2)", {name, now});
    int64_t id = scalar(tx, "SELECT id FROM departments WHERE name = $1", {name});
    created = {{"id", id}, {"name", name}, {"created_at", now}};
    record(tx, &actor, "department.created", "department", id, nullptr, created);
  });
  committed({cache_key::departments()});
  return created;
}

}  // namespace dec::control
