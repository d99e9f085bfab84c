// Sign-in: password hashes, login failures and lockout, sessions and API tokens (store.h,
// docs/access.md). Secrets never reach this file: the caller hashes passwords (Argon2id) and
// tokens (SHA-256). Password changes, sign-ins, failures, lockouts, sign-outs and new tokens
// are audit events; the events carry no hash.
#include <nlohmann/json.hpp>

#include "store/store.h"
#include "store/store_internal.h"

namespace trial::store {

namespace {

using detail::Canonical;
using nlohmann::json;

// Usernames and labels come from login forms: bounded, printable.
Result<void> RequireName(const std::string& value, const char* what) {
  if (value.empty() || value.size() > 200) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " must have 1 to 200 characters");
  }
  for (unsigned char c : value) {
    if (c < 0x20) {
      return Fail(ErrorCode::kInvalidArgument, std::string(what) + " contains a control character");
    }
  }
  return {};
}

// The hash of a token as the audit trail names it: its first 12 hex digits, enough to tell
// sessions apart, useless to replay one.
std::string TokenRef(const std::string& token_hash) { return token_hash.substr(0, 12); }

}  // namespace

Result<void> TrialStore::SetPasswordHash(const std::string& actor, const std::string& username,
                                         const std::string& hash) {
  if (hash.rfind("$argon2id$", 0) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "the password hash is not an Argon2id hash");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto& tx = *write->tx;
  if (write->actor.username != username) {
    if (auto r = detail::RequireAdministrator(write->actor); !r) return std::unexpected(r.error());
  }
  auto target = Actor(tx, username);
  if (!target) return std::unexpected(target.error());
  std::string at = clock_();
  auto e = Append(tx, write->actor.username, write->actor.role,
                  Pending{"user.password", "credential", username, "", "",
                          Canonical(json{{"username", username}, {"set_at", at}}), ""});
  if (!e) return std::unexpected(e.error());
  auto del = tx.Query("DELETE FROM credentials WHERE username = $1", {username});
  if (!del) return std::unexpected(del.error());
  auto ins = tx.Query(
      "INSERT INTO credentials (username, hash, set_at, failures, locked_until, audit_seq) "
      "VALUES ($1, $2, $3, 0, 0, $4)",
      {username, hash, at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  return tx.Commit();
}

Result<std::optional<Credential>> TrialStore::FindCredential(const std::string& username) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT username, hash, failures, locked_until FROM credentials WHERE username = $1",
      {username});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Credential>();
  const Row& r = (*rows)[0];
  return std::optional<Credential>(
      Credential{r.Text(0), r.Text(1), static_cast<int>(r.Int(2)), r.Int(3)});
}

Result<bool> TrialStore::RecordLoginFailure(const std::string& username, int64_t now,
                                            int max_failures, int64_t lock_seconds) {
  if (auto r = RequireName(username, "the username"); !r) return std::unexpected(r.error());
  auto write = BeginWrite(username);
  if (!write) return std::unexpected(write.error());
  auto& tx = *write->tx;
  auto rows = tx.Query("SELECT failures FROM credentials WHERE username = $1", {username});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kNotFound, "user '" + username + "' has no password");
  int failures = static_cast<int>((*rows)[0].Int(0)) + 1;
  bool locked = failures >= max_failures;
  auto e = Append(tx, username, write->actor.role,
                  Pending{"auth.login_failed", "session", username, "", "",
                          Canonical(json{{"failures", failures}}), ""});
  if (!e) return std::unexpected(e.error());
  if (locked) {
    auto l = Append(tx, username, write->actor.role,
                    Pending{"auth.locked", "session", username, "", "",
                            Canonical(json{{"failures", failures}, {"until", now + lock_seconds}}),
                            std::to_string(max_failures) + " wrong passwords in a row"});
    if (!l) return std::unexpected(l.error());
  }
  auto up = tx.Query("UPDATE credentials SET failures = $1, locked_until = $2 WHERE username = $3",
                     {static_cast<int64_t>(locked ? 0 : failures),
                      static_cast<int64_t>(locked ? now + lock_seconds : 0), username});
  if (!up) return std::unexpected(up.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return locked;
}

