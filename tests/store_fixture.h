// The two-backend fixture of the store suites (store_test.cc, randomization_store_test.cc,
// kit_store_test.cc, visit_store_test.cc):
//   sqlite    a fresh database file in a temporary folder per test; "restart" destroys the
//             TrialStore (closing the file) and opens the file again;
//   postgres  a fresh database per test (CREATE DATABASE on the server in TRIAL_TEST_PG_URL,
//             dropped at the end); "restart" reconnects. Without TRIAL_TEST_PG_URL these tests
//             skip with the reason, or fail under `make test` (src/store/postgres/test_cluster.h).
// Include from one test file each (it defines helpers in an unnamed namespace).
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/date.h"
#include "store/postgres/postgres.h"
#include "store/postgres/test_cluster.h"
#include "store/postgres/test_database.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

namespace trial::store {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// Fails the test (without ending it) unless `expr` failed with `code` and a message holding
// `part`.
#define EXPECT_FAILS(expr, code_, part)                                         \
  do {                                                                          \
    auto r_ = (expr);                                                           \
    EXPECT_FALSE(r_.has_value()) << #expr << " succeeded";                      \
    if (!r_.has_value()) {                                                      \
      EXPECT_EQ(r_.error().code, code_) << #expr << ": " << r_.error().message; \
      EXPECT_THAT(r_.error().message, HasSubstr(part)) << #expr;                \
    }                                                                           \
  } while (0)

// The value of a successful `expr`; a test failure (and a default value) otherwise.
template <class T>
T Ok(Result<T> r, const char* expr, const char* file, int line) {
  if (!r.has_value()) {
    ADD_FAILURE_AT(file, line) << expr << ": " << r.error().message;
    if constexpr (!std::is_void_v<T>) return T{};
  } else if constexpr (!std::is_void_v<T>) {
    return std::move(*r);
  }
}
#define OK(expr) Ok((expr), #expr, __FILE__, __LINE__)

[[maybe_unused]] AuditFilter F(std::optional<int64_t> subject, std::optional<std::string> user = {},
                               std::optional<std::string> from = {},
                               std::optional<std::string> to = {}, int64_t after_seq = 0,
                               int limit = 1000) {
  AuditFilter f;
  f.subject_id = subject;
  f.user = std::move(user);
  f.from = std::move(from);
  f.to = std::move(to);
  f.after_seq = after_seq;
  f.limit = limit;
  return f;
}

// A deterministic clock shared by every TrialStore of a test (thread-safe): 2026-07-01 plus one
// second per call, so instants are distinct, ordered, and easy to filter on.
std::string Instant(int64_t n) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "2026-07-%02lldT%02lld:%02lld:%02lld.000000Z",
                static_cast<long long>(1 + n / 86400), static_cast<long long>(n / 3600 % 24),
                static_cast<long long>(n / 60 % 60), static_cast<long long>(n % 60));
  return buf;
}

