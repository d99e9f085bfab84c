// The trial store's use cases (store/store.h), run as ONE suite against both backends:
//   sqlite    a fresh database file in a temporary folder per test; "restart" destroys the
//             TrialStore (closing the file) and opens the file again;
//   postgres  a fresh database per test (CREATE DATABASE on the server in TRIAL_TEST_PG_URL,
//             dropped at the end); "restart" reconnects. Without TRIAL_TEST_PG_URL these tests
//             skip with the reason, or fail under `make test` (src/store/postgres/test_cluster.h).
// Every write is checked for what it stores, what it appends to the audit chain, and that a
// refused write changes nothing. Tamper tests edit rows behind the store's back with raw SQL.
#include "store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store_fixture.h"

namespace trial::store {
namespace {

// ---- schema ----------------------------------------------------------------------------------

TEST_P(StoreTest, InitIsIdempotent) {
  OK(store_->Init());
  EXPECT_EQ(EventCount(), TrialStore::kSchemaVersion);  // one schema.migrate per version
  OK(store_->Init());
  Restart();
  OK(store_->Init());
  OK(store_->Check());
  EXPECT_EQ(EventCount(), TrialStore::kSchemaVersion);
  EXPECT_EQ(Count("schema_info"), TrialStore::kSchemaVersion);
  auto all = AllEvents();
  ASSERT_EQ(all.size(), static_cast<size_t>(TrialStore::kSchemaVersion));
  for (const auto& e : all) {
    EXPECT_EQ(e.action, "schema.migrate");
    EXPECT_EQ(e.user, "system");
    EXPECT_EQ(e.role, "system");
  }
  EXPECT_EQ(all[0].prev_hash, std::string(64, '0'));
  EXPECT_EQ(all[0].new_value, R"({"version":1})");
  EXPECT_EQ(all[1].old_value, R"({"version":1})");
  EXPECT_EQ(all[1].new_value, R"({"version":2})");
  EXPECT_EQ(all[2].old_value, R"({"version":2})");
  EXPECT_EQ(all[2].new_value, R"({"version":3})");
  ExpectIntact();
}

TEST_P(StoreTest, CheckOnUninitialisedDatabase) {
  EXPECT_FAILS(store_->Check(), ErrorCode::kNotFound, "run 'trial init'");
  store_.reset();
  store_ = OpenStore();
  EXPECT_FAILS(store_->Check(), ErrorCode::kNotFound, "not initialised");
}

TEST_P(StoreTest, NewerSchemaIsRefused) {
  OK(store_->Init());
  Sql("INSERT INTO schema_info (version, applied_at) VALUES (99, '2030-01-01T00:00:00Z')");
  store_.reset();
  store_ = OpenStore();
  EXPECT_FAILS(store_->Check(), ErrorCode::kInvalidInput, "database schema 99 is newer");
  std::string before = Snapshot();
  EXPECT_FAILS(store_->Init(), ErrorCode::kInvalidInput, "newer");
  EXPECT_EQ(Snapshot(), before);
}

// ---- users and sites -------------------------------------------------------------------------

TEST_P(StoreTest, FirstAdministratorOnlyOnce) {
  OK(store_->Init());
  User u = OK(store_->CreateFirstAdministrator("admin", ""));
  EXPECT_EQ(u.role, Role::kAdministrator);
  EXPECT_EQ(u.display_name, "admin");
  Restart();
  std::string before = Snapshot();
  EXPECT_FAILS(store_->CreateFirstAdministrator("other", "Other"), ErrorCode::kInvalidInput,
               "already has users");
  EXPECT_FAILS(store_->CreateFirstAdministrator("admin", "Again"), ErrorCode::kInvalidInput,
               "already has users");
  EXPECT_EQ(Snapshot(), before);
  auto found = OK(store_->FindUser("admin"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, Role::kAdministrator);
  EXPECT_FALSE(OK(store_->FindUser("other")).has_value());
  auto e = LastEvent();
  EXPECT_EQ(e.action, "user.add");
  EXPECT_EQ(e.user, "system");
  EXPECT_EQ(e.reason, "first administrator");
  ExpectIntact();
}

TEST_P(StoreTest, RoleNamesRoundTrip) {
  for (Role r :
       {Role::kAdministrator, Role::kInvestigator, Role::kCoordinator, Role::kUnblindedPharmacist,
        Role::kMonitor, Role::kDataManager, Role::kBlindedStatistician,
        Role::kUnblindedStatistician, Role::kDsmbMember, Role::kSponsorViewer}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r) << RoleName(r);
  }
  EXPECT_FALSE(ParseRole("system").has_value());  // reserved for the system itself
  EXPECT_FALSE(ParseRole("chief").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

TEST_P(StoreTest, SitesAndUsers) {
  OK(store_->Init());
  OK(store_->CreateFirstAdministrator("admin", "Ada"));
  OK(store_->AddSite("admin", Site{"S2", "Site Two"}));
  OK(store_->AddSite("admin", Site{"S1", "Site One"}));
  Restart();
  auto sites = OK(store_->Sites());
  ASSERT_EQ(sites.size(), 2u);
  EXPECT_EQ(sites[0].id, "S1");
  EXPECT_EQ(sites[0].name, "Site One");
  EXPECT_EQ(sites[1].id, "S2");

  // Site-scoped roles need sites (sorted, de-duplicated); the others must have none.
  User inv =
      OK(store_->AddUser("admin", User{"inv", "Ivy", Role::kInvestigator, {"S2", "S1", "S2"}}));
  EXPECT_EQ(inv.sites, (std::vector<std::string>{"S1", "S2"}));
  OK(store_->AddUser("admin", User{"pharm", "", Role::kUnblindedPharmacist, {"S1"}}));
  OK(store_->AddUser("admin", User{"mon", "Mo", Role::kMonitor, {"S2"}}));
  OK(store_->AddUser("admin", User{"stat", "St", Role::kBlindedStatistician, {}}));
  OK(store_->AddUser("admin", User{"admin2", "A2", Role::kAdministrator, {}}));
  Restart();
  auto found = OK(store_->FindUser("inv"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, Role::kInvestigator);
  EXPECT_EQ(found->display_name, "Ivy");
  EXPECT_EQ(found->sites, (std::vector<std::string>{"S1", "S2"}));
  auto pharm = OK(store_->FindUser("pharm"));
  ASSERT_TRUE(pharm.has_value());
  EXPECT_EQ(pharm->display_name, "pharm");
  EXPECT_EQ(pharm->role, Role::kUnblindedPharmacist);
  // A second administrator may add users too.
  OK(store_->AddUser("admin2", User{"dm", "Dee", Role::kDataManager, {}}));

  std::string before = Snapshot();
  EXPECT_FAILS(store_->AddUser("admin", User{"c", "", Role::kCoordinator, {}}),
               ErrorCode::kInvalidArgument, "--sites");
  EXPECT_FAILS(store_->AddUser("admin", User{"d", "", Role::kDataManager, {"S1"}}),
               ErrorCode::kInvalidArgument, "omit --sites");
  EXPECT_FAILS(store_->AddUser("admin", User{"x", "", Role::kSystem, {}}),
               ErrorCode::kInvalidArgument, "reserved");
  EXPECT_FAILS(store_->AddUser("admin", User{"c", "", Role::kCoordinator, {"S9"}}),
               ErrorCode::kNotFound, "unknown site 'S9'");
  EXPECT_FAILS(store_->AddUser("admin", User{"inv", "", Role::kMonitor, {"S1"}}),
               ErrorCode::kInvalidInput, "user 'inv' already exists");
  EXPECT_FAILS(store_->AddUser("admin", User{"", "", Role::kDataManager, {}}),
               ErrorCode::kInvalidArgument, "username");
  EXPECT_FAILS(store_->AddSite("admin", Site{"S1", "Again"}), ErrorCode::kInvalidInput,
               "site 'S1' already exists");
  EXPECT_FAILS(store_->AddSite("admin", Site{"", "No id"}), ErrorCode::kInvalidArgument, "site id");
  EXPECT_FAILS(store_->AddSite("admin", Site{"S3", " "}), ErrorCode::kInvalidArgument, "site name");
  // Only administrators add sites and users.
  EXPECT_FAILS(store_->AddSite("inv", Site{"S3", "Three"}), ErrorCode::kPermissionDenied,
               "administrators only");
  EXPECT_FAILS(store_->AddSite("dm", Site{"S3", "Three"}), ErrorCode::kPermissionDenied,
               "administrators only");
  EXPECT_FAILS(store_->AddUser("mon", User{"z", "", Role::kDataManager, {}}),
               ErrorCode::kPermissionDenied, "administrators only");
  // Unknown or missing acting user.
  EXPECT_FAILS(store_->AddSite("nobody", Site{"S3", "Three"}), ErrorCode::kNotFound,
               "unknown user 'nobody'");
  EXPECT_FAILS(store_->AddSite("", Site{"S3", "Three"}), ErrorCode::kInvalidArgument, "--user");
  EXPECT_EQ(Snapshot(), before);
  ExpectIntact();
}

// ---- subjects --------------------------------------------------------------------------------

TEST_P(StoreTest, Subjects) {
  Populate();
  Restart();
  auto first = OK(store_->FindSubject(subject_));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->site_id, "S1");
  EXPECT_EQ(first->screening_number, "S1-001");
  EXPECT_EQ(first->status, SubjectStatus::kScreening);
  EXPECT_FALSE(first->created_at.empty());

  // The same screening number at another site is another subject.
  Subject other = OK(store_->AddSubject("admin", "S2", "S1-001"));
  EXPECT_NE(other.id, subject_);
  Subject second = OK(store_->AddSubject("dm", "S1", "S1-002"));
  EXPECT_GT(second.id, other.id);
  Restart();
  auto by_number = OK(store_->FindSubjectByNumber("S2", "S1-001"));
  ASSERT_TRUE(by_number.has_value());
  EXPECT_EQ(by_number->id, other.id);
  EXPECT_FALSE(OK(store_->FindSubjectByNumber("S2", "S1-002")).has_value());
  EXPECT_FALSE(OK(store_->FindSubject(999)).has_value());
  auto all = OK(store_->Subjects(std::nullopt));
  EXPECT_EQ(all.size(), 3u);
  auto s1 = OK(store_->Subjects(std::string("S1")));
  ASSERT_EQ(s1.size(), 2u);
  EXPECT_EQ(s1[0].screening_number, "S1-001");
  EXPECT_EQ(s1[1].screening_number, "S1-002");

  // A subject is audited twice: its creation and its first status.
  auto events = OK(store_->AuditEvents(F(second.id)));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].action, "subject.add");
  EXPECT_EQ(events[0].user, "dm");
  EXPECT_EQ(events[0].role, "data_manager");
  EXPECT_EQ(events[1].action, "subject.status");
  EXPECT_THAT(events[1].new_value, HasSubstr("\"status\":\"screening\""));

  std::string before = Snapshot();
  EXPECT_FAILS(store_->AddSubject("coord", "S1", "S1-001"), ErrorCode::kInvalidInput,
               "screening number 'S1-001' is already used at site 'S1'");
  EXPECT_FAILS(store_->AddSubject("coord", "S9", "X"), ErrorCode::kNotFound, "unknown site 'S9'");
  EXPECT_FAILS(store_->AddSubject("ghost", "S1", "S1-003"), ErrorCode::kNotFound,
               "unknown user 'ghost'");
  EXPECT_FAILS(store_->AddSubject("coord", "S2", "S2-009"), ErrorCode::kPermissionDenied,
               "may not change data of site 'S2'");
  EXPECT_FAILS(store_->AddSubject("coord", "S1", ""), ErrorCode::kInvalidArgument,
               "screening number");
  EXPECT_FAILS(store_->AddSubject("coord", "S1", "a\nb"), ErrorCode::kInvalidArgument,
               "control character");
  EXPECT_EQ(Snapshot(), before);
  ExpectIntact();
}

// ---- the status lifecycle --------------------------------------------------------------------

using S = SubjectStatus;
const S kAll[] = {S::kScreening, S::kScreenFailed, S::kEligible,      S::kRandomized,
                  S::kCompleted, S::kWithdrawn,    S::kLostToFollowUp};

// The lifecycle of the issue and store.h, written out independently of the implementation.
bool ExpectedAllowed(S from, S to) {
  static const std::set<std::pair<S, S>> kAllowed = {
      {S::kScreening, S::kScreenFailed},   {S::kScreening, S::kEligible},
      {S::kScreenFailed, S::kScreening},   {S::kEligible, S::kRandomized},
      {S::kEligible, S::kScreenFailed},    {S::kEligible, S::kScreening},
      {S::kRandomized, S::kCompleted},     {S::kRandomized, S::kWithdrawn},
      {S::kRandomized, S::kLostToFollowUp}};
  return kAllowed.count({from, to}) > 0;
}
bool ExpectedNeedsReason(S from, S to) {
  return to == S::kWithdrawn || to == S::kLostToFollowUp || to == S::kScreening ||
         (from == S::kEligible && to == S::kScreenFailed);
}

// An allowed path from screening to each status, with reasons where needed.
std::vector<S> PathTo(S target) {
  switch (target) {
    case S::kScreening:
      return {};
    case S::kScreenFailed:
      return {S::kScreenFailed};
    case S::kEligible:
      return {S::kEligible};
    case S::kRandomized:
      return {S::kEligible, S::kRandomized};
    case S::kCompleted:
      return {S::kEligible, S::kRandomized, S::kCompleted};
    case S::kWithdrawn:
      return {S::kEligible, S::kRandomized, S::kWithdrawn};
    case S::kLostToFollowUp:
      return {S::kEligible, S::kRandomized, S::kLostToFollowUp};
  }
  return {};
}

TEST_P(StoreTest, StatusNamesAndTransitionTable) {
  for (S s : kAll) EXPECT_EQ(ParseStatus(StatusName(s)), s);
  EXPECT_STREQ(StatusName(S::kLostToFollowUp), "lost_to_follow_up");
  EXPECT_STREQ(StatusName(S::kScreenFailed), "screen_failed");
  EXPECT_FALSE(ParseStatus("dead").has_value());
  for (S from : kAll) {
    for (S to : kAll) {
      EXPECT_EQ(TransitionAllowed(from, to), ExpectedAllowed(from, to))
          << StatusName(from) << " -> " << StatusName(to);
      if (ExpectedAllowed(from, to)) {
        EXPECT_EQ(TransitionNeedsReason(from, to), ExpectedNeedsReason(from, to))
            << StatusName(from) << " -> " << StatusName(to);
      }
    }
  }
}

TEST_P(StoreTest, EveryTransitionThroughTheStore) {
  Populate();
  int n = 0;
  for (S from : kAll) {
    for (S to : kAll) {
      SCOPED_TRACE(std::string(StatusName(from)) + " -> " + StatusName(to));
      Subject s = OK(store_->AddSubject("coord", "S1", "T-" + std::to_string(++n)));
      for (S step : PathTo(from)) OK(store_->ChangeStatus("coord", s.id, step, "setup"));
      ASSERT_EQ(StatusOf(s.id), from);
      if (n % 7 == 0) Restart();
      std::string before = Snapshot();
      if (!ExpectedAllowed(from, to)) {
        EXPECT_FAILS(
            store_->ChangeStatus("coord", s.id, to, "a reason"), ErrorCode::kInvalidArgument,
            std::string("is ") + StatusName(from) + ": it cannot become " + StatusName(to));
        EXPECT_EQ(Snapshot(), before);
        continue;
      }
      if (ExpectedNeedsReason(from, to)) {
        EXPECT_FAILS(store_->ChangeStatus("coord", s.id, to, ""), ErrorCode::kInvalidArgument,
                     "needs a reason");
        EXPECT_FAILS(store_->ChangeStatus("coord", s.id, to, "  "), ErrorCode::kInvalidArgument,
                     "needs a reason");
        EXPECT_EQ(Snapshot(), before);
      }
      const std::string reason = ExpectedNeedsReason(from, to) ? "why " + std::to_string(n) : "";
      Subject changed = OK(store_->ChangeStatus("coord", s.id, to, reason));
      EXPECT_EQ(changed.status, to);
      EXPECT_EQ(StatusOf(s.id), to);
      AuditEvent e = LastEvent();
      EXPECT_EQ(e.action, "subject.status");
      EXPECT_EQ(e.subject_id, std::to_string(s.id));
      EXPECT_EQ(e.reason, reason);
      EXPECT_EQ(e.old_value, json({{"status", StatusName(from)}}).dump());
      EXPECT_THAT(e.new_value, HasSubstr(std::string("\"status\":\"") + StatusName(to) + "\""));
    }
  }
  Restart();
  ExpectIntact();
}

TEST_P(StoreTest, StatusChangeErrors) {
  Populate();
  OK(store_->AddUser("admin", User{"c2", "", Role::kCoordinator, {"S2"}}));
  OK(store_->AddUser("admin", User{"mon", "", Role::kMonitor, {"S1"}}));
  std::string before = Snapshot();
  EXPECT_FAILS(store_->ChangeStatus("coord", 999, S::kEligible, ""), ErrorCode::kNotFound,
               "unknown subject 999");
  EXPECT_FAILS(store_->ChangeStatus("ghost", subject_, S::kEligible, ""), ErrorCode::kNotFound,
               "unknown user 'ghost'");
  EXPECT_FAILS(store_->ChangeStatus("c2", subject_, S::kEligible, ""), ErrorCode::kPermissionDenied,
               "may not change data of site 'S1'");
  EXPECT_FAILS(store_->ChangeStatus("mon", subject_, S::kEligible, ""),
               ErrorCode::kPermissionDenied, "monitor");
  EXPECT_EQ(Snapshot(), before);
}

// ---- screening -------------------------------------------------------------------------------

TEST_P(StoreTest, SaveScreeningMovesStatus) {
  Populate();
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // incomplete: stays in screening.
  ScreeningRecord r1 =
      OK(store_->SaveScreening("coord", Screening(subject_, "incomplete", "{\"n\":1}")));
  EXPECT_EQ(r1.bundle_sha256, Sha256Hex("{\"n\":1}"));
  EXPECT_EQ(r1.user, "coord");
  EXPECT_EQ(StatusOf(subject_), S::kScreening);
  // ineligible: screen_failed.
  int64_t events = EventCount();
  OK(store_->SaveScreening("coord", Screening(subject_, "ineligible", "{\"n\":2}")));
  EXPECT_EQ(StatusOf(subject_), S::kScreenFailed);
  EXPECT_EQ(EventCount(), events + 2);  // screening.save + subject.status
  Restart();
  // Re-screening a failed subject as eligible: back to screening, then eligible.
  events = EventCount();
  ScreeningRecord r3 =
      OK(store_->SaveScreening("coord", Screening(subject_, "eligible", "{\"n\":3}")));
  EXPECT_EQ(StatusOf(subject_), S::kEligible);
  auto all = AllEvents();
  ASSERT_EQ(static_cast<int64_t>(all.size()), events + 3);
  EXPECT_EQ(all[all.size() - 3].action, "screening.save");
  EXPECT_EQ(all[all.size() - 2].action, "subject.status");
  EXPECT_THAT(all[all.size() - 2].new_value, HasSubstr("\"status\":\"screening\""));
  EXPECT_THAT(all[all.size() - 2].reason, HasSubstr("screening " + std::to_string(r3.id)));
  EXPECT_THAT(all[all.size() - 1].new_value, HasSubstr("\"status\":\"eligible\""));
  // Eligible again: no status change.
  events = EventCount();
  OK(store_->SaveScreening("dm", Screening(subject_, "eligible", "{\"n\":4}")));
  EXPECT_EQ(EventCount(), events + 1);
  EXPECT_EQ(StatusOf(subject_), S::kEligible);
  // Eligible, then ineligible: screening, then screen_failed.
  OK(store_->SaveScreening("coord", Screening(subject_, "ineligible", "{\"n\":5}")));
  EXPECT_EQ(StatusOf(subject_), S::kScreenFailed);
  OK(store_->SaveScreening("coord", Screening(subject_, "eligible", "{\"n\":6}")));
  Restart();
  auto stored = OK(store_->Screenings(subject_));
  ASSERT_EQ(stored.size(), 6u);
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string bundle = "{\"n\":" + std::to_string(i + 1) + "}";
    EXPECT_EQ(stored[i].bundle_json, bundle);
    EXPECT_EQ(stored[i].bundle_sha256, Sha256Hex(bundle));
    EXPECT_EQ(stored[i].subject_id, subject_);
    EXPECT_EQ(stored[i].protocol_id, "TRIAL-01");
    EXPECT_EQ(stored[i].protocol_version, "1.0");
    EXPECT_EQ(stored[i].screening_date.ToString(), "2026-07-06");
    EXPECT_EQ(stored[i].randomization_date.ToString(), "2026-07-13");
    EXPECT_EQ(stored[i].results_json, R"([{"id":"IN1","result":"met"}])");
  }
  EXPECT_EQ(stored[0].verdict, "incomplete");
  EXPECT_EQ(stored[3].user, "dm");
  // Randomized subjects are refused.
  OK(store_->ChangeStatus("coord", subject_, S::kRandomized, ""));
  std::string before = Snapshot();
  EXPECT_FAILS(store_->SaveScreening("coord", Screening(subject_, "eligible")),
               ErrorCode::kInvalidArgument, "randomized: a screening can no longer be saved");
  EXPECT_FAILS(store_->SaveScreening("coord", Screening(subject_, "maybe")),
               ErrorCode::kInvalidArgument, "unknown verdict 'maybe'");
  EXPECT_FAILS(store_->SaveScreening("coord", Screening(999, "eligible")), ErrorCode::kNotFound,
               "unknown subject 999");
  EXPECT_FAILS(store_->SaveScreening("ghost", Screening(subject_, "eligible")),
               ErrorCode::kNotFound, "unknown user");
  EXPECT_EQ(Snapshot(), before);
  ExpectIntact();
}

// ---- eCRF items ------------------------------------------------------------------------------

TEST_P(StoreTest, ItemVersions) {
  Populate();
  ItemKey weight{subject_, "W2", "vitals", 0, "weight"};
  ItemVersion v1 = OK(store_->RecordItem("coord", weight, "70.5", ""));
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.user, "coord");
  Restart();
  std::string before = Snapshot();
  EXPECT_FAILS(store_->RecordItem("coord", weight, "71", ""), ErrorCode::kInvalidArgument,
               "correction needs a reason");
  EXPECT_FAILS(store_->RecordItem("coord", weight, "71", " \t"), ErrorCode::kInvalidArgument,
               "correction needs a reason");
  EXPECT_EQ(Snapshot(), before);
  ItemVersion v2 = OK(store_->RecordItem("dm", weight, "71", "transcription error"));
  EXPECT_EQ(v2.version, 2);
  Restart();
  ItemVersion v3 = OK(store_->RecordItem("coord", weight, "", "not measured"));
  EXPECT_EQ(v3.version, 3);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "item.record");
  EXPECT_EQ(e.entity_id, std::to_string(subject_) + "/W2/vitals/0/weight#3");
  EXPECT_EQ(e.old_value, R"({"value":"71"})");
  EXPECT_EQ(e.reason, "not measured");
  // Other repeats and items have their own versions.
  ItemKey weight_r1 = weight;
  weight_r1.repeat = 1;
  EXPECT_EQ(OK(store_->RecordItem("coord", weight_r1, "60", "")).version, 1);
  ItemKey height{subject_, "W2", "vitals", 0, "height"};
  EXPECT_EQ(OK(store_->RecordItem("coord", height, "180", "")).version, 1);
  Restart();

  auto history = OK(store_->ItemHistory(weight));
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].version, 1);
  EXPECT_EQ(history[0].value, "70.5");
  EXPECT_EQ(history[0].reason, "");
  EXPECT_EQ(history[0].user, "coord");
  EXPECT_EQ(history[1].version, 2);
  EXPECT_EQ(history[1].value, "71");
  EXPECT_EQ(history[1].reason, "transcription error");
  EXPECT_EQ(history[1].user, "dm");
  EXPECT_EQ(history[2].value, "");
  EXPECT_LT(history[0].at, history[1].at);
  EXPECT_LT(history[1].at, history[2].at);
  EXPECT_EQ(OK(store_->ItemHistory(weight_r1)).size(), 1u);
  EXPECT_TRUE(OK(store_->ItemHistory(ItemKey{subject_, "W9", "vitals", 0, "weight"})).empty());

  OK(store_->AddUser("admin", User{"c2", "", Role::kCoordinator, {"S2"}}));
  before = Snapshot();
  EXPECT_FAILS(store_->RecordItem("coord", ItemKey{999, "W2", "vitals", 0, "weight"}, "1", ""),
               ErrorCode::kNotFound, "unknown subject 999");
  EXPECT_FAILS(store_->RecordItem("ghost", weight, "1", "r"), ErrorCode::kNotFound,
               "unknown user 'ghost'");
  EXPECT_FAILS(store_->RecordItem("c2", weight, "1", "r"), ErrorCode::kPermissionDenied,
               "may not change data of site 'S1'");
  EXPECT_FAILS(store_->RecordItem("coord", ItemKey{subject_, "", "vitals", 0, "w"}, "1", ""),
               ErrorCode::kInvalidArgument, "visit");
  EXPECT_FAILS(store_->RecordItem("coord", ItemKey{subject_, "W2", "", 0, "w"}, "1", ""),
               ErrorCode::kInvalidArgument, "form");
  EXPECT_FAILS(store_->RecordItem("coord", ItemKey{subject_, "W2", "vitals", 0, ""}, "1", ""),
               ErrorCode::kInvalidArgument, "item");
  EXPECT_FAILS(store_->RecordItem("coord", ItemKey{subject_, "W2", "vitals", -1, "w"}, "1", ""),
               ErrorCode::kInvalidArgument, "repeat");
  EXPECT_FAILS(store_->RecordItem("coord", height, std::string(100001, 'x'), "r"),
               ErrorCode::kInvalidArgument, "longer");
  EXPECT_EQ(Snapshot(), before);
  ExpectIntact();
}

