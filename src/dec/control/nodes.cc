// The equipment list (page numbers, then the cursor), statistics and the audit log.
#include <cstdlib>

#include "dec/control/api_error.h"
#include "dec/control/control.h"
#include "dec/control/json_fields.h"
#include "dec/control/node.h"

namespace dec::control {

namespace {

// LIKE with the user's text taken literally.
std::string like_pattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out + "%";
}

json counts(Db& db, const std::string& column) {
  json out = json::object();
  for (const Row& r :
       db.query("SELECT " + column + " AS k, COUNT(*) AS n FROM nodes GROUP BY " + column)) {
    out[r.text("k")] = r.integer("n");
  }
  return out;
}

}  // namespace

std::string encode_cursor(const Cursor& c) { return str(c.created_at, ".", c.id); }

std::optional<Cursor> decode_cursor(const std::string& s) {
  auto dot = s.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 >= s.size() || s.size() > 40) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != dot && (s[i] < '0' || s[i] > '9')) return std::nullopt;
  }
  Cursor c;
  c.created_at = std::strtoll(s.substr(0, dot).c_str(), nullptr, 10);
  c.id = std::strtoll(s.substr(dot + 1).c_str(), nullptr, 10);
  return c;
}

std::pair<std::string, Params> Control::node_list_sql(const NodeQuery& q) const {
  // The keys come from the index alone (nodes_list when the state is given,
  // nodes_recent otherwise); only the page's rows are then read. The cursor is
  // a range in the index: created_at <= c bounds the scan, the second condition
  // skips the rows of that instant already seen (ties in created_at go by id).
  std::string keys = "SELECT id, created_at FROM nodes WHERE ";
  Binder b;
  std::vector<std::string> conditions;
  if (!q.state.empty()) conditions.push_back("state = " + b.bind(q.state));
  if (!q.tier.empty()) conditions.push_back("tier = " + b.bind(q.tier));
  if (!q.category.empty()) conditions.push_back("category = " + b.bind(q.category));
  if (!q.department.empty()) conditions.push_back("department = " + b.bind(q.department));
  if (q.owner_id > 0) conditions.push_back("owner_id = " + b.bind(q.owner_id));
  if (!q.text.empty()) {
    conditions.push_back("lower(name) LIKE " + b.bind(like_pattern(q.text)) + " ESCAPE '\\'");
  }
  if (q.after) {
    const std::string at = b.bind(q.after->created_at);
    const std::string id = b.bind(q.after->id);
    conditions.push_back("created_at <= " + at + " AND (created_at < " + at + " OR id > " + id + ")");
  }
  if (conditions.empty()) conditions.push_back("1 = 1");
  for (size_t i = 0; i < conditions.size(); ++i) keys += (i ? " AND " : "") + conditions[i];
  keys += " ORDER BY created_at DESC, id LIMIT " + b.bind(int64_t{q.per_page});
  if (!q.after && q.page > 1) {
    keys += " OFFSET " + b.bind(int64_t{(q.page - 1) * static_cast<int64_t>(q.per_page)});
  }
  std::string sql = "SELECT n.id AS id, n.name AS name, n.tier AS tier, n.category AS category, "
                    "n.department AS department, n.owner_id AS owner_id, n.project AS project, "
                    "n.hardware AS hardware, n.state AS state, n.created_at AS created_at, "
                    "n.heartbeat_at AS heartbeat_at, n.online AS online, n.measured AS measured FROM (" +
                    keys + ") k JOIN nodes n ON n.id = k.id ORDER BY n.created_at DESC, n.id";
  return {sql, b.params};
}

json Control::list_nodes(const NodeQuery& query) {
  NodeQuery q = query;
  require_utf8("category", q.category);
  require_utf8("department", q.department);
  require_utf8("q", q.text);
  if (!q.state.empty() && !is_node_state(q.state)) throw invalid("state", "not a node state");
  if (!q.tier.empty() && !is_tier(q.tier)) throw invalid("tier", "must be device, edge or cloud");
  if (q.per_page < 1 || q.per_page > options_.max_per_page) {
    throw invalid("per_page", str("must be 1..", options_.max_per_page));
  }
  if (!q.after && (q.page < 1 || q.page > options_.max_page_number)) {
    throw invalid("page", str("must be 1..", options_.max_page_number,
                              "; deeper pages are read with the cursor"));
  }
  auto [sql, params] = node_list_sql(q);
  json items = json::array();
  for (const Row& r : db_.query(sql, params)) items.push_back(node_json(r));
  json out = {{"items", items}, {"per_page", q.per_page}};
  out["page"] = q.after ? json(nullptr) : json(q.page);
  out["next_cursor"] = json(nullptr);
  if (items.size() == static_cast<size_t>(q.per_page)) {
    const json& last = items.back();
    out["next_cursor"] = encode_cursor({last["created_at"].get<int64_t>(), last["id"].get<int64_t>()});
  }
  return out;
}

