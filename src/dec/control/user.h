// Users of the control plane and their roles. Roles are ordered: an admin may do
// what a leader may, a leader what an operator may.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "dec/control/db.h"

namespace dec::control {

enum class Role { kOperator = 0, kLeader = 1, kAdmin = 2 };

const char* role_name(Role role);
std::optional<Role> parse_role(const std::string& name);

struct User {
  int64_t id = 0;
  std::string address;  // mail address or phone number (E.164), the login
  std::string name;
  Role role = Role::kOperator;
  std::string department;
  bool disabled = false;
  int64_t created_at = 0;
};

User user_from_row(const Row& row);
nlohmann::json to_json(const User& user);

// The columns user_from_row reads.
constexpr const char* kUserColumns = "id, address, name, role, department, disabled, created_at";

// A login address normalised (a mail address lower-cased, a phone number without
// spaces or dashes), or nullopt when it is neither a plausible mail address nor
// a phone number (+ and 7-15 digits).
std::optional<std::string> normalise_address(const std::string& address);

}  // namespace dec::control