// Values travel unchanged: quotes, unicode, SQL-looking text.
TEST_P(StoreTest, ItemValuesAreStoredVerbatim) {
  Populate();
  const std::vector<std::string> values = {"O'Brien; DROP TABLE item_data; --", "\"quoted\"",
                                           "37,5 \xc2\xb0"
                                           "C",
                                           "line1\nline2", "$1 $2"};
  ItemKey k{subject_, "V1", "notes", 0, "text"};
  for (size_t i = 0; i < values.size(); ++i) {
    OK(store_->RecordItem("coord", k, values[i], i == 0 ? "" : "edit"));
  }
  Restart();
  auto h = OK(store_->ItemHistory(k));
  ASSERT_EQ(h.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(h[i].value, values[i]);
  ExpectIntact();
}

// ---- errors leave nothing behind --------------------------------------------------------------

TEST_P(StoreTest, EveryErrorLeavesTheDatabaseUnchanged) {
  Populate();
  OK(store_->RecordItem("coord", ItemKey{subject_, "W1", "f", 0, "i"}, "1", ""));
  Subject randomized = OK(store_->AddSubject("coord", "S1", "R-1"));
  OK(store_->ChangeStatus("coord", randomized.id, S::kEligible, ""));
  OK(store_->ChangeStatus("coord", randomized.id, S::kRandomized, ""));
  Restart();
  const std::string before = Snapshot();
  const int64_t events = EventCount();
  std::vector<std::pair<std::string, std::function<bool()>>> failing = {
      {"duplicate first admin",
       [&] { return store_->CreateFirstAdministrator("x", "").has_value(); }},
      {"duplicate site",
       [&] {
         return store_->AddSite("admin", Site{"S1", "x"}).has_value();
       }},
      {"site by coordinator",
       [&] {
         return store_->AddSite("coord", Site{"S7", "x"}).has_value();
       }},
      {"duplicate user",
       [&] {
         return store_->AddUser("admin", User{"coord", "", Role::kDataManager, {}}).has_value();
       }},
      {"user at unknown site",
       [&] {
         return store_->AddUser("admin", User{"n", "", Role::kMonitor, {"S1", "S9"}}).has_value();
       }},
      {"duplicate number", [&] { return store_->AddSubject("coord", "S1", "S1-001").has_value(); }},
      {"subject at unknown site",
       [&] { return store_->AddSubject("admin", "S9", "1").has_value(); }},
      {"subject by unknown user", [&] { return store_->AddSubject("who", "S1", "9").has_value(); }},
      {"forbidden transition",
       [&] { return store_->ChangeStatus("coord", subject_, S::kCompleted, "r").has_value(); }},
      {"transition without reason",
       [&] { return store_->ChangeStatus("coord", randomized.id, S::kWithdrawn, "").has_value(); }},
      {"status of unknown subject",
       [&] { return store_->ChangeStatus("coord", 4242, S::kEligible, "").has_value(); }},
      {"screening of randomized",
       [&] {
         return store_->SaveScreening("coord", Screening(randomized.id, "eligible")).has_value();
       }},
      {"correction without reason",
       [&] {
         return store_->RecordItem("coord", ItemKey{subject_, "W1", "f", 0, "i"}, "2", "")
             .has_value();
       }},
      {"item of unknown subject",
       [&] {
         return store_->RecordItem("coord", ItemKey{4242, "W1", "f", 0, "i"}, "2", "").has_value();
       }},
  };
  for (const auto& [name, attempt] : failing) {
    EXPECT_FALSE(attempt()) << name << " succeeded";
    EXPECT_EQ(Snapshot(), before) << name;
  }
  Restart();
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(EventCount(), events);
  ExpectIntact();
}

// ---- reading the audit trail -----------------------------------------------------------------

TEST_P(StoreTest, AuditEventsFilters) {
  Populate();
  Subject other = OK(store_->AddSubject("admin", "S2", "S2-001"));
  ItemKey k{subject_, "W1", "vitals", 0, "weight"};
  const std::string from = NextInstant();
  OK(store_->RecordItem("coord", k, "1", ""));
  OK(store_->RecordItem("dm", k, "2", "fix"));
  OK(store_->RecordItem("admin", ItemKey{other.id, "W1", "vitals", 0, "weight"}, "3", ""));
  const std::string to = Instant(tick_->load());  // the last instant handed out
  OK(store_->ChangeStatus("coord", subject_, S::kEligible, ""));
  Restart();

  auto all = AllEvents();
  ASSERT_EQ(static_cast<int64_t>(all.size()), EventCount());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(all[i].prev_hash, i == 0 ? std::string(64, '0') : all[i - 1].hash);
  }

  // By subject: its creation, first status, two item versions and the status change.
  auto mine = OK(store_->AuditEvents(F(subject_)));
  std::vector<std::string> actions;
  for (const auto& e : mine) {
    EXPECT_EQ(e.subject_id, std::to_string(subject_));
    actions.push_back(e.action);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"subject.add", "subject.status", "item.record",
                                               "item.record", "subject.status"}));
  EXPECT_EQ(OK(store_->AuditEvents(F(other.id))).size(), 3u);
  EXPECT_TRUE(OK(store_->AuditEvents(F(999))).empty());

  // By user.
  auto by_dm = OK(store_->AuditEvents(F({}, "dm")));
  ASSERT_EQ(by_dm.size(), 1u);
  EXPECT_EQ(by_dm[0].reason, "fix");
  auto by_coord = OK(store_->AuditEvents(F({}, "coord")));
  EXPECT_EQ(by_coord.size(), 4u);  // subject.add + status, item v1, status change
  for (const auto& e : by_coord) EXPECT_EQ(e.user, "coord");
  auto by_system = OK(store_->AuditEvents(F({}, "system")));
  // one schema.migrate per version and the first administrator
  EXPECT_EQ(by_system.size(), static_cast<size_t>(TrialStore::kSchemaVersion) + 1);

  // By time range (inclusive on both ends).
  auto window = OK(store_->AuditEvents(F({}, {}, from, to)));
  ASSERT_EQ(window.size(), 3u);
  for (const auto& e : window) EXPECT_EQ(e.action, "item.record");
  EXPECT_GE(window[0].at, from);
  EXPECT_EQ(window[2].at, to);  // an item's event takes the instant after its version's
  auto after = OK(store_->AuditEvents(F({}, {}, to)));
  EXPECT_EQ(after.size(), 2u);  // the last item and the status change
  auto user_and_time = OK(store_->AuditEvents(F({}, "coord", from, to)));
  EXPECT_EQ(user_and_time.size(), 1u);

  // Paging: limit + after_seq walks the whole trail in order without gaps or repeats.
  std::vector<int64_t> seqs;
  AuditFilter page;
  page.limit = 3;
  for (int guard = 0; guard < 100; ++guard) {
    auto events = OK(store_->AuditEvents(page));
    if (events.empty()) break;
    EXPECT_LE(events.size(), 3u);
    for (const auto& e : events) seqs.push_back(e.seq);
    page.after_seq = events.back().seq;
  }
  ASSERT_EQ(seqs.size(), all.size());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], all[i].seq);
  auto subject_page = OK(store_->AuditEvents(F(subject_, {}, {}, {}, mine[1].seq, 2)));
  ASSERT_EQ(subject_page.size(), 2u);
  EXPECT_EQ(subject_page[0].seq, mine[2].seq);
  EXPECT_EQ(subject_page[1].seq, mine[3].seq);
}

