#include "dec/control/user.h"

#include <algorithm>
#include <cctype>

namespace dec::control {

const char* role_name(Role role) {
  switch (role) {
    case Role::kOperator: return "operator";
    case Role::kLeader: return "leader";
    case Role::kAdmin: return "admin";
  }
  return "operator";
}

std::optional<Role> parse_role(const std::string& name) {
  if (name == "operator") return Role::kOperator;
  if (name == "leader") return Role::kLeader;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

User user_from_row(const Row& row) {
  User u;
  u.id = row.integer("id");
  u.address = row.text("address");
  u.name = row.text("name");
  u.role = parse_role(row.text("role")).value_or(Role::kOperator);
  u.department = row.text("department");
  u.disabled = row.integer("disabled") != 0;
  u.created_at = row.integer("created_at");
  return u;
}

nlohmann::json to_json(const User& u) {
  return {{"id", u.id},           {"address", u.address},       {"name", u.name},
          {"role", role_name(u.role)}, {"department", u.department}, {"disabled", u.disabled},
          {"created_at", u.created_at}};
}

std::optional<std::string> normalise_address(const std::string& address) {
  if (address.empty() || address.size() > 254) return std::nullopt;
  auto at = address.find('@');
  if (at != std::string::npos) {
    if (at == 0 || at + 1 >= address.size() || address.find('@', at + 1) != std::string::npos) {
      return std::nullopt;
    }
    if (address.find('.', at) == std::string::npos) return std::nullopt;
    std::string out;
    for (unsigned char c : address) {
      if (c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == ',') return std::nullopt;
      out.push_back(static_cast<char>(std::tolower(c)));
    }
    return out;
  }
  std::string digits;
  for (size_t i = 0; i < address.size(); ++i) {
    char c = address[i];
    if (c == '+' && i == 0) continue;
    if (c == ' ' || c == '-') continue;
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    digits.push_back(c);
  }
  if (address[0] != '+' || digits.size() < 7 || digits.size() > 15) return std::nullopt;
  return "+" + digits;
}

}  // namespace dec::control
