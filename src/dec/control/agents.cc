// Agents: enrolment tokens, an agent's enrolment and its claim, node
// credentials, heartbeats and the offline sweep (docs/agent.md).
#include "dec/control/api_error.h"
#include "dec/control/auth.h"
#include "dec/control/control.h"
#include "dec/control/json_fields.h"
#include "dec/control/node.h"

namespace dec::control {

namespace {

ApiError unauthenticated(const std::string& message) {
  return ApiError(401, "unauthenticated", message);
}

// A token, claim or credential as the API hands it out: a prefix naming what it
// is (so that one pasted in the wrong place is recognised), then 32 random bytes.
std::string new_secret(const char* prefix) { return prefix + random_token(); }

bool plausible_secret(const std::string& s) { return !s.empty() && s.size() <= 128; }

// An object field of at most 8 KiB, or an empty object when absent.
json small_object(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return json::object();
  if (!it->is_object()) throw invalid(field, "must be an object");
  if (it->dump().size() > 8192) throw invalid(field, "larger than 8 KiB");
  return *it;
}

std::string node_select(const char* where) {
  return std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE " + where;
}

// The states in which a node's credential is honoured.
constexpr const char* kCredentialStates = "state IN ('available', 'assigned', 'faulty')";

}  // namespace

json Control::create_enrol_token(const User& actor, const json& body) {
  require_object(body);
  std::string department = required_string(body, "department", 100);
  std::string category = optional_string(body, "category", 100).value_or("agent");
  if (category.empty()) throw invalid("category", "must not be empty");
  int64_t ttl_s = optional_integer(body, "ttl_s").value_or(24 * 3600);
  if (ttl_s < 60 || ttl_s > options_.enrol_token_max_ttl_ms / 1000) {
    throw invalid("ttl_s", str("must be 60..", options_.enrol_token_max_ttl_ms / 1000));
  }
  std::string token = new_secret("enrol-");
  int64_t now = clock_.now_ms();
  json out;
  db_.transact([&](Tx& tx) {
    if (scalar(tx, "SELECT COUNT(*) FROM departments WHERE name = $1", {department}) == 0) {
      throw invalid("department", "no department '" + department + "'");
    }
    tx.exec("INSERT INTO enrol_tokens (token_hash, created_by, department, category, created_at, "
            "expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            {hash_hex(token), actor.id, department, category, now, now + ttl_s * 1000});
    int64_t id = scalar(tx, "SELECT id FROM enrol_tokens WHERE token_hash = $1", {hash_hex(token)});
    out = {{"id", id},           {"department", department}, {"category", category},
           {"created_by", actor.id}, {"created_at", now},    {"expires_at", now + ttl_s * 1000}};
    record(tx, &actor, "enrol_token.created", "enrol_token", id, nullptr, out);
  });
  committed();
  out["token"] = token;  // shown once: only its hash is kept
  return out;
}

json Control::agent_enrol(const std::string& enrol_token, const json& body) {
  if (!plausible_secret(enrol_token)) throw unauthenticated("an enrolment token is required");
  Rows tokens = db_.query(
      "SELECT t.department AS department, t.category AS category, u.id AS id, u.address AS address, "
      "u.name AS name, u.role AS role, u.department AS user_department, u.disabled AS disabled, "
      "u.created_at AS created_at FROM enrol_tokens t JOIN users u ON u.id = t.created_by "
      "WHERE t.token_hash = $1 AND t.expires_at > $2 AND u.disabled = 0",
      {hash_hex(enrol_token), clock_.now_ms()});
  if (tokens.empty()) throw unauthenticated("the enrolment token is unknown or expired");
  const Row& t = tokens[0];
  User filer;
  filer.id = t.integer("id");
  filer.address = t.text("address");
  filer.role = parse_role(t.text("role")).value_or(Role::kOperator);
  filer.department = t.text("user_department");
  require_object(body);
  json node = {{"name", required_string(body, "name", 100)},
               {"tier", required_string(body, "tier", 20)},
               {"category", t.text("category")},
               {"department", t.text("department")},
               {"hardware", small_object(body, "hardware")}};
  require_utf8("name", node["name"].get<std::string>());
  std::string claim = new_secret("claim-");
  json request = file_request_as(
      filer, {{"kind", "enrol"}, {"note", "filed by dec agent"}, {"node", node}}, hash_hex(claim));
  return {{"request_id", request["id"]}, {"node_id", request["node_id"]}, {"claim", claim}};
}

json Control::agent_enrolment(const std::string& claim) {
  if (!plausible_secret(claim)) throw unauthenticated("an enrolment claim is required");
  std::string hash = hash_hex(claim);
  Rows nodes = db_.query(node_select("claim_hash = $1"), {hash});
  if (nodes.empty()) throw unauthenticated("the enrolment claim is unknown or was used");
  int64_t node_id = nodes[0].integer("id");
  std::string state = nodes[0].text("state");
  Rows requests = db_.query(
      "SELECT id, state, reason FROM requests WHERE node_id = $1 AND kind = 'enrol' "
      "ORDER BY id DESC LIMIT 1",
      {node_id});
  json out = {{"node_id", node_id}, {"name", nodes[0].text("name")}};
  if (!requests.empty()) out["request_id"] = requests[0].integer("id");
  if (state == "pending" || state == "rejected") {
    out["state"] = state;
    if (state == "rejected" && !requests.empty()) out["reason"] = requests[0].text("reason");
    return out;
  }
  std::string credential = new_secret("node-");
  bool issued = false;
  db_.transact([&](Tx& tx) {
    // Conditional on the claim: of two concurrent calls one gets the credential.
    issued = tx.exec(std::string("UPDATE nodes SET credential_hash = $2, claim_hash = NULL "
                                 "WHERE id = $1 AND claim_hash = $3 AND ") + kCredentialStates,
                     {node_id, hash_hex(credential), hash}) == 1;
    if (issued) {
      record(tx, nullptr, "node.credential_issued", "node", node_id, nullptr,
             {{"node_id", node_id}, {"name", out["name"]}});
    }
  });
  if (!issued) throw unauthenticated("the enrolment claim is unknown or was used");
  committed();
  out["state"] = "approved";
  out["credential"] = credential;  // shown once: only its hash is kept
  return out;
}

json Control::heartbeat(const std::string& credential, const json& body) {
  if (!plausible_secret(credential)) throw unauthenticated("a node credential is required");
  require_object(body);
  json hardware = small_object(body, "hardware");
  json measured = small_object(body, "measured");
  std::string hash = hash_hex(credential);
  int64_t now = clock_.now_ms();
  json out;
  bool came_online = false;
  db_.transact([&](Tx& tx) {
    Rows rows = tx.query(node_select((std::string("credential_hash = $1 AND ") + kCredentialStates).c_str()),
                         {hash});
    if (rows.empty()) throw unauthenticated("the node credential is unknown or revoked");
    const Row& before = rows[0];
    int64_t id = before.integer("id");
    std::string hardware_text = hardware.empty() ? before.text("hardware") : hardware.dump();
    tx.exec("UPDATE nodes SET heartbeat_at = $2, hardware = $3, measured = $4 WHERE id = $1",
            {id, now, hardware_text, measured.dump()});
    // Conditional, so that of concurrent heartbeats one announces the node.
    came_online = tx.exec("UPDATE nodes SET online = 1 WHERE id = $1 AND online = 0", {id}) == 1;
    if (came_online) {
      record(tx, nullptr, "node.online", "node", id, node_json(before),
             node_json(tx.query(node_select("id = $1"), {id})[0]));
    }
    out = {{"node_id", id},
           {"name", before.text("name")},
           {"state", before.text("state")},
           {"heartbeat_at", now},
           {"heartbeat_timeout_ms", options_.heartbeat_timeout_ms}};
  });
  // Only a transition changes what the cache holds that matters (the online
  // flag, nodes_online); the detail's heartbeat_at and measured lag by at most
  // the cache's logical expiry.
  if (came_online) committed({cache_key::stats(), cache_key::node(out["node_id"].get<int64_t>())});
  return out;
}

int Control::sweep_offline() {
  int64_t cutoff = clock_.now_ms() - options_.heartbeat_timeout_ms;
  int swept = 0;
  for (const Row& r : db_.query("SELECT id FROM nodes WHERE online = 1 AND heartbeat_at <= $1",
                                {cutoff})) {
    int64_t id = r.integer("id");
    bool changed = false;
    db_.transact([&](Tx& tx) {
      Rows before = tx.query(node_select("id = $1"), {id});
      // Conditional: a heartbeat since the SELECT, or another instance's sweep, wins.
      changed = tx.exec("UPDATE nodes SET online = 0 WHERE id = $1 AND online = 1 AND "
                        "heartbeat_at <= $2",
                        {id, cutoff}) == 1;
      if (changed) {
        record(tx, nullptr, "node.offline", "node", id, node_json(before[0]),
               node_json(tx.query(node_select("id = $1"), {id})[0]));
      }
    });
    if (changed) {
      ++swept;
      committed({cache_key::stats(), cache_key::node(id)});
    }
  }
  return swept;
}

}  // namespace dec::control
