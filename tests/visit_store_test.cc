// Visits, doses, deviations, queries, review states and signatures (store/visit_store.cc,
// service/visits.h, docs/schedule.md, docs/queries.md) on both backends, with the fixture of
// store_test.cc (store_fixture.h); and one subject's journey from D0 to W8 through the command
// line (cli::Run) with a simulated clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"
#include "cli_journey.h"
#include "protocol/protocol.h"
#include "randomization/random.h"
#include "service/kits.h"
#include "service/randomization.h"
#include "service/visits.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

namespace rnd = trial::randomization;
using ::testing::ElementsAre;
using ::testing::Not;

const char* kProtocolDir = "protocols/promis-mda5";

rnd::Seed SeedOf(uint8_t salt) {
  rnd::Seed s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 11 + salt);
  return s;
}

// The fixture's clock starts on 2026-07-01: day 0 of every subject randomized here.
const Date kDay0 = *Date::FromYmd(2026, 7, 1);
Date Day(int n) { return kDay0.AddDays(n); }

// Normal safety labs, with `anc` as given.
std::vector<std::pair<std::string, std::string>> Labs(const std::string& anc) {
  return {{"anc", anc},          {"platelets", "250 10*9/L"}, {"alt", "20 U/L"},
          {"alt_uln", "40 U/L"}, {"ast", "25 U/L"},           {"ast_uln", "40 U/L"}};
}

class VisitTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto p = protocol::Load(kProtocolDir);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    protocol_ = std::move(*p);
  }

  // Populate() (admin, S1, S2, coord at S1, dm), investigator `inv` "Dr Ivy" (S1), monitor `mon`
  // (S1), monitor `mon2` (S2), pharmacist `pharm` (S1); randomization live; kits at S1;
  // subject_ randomized on day 0 (its D0 kit dispensed).
  void Prepare() {
    Populate();
    OK(store_->AddUser("admin", User{"inv", "Dr Ivy", Role::kInvestigator, {"S1"}}));
    OK(store_->AddUser("admin", User{"mon", "Mona", Role::kMonitor, {"S1"}}));
    OK(store_->AddUser("admin", User{"mon2", "Milo", Role::kMonitor, {"S2"}}));
    OK(store_->AddUser("admin", User{"pharm", "Phil", Role::kUnblindedPharmacist, {"S1"}}));
    OK(service::GoLive(*store_, *protocol_, {"S1", "S2"}, "admin", SeedOf(3)));
    OK(service::GenerateKits(*store_, *protocol_, "admin", 24, "L1", Day(400), SeedOf(5)));
    Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 20));
    OK(store_->ReceiveShipment("admin", s.id, {}));
    subject_kit_ = Randomize(subject_, "r1");
  }
  // Screens `subject` eligible and randomizes it; returns its D0 kit.
  std::string Randomize(int64_t subject, const std::string& request) {
    ScreeningRecord r = Screening(subject, "eligible");
    r.protocol_version = protocol_->version;
    OK(store_->SaveScreening("coord", r));
    return OK(service::Randomize(*store_, *protocol_, "coord", subject, "present", request))
        .kit_number;
  }

  void Item(const std::string& visit, const std::string& form, const std::string& item,
            const std::string& value, int64_t subject = 0) {
    OK(store_->RecordItem("coord", ItemKey{subject ? subject : subject_, visit, form, 0, item},
                          value, ""));
  }
  void LabsAt(const std::string& visit, const std::string& anc, int64_t subject = 0) {
    for (const auto& [item, value] : Labs(anc)) Item(visit, "safety_labs", item, value, subject);
  }
  // Weight and labs entered, the visit recorded on day `day` (today).
  void VisitWithData(const std::string& visit, int day, const std::string& anc,
                     const std::string& weight = "62.5 kg", int64_t subject = 0) {
    Item(visit, "weight", "weight", weight, subject);
    LabsAt(visit, anc, subject);
    service::VisitRequest r{subject ? subject : subject_, visit, Day(day), false, ""};
    OK(service::RecordVisit(*store_, *protocol_, "coord", r, Day(day)));
  }
  service::DoseAdvice Plan(const std::string& visit, int day) {
    return OK(service::PlanDose(*store_, *protocol_, "coord", subject_, visit, Day(day)));
  }
  Result<WithDeviations<DoseEntry>> Dose(const std::string& visit, int day,
                                         const std::string& override_reason = "") {
    return service::RecordDose(*store_, *protocol_, "pharm", subject_, visit, Day(day),
                               override_reason, Day(day));
  }
  std::vector<std::string> DeviationKinds() {
    std::vector<std::string> out;
    for (const auto& d : OK(store_->Deviations(subject_, std::nullopt))) {
      out.push_back(d.deviation.visit + ":" + d.deviation.kind);
    }
    return out;
  }

  std::unique_ptr<protocol::Protocol> protocol_;
  std::string subject_kit_;
};

