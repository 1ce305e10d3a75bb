// Equipment (nodes) and the requests filed on them: states, kinds and how an
// approved request moves its node.
//
//   node states: pending (enrolment filed) -> available <-> assigned,
//                available|assigned -> faulty, available|faulty -> decommissioned,
//                pending -> rejected (enrolment rejected; the name is free again)
//   A node enrolled by an agent holds a credential while it is available,
//   assigned or faulty; decommissioning revokes it and frees the name.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "dec/control/db.h"

namespace dec::control {

constexpr const char* kNodeColumns =
    "id, name, tier, category, department, owner_id, project, hardware, state, created_at, "
    "heartbeat_at, online, measured";
constexpr const char* kRequestColumns =
    "id, kind, node_id, filer_id, state, payload, reason, decided_by, created_at, decided_at, "
    "version";

nlohmann::json node_json(const Row& row);
nlohmann::json request_json(const Row& row);

bool is_tier(const std::string& s);
bool is_node_state(const std::string& s);
bool is_request_kind(const std::string& s);
bool is_request_state(const std::string& s);

// May a request of this kind be filed on, or approved for, a node in this
// state? (enrol is checked on the node it created: state pending.)
bool kind_allowed_in(const std::string& kind, const std::string& node_state);
// The node's state after a request of this kind is approved.
std::string state_after_approval(const std::string& kind);

}  // namespace dec::control