Result<void> TrialStore::StartSession(const Session& s) {
  auto write = BeginWrite(s.username);
  if (!write) return std::unexpected(write.error());
  auto& tx = *write->tx;
  auto e = Append(tx, s.username, write->actor.role,
                  Pending{"auth.login", "session", TokenRef(s.token_hash), "", "",
                          Canonical(json{{"username", s.username}, {"expires", s.expires}}), ""});
  if (!e) return std::unexpected(e.error());
  auto up = tx.Query("UPDATE credentials SET failures = 0, locked_until = 0 WHERE username = $1",
                     {s.username});
  if (!up) return std::unexpected(up.error());
  auto ins = tx.Query(
      "INSERT INTO sessions (token_hash, username, csrf, created, expires, last_seen, ended) "
      "VALUES ($1, $2, $3, $4, $5, $6, 0)",
      {s.token_hash, s.username, s.csrf, s.created, s.expires, s.last_seen});
  if (!ins) return std::unexpected(ins.error());
  return tx.Commit();
}

Result<std::optional<Session>> TrialStore::FindSession(const std::string& token_hash) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT token_hash, username, csrf, created, expires, last_seen, ended FROM sessions "
      "WHERE token_hash = $1",
      {token_hash});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Session>();
  const Row& r = (*rows)[0];
  return std::optional<Session>(
      Session{r.Text(0), r.Text(1), r.Text(2), r.Int(3), r.Int(4), r.Int(5), r.Int(6) != 0});
}

Result<void> TrialStore::TouchSession(const std::string& token_hash, int64_t now) {
  auto tx = connection_->Begin(true);
  if (!tx) return std::unexpected(tx.error());
  auto up =
      (*tx)->Query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2", {now, token_hash});
  if (!up) return std::unexpected(up.error());
  return (*tx)->Commit();
}

Result<void> TrialStore::EndSession(const std::string& token_hash, const std::string& why) {
  auto session = FindSession(token_hash);
  if (!session) return std::unexpected(session.error());
  if (!*session || (*session)->ended) return {};
  auto write = BeginWrite((*session)->username);
  if (!write) return std::unexpected(write.error());
  auto& tx = *write->tx;
  auto e = Append(tx, write->actor.username, write->actor.role,
                  Pending{"auth.logout", "session", TokenRef(token_hash), "", "", "{}", why});
  if (!e) return std::unexpected(e.error());
  auto up = tx.Query("UPDATE sessions SET ended = 1 WHERE token_hash = $1", {token_hash});
  if (!up) return std::unexpected(up.error());
  return tx.Commit();
}

Result<void> TrialStore::AddApiToken(const std::string& actor, const ApiToken& token) {
  if (auto r = RequireName(token.label, "the token label"); !r) return std::unexpected(r.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto& tx = *write->tx;
  if (write->actor.username != token.username) {
    if (auto r = detail::RequireAdministrator(write->actor); !r) return std::unexpected(r.error());
  }
  auto owner = Actor(tx, token.username);
  if (!owner) return std::unexpected(owner.error());
  std::string at = clock_();
  auto e =
      Append(tx, write->actor.username, write->actor.role,
             Pending{"auth.token", "api_token", TokenRef(token.token_hash), "", "",
                     Canonical(json{{"username", token.username}, {"label", token.label}}), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = tx.Query(
      "INSERT INTO api_tokens (token_hash, username, label, created_at, revoked, audit_seq) "
      "VALUES ($1, $2, $3, $4, 0, $5)",
      {token.token_hash, token.username, token.label, at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  return tx.Commit();
}

Result<std::optional<ApiToken>> TrialStore::FindApiToken(const std::string& token_hash) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT token_hash, username, label, created_at, revoked FROM api_tokens WHERE token_hash "
      "= $1",
      {token_hash});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<ApiToken>();
  const Row& r = (*rows)[0];
  return std::optional<ApiToken>(
      ApiToken{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4) != 0});
}

}  // namespace trial::store