TEST_P(VisitTest, VisitStatusesAndDeviationsAreRecordedWithTheVisit) {
  Prepare();
  auto record = [&](const std::string& visit, std::optional<Date> date, int today,
                    const std::string& reason = "") {
    service::VisitRequest r{subject_, visit, date, !date, reason};
    return service::RecordVisit(*store_, *protocol_, "coord", r, Day(today));
  };
  // D0 on day 0: in window, no deviation.
  auto d0 = OK(record("D0", Day(0), 0));
  EXPECT_EQ(d0.entry.visit, "D0");
  EXPECT_TRUE(d0.deviations.empty());
  // W2 (day 14, window 11..17) on day 18: one day late.
  auto w2 = OK(record("W2", Day(18), 18));
  ASSERT_EQ(w2.deviations.size(), 1u);
  EXPECT_EQ(w2.deviations[0].deviation.kind, "visit_out_of_window");
  EXPECT_EQ(w2.deviations[0].deviation.days_outside, 1);
  EXPECT_THAT(w2.deviations[0].deviation.description, HasSubstr("1 day after its window"));
  // Refusals store nothing.
  const std::string before = Snapshot();
  EXPECT_FAILS(record("W4", Day(30), 29), ErrorCode::kInvalidArgument, "after today");
  EXPECT_FAILS(record("W2", Day(19), 19), ErrorCode::kInvalidArgument, "recorded twice");
  EXPECT_FAILS(record("SCR", Day(-3), 19), ErrorCode::kInvalidArgument, "no such planned visit");
  EXPECT_FAILS(record("W9", Day(19), 19), ErrorCode::kInvalidArgument, "no such planned visit");
  EXPECT_FAILS(store_->RecordVisit("coord", VisitEntry{subject_, "W4", Day(-1), false, "", "", ""},
                                   false, Day(30), {}),
               ErrorCode::kInvalidArgument, "before day 0");
  EXPECT_FAILS(
      service::RecordVisit(*store_, *protocol_, "pharm",
                           service::VisitRequest{subject_, "W4", Day(28), false, ""}, Day(28)),
      ErrorCode::kPermissionDenied, "may not record visits");
  EXPECT_FAILS(
      service::RecordVisit(*store_, *protocol_, "dm",
                           service::VisitRequest{subject_, "W4", Day(28), false, ""}, Day(28)),
      ErrorCode::kPermissionDenied, "may not record visits");
  EXPECT_EQ(Snapshot(), before);
  // W4 missed: the visit and its dose.
  auto w4 = OK(record("W4", std::nullopt, 33, "patient in hospital"));
  EXPECT_TRUE(w4.entry.missed);
  EXPECT_EQ(w4.deviations.size(), 2u);
  // Nothing recorded for W6 (day 42, latest 45, missed after 52); an unscheduled visit on day 60
  // reveals it: the visit and its dose, recorded with the unscheduled visit.
  auto uns = OK(record("UNS", Day(60), 60));
  EXPECT_EQ(uns.entry.visit, "UNS-1");
  EXPECT_EQ(uns.deviations.size(), 2u);
  EXPECT_EQ(OK(record("UNS", Day(61), 61)).entry.visit, "UNS-2");
  EXPECT_THAT(DeviationKinds(), ElementsAre("W2:visit_out_of_window", "W4:visit_missed",
                                            "W4:dose_missed", "W6:visit_missed", "W6:dose_missed"));
  // The statuses on day 60 (and on day 20, before W4 was missed).
  auto overview = OK(service::ListVisits(*store_, *protocol_, "mon", subject_, Day(60)));
  std::vector<std::string> statuses;
  for (const auto& s : overview.report.visits) {
    statuses.push_back(s.visit.visit_id + ":" + schedule::VisitStatusName(s.status));
  }
  EXPECT_THAT(statuses, ElementsAre("D0:done in window", "W2:done out of window", "W4:missed",
                                    "W6:missed", "W8:overdue", "SFU:upcoming"));
  EXPECT_EQ(overview.report.unscheduled.size(), 1u);  // UNS-2 is on day 61
  // As of day 20, W6 was still upcoming.
  auto early = OK(service::ListVisits(*store_, *protocol_, "coord", subject_, Day(20)));
  EXPECT_EQ(schedule::VisitStatusName(early.report.visits[3].status), std::string("upcoming"));
  EXPECT_FAILS(service::ListVisits(*store_, *protocol_, "mon2", subject_, Day(60)),
               ErrorCode::kPermissionDenied, "may not see");
  // Listing by site.
  EXPECT_EQ(OK(service::ListDeviations(*store_, "mon", std::nullopt, "S1")).size(), 5u);
  EXPECT_EQ(OK(service::ListDeviations(*store_, "mon2", std::nullopt, std::nullopt)).size(), 0u);
  ExpectIntact();
  Restart();
  EXPECT_EQ(OK(store_->Visits(subject_)).size(), 5u);
}

