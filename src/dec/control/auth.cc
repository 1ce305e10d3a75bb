#include "dec/control/auth.h"

#include <sodium.h>

#include "dec/control/api_error.h"

namespace dec::control {

namespace {

void init_sodium() {
  static const int ok = sodium_init();
  DEC_CHECK(ok >= 0, InternalError, "cannot initialise libsodium", "sodium_init", "returned ", ok);
}

std::string code_hash(const std::string& address, const std::string& code) {
  return hash_hex(address + "\n" + code);
}

ApiError too_many(const std::string& field) {
  return ApiError(429, "rate_limited", "too many attempts; try again later", field);
}

}  // namespace

std::string hash_hex(const std::string& s) {
  init_sodium();
  unsigned char out[crypto_generichash_BYTES];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(s.data()), s.size(),
                     nullptr, 0);
  char hex[sizeof out * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, out, sizeof out);
  return hex;
}

std::string random_token(size_t n) {
  init_sodium();
  std::string bytes(n, '\0');
  randombytes_buf(bytes.data(), n);
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), n,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

Auth::Auth(Db& db, Clock& clock, CodeSender& sender, RateLimiter& limiter, CodeStore& codes,
           AuthOptions options, ControlCache* cache)
    : db_(db),
      clock_(clock),
      sender_(sender),
      limiter_(limiter),
      codes_(codes),
      options_(options),
      cache_(cache) {
  init_sodium();
}

void Auth::request_code(const std::string& raw_address, const std::string& client) {
  auto address = normalise_address(raw_address);
  if (!address) throw invalid("address", "not a mail address or a phone number (+ and digits)");
  if (!limiter_.allow("code-client:" + client, options_.codes_per_client, options_.rate_window_ms)) {
    throw too_many("");
  }
  if (!limiter_.allow("code-address:" + *address, options_.codes_per_address,
                      options_.rate_window_ms)) {
    throw too_many("address");
  }
  Rows users = db_.query("SELECT id FROM users WHERE address = $1 AND disabled = 0", {*address});
  if (users.empty()) return;  // same answer as for a known address
  char digits[8];
  std::snprintf(digits, sizeof digits, "%06u", randombytes_uniform(1000000));
  std::string code = digits;
  int64_t now = clock_.now_ms();
  int64_t expires = now + options_.code_ttl_ms;
  codes_.put(*address, code_hash(*address, code), expires, options_.code_attempts, now);
  try {
    sender_.send(*address, code, expires);
  } catch (const Error& e) {
    codes_.erase(*address);
    throw ApiError(503, "unavailable", "cannot send the login code: " + e.why_part());
  }
}

Session Auth::open_session(const std::string& raw_address, const std::string& code,
                           const std::string& client) {
  auto address = normalise_address(raw_address);
  if (!address) throw invalid("address", "not a mail address or a phone number (+ and digits)");
  if (code.empty() || code.size() > 16) throw invalid("code", "a login code has 6 digits");
  if (!limiter_.allow("login-client:" + client, options_.logins_per_client,
                      options_.rate_window_ms)) {
    throw too_many("");
  }
  int64_t now = clock_.now_ms();
  CodeCheck checked = codes_.check(*address, code_hash(*address, code), now);
  std::optional<Session> session;
  if (checked.result == CodeCheck::Result::kOk) session = create_session(*address, now);
  if (!session) {
    throw ApiError(401, "code_invalid",
                   checked.attempts_left > 0
                       ? str("wrong code; ", checked.attempts_left, " attempts left")
                       : std::string("no valid code for this address; request a new one"),
                   "code");
  }
  return *session;
}

// The session of an enabled user (nullopt if the user was disabled meanwhile).
std::optional<Session> Auth::create_session(const std::string& address, int64_t now) {
  std::optional<Session> session;
  db_.transact([&](Tx& tx) {
    Rows users = tx.query(std::string("SELECT ") + kUserColumns +
                              " FROM users WHERE address = $1 AND disabled = 0",
                          {address});
    if (users.empty()) return;
    Session s;
    s.user = user_from_row(users[0]);
    s.token = random_token();
    s.expires_at = now + options_.session_ttl_ms;
    tx.exec("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) "
            "VALUES ($1, $2, $3, $4)",
            {hash_hex(s.token), s.user.id, now, s.expires_at});
    session = std::move(s);
  });
  return session;
}

namespace {

// Thrown by the session loader for an unknown token, so that the cache keeps
// nothing for it (a flood of made-up tokens cannot evict the live ones).
struct NoSession {};

User user_from_json(const nlohmann::json& j) {
  User u;
  u.id = j.at("id").get<int64_t>();
  u.address = j.at("address").get<std::string>();
  u.name = j.at("name").get<std::string>();
  u.role = parse_role(j.at("role").get<std::string>()).value_or(Role::kOperator);
  u.department = j.at("department").get<std::string>();
  u.disabled = j.at("disabled").get<bool>();
  u.created_at = j.at("created_at").get<int64_t>();
  return u;
}

}  // namespace

std::optional<User> Auth::authenticate(const std::string& token) {
  if (token.empty() || token.size() > 128) return std::nullopt;
  std::string hash = hash_hex(token);
  // The session row and its user as of the load; expiry is checked on every
  // call against the clock, so a cached session still ends on time.
  auto load = [&]() -> nlohmann::json {
    Rows rows = db_.query(
        "SELECT u.id AS id, u.address AS address, u.name AS name, u.role AS role, "
        "u.department AS department, u.disabled AS disabled, u.created_at AS created_at, "
        "s.expires_at AS expires_at "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        {hash, clock_.now_ms()});
    if (rows.empty()) throw NoSession{};
    return {{"user", to_json(user_from_row(rows[0]))}, {"expires_at", rows[0].integer("expires_at")}};
  };
  nlohmann::json session;
  try {
    session = cache_ ? cache_->get(cache_key::session(hash), load) : load();
  } catch (const NoSession&) {
    return std::nullopt;
  }
  if (session.at("expires_at").get<int64_t>() <= clock_.now_ms()) return std::nullopt;
  return user_from_json(session.at("user"));
}

void Auth::close_session(const std::string& token) {
  std::string hash = hash_hex(token);
  db_.transact([&](Tx& tx) { tx.exec("DELETE FROM sessions WHERE token_hash = $1", {hash}); });
  if (cache_) cache_->invalidate({cache_key::session(hash)});
}

}  // namespace dec::control