TEST_P(StoreTest, VerifyIntactCountsEveryEvent) {
  OK(store_->Init());
  EXPECT_EQ(Verify().events_checked, TrialStore::kSchemaVersion);  // the migrations
  Populate();                                                      // Init again is a no-op
  OK(store_->SaveScreening("coord", Screening(subject_, "eligible")));
  OK(store_->RecordItem("coord", ItemKey{subject_, "W1", "f", 0, "i"}, "1", ""));
  Restart();
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.events_checked, EventCount());
  EXPECT_EQ(r.events_checked, Sql("SELECT seq FROM audit_head")[0].Int(0));
  // migrations, admin, 2 sites, 2 users, subject + status, screening + status, item.
  EXPECT_EQ(r.events_checked, TrialStore::kSchemaVersion + 10);
}

// ---- tampering -------------------------------------------------------------------------------

// Populates a database with one row of every kind and returns the seq that wrote each.
class TamperTest : public StoreTest {
 protected:
  void Build() {
    Populate();
    item_.subject_id = subject_;
    screening_ =
        OK(store_->SaveScreening("coord", Screening(subject_, "eligible", "{\"bundle\":1}"))).id;
    OK(store_->RecordItem("coord", item_, "70", ""));
    OK(store_->RecordItem("coord", item_, "71", "typo"));
    OK(store_->RecordItem("coord", ItemKey{subject_, "W3", "vitals", 0, "hr"}, "60", ""));
    Restart();
    ExpectIntact();
  }
  int64_t SeqOf(const std::string& sql) {
    auto rows = Sql(sql);
    EXPECT_EQ(rows.size(), 1u) << sql;
    return rows.empty() ? -1 : rows[0].Int(0);
  }
  // Changes something with `tamper`, expects verify to name `seq`, undoes it with `restore`.
  void ExpectDetected(const std::string& tamper, const std::string& restore, int64_t seq,
                      const std::string& words = "") {
    SCOPED_TRACE(tamper);
    Sql(tamper);
    Restart();
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_seq, seq) << r.problem;
    EXPECT_THAT(r.problem, HasSubstr(std::to_string(seq)));
    if (!words.empty()) {
      EXPECT_THAT(r.problem, HasSubstr(words));
    }
    Sql(restore);
    Restart();
    ExpectIntact();
  }
  ItemKey item_{0, "W2", "vitals", 0, "weight"};
  int64_t screening_ = 0;
};