TEST_P(VisitTest, DosePlanIsComputedFromTheItemsAndRecordedWithItsKit) {
  Prepare();
  VisitWithData("D0", 0, "3.1 10*9/L");
  service::DoseAdvice a = Plan("D0", 0);
  EXPECT_EQ(a.verdict.decision, schedule::DoseDecision::kProceed) << a.verdict.explanation;
  ASSERT_TRUE(a.plan.has_value());
  // 8 mg/kg x 62.5 kg = 500 mg = 25 mL of 20 mg/mL; 100 mL bag: withdraw 25 mL.
  EXPECT_EQ(a.plan->dose_ug, 500000);
  EXPECT_EQ(a.plan->drug_volume_ul, 25000);
  EXPECT_EQ(a.plan->saline_withdrawn_ul, 25000);
  EXPECT_EQ(a.plan->final_volume_ul, 100000);
  EXPECT_EQ(a.kit_number, subject_kit_);  // handed out at randomization
  EXPECT_EQ(a.dose_number, 1);
  // Placebo or not, the advice is the same: a second subject of the other arm with the same data.
  const int64_t other = OK(store_->AddSubject("coord", "S1", "S1-002")).id;
  Randomize(other, "r2");
  VisitWithData("D0", 0, "3.1 10*9/L", "62.5 kg", other);
  auto b = OK(service::PlanDose(*store_, *protocol_, "coord", other, "D0", Day(0)));
  ASSERT_TRUE(b.plan.has_value());
  EXPECT_EQ(b.plan->steps, a.plan->steps);
  // Recorded: the full dose with the randomization's kit.
  auto given = OK(Dose("D0", 0));
  EXPECT_TRUE(given.entry.given);
  EXPECT_EQ(given.entry.level, "full");
  EXPECT_EQ(given.entry.dose_ug, 500000);
  EXPECT_EQ(given.entry.weight, "62.5 kg");
  EXPECT_EQ(given.entry.kit_number, subject_kit_);
  EXPECT_EQ(given.entry.decision, "proceed");
  EXPECT_TRUE(given.deviations.empty());
  const std::string before = Snapshot();
  EXPECT_FAILS(Dose("D0", 0), ErrorCode::kInvalidInput, "already recorded");
  EXPECT_FAILS(Dose("W2", 14), ErrorCode::kInvalidInput, "record the visit first");
  EXPECT_FAILS(service::PlanDose(*store_, *protocol_, "coord", subject_, "W8", Day(56)),
               ErrorCode::kInvalidArgument, "not a dosing visit");
  EXPECT_FAILS(service::RecordDose(*store_, *protocol_, "mon", subject_, "D0", Day(0), "", Day(0)),
               ErrorCode::kPermissionDenied, "may not record doses");
  EXPECT_EQ(Snapshot(), before);
  // W2: the kit is dispensed with the dose, in the same transaction; weight from W2 (latest).
  VisitWithData("W2", 14, "2.5 10*9/L", "70 kg");
  auto w2 = Plan("W2", 14);
  EXPECT_EQ(w2.plan->dose_ug, 560000);  // 8 x 70
  const int64_t events = EventCount();
  auto dosed = OK(Dose("W2", 14));
  EXPECT_EQ(dosed.entry.kit_number, w2.kit_number);
  EXPECT_EQ(EventCount(), events + 2);  // kit.dispense and dose.give
  auto dispensings = OK(store_->Dispensings(subject_));
  ASSERT_EQ(dispensings.size(), 2u);
  EXPECT_EQ(dispensings[1].kit_number, dosed.entry.kit_number);
  ExpectIntact();
}

TEST_P(VisitTest, NeutropeniaHoldsThenTheDoseResumesAtFourMgPerKg) {
  Prepare();
  VisitWithData("D0", 0, "3.1 10*9/L");
  OK(Dose("D0", 0));
  // W2: ANC 0.8 x 10^9/L = 800/mm3: hold.
  VisitWithData("W2", 14, "0.8 10*9/L");
  auto hold = Plan("W2", 14);
  EXPECT_EQ(hold.verdict.decision, schedule::DoseDecision::kHold);
  EXPECT_THAT(hold.verdict.explanation, HasSubstr("800"));
  const std::string before = Snapshot();
  EXPECT_FAILS(Dose("W2", 14), ErrorCode::kInvalidInput, "give an override reason");
  EXPECT_EQ(Snapshot(), before);
  auto withheld =
      OK(service::WithholdDose(*store_, *protocol_, "pharm", subject_, "W2", Day(14), Day(14)));
  EXPECT_FALSE(withheld.entry.given);
  EXPECT_EQ(withheld.entry.decision, "hold");
  EXPECT_THAT(withheld.entry.causes, ElementsAre("neutrophils"));
  EXPECT_TRUE(withheld.entry.kit_number.empty());
  // W4: ANC recovered (1.6): resume at 4 mg/kg x 62.5 kg = 250 mg = 12.5 mL.
  VisitWithData("W4", 28, "1.6 10*9/L");
  auto resume = Plan("W4", 28);
  EXPECT_EQ(resume.verdict.decision, schedule::DoseDecision::kReduce) << resume.verdict.explanation;
  EXPECT_EQ(resume.plan->dose_ug, 250000);
  EXPECT_EQ(resume.plan->drug_volume_ul, 12500);
  auto reduced = OK(Dose("W4", 28));
  EXPECT_EQ(reduced.entry.level, "reduced");
  EXPECT_EQ(reduced.entry.dose_ug, 250000);
  // W6: the full dose returns (8 x 64 kg = 512 mg).
  VisitWithData("W6", 42, "2.0 10*9/L", "64 kg");
  auto full = Plan("W6", 42);
  EXPECT_EQ(full.verdict.decision, schedule::DoseDecision::kProceed);
  EXPECT_EQ(full.plan->dose_ug, 512000);
  EXPECT_TRUE(DeviationKinds().empty());
  ExpectIntact();
}

