// Shared pieces of the control-plane tests: a database in a temporary directory
// (SQLite; PostgreSQL when a test binary starts one), a seeded organisation.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "dec/control/clock.h"
#include "dec/control/control.h"
#include "dec/control/db.h"

namespace dec::control::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dec-control-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;  // a leftover temporary directory is harmless
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A SQLite database in dir.
inline std::unique_ptr<Db> open_test_sqlite(const TempDir& dir) {
  return open_sqlite(dir.file("control.db"));
}

// An admin, a leader and an operator in department "lab" (and a department "ops").
struct Org {
  User admin, leader, op, op2;
};

inline Org seed_org(Control& control) {
  Org org;
  org.admin = control.bootstrap_admin("admin@example.org");
  control.create_department(org.admin, {{"name", "lab"}});
  control.create_department(org.admin, {{"name", "ops"}});
  auto make = [&](const char* address, const char* role, const char* department) {
    nlohmann::json j =
        control.create_user(org.admin, {{"address", address}, {"role", role}, {"department", department}});
    User u;
    u.id = j["id"];
    u.address = j["address"];
    u.role = *parse_role(j["role"]);
    u.department = j["department"];
    return u;
  };
  org.leader = make("leader@example.org", "leader", "lab");
  org.op = make("op@example.org", "operator", "lab");
  org.op2 = make("op2@example.org", "operator", "ops");
  return org;
}

inline nlohmann::json enrol_body(const std::string& name, const std::string& tier = "edge",
                                 const std::string& department = "lab") {
  return {{"kind", "enrol"},
          {"node",
           {{"name", name},
            {"tier", tier},
            {"category", "gpu-server"},
            {"department", department},
            {"hardware", {{"cores", 8}, {"memory_gib", 32}}}}}};
}

}  // namespace dec::control::testing