json Control::get_node(int64_t id) {
  return cached(cache_key::node(id), [&] {
    Rows rows = db_.query(std::string("SELECT ") + kNodeColumns + " FROM nodes WHERE id = $1", {id});
    if (rows.empty()) throw not_found("node");  // never cached: a loader's exception is not
    return node_json(rows[0]);
  });
}

json Control::my_nodes(const User& actor) {
  json items = json::array();
  for (const Row& r : db_.query(std::string("SELECT ") + kNodeColumns +
                                    " FROM nodes WHERE (owner_id = $1 OR department = $2) AND "
                                    "state <> 'rejected' ORDER BY created_at DESC, id LIMIT $3",
                                {actor.id, actor.department, int64_t{options_.max_per_page}})) {
    items.push_back(node_json(r));
  }
  return {{"items", items}};
}

json Control::statistics() {
  return cached(cache_key::stats(), [this] { return load_statistics(); });
}

json Control::load_statistics() {
  json out = {{"nodes_by_state", counts(db_, "state")},
              {"nodes_by_tier", counts(db_, "tier")},
              {"nodes_by_category", counts(db_, "category")},
              {"nodes_by_department", counts(db_, "department")}};
  json per_day = json::array();
  for (const Row& r : db_.query(
           "SELECT created_at / 86400000 AS day, COUNT(*) AS n FROM requests "
           "GROUP BY created_at / 86400000 ORDER BY day DESC LIMIT 30")) {
    per_day.push_back({{"day_start", r.integer("day") * 86400000}, {"requests", r.integer("n")}});
  }
  out["requests_per_day"] = per_day;
  Rows mean = db_.query(
      "SELECT COUNT(*) AS n, AVG(decided_at - created_at) AS ms FROM requests "
      "WHERE state = 'approved'");
  out["approvals"] = mean[0].integer("n");
  out["mean_time_to_approval_ms"] =
      mean[0].integer("n") > 0 ? json(mean[0].real("ms")) : json(nullptr);
  out["pending_requests"] = scalar(db_, "SELECT COUNT(*) FROM requests WHERE state = 'pending'");
  // The flag follows heartbeats and the offline sweep (agents.cc), each of
  // which drops this answer from the cache when it flips a node.
  out["nodes_online"] = scalar(db_, "SELECT COUNT(*) FROM nodes WHERE online = 1");
  return out;
}

json Control::audit(int limit, int64_t before_id, const std::string& entity, int64_t entity_id) {
  require_utf8("entity", entity);
  std::string sql =
      "SELECT id, at, actor_id, action, entity, entity_id, before_json, after_json "
      "FROM audit_events WHERE 1 = 1";
  Binder b;
  if (before_id > 0) sql += " AND id < " + b.bind(before_id);
  if (!entity.empty()) sql += " AND entity = " + b.bind(entity);
  if (entity_id > 0) sql += " AND entity_id = " + b.bind(entity_id);
  int n = clamp_limit(limit);
  sql += " ORDER BY id DESC LIMIT " + b.bind(int64_t{n});
  json items = json::array();
  auto doc = [](const Row& r, const char* column) {
    return r.is_null(column) ? json(nullptr)
                             : json::parse(r.text(column), nullptr, /*allow_exceptions=*/false);
  };
  for (const Row& r : db_.query(sql, b.params)) {
    items.push_back({{"id", r.integer("id")},
                     {"at", r.integer("at")},
                     {"actor_id", r.is_null("actor_id") ? json(nullptr) : json(r.integer("actor_id"))},
                     {"action", r.text("action")},
                     {"entity", r.text("entity")},
                     {"entity_id", r.integer("entity_id")},
                     {"before", doc(r, "before_json")},
                     {"after", doc(r, "after_json")}});
  }
  json out = {{"items", items}};
  out["next_before"] = items.size() == static_cast<size_t>(n) ? items.back()["id"] : json(nullptr);
  return out;
}

}  // namespace dec::control