TEST_P(VisitTest, DoseAgainstAHoldIsADeviationAndAfterDiscontinueIsRefused) {
  Prepare();
  VisitWithData("D0", 0, "3.1 10*9/L");
  OK(Dose("D0", 0));
  VisitWithData("W2", 14, "0.8 10*9/L");
  auto against = OK(Dose("W2", 14, "investigator judged the count transient"));
  EXPECT_TRUE(against.entry.given);
  EXPECT_EQ(against.entry.decision, "hold");
  EXPECT_EQ(against.entry.level, "reduced");
  EXPECT_EQ(against.entry.dose_ug, 250000);
  ASSERT_EQ(against.deviations.size(), 1u);
  EXPECT_EQ(against.deviations[0].deviation.kind, "dose_against_hold");
  EXPECT_THAT(against.deviations[0].deviation.description, HasSubstr("transient"));
  EXPECT_EQ(LastEvent().action, "deviation.record");  // same transaction as the dose
  // W4: ANC 0.4 (< 500/mm3): discontinue, even with a reason.
  VisitWithData("W4", 28, "0.4 10*9/L");
  const std::string before = Snapshot();
  EXPECT_FAILS(Dose("W4", 28, "please"), ErrorCode::kInvalidInput, "discontinue");
  EXPECT_FAILS(Dose("W4", 28), ErrorCode::kInvalidInput, "discontinue");
  EXPECT_EQ(Snapshot(), before);
  OK(service::WithholdDose(*store_, *protocol_, "pharm", subject_, "W4", Day(28), Day(28)));
  // W6: normal labs, but a discontinuation is final.
  VisitWithData("W6", 42, "3.0 10*9/L");
  EXPECT_EQ(Plan("W6", 42).verdict.decision, schedule::DoseDecision::kDiscontinue);
  EXPECT_FAILS(Dose("W6", 42), ErrorCode::kInvalidInput, "discontinue");
  // Labs missing: unknown, no dose.
  const int64_t other = OK(store_->AddSubject("coord", "S1", "S1-002")).id;
  Randomize(other, "r2");
  Item("D0", "weight", "weight", "70 kg", other);
  OK(service::RecordVisit(*store_, *protocol_, "coord",
                          service::VisitRequest{other, "D0", Day(0), false, ""}, Day(0)));
  EXPECT_FAILS(service::RecordDose(*store_, *protocol_, "pharm", other, "D0", Day(0), "", Day(0)),
               ErrorCode::kInvalidInput, "until the labs are done");
  ExpectIntact();
}

TEST_P(VisitTest, KitsOfAnotherSubjectOrArmAreRefusedBlinded) {
  Prepare();
  const int64_t other = OK(store_->AddSubject("coord", "S1", "S1-002")).id;
  const std::string other_kit = Randomize(other, "r2");
  VisitWithData("D0", 0, "3.1 10*9/L");
  DoseEntry d;
  d.subject_id = subject_;
  d.visit = "D0";
  d.date = Day(0);
  d.level = "full";
  d.dose_ug = 500000;
  d.weight = "62.5 kg";
  d.decision = "proceed";
  d.kit_number = other_kit;
  EXPECT_FAILS(store_->RecordDose("pharm", d, Day(0), {}), ErrorCode::kInvalidInput,
               "received kit " + subject_kit_ + " for visit D0, not " + other_kit);
  // W2: a kit of the other arm at the site is refused without naming an arm.
  VisitWithData("W2", 14, "3.1 10*9/L");
  auto rows = Sql(
      "SELECT k.kit_number FROM kits k WHERE k.status = 'available' AND k.site = 'S1' AND k.arm "
      "<> (SELECT arm FROM kits WHERE kit_number = $1) ORDER BY k.kit_number LIMIT 1",
      {subject_kit_});
  ASSERT_FALSE(rows.empty());
  d.visit = "W2";
  d.date = Day(14);
  d.kit_number = rows[0].Text(0);
  auto refused = store_->RecordDose("pharm", d, Day(14), {});
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error().message,
              HasSubstr("does not match subject " + std::to_string(subject_) + "'s allocation"));
  for (const char* arm : {"TCZ", "PBO", "tocilizumab", "placebo"}) {
    EXPECT_THAT(refused.error().message, Not(HasSubstr(arm)));
  }
  d.kit_number = other_kit;  // dispensed to the other subject
  EXPECT_FAILS(store_->RecordDose("pharm", d, Day(14), {}), ErrorCode::kInvalidInput,
               "already dispensed");
}

