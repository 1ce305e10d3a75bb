// Requests on equipment: filing, listing, the approval queue, decisions.
#include "dec/control/api_error.h"
#include "dec/control/control.h"
#include "dec/control/json_fields.h"
#include "dec/control/node.h"

namespace dec::control {

namespace {

std::optional<Row> find_one(Tx& tx, const std::string& sql, const Params& params) {
  Rows rows = tx.query(sql, params);
  if (rows.empty()) return std::nullopt;
  return rows[0];
}

std::string node_select(const char* where) {
  return std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE " + where;
}
std::string request_select(const char* where) {
  return std::string("SELECT ") + kRequestColumns + " FROM requests WHERE " + where;
}

// The new node of an enrolment, validated.
json enrol_node(const json& body) {
  auto it = body.find("node");
  if (it == body.end() || !it->is_object()) throw invalid("node", "an object is required");
  const json& n = *it;
  json node = {{"name", required_string(n, "name", 100)},
               {"tier", required_string(n, "tier", 20)},
               {"category", required_string(n, "category", 100)},
               {"department", required_string(n, "department", 100)}};
  if (!is_tier(node["tier"])) throw invalid("node.tier", "must be device, edge or cloud");
  json hardware = n.value("hardware", json::object());
  if (!hardware.is_object()) throw invalid("node.hardware", "must be an object");
  if (hardware.dump().size() > 8192) throw invalid("node.hardware", "larger than 8 KiB");
  node["hardware"] = hardware;
  return node;
}

}  // namespace

json Control::file_request(const User& actor, const json& body) { return file_request_as(actor, body, ""); }

json Control::file_request_as(const User& actor, const json& body, const std::string& claim_hash) {
  require_object(body);
  std::string kind = required_string(body, "kind", 20);
  if (!is_request_kind(kind)) {
    throw invalid("kind", "must be enrol, assign, return, fault or decommission");
  }
  json payload = {{"note", optional_string(body, "note", 1000).value_or("")}};
  json node;
  std::optional<int64_t> node_id;
  if (kind == "enrol") {
    node = enrol_node(body);
    payload["node"] = node;
  } else {
    node_id = optional_integer(body, "node_id");
    if (!node_id) throw invalid("node_id", "is required");
    if (kind == "assign") payload["project"] = required_string(body, "project", 100);
    if (kind == "fault") payload["description"] = optional_string(body, "description", 2000).value_or("");
  }
  int64_t now = clock_.now_ms();
  json created;
  db_.transact([&](Tx& tx) {
    if (kind == "enrol") {
      if (scalar(tx, "SELECT COUNT(*) FROM departments WHERE name = $1",
                 {node["department"].get<std::string>()}) == 0) {
        throw invalid("node.department", "no such department");
      }
      if (scalar(tx, "SELECT COUNT(*) FROM nodes WHERE name = $1 AND "
                 "state NOT IN ('rejected', 'decommissioned')",
                 {node["name"].get<std::string>()}) > 0) {
        throw conflict("a node has this name", "node.name");
      }
      tx.exec("INSERT INTO nodes (name, tier, category, department, owner_id, hardware, state, "
              "created_at, claim_hash) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
              {node["name"].get<std::string>(), node["tier"].get<std::string>(),
               node["category"].get<std::string>(), node["department"].get<std::string>(),
               actor.id, node["hardware"].dump(), now,
               claim_hash.empty() ? Value(nullptr) : Value(claim_hash)});
      node_id = scalar(tx, "SELECT id FROM nodes WHERE name = $1 AND state = 'pending'",
                       {node["name"].get<std::string>()});
    } else {
      auto row = find_one(tx, node_select("id = $1"), {*node_id});
      if (!row) throw not_found("node");
      if (actor.role == Role::kOperator && row->integer("owner_id") != actor.id &&
          row->text("department") != actor.department) {
        throw ApiError(403, "forbidden", "the node is neither yours nor your department's",
                       "node_id");
      }
      if (!kind_allowed_in(kind, row->text("state"))) {
        throw conflict(str("cannot ", kind, " a node that is ", row->text("state")), "node_id");
      }
      if (scalar(tx, "SELECT COUNT(*) FROM requests WHERE node_id = $1 AND state = 'pending'",
                 {*node_id}) > 0) {
        throw conflict("the node already has a pending request", "node_id");
      }
    }
    tx.exec("INSERT INTO requests (kind, node_id, filer_id, state, payload, created_at) "
            "VALUES ($1, $2, $3, 'pending', $4, $5)",
            {kind, *node_id, actor.id, payload.dump(), now});
    created = request_json(*find_one(
        tx, request_select("node_id = $1 AND state = 'pending' ORDER BY id DESC LIMIT 1"),
        {*node_id}));
    record(tx, &actor, "request.filed", "request", created["id"], nullptr, created);
  });
  committed({cache_key::stats()});
  return created;
}

json Control::list_requests(const User& actor, const std::string& state, const std::string& kind,
                            int limit, int64_t before_id) {
  if (!state.empty() && !is_request_state(state)) {
    throw invalid("state", "must be pending, approved or rejected");
  }
  if (!kind.empty() && !is_request_kind(kind)) throw invalid("kind", "not a request kind");
  std::string sql = std::string("SELECT ") + kRequestColumns + " FROM requests WHERE 1 = 1";
  Binder b;
  // Operators see the requests they filed; leaders and admins see all.
  if (actor.role == Role::kOperator) sql += " AND filer_id = " + b.bind(actor.id);
  if (!state.empty()) sql += " AND state = " + b.bind(state);
  if (!kind.empty()) sql += " AND kind = " + b.bind(kind);
  if (before_id > 0) sql += " AND id < " + b.bind(before_id);
  int n = clamp_limit(limit);
  sql += " ORDER BY id DESC LIMIT " + b.bind(int64_t{n});
  json items = json::array();
  for (const Row& r : db_.query(sql, b.params)) items.push_back(request_json(r));
  json out = {{"items", items}};
  out["next_before"] = items.size() == static_cast<size_t>(n) ? items.back()["id"] : json(nullptr);
  return out;
}

json Control::approval_queue(const User&, int limit) {
  json items = json::array();
  std::string sql =
      "SELECT r.id AS id, r.kind AS kind, r.node_id AS node_id, r.filer_id AS filer_id, "
      "r.state AS state, r.payload AS payload, r.reason AS reason, r.decided_by AS decided_by, "
      "r.created_at AS created_at, r.decided_at AS decided_at, r.version AS version, "
      "n.name AS node_name, u.address AS filer_address FROM requests r "
      "JOIN nodes n ON n.id = r.node_id JOIN users u ON u.id = r.filer_id "
      "WHERE r.state = 'pending' ORDER BY r.created_at, r.id LIMIT $1";
  for (const Row& r : db_.query(sql, {int64_t{clamp_limit(limit)}})) {
    json j = request_json(r);
    j["node_name"] = r.text("node_name");
    j["filer_address"] = r.text("filer_address");
    items.push_back(std::move(j));
  }
  return {{"items", items}};
}

json Control::get_request(const User& actor, int64_t id) {
  Rows rows = db_.query(request_select("id = $1"), {id});
  // An operator asking for another's request learns nothing, not even that it exists.
  if (rows.empty() || (actor.role == Role::kOperator && rows[0].integer("filer_id") != actor.id)) {
    throw not_found("request");
  }
  return request_json(rows[0]);
}

json Control::decide(const User& actor, int64_t id, bool approve, const std::string& reason,
                     std::optional<int64_t> expected_version) {
  if (!approve && reason.empty()) throw invalid("reason", "a rejection needs a reason");
  if (reason.size() > 1000) throw invalid("reason", "longer than 1000 bytes");
  json after;
  int64_t node_id = 0;
  db_.transact([&](Tx& tx) {
    auto row = find_one(tx, request_select("id = $1"), {id});
    if (!row) throw not_found("request");
    json before = request_json(*row);
    if (row->text("state") != "pending") {
      throw conflict("the request was already decided (" + row->text("state") + ")");
    }
    if (expected_version && *expected_version != row->integer("version")) {
      throw conflict("the request changed since it was read", "version");
    }
    std::string kind = row->text("kind");
    node_id = row->integer("node_id");
    auto node = find_one(tx, node_select("id = $1"), {node_id});
    DEC_ASSERT(node, "request ", id, " names a missing node ", node_id);
    if (approve && !kind_allowed_in(kind, node->text("state"))) {
      throw conflict(str("the node is now ", node->text("state"), "; cannot ", kind, " it"));
    }
    int64_t now = clock_.now_ms();
    // The state condition makes the decision once-only even between instances
    // over one PostgreSQL: the second UPDATE finds no pending row.
    int64_t changed = tx.exec(
        "UPDATE requests SET state = $2, reason = $3, decided_by = $4, decided_at = $5, "
        "version = version + 1 WHERE id = $1 AND state = 'pending' AND version = $6",
        {id, std::string(approve ? "approved" : "rejected"), reason, actor.id, now,
         row->integer("version")});
    if (changed != 1) throw conflict("the request was decided concurrently");
    json node_before = node_json(*node);
    std::string node_state = approve ? state_after_approval(kind)
                                     : (kind == "enrol" ? "rejected" : node->text("state"));
    std::string project = node->text("project");
    if (approve && kind == "assign") project = before["payload"].value("project", "");
    if (approve && kind == "return") project = "";
    tx.exec("UPDATE nodes SET state = $2, project = $3 WHERE id = $1", {node_id, node_state, project});
    if (node_state == "decommissioned") {
      // The node's agent is refused from its next call.
      tx.exec("UPDATE nodes SET credential_hash = NULL, claim_hash = NULL, online = 0 WHERE id = $1",
              {node_id});
    }
    after = request_json(*find_one(tx, request_select("id = $1"), {id}));
    record(tx, &actor, approve ? "request.approved" : "request.rejected", "request", id, before,
           after);
    if (node_state != node->text("state") || project != node->text("project")) {
      record(tx, &actor, "node.changed", "node", node_id, node_before,
             node_json(*find_one(tx, node_select("id = $1"), {node_id})));
    }
  });
  committed({cache_key::stats(), cache_key::node(node_id)});
  return after;
}

}  // namespace dec::control
