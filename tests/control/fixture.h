// Shared pieces of the control-plane tests: the backend a test binary runs the
// suite against, a seeded organisation.
//
// The same test sources build twice: control_test, control_api_test, ... run
// against SQLite with the in-process cache; control_services_test (built with
// DEC_CONTROL_SERVICES) runs them against PostgreSQL (a fresh database per
// test), Redis (a key prefix of its own per test) and RabbitMQ, each server
// started once for the binary (support/services.h).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <unistd.h>

#include "dec/control/cache.h"
#include "dec/control/clock.h"
#include "dec/control/control.h"
#include "dec/control/db.h"

#ifdef DEC_CONTROL_SERVICES
#include <pqxx/pqxx>

#include "support/services.h"
#endif

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

#ifdef DEC_CONTROL_SERVICES
constexpr bool kWithServices = true;

// A new, empty database on the binary's PostgreSQL server; its URL.
inline std::string fresh_postgres_database() {
  static int n = 0;
  std::string base = dec::test::PostgresServer::shared().url();
  std::string name = "t" + std::to_string(++n);
  pqxx::connection admin(base);
  pqxx::nontransaction w(admin);
  w.exec("DROP DATABASE IF EXISTS " + name);
  w.exec("CREATE DATABASE " + name);
  return base.substr(0, base.rfind('/') + 1) + name;
}
inline std::string test_redis_url() { return dec::test::RedisServer::shared().url(); }
inline std::string test_amqp_url() { return dec::test::RabbitMqServer::shared().url(); }
#else
constexpr bool kWithServices = false;
inline std::string fresh_postgres_database() { return ""; }
inline std::string test_redis_url() { return ""; }
inline std::string test_amqp_url() { return ""; }
#endif

// A Redis key prefix no other test of the binary uses.
inline std::string unique_prefix() {
  static int n = 0;
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ":";
}

// The suite's database: SQLite in dir, or a fresh PostgreSQL database.
inline std::unique_ptr<Db> open_test_db(const TempDir& dir) {
  return kWithServices ? open_postgres(fresh_postgres_database(), 4) : open_test_sqlite(dir);
}

// The suite's cache: in-process, or over the binary's Redis.
inline CacheOptions test_cache_options() {
  CacheOptions o;
  o.redis_url = test_redis_url();
  o.prefix = unique_prefix() + "cache:";
  return o;
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