TEST_P(VisitTest, QueriesAreOpenedAnsweredClosedAndReopenedWithCounts) {
  Prepare();
  Item("W2", "vital_signs", "sbp", "180 mm[Hg]");
  Item("W2", "vital_signs", "dbp", "95 mm[Hg]");
  const ItemKey sbp{subject_, "W2", "vital_signs", 0, "sbp"};
  const ItemKey dbp{subject_, "W2", "vital_signs", 0, "dbp"};
  const std::string before = Snapshot();
  EXPECT_FAILS(store_->OpenQuery("coord", sbp, "please check", ""), ErrorCode::kPermissionDenied,
               "may not open queries");
  EXPECT_FAILS(store_->OpenQuery("mon2", sbp, "please check", ""), ErrorCode::kPermissionDenied,
               "may not open queries");
  EXPECT_FAILS(store_->OpenQuery("mon", sbp, " ", ""), ErrorCode::kInvalidArgument, "empty");
  EXPECT_FAILS(store_->OpenQuery("mon", ItemKey{subject_, "W2", "vital_signs", 0, "hr"}, "x", ""),
               ErrorCode::kNotFound, "has no value");
  EXPECT_EQ(Snapshot(), before);
  QueryRecord q = OK(store_->OpenQuery("mon", sbp, "180 mmHg: please confirm against source", ""));
  EXPECT_EQ(q.status, "open");
  // An edit check opens a query as the user who entered the data.
  QueryRecord check = OK(store_->OpenQuery("coord", dbp, "dbp above 90", "EC-BP-HIGH"));
  EXPECT_EQ(check.edit_check, "EC-BP-HIGH");
  auto listing = OK(service::ListQueries(*store_, "mon", QueryFilter{}));
  EXPECT_EQ(listing.queries.size(), 2u);
  EXPECT_EQ(listing.open_by_subject[subject_], 2);
  EXPECT_EQ(listing.open_by_site["S1"], 2);
  EXPECT_EQ(listing.open_by_form["vital_signs"], 2);
  EXPECT_TRUE(OK(service::ListQueries(*store_, "mon2", QueryFilter{})).queries.empty());
  // Answer (site), close (monitor), re-open (monitor), answer again.
  EXPECT_FAILS(store_->AnswerQuery("mon", q.id, "ok"), ErrorCode::kPermissionDenied,
               "may not answer queries");
  EXPECT_FAILS(store_->CloseQuery("coord", q.id, ""), ErrorCode::kPermissionDenied,
               "may not close queries");
  EXPECT_EQ(OK(store_->AnswerQuery("coord", q.id, "confirmed in the source")).status, "answered");
  EXPECT_FAILS(store_->AnswerQuery("coord", q.id, "again"), ErrorCode::kInvalidInput,
               "is answered: it cannot become answered");
  listing = OK(service::ListQueries(*store_, "coord", QueryFilter{subject_, {}, "answered"}));
  ASSERT_EQ(listing.queries.size(), 1u);
  EXPECT_EQ(listing.open_by_subject[subject_], 1);  // the edit check's query
  EXPECT_EQ(OK(store_->CloseQuery("mon", q.id, "")).status, "closed");
  EXPECT_FAILS(store_->ReopenQuery("mon", q.id, ""), ErrorCode::kInvalidArgument, "empty");
  EXPECT_EQ(OK(store_->ReopenQuery("mon", q.id, "source shows 108")).status, "open");
  EXPECT_EQ(OK(store_->CloseQuery("dm", check.id, "accepted")).status, "closed");
  listing = OK(service::ListQueries(*store_, "dm", QueryFilter{std::nullopt, "S1", "open"}));
  ASSERT_EQ(listing.queries.size(), 1u);
  EXPECT_EQ(listing.queries[0].version, 4);
  EXPECT_EQ(listing.open_by_site["S1"], 1);
  auto history = OK(store_->QueryHistory(q.id));
  std::vector<std::string> steps;
  for (const auto& h : history) steps.push_back(h.status + "/" + h.user);
  EXPECT_THAT(steps, ElementsAre("open/mon", "answered/coord", "closed/mon", "open/mon"));
  EXPECT_FAILS(service::ListQueries(*store_, "dm", QueryFilter{{}, {}, "pending"}),
               ErrorCode::kInvalidArgument, "open, answered or closed");
  ExpectIntact();
}