TEST_P(TamperTest, ChangedAuditEventIsNamed) {
  Build();
  int64_t seq = SeqOf("SELECT audit_seq FROM sites WHERE id = 'S2'");
  ExpectDetected(
      "UPDATE audit_events SET new_value = replace(new_value, 'Site Two', 'Site 2') "
      "WHERE seq = " +
          std::to_string(seq),
      "UPDATE audit_events SET new_value = replace(new_value, 'Site 2', 'Site Two') "
      "WHERE seq = " +
          std::to_string(seq),
      seq, "was changed after it was written");
  // Any field of an event: the reason, the user, the time.
  int64_t item_seq = SeqOf("SELECT audit_seq FROM item_data WHERE version = 2");
  ExpectDetected("UPDATE audit_events SET reason = 'other' WHERE seq = " + std::to_string(item_seq),
                 "UPDATE audit_events SET reason = 'typo' WHERE seq = " + std::to_string(item_seq),
                 item_seq);
  int64_t site_seq = SeqOf("SELECT audit_seq FROM sites WHERE id = 'S1'");  // by admin
  ExpectDetected(
      "UPDATE audit_events SET username = 'dm' WHERE seq = " + std::to_string(site_seq),
      "UPDATE audit_events SET username = 'admin' WHERE seq = " + std::to_string(site_seq),
      site_seq);
  // Changing an event's new_value AND the row it wrote consistently is still caught by the hash.
  ExpectDetected(
      "UPDATE audit_events SET new_value = replace(new_value, '\"71\"', '\"99\"') WHERE seq = " +
          std::to_string(item_seq) +
          "; UPDATE item_data SET value = '99' WHERE version = 2 AND item = 'weight'",
      "UPDATE audit_events SET new_value = replace(new_value, '\"99\"', '\"71\"') WHERE seq = " +
          std::to_string(item_seq) +
          "; UPDATE item_data SET value = '71' WHERE version = 2 AND item = 'weight'",
      item_seq);
}

