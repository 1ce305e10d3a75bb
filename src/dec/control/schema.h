// The control plane's schema, as numbered migrations applied in order. The
// version reached is kept in schema_version; a database newer than this build is
// refused rather than guessed at.
#pragma once

#include <string>
#include <vector>

#include "dec/control/db.h"

namespace dec::control {

struct Migration {
  int version;
  std::vector<std::string> statements;  // in the dialect-neutral form, see dialect_sql
};

// Every migration, oldest first.
const std::vector<Migration>& migrations();

// Rewrites the few dialect-specific tokens of the schema: {id} is an
// auto-numbered primary key.
std::string dialect_sql(const std::string& sql, Dialect dialect);

// Applies the migrations not yet applied, each in its own transaction, and
// returns the version reached. Throws DbError when the database is newer than
// this build.
int migrate(Db& db);

constexpr int kSchemaVersion = 3;

}  // namespace dec::control