TEST_P(VisitTest, VerifiedThenLockedItemsCannotChangeUntilUnlocked) {
  Prepare();
  const ItemKey weight{subject_, "D0", "weight", 0, "weight"};
  Item("D0", "weight", "weight", "62.5 kg");
  EXPECT_EQ(OK(store_->ReviewOf(weight)).state, "entered");
  EXPECT_FAILS(store_->ReviewItem("dm", weight, "lock", ""), ErrorCode::kInvalidInput,
               "needs it verified");
  EXPECT_FAILS(store_->ReviewItem("coord", weight, "verify", ""), ErrorCode::kPermissionDenied,
               "may not verify items");
  EXPECT_EQ(OK(store_->ReviewItem("mon", weight, "verify", "")).state, "verified");
  EXPECT_FAILS(store_->ReviewItem("mon", weight, "lock", ""), ErrorCode::kPermissionDenied,
               "may not lock items");
  EXPECT_EQ(OK(store_->ReviewItem("dm", weight, "lock", "")).state, "locked");
  const std::string before = Snapshot();
  EXPECT_FAILS(store_->RecordItem("coord", weight, "63 kg", "scale recalibrated"),
               ErrorCode::kInvalidInput,
               "item " + std::to_string(subject_) + "/D0/weight/0/weight is locked (by dm");
  EXPECT_FAILS(store_->ReviewItem("dm", weight, "unlock", ""), ErrorCode::kInvalidArgument,
               "reason for unlocking is empty");
  EXPECT_EQ(Snapshot(), before);
  ReviewState unlocked = OK(store_->ReviewItem("dm", weight, "unlock", "correction requested"));
  EXPECT_EQ(unlocked.state, "verified");
  OK(store_->RecordItem("coord", weight, "63 kg", "scale recalibrated"));
  ReviewState after = OK(store_->ReviewOf(weight));
  EXPECT_EQ(after.state, "entered");  // the new value is not verified
  EXPECT_EQ(after.item_version, 2);
  ExpectIntact();
}

TEST_P(VisitTest, ChangingASignedVisitVoidsTheSignatureAndReportsIt) {
  Prepare();
  Item("W2", "vital_signs", "sbp", "120 mm[Hg]");
  EXPECT_FAILS(store_->Sign("inv", subject_, "W2", "I approve the data of visit W2"),
               ErrorCode::kInvalidInput, "not recorded");
  OK(service::RecordVisit(*store_, *protocol_, "coord",
                          service::VisitRequest{subject_, "W2", Day(14), false, ""}, Day(14)));
  EXPECT_FAILS(store_->Sign("coord", subject_, "W2", "I approve"), ErrorCode::kPermissionDenied,
               "may not sign");
  EXPECT_FAILS(store_->Sign("inv", subject_, "W2", ""), ErrorCode::kInvalidArgument,
               "meaning of the signature is empty");
  Signature sig = OK(store_->Sign("inv", subject_, "W2", "I approve the data of visit W2"));
  EXPECT_EQ(sig.printed_name, "Dr Ivy");
  EXPECT_FALSE(sig.signed_at.empty());
  // A change elsewhere leaves it; a change of a W2 item voids it, in the same transaction.
  auto d0 = OK(store_->RecordItem("coord", ItemKey{subject_, "D0", "vital_signs", 0, "sbp"},
                                  "118 mm[Hg]", ""));
  EXPECT_TRUE(d0.voided_signatures.empty());
  auto changed = OK(store_->RecordItem("coord", ItemKey{subject_, "W2", "vital_signs", 0, "sbp"},
                                       "122 mm[Hg]", "transcription error"));
  EXPECT_THAT(changed.voided_signatures, ElementsAre("signature of visit W2 by Dr Ivy voided"));
  EXPECT_EQ(LastEvent().action, "signature.void");
  auto sigs = OK(store_->Signatures(subject_));
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_FALSE(sigs[0].voided_at.empty());
  EXPECT_THAT(sigs[0].void_reason, HasSubstr("/W2/vital_signs/0/sbp changed (version 2)"));
  // Re-signed, and the casebook signed: a later change of any item voids the casebook's.
  OK(store_->Sign("inv", subject_, "W2", "I approve the data of visit W2"));
  OK(store_->Sign("inv", subject_, "", "I approve the casebook"));
  auto again = OK(store_->RecordItem("coord", ItemKey{subject_, "W2", "vital_signs", 0, "dbp"},
                                     "80 mm[Hg]", ""));
  EXPECT_THAT(again.voided_signatures, ElementsAre("signature of visit W2 by Dr Ivy voided",
                                                   "signature of the casebook by Dr Ivy voided"));
  ExpectIntact();
}

