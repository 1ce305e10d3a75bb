#include "dec/control/node.h"

namespace dec::control {

namespace {

nlohmann::json parse_or_null(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

nlohmann::json nullable_integer(const Row& row, const char* column) {
  return row.is_null(column) ? nlohmann::json(nullptr) : nlohmann::json(row.integer(column));
}

}  // namespace

nlohmann::json node_json(const Row& r) {
  return {{"id", r.integer("id")},
          {"name", r.text("name")},
          {"tier", r.text("tier")},
          {"category", r.text("category")},
          {"department", r.text("department")},
          {"owner_id", nullable_integer(r, "owner_id")},
          {"project", r.text("project")},
          {"hardware", parse_or_null(r.text("hardware"))},
          {"state", r.text("state")},
          {"created_at", r.integer("created_at")},
          {"heartbeat_at", nullable_integer(r, "heartbeat_at")},
          {"online", r.integer("online") != 0},
          {"measured", parse_or_null(r.text("measured"))}};
}

nlohmann::json request_json(const Row& r) {
  return {{"id", r.integer("id")},
          {"kind", r.text("kind")},
          {"node_id", r.integer("node_id")},
          {"filer_id", r.integer("filer_id")},
          {"state", r.text("state")},
          {"payload", parse_or_null(r.text("payload"))},
          {"reason", r.text("reason")},
          {"decided_by", nullable_integer(r, "decided_by")},
          {"created_at", r.integer("created_at")},
          {"decided_at", nullable_integer(r, "decided_at")},
          {"version", r.integer("version")}};
}

bool is_tier(const std::string& s) { return s == "device" || s == "edge" || s == "cloud"; }

bool is_node_state(const std::string& s) {
  return s == "pending" || s == "available" || s == "assigned" || s == "faulty" ||
         s == "decommissioned" || s == "rejected";
}

bool is_request_kind(const std::string& s) {
  return s == "enrol" || s == "assign" || s == "return" || s == "fault" || s == "decommission";
}

bool is_request_state(const std::string& s) {
  return s == "pending" || s == "approved" || s == "rejected";
}

bool kind_allowed_in(const std::string& kind, const std::string& state) {
  if (kind == "enrol") return state == "pending";
  if (kind == "assign") return state == "available";
  if (kind == "return") return state == "assigned";
  if (kind == "fault") return state == "available" || state == "assigned";
  if (kind == "decommission") return state == "available" || state == "faulty";
  return false;
}

std::string state_after_approval(const std::string& kind) {
  if (kind == "enrol" || kind == "return") return "available";
  if (kind == "assign") return "assigned";
  if (kind == "fault") return "faulty";
  return "decommissioned";
}

}  // namespace dec::control