TEST_P(TamperTest, ChangedDataRowNamesTheEventThatWroteIt) {
  Build();
  struct Case {
    std::string seq_sql, tamper, restore;
  };
  const std::string sid = std::to_string(subject_);
  const std::string scr = std::to_string(screening_);
  const std::vector<Case> cases = {
      {"SELECT audit_seq FROM item_data WHERE item = 'weight' AND version = 2",
       "UPDATE item_data SET value = '17' WHERE item = 'weight' AND version = 2",
       "UPDATE item_data SET value = '71' WHERE item = 'weight' AND version = 2"},
      {"SELECT audit_seq FROM sites WHERE id = 'S1'",
       "UPDATE sites SET name = 'Elsewhere' WHERE id = 'S1'",
       "UPDATE sites SET name = 'Site One' WHERE id = 'S1'"},
      {"SELECT audit_seq FROM subjects WHERE id = " + sid,
       "UPDATE subjects SET screening_number = 'S1-999' WHERE id = " + sid,
       "UPDATE subjects SET screening_number = 'S1-001' WHERE id = " + sid},
      {"SELECT audit_seq FROM screenings WHERE id = " + scr,
       "UPDATE screenings SET bundle = '{\"bundle\":2}' WHERE id = " + scr,
       "UPDATE screenings SET bundle = '{\"bundle\":1}' WHERE id = " + scr},
      {"SELECT audit_seq FROM screenings WHERE id = " + scr,
       "UPDATE screenings SET verdict = 'ineligible' WHERE id = " + scr,
       "UPDATE screenings SET verdict = 'eligible' WHERE id = " + scr},
      {"SELECT audit_seq FROM subject_status WHERE subject_id = " + sid + " AND version = 2",
       "UPDATE subject_status SET status = 'randomized' WHERE subject_id = " + sid +
           " AND version = 2",
       "UPDATE subject_status SET status = 'eligible' WHERE subject_id = " + sid +
           " AND version = 2"},
      {"SELECT audit_seq FROM users WHERE username = 'coord'",
       "UPDATE users SET role = 'administrator', sites = '[]' WHERE username = 'coord'",
       "UPDATE users SET role = 'coordinator', sites = '[\"S1\"]' WHERE username = 'coord'"},
      {"SELECT audit_seq FROM users WHERE username = 'coord'",
       "UPDATE users SET sites = '[\"S1\",\"S2\"]' WHERE username = 'coord'",
       "UPDATE users SET sites = '[\"S1\"]' WHERE username = 'coord'"},
  };
  for (const auto& c : cases) {
    int64_t seq = SeqOf(c.seq_sql);
    ASSERT_GT(seq, 0);
    ExpectDetected(c.tamper, c.restore, seq, "behind the system's back");
  }
  // A row pointed at another event is caught too.
  int64_t hr = SeqOf("SELECT audit_seq FROM item_data WHERE item = 'hr'");
  ExpectDetected("UPDATE item_data SET audit_seq = 1 WHERE item = 'hr'",
                 "UPDATE item_data SET audit_seq = " + std::to_string(hr) + " WHERE item = 'hr'",
                 1);
}

