// The demo database of `make run` (app/demo.h, docs/demo.md) on both backends (store_fixture.h):
// built once per test through app::CreateDemoDatabase, then read back through the store: every
// role has a user, three sites, subjects at every stage, an open query, an SAE report, an open
// alert, an intact audit trail; a second call is refused and writes nothing.
#include "app/demo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "app/wiring.h"
#include "core/date.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

const char* kProtocolDir = "protocols/promis-mda5";

// The example bundles: $TRIAL_SHARED/fhir/examples (set by trial_test), else ../shared.
std::string ExamplesDir() {
  const char* env = std::getenv("TRIAL_SHARED");
  const fs::path shared(env != nullptr && *env != '\0' ? env : "../shared");
  return (shared / "fhir" / "examples").string();
}

const Date kToday = *Date::FromYmd(2026, 11, 20);

class DemoTest : public StoreTest {
 protected:
  Result<app::DemoSummary> Create() {
    return app::CreateDemoDatabase(path_, app::ProductionEnvironment(), kToday, kProtocolDir,
                                   ExamplesDir());
  }
};

TEST_P(DemoTest, BuildsEveryStageAndRefusesASecondRun) {
  ASSERT_TRUE(std::filesystem::is_directory(ExamplesDir())) << ExamplesDir();
  auto summary = Create();
  ASSERT_TRUE(summary.has_value()) << summary.error().message;

  // Every role has a user, as the summary says.
  std::set<std::string> roles;
  for (const auto& u : summary->users) {
    auto found = OK(store_->FindUser(u.username));
    ASSERT_TRUE(found.has_value()) << u.username;
    EXPECT_EQ(RoleName(found->role), u.role) << u.username;
    EXPECT_EQ(found->display_name, u.display_name) << u.username;
    EXPECT_EQ(found->sites, u.sites) << u.username;
    roles.insert(RoleName(found->role));
  }
  EXPECT_EQ(roles, (std::set<std::string>{"administrator", "investigator", "coordinator",
                                          "unblinded_pharmacist", "monitor", "data_manager",
                                          "blinded_statistician", "unblinded_statistician",
                                          "dsmb_member", "sponsor_viewer"}));

  // Three sites.
  auto sites = OK(store_->Sites());
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(summary->sites, (std::vector<std::string>{"PUMCH", "RJH", "WCH"}));
  for (const auto& s : sites) EXPECT_FALSE(s.name.empty()) << s.id;

  // Subjects at every stage, on every site.
  auto subjects = OK(store_->Subjects(std::nullopt));
  EXPECT_EQ(static_cast<int>(subjects.size()), summary->subjects);
  EXPECT_GE(subjects.size(), 10u);
  EXPECT_LE(subjects.size(), 14u);
  std::map<std::string, int> by_status;
  std::set<std::string> with_subjects;
  for (const auto& s : subjects) {
    ++by_status[StatusName(s.status)];
    with_subjects.insert(s.site_id);
  }
  for (const char* status : {"screening", "screen_failed", "eligible", "randomized", "completed"}) {
    EXPECT_GE(by_status[status], 1) << status;
  }
  EXPECT_EQ(with_subjects.size(), 3u);

  // A randomized subject has its D0 and W2 visits and doses; a completed one all its visits.
  int64_t on_treatment = 0, completed = 0;
  for (const auto& s : subjects) {
    if (s.status == SubjectStatus::kRandomized && on_treatment == 0) on_treatment = s.id;
    if (s.status == SubjectStatus::kCompleted && completed == 0) completed = s.id;
  }
  EXPECT_GE(OK(store_->Visits(on_treatment)).size(), 2u);
  EXPECT_GE(OK(store_->Doses(on_treatment)).size(), 2u);
  EXPECT_EQ(OK(store_->Visits(completed)).size(), 6u);  // D0, W2, W4, W6, W8, SFU
  EXPECT_EQ(OK(store_->Doses(completed)).size(), 4u);
  EXPECT_GE(OK(store_->Dispensings(completed)).size(), 4u);

  // At least one open query, opened by an edit check (a soft-range lab value).
  QueryFilter open_queries;
  open_queries.status = "open";
  auto queries = OK(store_->Queries(open_queries));
  ASSERT_FALSE(queries.empty());
  bool soft_lab = false;
  for (const auto& q : queries) {
    soft_lab = soft_lab || (q.key.form == "safety_labs" && q.edit_check.ends_with(".soft"));
  }
  EXPECT_TRUE(soft_lab);

  // A serious AE with its initial report; one open safety alert.
  auto reports = OK(store_->SaeReports(std::nullopt));
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports[0].kind, "initial");
  EXPECT_TRUE(reports[0].on_time);
  AlertFilter open_alerts;
  open_alerts.status = "open";
  EXPECT_FALSE(OK(store_->Alerts(open_alerts)).empty());

  // `trial audit verify` passes.
  ExpectIntact();

  // The second call is refused and writes nothing.
  const std::string before = Snapshot();
  auto again = Create();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidInput);
  EXPECT_THAT(again.error().message, HasSubstr("already initialised"));
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(DemoTest, AMissingExampleFolderFailsNamingTheCommandAndFile) {
  auto r = app::CreateDemoDatabase(path_, app::ProductionEnvironment(), kToday, kProtocolDir,
                                   "/nonexistent-examples");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent-examples/eligible-male.json"));
}

TEST_P(DemoTest, AFailingCommandFailsTheDemoNamingIt) {
  auto r = app::CreateDemoDatabase(path_, app::ProductionEnvironment(), kToday,
                                   "/nonexistent-protocol", ExamplesDir());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);  // exit 3: the protocol folder
  EXPECT_THAT(r.error().message, HasSubstr("demo: `trial randomization golive --user admin"));
  EXPECT_THAT(r.error().message, HasSubstr("failed (exit 3)"));
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent-protocol"));
}

INSTANTIATE_TEST_SUITE_P(Backends, DemoTest, ::testing::Values("sqlite", "postgres"), ParamName);

}  // namespace
}  // namespace trial::store