// Every table, for Snapshot().
const char* kTables[] = {"audit_events",   "sites",           "users",       "subjects",
                         "subject_status", "screenings",      "item_data",   "schema_info",
                         "rand_setup",     "rand_slots",      "allocations", "unblindings",
                         "notifications",  "rand_extensions", "kits",        "shipments",
                         "dispensings",    "visits",          "deviations",  "doses",
                         "queries",        "item_reviews",    "signatures",  "signature_voids"};

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      std::string tmpl = (fs::temp_directory_path() / "trial-store-XXXXXX").string();
      ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      path_ = (dir_ / "trial.db").string();
    } else {
      TRIAL_TEST_PG_URL_OR_SKIP(url);
      server_url_ = url;
      std::random_device rd;
      db_name_ = "t_" + std::to_string(getpid()) + "_" + std::to_string(rd() % 1000000000);
      std::string error = PgAdminExec(server_url_, "CREATE DATABASE " + db_name_);
      ASSERT_EQ(error, "") << "CREATE DATABASE " << db_name_;
      path_ = WithDatabase(server_url_, db_name_);
    }
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }

  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    if (!db_name_.empty()) {
      std::string error =
          PgAdminExec(server_url_, "DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)");
      EXPECT_EQ(error, "") << "DROP DATABASE " << db_name_;
    }
  }

  bool Postgres() const { return GetParam() == "postgres"; }

  std::unique_ptr<Connection> OpenConnection() {
    Result<std::unique_ptr<Connection>> c =
        Postgres() ? OpenPostgres(path_) : OpenSqlite(path_, SqliteOptions{});
    EXPECT_TRUE(c.has_value()) << c.error().message;
    return c.has_value() ? std::move(*c) : nullptr;
  }

  Clock TestClock() {
    auto tick = tick_;
    return [tick] { return Instant(tick->fetch_add(1) + 1); };
  }
  // The instant the clock will return next.
  std::string NextInstant() const { return Instant(tick_->load() + 1); }

  std::unique_ptr<TrialStore> OpenStore() {
    auto c = OpenConnection();
    if (c == nullptr) return nullptr;
    return std::make_unique<TrialStore>(std::move(c), TestClock());
  }

  // Closes the store (SQLite: the file; PostgreSQL: the connection) and opens it again.
  void Restart() {
    store_.reset();
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
    auto checked = store_->Check();
    ASSERT_TRUE(checked.has_value()) << checked.error().message;
  }

  // Raw SQL in its own committed write transaction, behind the store's back.
  std::vector<Row> Sql(const std::string& sql, const std::vector<SqlValue>& params = {}) {
    auto tx = store_->connection().Begin(true);
    EXPECT_TRUE(tx.has_value()) << tx.error().message;
    if (!tx) return {};
    // Several statements separated by "; " run one by one (PostgreSQL prepares one at a time).
    std::vector<std::string> statements;
    for (size_t at = 0; at != std::string::npos;) {
      size_t end = params.empty() ? sql.find("; ", at) : std::string::npos;
      statements.push_back(sql.substr(at, end == std::string::npos ? end : end - at));
      at = end == std::string::npos ? end : end + 2;
    }
    Result<std::vector<Row>> rows;
    for (const auto& statement : statements) {
      rows = (*tx)->Query(statement, params);
      EXPECT_TRUE(rows.has_value()) << statement << ": " << rows.error().message;
      if (!rows) return {};
    }
    auto c = (*tx)->Commit();
    EXPECT_TRUE(c.has_value()) << c.error().message;
    return rows.value_or(std::vector<Row>{});
  }
  int64_t Count(const std::string& table) {
    auto rows = Sql("SELECT count(*) FROM " + table);
    return rows.empty() ? -1 : rows[0].Int(0);
  }
  int64_t EventCount() { return Count("audit_events"); }

  // Everything a refused write must leave as it was.
  std::string Snapshot() {
    std::string out;
    for (const char* t : kTables) out += std::string(t) + "=" + std::to_string(Count(t)) + " ";
    auto head = Sql("SELECT seq, hash FROM audit_head");
    for (const auto& r : head) out += "head=" + r.Text(0) + ":" + r.Text(1);
    auto statuses =
        Sql("SELECT subject_id, max(version) FROM subject_status GROUP BY subject_id "
            "ORDER BY subject_id");
    for (const auto& r : statuses) out += " s" + r.Text(0) + "v" + r.Text(1);
    return out;
  }

  std::vector<AuditEvent> AllEvents() {
    AuditFilter f;
    f.limit = 100000;
    auto events = store_->AuditEvents(f);
    EXPECT_TRUE(events.has_value()) << events.error().message;
    return events.value_or(std::vector<AuditEvent>{});
  }
  AuditEvent LastEvent() {
    auto all = AllEvents();
    return all.empty() ? AuditEvent{} : all.back();
  }

  VerifyReport Verify() {
    auto r = store_->VerifyAudit();
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.value_or(VerifyReport{0, false, -1, "VerifyAudit failed"});
  }
  void ExpectIntact() {
    VerifyReport r = Verify();
    EXPECT_TRUE(r.ok) << "event " << r.first_bad_seq << ": " << r.problem;
    EXPECT_EQ(r.events_checked, EventCount());
  }

  // admin, sites S1 and S2, coordinator `coord` at S1, data manager `dm`, subject S1-001.
  void Populate() {
    ASSERT_TRUE(store_->Init().has_value());
    ASSERT_TRUE(store_->CreateFirstAdministrator("admin", "Ada Admin").has_value());
    ASSERT_TRUE(store_->AddSite("admin", Site{"S1", "Site One"}).has_value());
    ASSERT_TRUE(store_->AddSite("admin", Site{"S2", "Site Two"}).has_value());
    ASSERT_TRUE(
        store_->AddUser("admin", User{"coord", "Cora", Role::kCoordinator, {"S1"}}).has_value());
    ASSERT_TRUE(store_->AddUser("admin", User{"dm", "Dan", Role::kDataManager, {}}).has_value());
    auto s = store_->AddSubject("coord", "S1", "S1-001");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    subject_ = s->id;
  }

  ScreeningRecord Screening(int64_t subject, const std::string& verdict,
                            const std::string& bundle = R"({"resourceType":"Bundle"})") {
    ScreeningRecord r;
    r.subject_id = subject;
    r.bundle_json = bundle;
    r.protocol_id = "TRIAL-01";
    r.protocol_version = "1.0";
    r.screening_date = *Date::FromYmd(2026, 7, 6);
    r.randomization_date = *Date::FromYmd(2026, 7, 13);
    r.verdict = verdict;
    r.results_json = R"([{"id":"IN1","result":"met"}])";
    return r;
  }

  SubjectStatus StatusOf(int64_t subject) {
    auto s = store_->FindSubject(subject);
    EXPECT_TRUE(s.has_value() && s->has_value());
    return s.has_value() && s->has_value() ? (**s).status : SubjectStatus::kScreening;
  }

  fs::path dir_;
  std::string server_url_;
  std::string db_name_;
  std::string path_;  // SQLite file or PostgreSQL URL of this test's database
  std::shared_ptr<std::atomic<int64_t>> tick_ = std::make_shared<std::atomic<int64_t>>(0);
  std::unique_ptr<TrialStore> store_;
  int64_t subject_ = 0;
};

std::string ParamName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace
}  // namespace trial::store