TEST_P(TamperTest, DeletedDataRowIsDetected) {
  Build();
  int64_t seq = SeqOf("SELECT audit_seq FROM item_data WHERE item = 'weight' AND version = 2");
  Sql("DELETE FROM item_data WHERE item = 'weight' AND version = 2");
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, seq);
  EXPECT_THAT(r.problem, HasSubstr("missing"));
}

TEST_P(TamperTest, DeletedUserRowIsDetected) {
  Build();
  int64_t seq = SeqOf("SELECT audit_seq FROM users WHERE username = 'dm'");
  Sql("DELETE FROM users WHERE username = 'dm'");
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, seq) << r.problem;
}

TEST_P(TamperTest, DeletedLastAuditEventIsDetected) {
  Build();
  int64_t last = EventCount();
  Sql("DELETE FROM audit_events WHERE seq = " + std::to_string(last));  // the head still says it
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, last) << r.problem;
  EXPECT_THAT(r.problem, HasSubstr("removed"));
}

TEST_P(TamperTest, DeletedLastAuditEventAndHeadRewoundIsDetected) {
  Build();
  int64_t last = EventCount();
  // Rewinding the head too leaves the item row without its event.
  Sql("DELETE FROM audit_events WHERE seq = " + std::to_string(last));
  auto prev = Sql("SELECT hash FROM audit_events WHERE seq = " + std::to_string(last - 1));
  ASSERT_EQ(prev.size(), 1u);
  Sql("UPDATE audit_head SET seq = $1, hash = $2", {last - 1, prev[0].Text(0)});
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, last) << r.problem;
}