TEST_P(VisitTest, VerifyAuditDetectsATamperedRowOfEachNewTable) {
  Prepare();
  VisitWithData("D0", 0, "3.1 10*9/L");
  OK(Dose("D0", 0));
  VisitWithData("W2", 18, "0.8 10*9/L");  // late: a deviation
  OK(Dose("W2", 18, "transient"));        // against a hold: another
  const ItemKey sbp{subject_, "W2", "vital_signs", 0, "sbp"};
  Item("W2", "vital_signs", "sbp", "120 mm[Hg]");
  OK(store_->OpenQuery("mon", sbp, "check", ""));
  OK(store_->ReviewItem("mon", sbp, "verify", ""));
  OK(store_->Sign("inv", subject_, "W2", "I approve the data of visit W2"));
  OK(store_->RecordItem("coord", sbp, "121 mm[Hg]", "typo"));  // voids the signature
  ExpectIntact();
  const struct {
    const char* table;
    const char* change;
    const char* undo;
  } kCases[] = {
      {"visits", "UPDATE visits SET done_on = '2026-07-02' WHERE visit = 'D0'",
       "UPDATE visits SET done_on = '2026-07-01' WHERE visit = 'D0'"},
      {"deviations", "UPDATE deviations SET days_outside = 0",
       "UPDATE deviations SET days_outside = 1 WHERE kind = 'visit_out_of_window'"},
      {"doses", "UPDATE doses SET dose_ug = 400000 WHERE visit = 'D0'",
       "UPDATE doses SET dose_ug = 500000 WHERE visit = 'D0'"},
      {"queries", "UPDATE queries SET status = 'closed'", "UPDATE queries SET status = 'open'"},
      {"item_reviews", "UPDATE item_reviews SET state = 'locked'",
       "UPDATE item_reviews SET state = 'verified'"},
      {"signatures", "UPDATE signatures SET printed_name = 'Dr Who'",
       "UPDATE signatures SET printed_name = 'Dr Ivy'"},
      {"signature_voids", "UPDATE signature_voids SET username = 'admin'",
       "UPDATE signature_voids SET username = 'coord'"},
  };
  for (const auto& c : kCases) {
    Sql(c.change);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok) << c.table;
    EXPECT_THAT(r.problem, HasSubstr(std::string("a row of ") + c.table)) << r.problem;
    EXPECT_THAT(r.problem, HasSubstr("changed behind the system's back")) << r.problem;
    Sql(c.undo);
    ExpectIntact();
  }
  // A deleted row is missing; a row pointing at another event is caught.
  Sql("DELETE FROM queries");
  VerifyReport gone = Verify();
  EXPECT_FALSE(gone.ok);
  EXPECT_THAT(gone.problem, HasSubstr("the query written by audit event"));
  EXPECT_THAT(gone.problem, HasSubstr("is missing"));
}

// ---- the journey through the command line ----

