// Where login codes wait for their check: one live code per address, kept only
// hashed, with an expiry and a number of attempts. The database holds them
// embedded (DbCodeStore, table login_codes); with Redis, RedisCodeStore
// (redis_stores.h) does, so that every instance sees the same code and the
// same attempts left.
//
// Contract: put() replaces the address's code; check() is atomic (two checks of
// one code at once cost two attempts, and a right code opens one session): a
// right code is removed (used once), a wrong one costs an attempt and the last
// attempt removes it, an expired one (expires_at <= now) is removed and
// reported as none. Failures: DbError, or ApiError 503 when Redis is down.
// Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "dec/control/db.h"

namespace dec::control {

struct CodeCheck {
  enum class Result { kOk, kNone, kWrong };
  Result result = Result::kNone;
  int attempts_left = 0;  // after a wrong code; 0 = the code is void now
};

class CodeStore {
 public:
  virtual ~CodeStore() = default;
  virtual void put(const std::string& address, const std::string& code_hash, int64_t expires_at,
                   int attempts, int64_t now) = 0;
  virtual void erase(const std::string& address) = 0;
  virtual CodeCheck check(const std::string& address, const std::string& code_hash, int64_t now) = 0;
};

class DbCodeStore : public CodeStore {
 public:
  explicit DbCodeStore(Db& db) : db_(db) {}
  void put(const std::string& address, const std::string& code_hash, int64_t expires_at, int attempts,
           int64_t now) override;
  void erase(const std::string& address) override;
  CodeCheck check(const std::string& address, const std::string& code_hash, int64_t now) override;

 private:
  Db& db_;
};

}  // namespace dec::control