TEST_P(TamperTest, DeletedMiddleAuditEventIsDetected) {
  Build();
  Sql("DELETE FROM audit_events WHERE seq = 5");
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5) << r.problem;
  EXPECT_EQ(r.events_checked, 4);
  EXPECT_THAT(r.problem, HasSubstr("event 5 is missing"));
}

TEST_P(TamperTest, ChangedPrevHashIsDetected) {
  Build();
  auto row = Sql("SELECT prev_hash FROM audit_events WHERE seq = 6");
  ASSERT_EQ(row.size(), 1u);
  ExpectDetected("UPDATE audit_events SET prev_hash = '" + std::string(64, 'a') + "' WHERE seq = 6",
                 "UPDATE audit_events SET prev_hash = '" + row[0].Text(0) + "' WHERE seq = 6", 6,
                 "does not link");
  // A changed hash breaks the event itself.
  auto all = AllEvents();
  ASSERT_GE(all.size(), 7u);
  const AuditEvent& e = all[5];
  ExpectDetected("UPDATE audit_events SET hash = '" + std::string(64, 'b') + "' WHERE seq = 6",
                 "UPDATE audit_events SET hash = '" + e.hash + "' WHERE seq = 6", 6);
}

// ---- concurrency -----------------------------------------------------------------------------