TEST_P(VisitTest, OneSubjectFromD0ToW8ThroughTheCommandLine) {
  Journey j(path_);
  const std::string p = kProtocolDir;
  RUN_OK(j, {"init", "--admin", "admin", "--name", "Ada Admin"});
  RUN_OK(j, {"site", "add", "S1", "--name", "Site One", "--user", "admin"});
  RUN_OK(j, {"user", "add", "coord", "--role", "coordinator", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "inv", "--role", "investigator", "--sites", "S1", "--name", "Dr Ivy",
             "--user", "admin"});
  RUN_OK(j, {"user", "add", "mon", "--role", "monitor", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "dm", "--role", "data_manager", "--user", "admin"});
  RUN_OK(j, {"subject", "add", "--site", "S1", "--number", "001", "--user", "coord"});
  RUN_OK(j, {"screen", "examples/eligible-male.json", "--screening-date", "2026-07-06",
             "--randomization-date", "2026-07-13", "--save", "--subject", "1", "--user", "coord",
             "--protocol", p});
  const std::string seed(64, 'a');
  RUN_OK(j, {"randomization", "golive", "--user", "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "generate", "--count", "12", "--lot", "L1", "--expiry", "2027-12-31", "--user",
             "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "ship", "--site", "S1", "--count", "10", "--user", "admin", "--protocol", p});
  RUN_OK(j, {"kit", "receive", "--shipment", "SH-0001", "--user", "coord"});
  RUN_OK(j,
         {"randomize", "--subject", "1", "--ild", "present", "--user", "coord", "--protocol", p});
  // Day 0 is 2026-07-13. Each dosing visit: weight and labs, the visit, the plan, the dose.
  const struct {
    const char* visit;
    int day;
    const char* weight;
    const char* anc;
    const char* mg;  // expected dose
  } kVisits[] = {{"D0", 0, "62.5 kg", "3.1 10*9/L", "500 mg"},
                 {"W2", 14, "62.5 kg", "0.8 10*9/L", nullptr},   // hold
                 {"W4", 27, "62.5 kg", "1.6 10*9/L", "250 mg"},  // resume at 4 mg/kg
                 {"W6", 42, "64 kg", "2.4 10*9/L", "512 mg"}};
  const Date day0 = j.today_;
  for (const auto& v : kVisits) {
    j.today_ = day0.AddDays(v.day);
    const std::string date = j.today_.ToString();
    auto item = [&](const char* form, const char* id, const std::string& value) {
      RUN_OK(j, {"item", "record", "--subject", "1", "--visit", v.visit, "--form", form, "--item",
                 id, "--value", value, "--user", "coord"});
    };
    item("weight", "weight", v.weight);
    for (const auto& [id, value] : Labs(v.anc)) item("safety_labs", id.c_str(), value);
    RUN_OK(j, {"visit", "record", "--subject", "1", "--visit", v.visit, "--date", date, "--user",
               "coord", "--protocol", p});
    RUN_OK(j, {"dose", "plan", "--subject", "1", "--visit", v.visit, "--date", date, "--user",
               "coord", "--protocol", p});
    const std::string plan = j.out_;
    if (v.mg == nullptr) {
      EXPECT_THAT(plan, HasSubstr("give: nothing (hold)")) << plan;
      EXPECT_EQ(j.Run({"dose", "record", "--subject", "1", "--visit", v.visit, "--date", date,
                       "--user", "coord", "--protocol", p}),
                cli::kExitInput);
      EXPECT_THAT(j.err_, HasSubstr("give an override reason"));
      RUN_OK(j, {"dose", "withhold", "--subject", "1", "--visit", v.visit, "--date", date, "--user",
                 "coord", "--protocol", p});
      continue;
    }
    EXPECT_THAT(plan, HasSubstr(std::string("give: ") + v.mg)) << plan;
    RUN_OK(j, {"dose", "record", "--subject", "1", "--visit", v.visit, "--date", date, "--user",
               "coord", "--protocol", p});
    EXPECT_THAT(j.out_, HasSubstr(std::string("given ") + v.mg));
  }
  // W8 (day 56, no dose with dose_count 4) on day 60: one day late.
  j.today_ = day0.AddDays(60);
  RUN_OK(j, {"visit", "record", "--subject", "1", "--visit", "W8", "--date", j.today_.ToString(),
             "--user", "coord", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("visit_out_of_window"));
  EXPECT_EQ(j.Run({"visit", "record", "--subject", "1", "--visit", "SFU", "--date",
                   day0.AddDays(84).ToString(), "--user", "coord", "--protocol", p}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("after today"));
  RUN_OK(j, {"visit", "list", "--subject", "1", "--date", j.today_.ToString(), "--user", "mon",
             "--format", "json", "--protocol", p});
  auto list = json::parse(j.out_);
  std::vector<std::string> statuses;
  for (const auto& v : list["visits"]) statuses.push_back(v["status"].get<std::string>());
  EXPECT_THAT(statuses, ElementsAre("done in window", "done in window", "done in window",
                                    "done in window", "done out of window", "upcoming"));
  EXPECT_EQ(list["deviations"].size(), 1u);
  // A query on the late visit's weight, answered and closed; W8 signed, changed, re-signed.
  RUN_OK(j, {"item", "record", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--value", "64.5 kg", "--user", "coord"});
  RUN_OK(j, {"query", "open", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--text", "please confirm", "--user", "mon"});
  RUN_OK(j, {"query", "list", "--subject", "1", "--user", "mon"});
  EXPECT_THAT(j.out_, HasSubstr("open by form: weight=1"));
  RUN_OK(j, {"query", "answer", "1", "--text", "confirmed", "--user", "coord"});
  RUN_OK(j, {"query", "close", "1", "--user", "mon"});
  RUN_OK(j, {"sign", "--subject", "1", "--visit", "W8", "--meaning",
             "I approve the data of visit W8", "--user", "inv"});
  RUN_OK(j, {"item", "record", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--value", "64.6 kg", "--reason", "typo", "--user", "coord"});
  EXPECT_THAT(j.out_, HasSubstr("signature of visit W8 by Dr Ivy voided"));
  RUN_OK(j, {"review", "sdv", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--user", "mon"});
  RUN_OK(j, {"review", "lock", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--user", "dm"});
  EXPECT_EQ(j.Run({"item", "record", "--subject", "1", "--visit", "W8", "--form", "weight",
                   "--item", "weight", "--value", "65 kg", "--reason", "x", "--user", "coord"}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("is locked"));
  // Bad usage stores nothing and says why.
  EXPECT_EQ(j.Run({"visit", "record", "--subject", "1", "--visit", "W8", "--user", "coord"}),
            cli::kExitUsage);
  EXPECT_EQ(j.Run({"dose", "plan", "--subject", "x", "--visit", "W2", "--date", "2026-07-27",
                   "--user", "coord"}),
            cli::kExitUsage);
  RUN_OK(j, {"audit", "verify"});
}

INSTANTIATE_TEST_SUITE_P(Backends, VisitTest, ::testing::Values("sqlite", "postgres"), ParamName);

}  // namespace
}  // namespace trial::store
