// Login by one-time code, and sessions.
//
// 1. request_code(address): if address belongs to an enabled user, a 6-digit
//    code goes out through the CodeSender and its hash is kept with a TTL and an
//    attempt limit (one live code per address; a new request replaces it). The
//    answer is the same whether or not the address is known.
// 2. open_session(address, code): a right code opens a session; its token (32
//    random bytes, base64url) is returned once and only its hash is stored.
//    A wrong code costs one attempt; the last attempt removes the code.
// 3. authenticate(token) on every API call; close_session(token) at logout.
//    Disabling a user deletes their sessions (Control::update_user).
// Both steps are rate-limited per address and per client address (429).
// Codes live in a CodeStore (the database, or Redis shared by every instance).
// With a cache, authenticate() is served from it (token hash -> user and
// expiry; an unknown token is never cached): a cached check reads no database.
// close_session() and every change of a user (Control) invalidate the cached
// sessions on every instance before they return, so a revoked session is
// refused at once everywhere.
// Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dec/control/cache.h"
#include "dec/control/clock.h"
#include "dec/control/code_store.h"
#include "dec/control/db.h"
#include "dec/control/rate_limiter.h"
#include "dec/control/sender.h"
#include "dec/control/user.h"

namespace dec::control {

struct AuthOptions {
  int64_t code_ttl_ms = 5 * 60 * 1000;          // a code is valid for 5 minutes
  int code_attempts = 5;                         // wrong codes before it is void
  int64_t session_ttl_ms = 12 * 3600 * 1000LL;  // a session lasts 12 hours
  int64_t rate_window_ms = 15 * 60 * 1000;      // the window of the limits below
  int codes_per_address = 5;                     // code requests per address per window
  int codes_per_client = 20;                     // code requests per client address per window
  int logins_per_client = 30;                    // code checks per client address per window
};

struct Session {
  std::string token;
  int64_t expires_at = 0;
  User user;
};

class Auth {
 public:
  // cache may be nullptr (every check reads the database).
  Auth(Db& db, Clock& clock, CodeSender& sender, RateLimiter& limiter, CodeStore& codes,
       AuthOptions options = {}, ControlCache* cache = nullptr);

  // Throws ApiError: 422 (not an address), 429 (rate limit).
  void request_code(const std::string& address, const std::string& client);
  // Throws ApiError: 401 (no live code, wrong code), 422, 429.
  Session open_session(const std::string& address, const std::string& code,
                       const std::string& client);
  // The session's user, or nullopt when the token is unknown, expired or its user
  // is disabled.
  std::optional<User> authenticate(const std::string& token);
  void close_session(const std::string& token);

  const AuthOptions& options() const { return options_; }

 private:
  std::optional<Session> create_session(const std::string& address, int64_t now);

  Db& db_;
  Clock& clock_;
  CodeSender& sender_;
  RateLimiter& limiter_;
  CodeStore& codes_;
  AuthOptions options_;
  ControlCache* cache_;
};

// Hex of the BLAKE2b-256 hash of s (tokens and codes are stored only hashed).
std::string hash_hex(const std::string& s);
// n random bytes as unpadded base64url.
std::string random_token(size_t n = 32);

}  // namespace dec::control