// 4 writers, each with its own connection (SQLite: the same file), 50 item writes each.
TEST_P(StoreTest, ConcurrentWritersKeepTheChainLinear) {
  Populate();
  const int64_t setup_events = EventCount();
  constexpr int kThreads = 4;
  constexpr int kWrites = 50;
  std::vector<std::vector<std::string>> acknowledged(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = OpenConnection();
      if (conn == nullptr) {
        errors[t] = "cannot open";
        return;
      }
      TrialStore mine(std::move(conn));
      for (int i = 0; i < kWrites; ++i) {
        std::string item = "t" + std::to_string(t) + "_" + std::to_string(i);
        auto v = mine.RecordItem(t % 2 ? "coord" : "dm", ItemKey{subject_, "W1", "load", 0, item},
                                 std::to_string(t * 1000 + i), "");
        if (v) {
          acknowledged[t].push_back(item);
        } else if (errors[t].empty()) {
          errors[t] = v.error().message;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  Restart();
  int64_t acked = 0;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "writer " << t;
    EXPECT_EQ(acknowledged[t].size(), static_cast<size_t>(kWrites)) << "writer " << t;
    for (const auto& item : acknowledged[t]) {
      auto h = OK(store_->ItemHistory(ItemKey{subject_, "W1", "load", 0, item}));
      ASSERT_EQ(h.size(), 1u) << item;
      EXPECT_EQ(h[0].version, 1);
      ++acked;
    }
  }
  EXPECT_EQ(EventCount(), setup_events + acked);
  EXPECT_EQ(Count("item_data"), acked);
  auto all = AllEvents();
  ASSERT_EQ(static_cast<int64_t>(all.size()), setup_events + acked);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].seq, static_cast<int64_t>(i + 1));
    ASSERT_EQ(all[i].prev_hash, i == 0 ? std::string(64, '0') : all[i - 1].hash);
  }
  ExpectIntact();
}

// Concurrent versions of the SAME item: versions 1..N without gaps or duplicates.
TEST_P(StoreTest, ConcurrentCorrectionsOfOneItem) {
  Populate();
  constexpr int kThreads = 4;
  constexpr int kWrites = 20;
  ItemKey key{subject_, "W1", "vitals", 0, "weight"};
  OK(store_->RecordItem("coord", key, "0", ""));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = OpenConnection();
      if (conn == nullptr) return;
      TrialStore mine(std::move(conn));
      for (int i = 0; i < kWrites; ++i) {
        if (mine.RecordItem("coord", key, std::to_string(t * 100 + i), "fix")) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kWrites);
  auto h = OK(store_->ItemHistory(key));
  ASSERT_EQ(h.size(), static_cast<size_t>(ok.load() + 1));
  for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(h[i].version, static_cast<int>(i + 1));
  ExpectIntact();
}

// A verification running while writers commit must see one consistent state.
void VerifyWhileWriting(StoreTest* test, TrialStore& verifier,
                        const std::function<std::unique_ptr<Connection>()>& open, int64_t subject,
                        std::vector<std::string>* problems) {
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto conn = open();
      if (conn == nullptr) return;
      TrialStore mine(std::move(conn));
      for (int i = 0; i < 60; ++i) {
        (void)mine.RecordItem(
            "coord", ItemKey{subject, "W1", "v", 0, std::to_string(t) + "_" + std::to_string(i)},
            "1", "");
      }
    });
  }
  std::thread stopper([&] {
    for (auto& th : threads) th.join();
    done = true;
  });
  while (!done) {
    auto r = verifier.VerifyAudit();
    if (!r) {
      problems->push_back(r.error().message);
    } else if (!r->ok) {
      problems->push_back(r->problem);
    }
  }
  stopper.join();
  (void)test;
}

// SQLite only: on PostgreSQL this is the known bug below.
class VerifyWhileWritingTest : public StoreTest {};

TEST_P(VerifyWhileWritingTest, VerifyWhileWritersRun) {
  Populate();
  std::vector<std::string> problems;
  VerifyWhileWriting(
      this, *store_, [this] { return OpenConnection(); }, subject_, &problems);
  EXPECT_TRUE(problems.empty()) << problems.size() << " false alarms, first: " << problems[0];
  ExpectIntact();
}

// BUG (PostgreSQL): VerifyAudit runs in a `BEGIN READ ONLY` transaction at READ COMMITTED, so
// each of its queries sees a different snapshot; a writer committing between the chain read and
// the data-row reads makes verify report rows "referring to an event which did not write it" or
// "events were removed" on an intact database. Needs REPEATABLE READ for read transactions.
class StoreBugTest : public StoreTest {};

TEST_P(StoreBugTest, VerifyWhileWritersRun) {
  Populate();
  std::vector<std::string> problems;
  VerifyWhileWriting(
      this, *store_, [this] { return OpenConnection(); }, subject_, &problems);
  EXPECT_TRUE(problems.empty()) << problems.size() << " false alarms, first: " << problems[0];
  ExpectIntact();
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values("sqlite", "postgres"), ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, TamperTest, ::testing::Values("sqlite", "postgres"), ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, VerifyWhileWritingTest, ::testing::Values("sqlite"), ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, StoreBugTest, ::testing::Values("postgres"), ParamName);

}  // namespace
}  // namespace trial::store
