#include "store/store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store_internal.h"

namespace trial::store {

namespace {

using nlohmann::json;

constexpr std::array<std::pair<Role, const char*>, 11> kRoles = {{
    {Role::kAdministrator, "administrator"},
    {Role::kInvestigator, "investigator"},
    {Role::kCoordinator, "coordinator"},
    {Role::kUnblindedPharmacist, "unblinded_pharmacist"},
    {Role::kMonitor, "monitor"},
    {Role::kDataManager, "data_manager"},
    {Role::kBlindedStatistician, "blinded_statistician"},
    {Role::kUnblindedStatistician, "unblinded_statistician"},
    {Role::kDsmbMember, "dsmb_member"},
    {Role::kSponsorViewer, "sponsor_viewer"},
    {Role::kSystem, "system"},
}};

constexpr std::array<std::pair<SubjectStatus, const char*>, 7> kStatuses = {{
    {SubjectStatus::kScreening, "screening"},
    {SubjectStatus::kScreenFailed, "screen_failed"},
    {SubjectStatus::kEligible, "eligible"},
    {SubjectStatus::kRandomized, "randomized"},
    {SubjectStatus::kCompleted, "completed"},
    {SubjectStatus::kWithdrawn, "withdrawn"},
    {SubjectStatus::kLostToFollowUp, "lost_to_follow_up"},
}};

const std::string kGenesis(64, '0');

// Canonical JSON: keys sorted (nlohmann::json sorts), no spaces, UTF-8 errors replaced.
std::string Canonical(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Schema migrations: migration N brings the schema from version N-1 to N. Never edit a
// released migration; add a new one.
const std::vector<std::vector<const char*>>& Migrations() {
  static const std::vector<std::vector<const char*>> kMigrations = {
      {
          "CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT "
          "NULL)",
          "CREATE TABLE audit_events (seq BIGINT PRIMARY KEY, at TEXT NOT NULL, username TEXT "
          "NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL, entity TEXT NOT NULL, entity_id "
          "TEXT NOT NULL, subject_id TEXT NOT NULL, old_value TEXT NOT NULL, new_value TEXT NOT "
          "NULL, reason TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)",
          "CREATE INDEX audit_events_subject ON audit_events (subject_id, seq)",
          "CREATE INDEX audit_events_user ON audit_events (username, seq)",
          "CREATE TABLE sites (id TEXT PRIMARY KEY, name TEXT NOT NULL, audit_seq BIGINT NOT "
          "NULL)",
          "CREATE TABLE users (username TEXT PRIMARY KEY, display_name TEXT NOT NULL, role TEXT "
          "NOT NULL, sites TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE subjects (id BIGINT PRIMARY KEY, site_id TEXT NOT NULL REFERENCES "
          "sites (id), screening_number TEXT NOT NULL, created_at TEXT NOT NULL, audit_seq "
          "BIGINT NOT NULL, UNIQUE (site_id, screening_number))",
          "CREATE TABLE subject_status (subject_id BIGINT NOT NULL REFERENCES subjects (id), "
          "version INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT "
          "NULL, audit_seq BIGINT NOT NULL, PRIMARY KEY (subject_id, version))",
          "CREATE TABLE screenings (id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL "
          "REFERENCES subjects (id), bundle TEXT NOT NULL, bundle_sha256 TEXT NOT NULL, "
          "protocol_id TEXT NOT NULL, protocol_version TEXT NOT NULL, screening_date TEXT NOT "
          "NULL, randomization_date TEXT NOT NULL, verdict TEXT NOT NULL, results TEXT NOT NULL, "
          "created_at TEXT NOT NULL, username TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE item_data (subject_id BIGINT NOT NULL REFERENCES subjects (id), visit "
          "TEXT NOT NULL, form TEXT NOT NULL, rep INTEGER NOT NULL, item TEXT NOT NULL, version "
          "INTEGER NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, username TEXT NOT NULL, "
          "at TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY KEY (subject_id, visit, form, "
          "rep, item, version))",
          "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, "
          "'0000000000000000000000000000000000000000000000000000000000000000')",
      },
      // 2: randomization (docs/randomization.md).
      {
          "CREATE TABLE rand_setup (id INTEGER PRIMARY KEY CHECK (id = 1), seed_hex TEXT NOT "
          "NULL, design TEXT NOT NULL, commitment TEXT NOT NULL, golive_at TEXT NOT NULL, "
          "audit_seq BIGINT NOT NULL)",
          "CREATE TABLE rand_slots (stratum TEXT NOT NULL, position INTEGER NOT NULL, block "
          "INTEGER NOT NULL, block_size INTEGER NOT NULL, arm TEXT NOT NULL, audit_seq BIGINT NOT "
          "NULL, PRIMARY KEY (stratum, position))",
          "CREATE TABLE allocations (subject_id BIGINT PRIMARY KEY REFERENCES subjects (id), "
          "randomization_number TEXT NOT NULL UNIQUE, stratum TEXT NOT NULL, position INTEGER "
          "NOT NULL, request_id TEXT NOT NULL UNIQUE, at TEXT NOT NULL, username TEXT NOT NULL, "
          "audit_seq BIGINT NOT NULL, UNIQUE (stratum, position))",
          "CREATE TABLE unblindings (id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL "
          "REFERENCES subjects (id), username TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT "
          "NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE notifications (id BIGINT PRIMARY KEY, kind TEXT NOT NULL, recipient TEXT "
          "NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL, delivered_at TEXT NOT NULL, "
          "audit_seq BIGINT NOT NULL)",
      },
      // 3: randomization list extensions (docs/randomization.md) and drug kits (docs/kits.md). A
      // kit row holds the kit's current state and points at the event that last changed it
      // (audit_seq) and at the event that generated it.
      {
          "CREATE TABLE rand_extensions (id BIGINT PRIMARY KEY, commitment TEXT NOT NULL, at "
          "TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE shipments (id TEXT PRIMARY KEY, site TEXT NOT NULL REFERENCES sites (id), "
          "shipped_at TEXT NOT NULL, username TEXT NOT NULL, received_at TEXT NOT NULL, "
          "received_by TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE kits (kit_number TEXT PRIMARY KEY, arm TEXT NOT NULL, lot TEXT NOT NULL, "
          "expiry TEXT NOT NULL, status TEXT NOT NULL, site TEXT REFERENCES sites (id), "
          "shipment_id TEXT REFERENCES shipments (id), generated_seq BIGINT NOT NULL, audit_seq "
          "BIGINT NOT NULL)",
          "CREATE INDEX kits_site ON kits (site, status, arm, expiry)",
          "CREATE TABLE dispensings (subject_id BIGINT NOT NULL REFERENCES subjects (id), visit "
          "TEXT NOT NULL, kit_number TEXT NOT NULL UNIQUE REFERENCES kits (kit_number), "
          "dose_date TEXT NOT NULL, username TEXT NOT NULL, request_id TEXT NOT NULL UNIQUE, at "
          "TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY KEY (subject_id, visit))",
      },
      // 4: visits, doses, protocol deviations, queries, item review states and signatures
      // (docs/schedule.md, docs/queries.md). Append-only: a query step, a review step and a
      // signature's voiding are new rows; the current state is the latest row. The columns of
      // each table are listed once more in visit_store.cc (kVisitTables), which writes and
      // verifies them.
      {
          "CREATE TABLE visits (subject_id BIGINT NOT NULL REFERENCES subjects (id), visit TEXT "
          "NOT NULL, done_on TEXT NOT NULL, missed INTEGER NOT NULL, reason TEXT NOT NULL, "
          "username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY KEY "
          "(subject_id, visit))",
          "CREATE TABLE deviations (id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES "
          "subjects (id), visit TEXT NOT NULL, kind TEXT NOT NULL, date TEXT NOT NULL, "
          "days_outside INTEGER NOT NULL, description TEXT NOT NULL, found_by TEXT NOT NULL, at "
          "TEXT NOT NULL, audit_seq BIGINT NOT NULL, UNIQUE (subject_id, visit, kind))",
          "CREATE TABLE doses (subject_id BIGINT NOT NULL REFERENCES subjects (id), visit TEXT "
          "NOT NULL, dose_date TEXT NOT NULL, given INTEGER NOT NULL, level TEXT NOT NULL, "
          "dose_ug BIGINT NOT NULL, weight TEXT NOT NULL, kit_number TEXT NOT NULL, decision TEXT "
          "NOT NULL, causes TEXT NOT NULL, explanation TEXT NOT NULL, override_reason TEXT NOT "
          "NULL, username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY "
          "KEY (subject_id, visit))",
          "CREATE TABLE queries (id BIGINT NOT NULL, version INTEGER NOT NULL, subject_id BIGINT "
          "NOT NULL REFERENCES subjects (id), visit TEXT NOT NULL, form TEXT NOT NULL, rep "
          "INTEGER NOT NULL, item TEXT NOT NULL, status TEXT NOT NULL, text TEXT NOT NULL, "
          "edit_check TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT "
          "NOT NULL, PRIMARY KEY (id, version))",
          "CREATE INDEX queries_subject ON queries (subject_id, id)",
          "CREATE TABLE item_reviews (subject_id BIGINT NOT NULL REFERENCES subjects (id), visit "
          "TEXT NOT NULL, form TEXT NOT NULL, rep INTEGER NOT NULL, item TEXT NOT NULL, version "
          "INTEGER NOT NULL, item_version INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT NOT "
          "NULL, username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY "
          "KEY (subject_id, visit, form, rep, item, version))",
          "CREATE TABLE signatures (id BIGINT PRIMARY KEY, subject_id BIGINT NOT NULL REFERENCES "
          "subjects (id), visit TEXT NOT NULL, meaning TEXT NOT NULL, username TEXT NOT NULL, "
          "printed_name TEXT NOT NULL, signed_at TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE signature_voids (signature_id BIGINT PRIMARY KEY REFERENCES signatures "
          "(id), reason TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL, audit_seq "
          "BIGINT NOT NULL)",
      },
      // 5: adverse events, SAE reports and their acknowledgements, safety alerts, and the
      // delivery of notifications (docs/safety.md). Append-only: a follow-up of an AE and an
      // alert step are new versions; notifications.delivered_at is set once, with a delivery
      // row. The columns of each table are listed once more in safety_store.cc.
      {
          "CREATE TABLE adverse_events (id BIGINT NOT NULL, version INTEGER NOT NULL, "
          "subject_id BIGINT NOT NULL REFERENCES subjects (id), term TEXT NOT NULL, other_text "
          "TEXT NOT NULL, grade INTEGER NOT NULL, onset TEXT NOT NULL, resolved TEXT NOT NULL, "
          "awareness TEXT NOT NULL, seriousness TEXT NOT NULL, related TEXT NOT NULL, action "
          "TEXT NOT NULL, outcome TEXT NOT NULL, alert_id BIGINT NOT NULL, reason TEXT NOT NULL, "
          "username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT NULL, PRIMARY KEY (id, "
          "version))",
          "CREATE INDEX adverse_events_subject ON adverse_events (subject_id, id)",
          "CREATE TABLE sae_reports (id BIGINT PRIMARY KEY, ae_id BIGINT NOT NULL, subject_id "
          "BIGINT NOT NULL REFERENCES subjects (id), kind TEXT NOT NULL, due_at TEXT NOT NULL, "
          "submitted_at TEXT NOT NULL, on_time INTEGER NOT NULL, username TEXT NOT NULL, "
          "audit_seq BIGINT NOT NULL, UNIQUE (ae_id, kind))",
          "CREATE TABLE sae_acks (report_id BIGINT PRIMARY KEY REFERENCES sae_reports (id), "
          "username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE alerts (id BIGINT NOT NULL, version INTEGER NOT NULL, subject_id BIGINT "
          "NOT NULL REFERENCES subjects (id), kind TEXT NOT NULL, visit TEXT NOT NULL, dedup_key "
          "TEXT NOT NULL, details TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, "
          "ae_id BIGINT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL, audit_seq BIGINT NOT "
          "NULL, PRIMARY KEY (id, version))",
          "CREATE INDEX alerts_subject ON alerts (subject_id, dedup_key)",
          "CREATE TABLE notification_deliveries (notification_id BIGINT PRIMARY KEY REFERENCES "
          "notifications (id), file TEXT NOT NULL, username TEXT NOT NULL, at TEXT NOT NULL, "
          "audit_seq BIGINT NOT NULL)",
      },
      // 6: sign-in (auth_store.cc, docs/access.md), and indexes for per-subject reads. Only hashes
      // are kept: Argon2id for passwords, SHA-256 for session and API tokens. Times are Unix
      // seconds. Password changes, sign-ins, failures, lockouts, sign-outs and tokens are audit
      // events; the failure count and a session's last use are bookkeeping, not clinical data.
      {
          "CREATE TABLE credentials (username TEXT PRIMARY KEY REFERENCES users (username), hash "
          "TEXT NOT NULL, set_at TEXT NOT NULL, failures INTEGER NOT NULL, locked_until BIGINT "
          "NOT NULL, audit_seq BIGINT NOT NULL)",
          "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES "
          "users (username), csrf TEXT NOT NULL, created BIGINT NOT NULL, expires BIGINT NOT "
          "NULL, last_seen BIGINT NOT NULL, ended INTEGER NOT NULL)",
          "CREATE TABLE api_tokens (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL "
          "REFERENCES users (username), label TEXT NOT NULL, created_at TEXT NOT NULL, revoked "
          "INTEGER NOT NULL, audit_seq BIGINT NOT NULL)",
          // Per-subject reads of the server (subject pages, randomization checks) without a
          // scan of every subject's rows: found by the wrk benchmark (bench/http).
          "CREATE INDEX screenings_subject ON screenings (subject_id, id)",
          "CREATE INDEX deviations_subject ON deviations (subject_id, id)",
          "CREATE INDEX signatures_subject ON signatures (subject_id, id)",
          "CREATE INDEX sae_reports_subject ON sae_reports (subject_id, id)",
          "CREATE INDEX unblindings_subject ON unblindings (subject_id, id)",
          "CREATE INDEX subjects_site ON subjects (site_id, id)",
      },
  };
  return kMigrations;
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

// The text the event hash covers: every field, length-prefixed so no two events share it.
std::string HashInput(const AuditEvent& e) {
  std::string out;
  auto add = [&](const std::string& field) {
    out += std::to_string(field.size());
    out += ':';
    out += field;
    out += '\n';
  };
  add(std::to_string(e.seq));
  add(e.at);
  add(e.user);
  add(e.role);
  add(e.action);
  add(e.entity);
  add(e.entity_id);
  add(e.subject_id);
  add(e.old_value);
  add(e.new_value);
  add(e.reason);
  add(e.prev_hash);
  return out;
}

json SiteJson(const Site& s) { return {{"id", s.id}, {"name", s.name}}; }
json UserJson(const User& u) {
  return {{"username", u.username},
          {"display_name", u.display_name},
          {"role", RoleName(u.role)},
          {"sites", u.sites}};
}
json SubjectJson(const Subject& s) {
  return {{"id", s.id},
          {"site_id", s.site_id},
          {"screening_number", s.screening_number},
          {"created_at", s.created_at}};
}
json StatusJson(int64_t subject, int version, const std::string& status, const std::string& at) {
  return {{"subject_id", subject}, {"version", version}, {"status", status}, {"at", at}};
}
json ScreeningJson(const ScreeningRecord& r) {
  return {{"id", r.id},
          {"subject_id", r.subject_id},
          {"bundle_sha256", r.bundle_sha256},
          {"protocol_id", r.protocol_id},
          {"protocol_version", r.protocol_version},
          {"screening_date", r.screening_date.ToString()},
          {"randomization_date", r.randomization_date.ToString()},
          {"verdict", r.verdict},
          {"results_sha256", Sha256Hex(r.results_json)},
          {"created_at", r.created_at},
          {"user", r.user}};
}
json ItemJson(const ItemVersion& v) {
  return {{"subject_id", v.key.subject_id},
          {"visit", v.key.visit},
          {"form", v.key.form},
          {"repeat", v.key.repeat},
          {"item", v.key.item},
          {"version", v.version},
          {"value", v.value},
          {"at", v.at}};
}

std::string ItemId(const ItemKey& k) {
  return std::to_string(k.subject_id) + "/" + k.visit + "/" + k.form + "/" +
         std::to_string(k.repeat) + "/" + k.item;
}

std::vector<std::string> SplitSites(const std::string& text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  try {
    for (const auto& s : json::parse(text)) out.push_back(s.get<std::string>());
  } catch (const std::exception&) {
    // A damaged row: shown as no sites; VerifyAudit reports the mismatch.
  }
  return out;
}

Result<void> RequireText(const std::string& value, const char* what) {
  if (Trim(value).empty())
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (value.size() > 200) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is longer than 200 characters");
  }
  for (unsigned char c : value) {
    if (c < 0x20) {
      return Fail(ErrorCode::kInvalidArgument, std::string(what) + " contains a control character");
    }
  }
  return {};
}

}  // namespace

// ---- names ----

namespace {

// Persisted enums are stored by name: one table per enum, looked up both ways.
template <class E, size_t N>
const char* NameIn(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return table[0].second;
}

template <class E, size_t N>
std::optional<E> ValueIn(const std::array<std::pair<E, const char*>, N>& table,
                         std::string_view name) {
  for (const auto& [v, n] : table) {
    if (name == n) return v;
  }
  return std::nullopt;
}

}  // namespace

const char* RoleName(Role r) { return NameIn(kRoles, r); }

std::optional<Role> ParseRole(std::string_view name) {
  auto role = ValueIn(kRoles, name);
  if (role == Role::kSystem) return std::nullopt;  // reserved for the system itself
  return role;
}

bool SeesArms(Role r) {
  return r == Role::kUnblindedPharmacist || r == Role::kUnblindedStatistician;
}

bool IsSiteScoped(Role r) {
  return r == Role::kInvestigator || r == Role::kCoordinator || r == Role::kUnblindedPharmacist ||
         r == Role::kMonitor;
}

const char* StatusName(SubjectStatus s) { return NameIn(kStatuses, s); }

std::optional<SubjectStatus> ParseStatus(std::string_view name) { return ValueIn(kStatuses, name); }

bool TransitionAllowed(SubjectStatus from, SubjectStatus to) {
  using S = SubjectStatus;
  switch (from) {
    case S::kScreening:
      return to == S::kScreenFailed || to == S::kEligible;
    case S::kScreenFailed:
      return to == S::kScreening;
    case S::kEligible:
      return to == S::kRandomized || to == S::kScreenFailed || to == S::kScreening;
    case S::kRandomized:
      return to == S::kCompleted || to == S::kWithdrawn || to == S::kLostToFollowUp;
    case S::kCompleted:
    case S::kWithdrawn:
    case S::kLostToFollowUp:
      return false;
  }
  return false;
}

bool TransitionNeedsReason(SubjectStatus from, SubjectStatus to) {
  using S = SubjectStatus;
  return to == S::kWithdrawn || to == S::kLostToFollowUp || to == S::kScreening ||
         (from == S::kEligible && to == S::kScreenFailed);
}

std::string SystemClock() {
  using namespace std::chrono;
  auto now = time_point_cast<microseconds>(system_clock::now());
  auto days = floor<std::chrono::days>(now);
  year_month_day ymd{days};
  hh_mm_ss<microseconds> t{now - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(t.hours().count()),
                static_cast<int>(t.minutes().count()), static_cast<int>(t.seconds().count()),
                static_cast<long long>(t.subseconds().count()));
  return buf;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// Thin exports of the helpers above for randomization_store.cc (store_internal.h).
namespace detail {
std::string Canonical(const json& j) { return store::Canonical(j); }
std::string Trim(const std::string& s) { return store::Trim(s); }
Result<void> RequireText(const std::string& value, const char* what) {
  return store::RequireText(value, what);
}
json StatusJson(int64_t subject, int version, const std::string& status, const std::string& at) {
  return store::StatusJson(subject, version, status, at);
}
}  // namespace detail

// ---- the store ----

TrialStore::TrialStore(std::unique_ptr<Connection> connection, Clock clock)
    : connection_(std::move(connection)), clock_(std::move(clock)) {}
TrialStore::~TrialStore() = default;

namespace {

// The schema version recorded in the database, 0 when none.
Result<int> ReadVersion(Transaction& tx, Backend backend) {
  std::string probe = backend == Backend::kSqlite
                          ? "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
                            "'schema_info'"
                          : "SELECT count(*) FROM information_schema.tables WHERE table_name = "
                            "'schema_info' AND table_schema = current_schema()";
  auto rows = tx.Query(probe);
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || (*rows)[0].Int(0) == 0) return 0;
  auto v = tx.Query("SELECT max(version) FROM schema_info");
  if (!v) return std::unexpected(v.error());
  return v->empty() ? 0 : static_cast<int>((*v)[0].Int(0));
}

}  // namespace

Result<void> TrialStore::Init() {
  auto tx = connection_->Begin(true);
  if (!tx) return std::unexpected(tx.error());
  auto version = ReadVersion(**tx, connection_->backend());
  if (!version) return std::unexpected(version.error());
  if (*version > kSchemaVersion) {
    return Fail(ErrorCode::kInvalidInput,
                connection_->Describe() + ": database schema " + std::to_string(*version) +
                    " is newer than this program's " + std::to_string(kSchemaVersion) +
                    ": use a newer trial");
  }
  if (*version == kSchemaVersion) return {};
  if (*version == 0) {
    auto r = (*tx)->Query(
        "CREATE TABLE schema_info (version INTEGER NOT NULL, applied_at TEXT NOT NULL)");
    if (!r) return std::unexpected(r.error());
  }
  const auto& migrations = Migrations();
  for (int v = *version + 1; v <= kSchemaVersion; ++v) {
    for (const char* sql : migrations[static_cast<size_t>(v - 1)]) {
      auto r = (*tx)->Query(sql);
      if (!r) return std::unexpected(r.error());
    }
    auto r = (*tx)->Query("INSERT INTO schema_info (version, applied_at) VALUES ($1, $2)",
                          {SqlValue{int64_t{v}}, SqlValue{clock_()}});
    if (!r) return std::unexpected(r.error());
    Pending e{"schema.migrate",
              "schema",
              std::to_string(v),
              "",
              *version == 0 && v == 1 ? "" : Canonical(json{{"version", v - 1}}),
              Canonical(json{{"version", v}}),
              "schema migration"};
    auto appended = Append(**tx, "system", Role::kSystem, std::move(e));
    if (!appended) return std::unexpected(appended.error());
  }
  return (*tx)->Commit();
}

Result<void> TrialStore::Check() {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto version = ReadVersion(**tx, connection_->backend());
  if (!version) return std::unexpected(version.error());
  if (*version == 0) {
    return Fail(ErrorCode::kNotFound,
                connection_->Describe() + " is not initialised: run 'trial init'");
  }
  if (*version > kSchemaVersion) {
    return Fail(ErrorCode::kInvalidInput,
                connection_->Describe() + ": database schema " + std::to_string(*version) +
                    " is newer than this program's " + std::to_string(kSchemaVersion) +
                    ": use a newer trial");
  }
  if (*version < kSchemaVersion) {
    return Fail(ErrorCode::kInvalidInput, connection_->Describe() + ": database schema " +
                                              std::to_string(*version) +
                                              " is older than this program's: run 'trial init' "
                                              "to upgrade it");
  }
  return {};
}

Result<AuditEvent> TrialStore::Append(Transaction& tx, const std::string& actor, Role role,
                                      Pending p) {
  std::string head_sql = "SELECT seq, hash FROM audit_head WHERE id = 1";
  if (connection_->backend() == Backend::kPostgres) head_sql += " FOR UPDATE";
  auto head = tx.Query(head_sql);
  if (!head) return std::unexpected(head.error());
  if (head->empty()) return Fail(ErrorCode::kInternal, "the audit chain head is missing");
  AuditEvent e;
  e.seq = (*head)[0].Int(0) + 1;
  e.prev_hash = (*head)[0].Text(1);
  e.at = clock_();
  e.user = actor;
  e.role = RoleName(role);
  e.action = std::move(p.action);
  e.entity = std::move(p.entity);
  e.entity_id = std::move(p.entity_id);
  e.subject_id = std::move(p.subject_id);
  e.old_value = std::move(p.old_value);
  e.new_value = std::move(p.new_value);
  e.reason = std::move(p.reason);
  e.hash = Sha256Hex(HashInput(e));
  auto ins = tx.Query(
      "INSERT INTO audit_events (seq, at, username, role, action, entity, entity_id, subject_id, "
      "old_value, new_value, reason, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
      "$9, $10, $11, $12, $13)",
      {e.seq, e.at, e.user, e.role, e.action, e.entity, e.entity_id, e.subject_id, e.old_value,
       e.new_value, e.reason, e.prev_hash, e.hash});
  if (!ins) return std::unexpected(ins.error());
  auto upd = tx.Query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", {e.seq, e.hash});
  if (!upd) return std::unexpected(upd.error());
  return e;
}

// Locks the chain head first, so that every check that follows sees the latest committed state
// (PostgreSQL: the row lock serializes writers; SQLite: BEGIN IMMEDIATE already did).
namespace {
Result<void> LockChain(Transaction& tx, Backend backend) {
  if (backend != Backend::kPostgres) return {};
  auto r = tx.Query("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE");
  if (!r) return std::unexpected(r.error());
  return {};
}
}  // namespace

Result<TrialStore::Write> TrialStore::BeginWrite(const std::string& actor) {
  auto tx = connection_->Begin(true);
  if (!tx) return std::unexpected(tx.error());
  if (auto r = LockChain(**tx, connection_->backend()); !r) return std::unexpected(r.error());
  auto who = Actor(**tx, actor);
  if (!who) return std::unexpected(who.error());
  return Write{std::move(*tx), std::move(*who)};
}

Result<User> TrialStore::Actor(Transaction& tx, const std::string& username) {
  if (Trim(username).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the acting user is missing: give --user NAME");
  }
  auto rows = tx.Query("SELECT username, display_name, role, sites FROM users WHERE username = $1",
                       {username});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kNotFound, "unknown user '" + username + "'");
  const Row& r = (*rows)[0];
  User u;
  u.username = r.Text(0);
  u.display_name = r.Text(1);
  auto role = ParseRole(r.Text(2));
  if (!role) return Fail(ErrorCode::kInternal, "user '" + username + "' has an unknown role");
  u.role = *role;
  u.sites = SplitSites(r.Text(3));
  return u;
}

namespace {

// May `actor` act on data of `site`? Administrators and data managers anywhere; site-scoped
// roles at their sites. (The full role x action matrix comes with the server.)
Result<void> RequireSiteAccess(const User& actor, const std::string& site) {
  if (actor.role == Role::kAdministrator || actor.role == Role::kDataManager) return {};
  if ((actor.role == Role::kInvestigator || actor.role == Role::kCoordinator) &&
      std::find(actor.sites.begin(), actor.sites.end(), site) != actor.sites.end()) {
    return {};
  }
  return Fail(ErrorCode::kPermissionDenied, std::string("user '") + actor.username + "' (" +
                                                RoleName(actor.role) +
                                                ") may not change data of site '" + site + "'");
}

Result<void> RequireAdministrator(const User& actor) {
  if (actor.role == Role::kAdministrator) return {};
  return Fail(ErrorCode::kPermissionDenied, std::string("user '") + actor.username + "' (" +
                                                RoleName(actor.role) +
                                                ") may not do this: administrators only");
}

Result<std::optional<Subject>> LoadSubject(Transaction& tx, int64_t id) {
  auto rows = tx.Query(
      "SELECT s.id, s.site_id, s.screening_number, s.created_at, "
      "(SELECT status FROM subject_status t WHERE t.subject_id = s.id ORDER BY version DESC "
      "LIMIT 1) FROM subjects s WHERE s.id = $1",
      {id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Subject>();
  const Row& r = (*rows)[0];
  Subject s;
  s.id = r.Int(0);
  s.site_id = r.Text(1);
  s.screening_number = r.Text(2);
  s.created_at = r.Text(3);
  s.status = ParseStatus(r.Text(4)).value_or(SubjectStatus::kScreening);
  return std::optional<Subject>(s);
}

// Appends a status version; returns the new version number.
Result<int> NextStatusVersion(Transaction& tx, int64_t subject) {
  auto rows = tx.Query("SELECT COALESCE(max(version), 0) FROM subject_status WHERE subject_id = $1",
                       {subject});
  if (!rows) return std::unexpected(rows.error());
  return static_cast<int>((*rows)[0].Int(0)) + 1;
}

}  // namespace

namespace detail {
Result<void> LockChain(Transaction& tx, Backend backend) { return store::LockChain(tx, backend); }
Result<void> RequireSiteAccess(const User& actor, const std::string& site) {
  return store::RequireSiteAccess(actor, site);
}
Result<void> RequireAdministrator(const User& actor) { return store::RequireAdministrator(actor); }
Result<std::optional<Subject>> LoadSubject(Transaction& tx, int64_t id) {
  return store::LoadSubject(tx, id);
}
Result<int> NextStatusVersion(Transaction& tx, int64_t subject) {
  return store::NextStatusVersion(tx, subject);
}
}  // namespace detail

Result<User> TrialStore::CreateFirstAdministrator(const std::string& username,
                                                  const std::string& display_name) {
  if (auto r = RequireText(username, "the username"); !r) return std::unexpected(r.error());
  auto tx = connection_->Begin(true);
  if (!tx) return std::unexpected(tx.error());
  if (auto r = LockChain(**tx, connection_->backend()); !r) return std::unexpected(r.error());
  auto count = (*tx)->Query("SELECT count(*) FROM users");
  if (!count) return std::unexpected(count.error());
  if ((*count)[0].Int(0) > 0) {
    return Fail(ErrorCode::kInvalidInput,
                "the database already has users: an administrator adds the others "
                "('trial user add --user ADMIN ...')");
  }
  User u{username, display_name.empty() ? username : display_name, Role::kAdministrator, {}};
  auto e = Append(**tx, "system", Role::kSystem,
                  Pending{"user.add", "user", u.username, "", "", Canonical(UserJson(u)),
                          "first administrator"});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO users (username, display_name, role, sites, audit_seq) VALUES ($1, $2, $3, "
      "$4, $5)",
      {u.username, u.display_name, std::string(RoleName(u.role)), Canonical(json(u.sites)),
       e->seq});
  if (!ins) return std::unexpected(ins.error());
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return u;
}

Result<Site> TrialStore::AddSite(const std::string& actor, const Site& site) {
  if (auto r = RequireText(site.id, "the site id"); !r) return std::unexpected(r.error());
  if (auto r = RequireText(site.name, "the site name"); !r) return std::unexpected(r.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  if (auto r = RequireAdministrator(*who); !r) return std::unexpected(r.error());
  auto dup = (*tx)->Query("SELECT 1 FROM sites WHERE id = $1", {site.id});
  if (!dup) return std::unexpected(dup.error());
  if (!dup->empty()) return Fail(ErrorCode::kInvalidInput, "site '" + site.id + "' already exists");
  auto e = Append(**tx, who->username, who->role,
                  Pending{"site.add", "site", site.id, "", "", Canonical(SiteJson(site)), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query("INSERT INTO sites (id, name, audit_seq) VALUES ($1, $2, $3)",
                          {site.id, site.name, e->seq});
  if (!ins) return std::unexpected(ins.error());
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return site;
}

Result<User> TrialStore::AddUser(const std::string& actor, const User& user) {
  if (auto r = RequireText(user.username, "the username"); !r) return std::unexpected(r.error());
  if (user.role == Role::kSystem) {
    return Fail(ErrorCode::kInvalidArgument, "the role 'system' is reserved");
  }
  if (IsSiteScoped(user.role) && user.sites.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("a ") + RoleName(user.role) + " works at named sites: give --sites");
  }
  if (!IsSiteScoped(user.role) && !user.sites.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("a ") + RoleName(user.role) + " is not limited to sites: omit --sites");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  if (auto r = RequireAdministrator(*who); !r) return std::unexpected(r.error());
  auto dup = (*tx)->Query("SELECT 1 FROM users WHERE username = $1", {user.username});
  if (!dup) return std::unexpected(dup.error());
  if (!dup->empty()) {
    return Fail(ErrorCode::kInvalidInput, "user '" + user.username + "' already exists");
  }
  for (const auto& site : user.sites) {
    auto s = (*tx)->Query("SELECT 1 FROM sites WHERE id = $1", {site});
    if (!s) return std::unexpected(s.error());
    if (s->empty()) return Fail(ErrorCode::kNotFound, "unknown site '" + site + "'");
  }
  User u = user;
  if (u.display_name.empty()) u.display_name = u.username;
  std::sort(u.sites.begin(), u.sites.end());
  u.sites.erase(std::unique(u.sites.begin(), u.sites.end()), u.sites.end());
  auto e = Append(**tx, who->username, who->role,
                  Pending{"user.add", "user", u.username, "", "", Canonical(UserJson(u)), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO users (username, display_name, role, sites, audit_seq) VALUES ($1, $2, $3, "
      "$4, $5)",
      {u.username, u.display_name, std::string(RoleName(u.role)), Canonical(json(u.sites)),
       e->seq});
  if (!ins) return std::unexpected(ins.error());
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return u;
}

Result<Subject> TrialStore::AddSubject(const std::string& actor, const std::string& site_id,
                                       const std::string& screening_number) {
  if (auto r = RequireText(screening_number, "the screening number"); !r) {
    return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  auto site = (*tx)->Query("SELECT 1 FROM sites WHERE id = $1", {site_id});
  if (!site) return std::unexpected(site.error());
  if (site->empty()) return Fail(ErrorCode::kNotFound, "unknown site '" + site_id + "'");
  if (auto r = RequireSiteAccess(*who, site_id); !r) return std::unexpected(r.error());
  auto dup = (*tx)->Query("SELECT id FROM subjects WHERE site_id = $1 AND screening_number = $2",
                          {site_id, screening_number});
  if (!dup) return std::unexpected(dup.error());
  if (!dup->empty()) {
    return Fail(ErrorCode::kInvalidInput, "screening number '" + screening_number +
                                              "' is already used at site '" + site_id +
                                              "' (subject " + (*dup)[0].Text(0) + ")");
  }
  auto next = (*tx)->Query("SELECT COALESCE(max(id), 0) + 1 FROM subjects");
  if (!next) return std::unexpected(next.error());
  Subject s;
  s.id = (*next)[0].Int(0);
  s.site_id = site_id;
  s.screening_number = screening_number;
  s.status = SubjectStatus::kScreening;
  s.created_at = clock_();
  std::string id = std::to_string(s.id);
  auto e = Append(**tx, who->username, who->role,
                  Pending{"subject.add", "subject", id, id, "", Canonical(SubjectJson(s)), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO subjects (id, site_id, screening_number, created_at, audit_seq) VALUES ($1, "
      "$2, $3, $4, $5)",
      {s.id, s.site_id, s.screening_number, s.created_at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  auto st = Append(**tx, who->username, who->role,
                   Pending{"subject.status", "subject_status", id + "/1", id, "",
                           Canonical(StatusJson(s.id, 1, "screening", s.created_at)), ""});
  if (!st) return std::unexpected(st.error());
  auto ins2 = (*tx)->Query(
      "INSERT INTO subject_status (subject_id, version, status, reason, at, audit_seq) VALUES "
      "($1, 1, 'screening', '', $2, $3)",
      {s.id, s.created_at, st->seq});
  if (!ins2) return std::unexpected(ins2.error());
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return s;
}

Result<Subject> TrialStore::ChangeStatus(const std::string& actor, int64_t subject_id,
                                         SubjectStatus to, const std::string& reason) {
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  auto subject = LoadSubject(**tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) {
    return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  }
  Subject s = **subject;
  if (auto r = RequireSiteAccess(*who, s.site_id); !r) return std::unexpected(r.error());
  if (!TransitionAllowed(s.status, to)) {
    return Fail(ErrorCode::kInvalidArgument, "subject " + std::to_string(subject_id) + " is " +
                                                 StatusName(s.status) + ": it cannot become " +
                                                 StatusName(to));
  }
  if (TransitionNeedsReason(s.status, to) && Trim(reason).empty()) {
    return Fail(ErrorCode::kInvalidArgument, std::string("a change from ") + StatusName(s.status) +
                                                 " to " + StatusName(to) +
                                                 " needs a reason: give --reason");
  }
  auto version = NextStatusVersion(**tx, s.id);
  if (!version) return std::unexpected(version.error());
  std::string at = clock_();
  std::string id = std::to_string(s.id);
  auto e = Append(**tx, who->username, who->role,
                  Pending{"subject.status", "subject_status", id + "/" + std::to_string(*version),
                          id, Canonical(json{{"status", StatusName(s.status)}}),
                          Canonical(StatusJson(s.id, *version, StatusName(to), at)), reason});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO subject_status (subject_id, version, status, reason, at, audit_seq) VALUES "
      "($1, $2, $3, $4, $5, $6)",
      {s.id, int64_t{*version}, std::string(StatusName(to)), reason, at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  s.status = to;
  return s;
}

Result<ScreeningRecord> TrialStore::SaveScreening(const std::string& actor, ScreeningRecord rec) {
  std::optional<SubjectStatus> target;
  if (rec.verdict == "eligible") {
    target = SubjectStatus::kEligible;
  } else if (rec.verdict == "ineligible") {
    target = SubjectStatus::kScreenFailed;
  } else if (rec.verdict != "incomplete") {
    return Fail(ErrorCode::kInvalidArgument, "unknown verdict '" + rec.verdict + "'");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  auto subject = LoadSubject(**tx, rec.subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) {
    return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(rec.subject_id));
  }
  Subject s = **subject;
  if (auto r = RequireSiteAccess(*who, s.site_id); !r) return std::unexpected(r.error());
  if (s.status != SubjectStatus::kScreening && s.status != SubjectStatus::kScreenFailed &&
      s.status != SubjectStatus::kEligible) {
    return Fail(ErrorCode::kInvalidArgument, "subject " + std::to_string(s.id) + " is " +
                                                 StatusName(s.status) +
                                                 ": a screening can no longer be saved");
  }
  auto next = (*tx)->Query("SELECT COALESCE(max(id), 0) + 1 FROM screenings");
  if (!next) return std::unexpected(next.error());
  rec.id = (*next)[0].Int(0);
  rec.bundle_sha256 = Sha256Hex(rec.bundle_json);
  rec.created_at = clock_();
  rec.user = who->username;
  std::string subject_text = std::to_string(s.id);
  auto e = Append(**tx, who->username, who->role,
                  Pending{"screening.save", "screening", std::to_string(rec.id), subject_text, "",
                          Canonical(ScreeningJson(rec)), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO screenings (id, subject_id, bundle, bundle_sha256, protocol_id, "
      "protocol_version, screening_date, randomization_date, verdict, results, created_at, "
      "username, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
      {rec.id, rec.subject_id, rec.bundle_json, rec.bundle_sha256, rec.protocol_id,
       rec.protocol_version, rec.screening_date.ToString(), rec.randomization_date.ToString(),
       rec.verdict, rec.results_json, rec.created_at, rec.user, e->seq});
  if (!ins) return std::unexpected(ins.error());
  // The subject's status follows the verdict (re-screening an eligible or failed subject first
  // returns it to screening, recorded as its own transition).
  if (target && *target != s.status) {
    std::vector<SubjectStatus> path;
    if (s.status != SubjectStatus::kScreening) path.push_back(SubjectStatus::kScreening);
    path.push_back(*target);
    for (SubjectStatus to : path) {
      auto version = NextStatusVersion(**tx, s.id);
      if (!version) return std::unexpected(version.error());
      std::string at = clock_();
      std::string why = "screening " + std::to_string(rec.id) + ": " + rec.verdict;
      auto se = Append(
          **tx, who->username, who->role,
          Pending{"subject.status", "subject_status", subject_text + "/" + std::to_string(*version),
                  subject_text, Canonical(json{{"status", StatusName(s.status)}}),
                  Canonical(StatusJson(s.id, *version, StatusName(to), at)), why});
      if (!se) return std::unexpected(se.error());
      auto ins2 = (*tx)->Query(
          "INSERT INTO subject_status (subject_id, version, status, reason, at, audit_seq) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          {s.id, int64_t{*version}, std::string(StatusName(to)), why, at, se->seq});
      if (!ins2) return std::unexpected(ins2.error());
      s.status = to;
    }
  }
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return rec;
}

namespace {

// The input checks of one item write, before any transaction.
Result<void> CheckItemWrite(const ItemKey& key, const std::string& value) {
  if (auto r = RequireText(key.visit, "the visit"); !r) return std::unexpected(r.error());
  if (auto r = RequireText(key.form, "the form"); !r) return std::unexpected(r.error());
  if (auto r = RequireText(key.item, "the item"); !r) return std::unexpected(r.error());
  if (key.repeat < 0) return Fail(ErrorCode::kInvalidArgument, "the repeat must be 0 or more");
  if (value.size() > 100000) {
    return Fail(ErrorCode::kInvalidArgument, "the value is longer than 100000 characters");
  }
  return {};
}

}  // namespace

Result<ItemVersion> TrialStore::RecordItem(const std::string& actor, const ItemKey& key,
                                           const std::string& value, const std::string& reason) {
  auto stored = RecordItems(actor, {ItemWrite{key, value}}, reason);
  if (!stored) return std::unexpected(stored.error());
  return std::move(stored->front());
}

Result<std::vector<ItemVersion>> TrialStore::RecordItems(const std::string& actor,
                                                         const std::vector<ItemWrite>& writes,
                                                         const std::string& reason) {
  if (writes.empty()) return Fail(ErrorCode::kInvalidArgument, "no items to record");
  for (const auto& w : writes) {
    if (auto r = CheckItemWrite(w.key, w.value); !r) return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  std::vector<ItemVersion> out;
  out.reserve(writes.size());
  for (const auto& w : writes) {
    auto v = RecordItemInTx(*write->tx, write->actor, w.key, w.value, reason);
    if (!v) return std::unexpected(v.error());  // the transaction rolls back: nothing stored
    out.push_back(std::move(*v));
  }
  if (auto c = write->tx->Commit(); !c) return std::unexpected(c.error());
  return out;
}

Result<ItemVersion> TrialStore::RecordItemInTx(Transaction& tx, const User& who, const ItemKey& key,
                                               const std::string& value,
                                               const std::string& reason) {
  auto subject = LoadSubject(tx, key.subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) {
    return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(key.subject_id));
  }
  if (auto r = RequireSiteAccess(who, (*subject)->site_id); !r) {
    return std::unexpected(r.error());
  }
  auto locked = detail::LockedItemProblem(tx, key);
  if (!locked) return std::unexpected(locked.error());
  if (!locked->empty()) return Fail(ErrorCode::kInvalidInput, *locked);
  auto last = tx.Query(
      "SELECT version, value FROM item_data WHERE subject_id = $1 AND visit = $2 AND form = $3 "
      "AND rep = $4 AND item = $5 ORDER BY version DESC LIMIT 1",
      {key.subject_id, key.visit, key.form, int64_t{key.repeat}, key.item});
  if (!last) return std::unexpected(last.error());
  ItemVersion v;
  v.key = key;
  v.version = last->empty() ? 1 : static_cast<int>((*last)[0].Int(0)) + 1;
  v.value = value;
  v.reason = reason;
  v.user = who.username;
  v.at = clock_();
  if (v.version > 1 && Trim(reason).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "item " + ItemId(key) +
                                                 " already has a value: a "
                                                 "correction needs a reason "
                                                 "(--reason)");
  }
  std::string old = last->empty() ? "" : Canonical(json{{"value", (*last)[0].Text(1)}});
  auto e = Append(tx, who.username, who.role,
                  Pending{"item.record", "item", ItemId(key) + "#" + std::to_string(v.version),
                          std::to_string(key.subject_id), old, Canonical(ItemJson(v)), reason});
  if (!e) return std::unexpected(e.error());
  auto ins = tx.Query(
      "INSERT INTO item_data (subject_id, visit, form, rep, item, version, value, reason, "
      "username, at, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
      {key.subject_id, key.visit, key.form, int64_t{key.repeat}, key.item, int64_t{v.version},
       v.value, v.reason, v.user, v.at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  auto voided = VoidSignatures(tx, who, key, v.version);
  if (!voided) return std::unexpected(voided.error());
  v.voided_signatures = std::move(*voided);
  return v;
}

// ---- reads ----

Result<std::optional<User>> TrialStore::FindUser(const std::string& username) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto u = Actor(**tx, username);
  if (!u) {
    if (u.error().code == ErrorCode::kNotFound) return std::optional<User>();
    return std::unexpected(u.error());
  }
  return std::optional<User>(*u);
}

Result<std::vector<Site>> TrialStore::Sites() {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query("SELECT id, name FROM sites ORDER BY id");
  if (!rows) return std::unexpected(rows.error());
  std::vector<Site> out;
  for (const auto& r : *rows) out.push_back(Site{r.Text(0), r.Text(1)});
  return out;
}

Result<std::optional<Subject>> TrialStore::FindSubject(int64_t id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  return LoadSubject(**tx, id);
}

Result<std::optional<Subject>> TrialStore::FindSubjectByNumber(const std::string& site_id,
                                                               const std::string& number) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query("SELECT id FROM subjects WHERE site_id = $1 AND screening_number = $2",
                           {site_id, number});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Subject>();
  return LoadSubject(**tx, (*rows)[0].Int(0));
}

Result<std::vector<Subject>> TrialStore::Subjects(const std::optional<std::string>& site_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  std::string sql =
      "SELECT s.id, s.site_id, s.screening_number, s.created_at, (SELECT status FROM "
      "subject_status t WHERE t.subject_id = s.id ORDER BY version DESC LIMIT 1) FROM subjects s";
  std::vector<SqlValue> params;
  if (site_id) {
    sql += " WHERE s.site_id = $1";
    params.push_back(*site_id);
  }
  sql += " ORDER BY s.id";
  auto rows = (*tx)->Query(sql, params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Subject> out;
  for (const auto& r : *rows) {
    Subject s;
    s.id = r.Int(0);
    s.site_id = r.Text(1);
    s.screening_number = r.Text(2);
    s.created_at = r.Text(3);
    s.status = ParseStatus(r.Text(4)).value_or(SubjectStatus::kScreening);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<ScreeningRecord>> TrialStore::Screenings(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT id, subject_id, bundle, bundle_sha256, protocol_id, protocol_version, "
      "screening_date, randomization_date, verdict, results, created_at, username FROM "
      "screenings WHERE subject_id = $1 ORDER BY id",
      {subject_id});
  if (!rows) return std::unexpected(rows.error());
  std::vector<ScreeningRecord> out;
  for (const auto& r : *rows) {
    ScreeningRecord s;
    s.id = r.Int(0);
    s.subject_id = r.Int(1);
    s.bundle_json = r.Text(2);
    s.bundle_sha256 = r.Text(3);
    s.protocol_id = r.Text(4);
    s.protocol_version = r.Text(5);
    s.screening_date = Date::Parse(r.Text(6)).value_or(Date());
    s.randomization_date = Date::Parse(r.Text(7)).value_or(Date());
    s.verdict = r.Text(8);
    s.results_json = r.Text(9);
    s.created_at = r.Text(10);
    s.user = r.Text(11);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<ItemVersion>> TrialStore::ItemHistory(const ItemKey& key) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT version, value, reason, username, at FROM item_data WHERE subject_id = $1 AND "
      "visit = $2 AND form = $3 AND rep = $4 AND item = $5 ORDER BY version",
      {key.subject_id, key.visit, key.form, int64_t{key.repeat}, key.item});
  if (!rows) return std::unexpected(rows.error());
  std::vector<ItemVersion> out;
  for (const auto& r : *rows) {
    ItemVersion v;
    v.key = key;
    v.version = static_cast<int>(r.Int(0));
    v.value = r.Text(1);
    v.reason = r.Text(2);
    v.user = r.Text(3);
    v.at = r.Text(4);
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<ItemVersion>> TrialStore::LatestItems(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT d.visit, d.form, d.rep, d.item, d.version, d.value, d.reason, d.username, d.at "
      "FROM item_data d WHERE d.subject_id = $1 AND d.version = (SELECT MAX(m.version) FROM "
      "item_data m WHERE m.subject_id = d.subject_id AND m.visit = d.visit AND m.form = d.form "
      "AND m.rep = d.rep AND m.item = d.item)",
      {subject_id});
  if (!rows) return std::unexpected(rows.error());
  std::vector<ItemVersion> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    ItemVersion v;
    v.key = ItemKey{subject_id, r.Text(0), r.Text(1), static_cast<int>(r.Int(2)), r.Text(3)};
    v.version = static_cast<int>(r.Int(4));
    v.value = r.Text(5);
    v.reason = r.Text(6);
    v.user = r.Text(7);
    v.at = r.Text(8);
    out.push_back(std::move(v));
  }
  return out;
}

namespace {

AuditEvent EventFromRow(const Row& r) {
  AuditEvent e;
  e.seq = r.Int(0);
  e.at = r.Text(1);
  e.user = r.Text(2);
  e.role = r.Text(3);
  e.action = r.Text(4);
  e.entity = r.Text(5);
  e.entity_id = r.Text(6);
  e.subject_id = r.Text(7);
  e.old_value = r.Text(8);
  e.new_value = r.Text(9);
  e.reason = r.Text(10);
  e.prev_hash = r.Text(11);
  e.hash = r.Text(12);
  return e;
}

constexpr const char* kEventColumns =
    "seq, at, username, role, action, entity, entity_id, subject_id, old_value, new_value, "
    "reason, prev_hash, hash";

}  // namespace

Result<std::vector<AuditEvent>> TrialStore::AuditEvents(const AuditFilter& f) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM audit_events WHERE seq > $1";
  std::vector<SqlValue> params{f.after_seq};
  auto add = [&](const std::string& cond, SqlValue v) {
    params.push_back(std::move(v));
    sql += " AND " + cond + " $" + std::to_string(params.size());
  };
  if (f.subject_id) add("subject_id =", std::to_string(*f.subject_id));
  if (f.user) add("username =", *f.user);
  if (f.from) add("at >=", *f.from);
  if (f.to) add("at <=", *f.to);
  sql += " ORDER BY seq LIMIT " + std::to_string(std::clamp(f.limit, 1, 100000));
  auto rows = (*tx)->Query(sql, params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<AuditEvent> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(EventFromRow(r));
  return out;
}

Result<VerifyReport> TrialStore::VerifyAudit() {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  VerifyReport report;
  auto bad = [&](int64_t seq, std::string what) {
    if (!report.ok) return;
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(what);
  };
  // 1. The chain: consecutive numbers, each event linked to and hashing over its predecessor.
  std::map<int64_t, std::string> new_values;  // seq -> new_value, for the row checks
  std::map<int64_t, std::string> entities;    // seq -> entity
  std::string prev = kGenesis;
  int64_t expected = 1;
  const int64_t kPage = 5000;
  while (report.ok) {
    auto rows = (*tx)->Query(std::string("SELECT ") + kEventColumns +
                                 " FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT " +
                                 std::to_string(kPage),
                             {expected});
    if (!rows) return std::unexpected(rows.error());
    for (const auto& r : *rows) {
      AuditEvent e = EventFromRow(r);
      if (e.seq != expected) {
        bad(expected, "event " + std::to_string(expected) + " is missing (the next is " +
                          std::to_string(e.seq) + ")");
        break;
      }
      if (e.prev_hash != prev) {
        bad(e.seq, "event " + std::to_string(e.seq) +
                       " does not link to the event before it (prev_hash differs)");
        break;
      }
      if (Sha256Hex(HashInput(e)) != e.hash) {
        bad(e.seq, "event " + std::to_string(e.seq) + " (" + e.action + " " + e.entity_id +
                       ") was changed after it was written (its hash does not match)");
        break;
      }
      new_values[e.seq] = e.new_value;
      entities[e.seq] = e.entity;
      prev = e.hash;
      ++expected;
      ++report.events_checked;
    }
    if (static_cast<int64_t>(rows->size()) < kPage) break;
  }
  if (!report.ok) return report;
  auto head = (*tx)->Query("SELECT seq, hash FROM audit_head WHERE id = 1");
  if (!head) return std::unexpected(head.error());
  if (head->empty() || (*head)[0].Int(0) != report.events_checked || (*head)[0].Text(1) != prev) {
    int64_t head_seq = head->empty() ? 0 : (*head)[0].Int(0);
    bad(report.events_checked + 1,
        "the chain ends at event " + std::to_string(report.events_checked) + " but its head says " +
            std::to_string(head_seq) +
            (head_seq > report.events_checked ? ": events were removed" : ""));
    return report;
  }
  // 2. The data: every row must equal what the event that wrote it recorded.
  std::set<int64_t> rows_seen;
  auto check = [&](int64_t seq, const std::string& entity, const json& row,
                   const std::string& what) {
    rows_seen.insert(seq);
    auto it = new_values.find(seq);
    if (it == new_values.end() || entities[seq] != entity) {
      bad(seq, what + " refers to audit event " + std::to_string(seq) + ", which did not write it");
      return;
    }
    if (Canonical(row) != it->second) {
      bad(seq, what + " was changed behind the system's back: it differs from audit event " +
                   std::to_string(seq));
    }
  };
  auto query = [&](const char* sql) -> Result<std::vector<Row>> { return (*tx)->Query(sql); };
  auto sites = query("SELECT id, name, audit_seq FROM sites");
  if (!sites) return std::unexpected(sites.error());
  for (const auto& r : *sites) {
    check(r.Int(2), "site", SiteJson(Site{r.Text(0), r.Text(1)}), "site " + r.Text(0));
  }
  auto users = query("SELECT username, display_name, role, sites, audit_seq FROM users");
  if (!users) return std::unexpected(users.error());
  for (const auto& r : *users) {
    json j = {{"username", r.Text(0)},
              {"display_name", r.Text(1)},
              {"role", r.Text(2)},
              {"sites", SplitSites(r.Text(3))}};
    check(r.Int(4), "user", j, "user " + r.Text(0));
  }
  auto subjects =
      query("SELECT id, site_id, screening_number, created_at, audit_seq FROM subjects");
  if (!subjects) return std::unexpected(subjects.error());
  for (const auto& r : *subjects) {
    Subject s;
    s.id = r.Int(0);
    s.site_id = r.Text(1);
    s.screening_number = r.Text(2);
    s.created_at = r.Text(3);
    check(r.Int(4), "subject", SubjectJson(s), "subject " + r.Text(0));
  }
  auto statuses = query("SELECT subject_id, version, status, at, audit_seq FROM subject_status");
  if (!statuses) return std::unexpected(statuses.error());
  for (const auto& r : *statuses) {
    check(r.Int(4), "subject_status",
          StatusJson(r.Int(0), static_cast<int>(r.Int(1)), r.Text(2), r.Text(3)),
          "status " + r.Text(1) + " of subject " + r.Text(0));
  }
  auto screenings = query(
      "SELECT id, subject_id, bundle, bundle_sha256, protocol_id, protocol_version, "
      "screening_date, randomization_date, verdict, results, created_at, username, audit_seq "
      "FROM screenings");
  if (!screenings) return std::unexpected(screenings.error());
  for (const auto& r : *screenings) {
    ScreeningRecord s;
    s.id = r.Int(0);
    s.subject_id = r.Int(1);
    s.bundle_sha256 = Sha256Hex(r.Text(2));  // the stored bundle must still hash the same
    s.protocol_id = r.Text(4);
    s.protocol_version = r.Text(5);
    s.screening_date = Date::Parse(r.Text(6)).value_or(Date());
    s.randomization_date = Date::Parse(r.Text(7)).value_or(Date());
    s.verdict = r.Text(8);
    s.results_json = r.Text(9);
    s.created_at = r.Text(10);
    s.user = r.Text(11);
    json j = ScreeningJson(s);
    j["screening_date"] = r.Text(6);
    j["randomization_date"] = r.Text(7);
    check(r.Int(12), "screening", j, "screening " + r.Text(0));
  }
  auto items = query(
      "SELECT subject_id, visit, form, rep, item, version, value, at, audit_seq FROM item_data");
  if (!items) return std::unexpected(items.error());
  for (const auto& r : *items) {
    ItemVersion v;
    v.key = ItemKey{r.Int(0), r.Text(1), r.Text(2), static_cast<int>(r.Int(3)), r.Text(4)};
    v.version = static_cast<int>(r.Int(5));
    v.value = r.Text(6);
    v.at = r.Text(7);
    check(r.Int(8), "item", ItemJson(v),
          "item " + ItemId(v.key) + " version " + std::to_string(v.version));
  }
  // Randomization (migrations 2, 3): the slots grouped by the event that wrote them: go-live
  // (with the setup row, through SlotsSha256), each extension, and under minimization each
  // allocation (its drawn arm); each unblinding with the notifications it queued.
  auto setup = query("SELECT seed_hex, design, commitment, golive_at, audit_seq FROM rand_setup");
  if (!setup) return std::unexpected(setup.error());
  auto slots = query("SELECT stratum, position, block, block_size, arm, audit_seq FROM rand_slots");
  if (!slots) return std::unexpected(slots.error());
  std::map<int64_t, std::vector<RandSlot>> slots_by_seq;
  for (const auto& r : *slots) {
    slots_by_seq[r.Int(5)].push_back(RandSlot{r.Text(0), static_cast<int>(r.Int(1)),
                                              static_cast<int>(r.Int(2)),
                                              static_cast<int>(r.Int(3)), r.Text(4), r.Int(5)});
  }
  std::set<int64_t> slot_seqs_checked;
  for (const auto& r : *setup) {
    const auto& golive_slots = slots_by_seq[r.Int(4)];
    slot_seqs_checked.insert(r.Int(4));
    check(r.Int(4), "randomization",
          detail::GoLiveJson(r.Text(0), r.Text(1), r.Text(2), r.Text(3), golive_slots),
          "the randomization go-live record or one of its " + std::to_string(golive_slots.size()) +
              " slots");
  }
  auto extensions = query("SELECT id, commitment, at, audit_seq FROM rand_extensions");
  if (!extensions) return std::unexpected(extensions.error());
  for (const auto& r : *extensions) {
    slot_seqs_checked.insert(r.Int(3));
    check(r.Int(3), "randomization_extension",
          detail::ExtensionJson(r.Int(0), r.Text(1), r.Text(2), slots_by_seq[r.Int(3)]),
          "list extension " + r.Text(0) + " or one of its slots");
  }
  auto allocations = query(
      "SELECT a.subject_id, a.randomization_number, a.stratum, a.position, a.request_id, a.at, "
      "a.username, a.audit_seq, s.arm FROM allocations a LEFT JOIN rand_slots s ON s.stratum = "
      "a.stratum AND s.position = a.position AND s.audit_seq = a.audit_seq");
  if (!allocations) return std::unexpected(allocations.error());
  for (const auto& r : *allocations) {
    Allocation a{r.Int(0),  r.Text(1), r.Text(2), static_cast<int>(r.Int(3)),
                 r.Text(4), r.Text(5), r.Text(6), ""};
    if (!r.IsNull(8)) slot_seqs_checked.insert(r.Int(7));  // the slot its minimization drew
    check(r.Int(7), "allocation", detail::AllocationJson(a, r.IsNull(8) ? "" : r.Text(8)),
          "the allocation of subject " + r.Text(0));
  }
  for (const auto& [seq, list] : slots_by_seq) {
    if (!slot_seqs_checked.count(seq) || (list.size() > 1 && entities[seq] == "allocation")) {
      bad(seq, "slot " + std::to_string(list.front().position) + " of stratum " +
                   list.front().stratum + " refers to audit event " + std::to_string(seq) +
                   ", which did not write it");
    }
  }
  auto notes = query(
      "SELECT id, kind, recipient, body, created_at, audit_seq FROM notifications ORDER BY id");
  if (!notes) return std::unexpected(notes.error());
  std::map<int64_t, std::vector<detail::NotificationRow>> notes_by_seq;
  for (const auto& r : *notes) {
    notes_by_seq[r.Int(5)].push_back(
        detail::NotificationRow{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4)});
  }
  auto unblindings = query(
      "SELECT u.id, u.subject_id, u.username, u.reason, u.at, u.audit_seq, s.arm FROM "
      "unblindings u LEFT JOIN allocations a ON a.subject_id = u.subject_id LEFT JOIN rand_slots "
      "s ON s.stratum = a.stratum AND s.position = a.position");
  if (!unblindings) return std::unexpected(unblindings.error());
  std::set<int64_t> unblind_seqs;
  for (const auto& r : *unblindings) {
    unblind_seqs.insert(r.Int(5));
    check(r.Int(5), "unblinding",
          detail::UnblindJson(r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(6),
                              notes_by_seq[r.Int(5)]),
          "unblinding " + r.Text(0) + " (or a notification it queued)");
  }
  for (const auto& [seq, list] : notes_by_seq) {
    // SAE notifications are rows of their own events (safety_store.cc checks them).
    if (!unblind_seqs.count(seq) && entities[seq] != "notification") {
      bad(seq, "notification " + std::to_string(list.front().id) + " refers to audit event " +
                   std::to_string(seq) + ", which did not write it");
    }
  }
  // Drug kits (migration 3): kits, shipments and dispensings against the events that wrote them.
  auto kits = detail::VerifyKitRows(**tx, new_values, entities);
  if (!kits) return std::unexpected(kits.error());
  if (*kits) bad((*kits)->seq, (*kits)->what);
  // Visits, doses, deviations, queries, reviews and signatures (migration 4).
  auto visits = detail::VerifyVisitRows(**tx, new_values, entities);
  if (!visits) return std::unexpected(visits.error());
  if (*visits) bad((*visits)->seq, (*visits)->what);
  // Adverse events, SAE reports, alerts, SAE notifications and deliveries (migration 5).
  auto safety = detail::VerifySafetyRows(**tx, new_values, entities);
  if (!safety) return std::unexpected(safety.error());
  if (*safety) bad((*safety)->seq, (*safety)->what);
  // 3. Nothing written is gone: every event that created a row still has its row.
  static const std::set<std::string> kRowEntities = {
      "site", "user",          "subject",    "subject_status", "screening",
      "item", "randomization", "allocation", "unblinding",     "randomization_extension"};
  for (const auto& [seq, entity] : entities) {
    if (kRowEntities.count(entity) && !rows_seen.count(seq)) {
      bad(seq, "the " + entity + " written by audit event " + std::to_string(seq) +
                   " is missing from the database (deleted behind the system's back)");
      break;
    }
  }
  return report;
}

}  // namespace trial::store
