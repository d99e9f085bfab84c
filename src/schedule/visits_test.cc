// Tests of the visit plan and visit statuses (visits.h) with the real PROMIS-MDA5 schedule:
// 7 visits (SCR days -28..-1, D0, W2, W4, W6, W8 at days 0..56, SFU at day 84), windows of
// +-3 days after day 0, 7 days of grace, doses at D0..W6.
#include "schedule/visits.h"

#include <gtest/gtest.h>

#include "schedule/schedule_test_util.h"

namespace trial::schedule {
namespace {

using testing::D;
using testing::RealSchedule;

struct Expected {
  const char* id;
  const char* earliest;
  const char* target;
  const char* latest;
  bool dose;
};

void ExpectPlan(const VisitPlan& plan, const std::vector<Expected>& want) {
  ASSERT_EQ(plan.visits.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const PlannedVisit& v = plan.visits[i];
    EXPECT_EQ(v.visit_id, want[i].id);
    EXPECT_EQ(v.earliest.ToString(), want[i].earliest) << v.visit_id;
    EXPECT_EQ(v.target.ToString(), want[i].target) << v.visit_id;
    EXPECT_EQ(v.latest.ToString(), want[i].latest) << v.visit_id;
    EXPECT_EQ(v.dose, want[i].dose) << v.visit_id;
  }
}

TEST(VisitPlanTest, AnOrdinaryStart) {
  VisitPlan plan = PlanVisits(RealSchedule(), D("2026-03-02"));
  EXPECT_EQ(plan.day0, D("2026-03-02"));
  ExpectPlan(plan, {{"SCR", "2026-02-02", "2026-03-01", "2026-03-01", false},
                    {"D0", "2026-03-02", "2026-03-02", "2026-03-02", true},
                    {"W2", "2026-03-13", "2026-03-16", "2026-03-19", true},
                    {"W4", "2026-03-27", "2026-03-30", "2026-04-02", true},
                    {"W6", "2026-04-10", "2026-04-13", "2026-04-16", true},
                    {"W8", "2026-04-24", "2026-04-27", "2026-04-30", false},
                    {"SFU", "2026-05-22", "2026-05-25", "2026-05-28", false}});
  EXPECT_EQ(plan.Find("W4")->dose_number, 3);
  EXPECT_EQ(plan.Find("W8")->dose_number, 0);  // slot 5 is not used with 4 doses
  EXPECT_EQ(plan.Find("UNS"), nullptr);
}

TEST(VisitPlanTest, MonthEndsAndAYearEnd) {
  // Day 0 on 31 January of a common year: W4 lands on 28 February, its window runs into March.
  VisitPlan plan = PlanVisits(RealSchedule(), D("2027-01-31"));
  ExpectPlan(plan, {{"SCR", "2027-01-03", "2027-01-30", "2027-01-30", false},
                    {"D0", "2027-01-31", "2027-01-31", "2027-01-31", true},
                    {"W2", "2027-02-11", "2027-02-14", "2027-02-17", true},
                    {"W4", "2027-02-25", "2027-02-28", "2027-03-03", true},
                    {"W6", "2027-03-11", "2027-03-14", "2027-03-17", true},
                    {"W8", "2027-03-25", "2027-03-28", "2027-03-31", false},
                    {"SFU", "2027-04-22", "2027-04-25", "2027-04-28", false}});
  // Across a year end.
  VisitPlan dec = PlanVisits(RealSchedule(), D("2026-12-20"));
  EXPECT_EQ(dec.Find("SCR")->earliest, D("2026-11-22"));
  EXPECT_EQ(dec.Find("W2")->target, D("2027-01-03"));
  EXPECT_EQ(dec.Find("W2")->earliest, D("2026-12-31"));
}

TEST(VisitPlanTest, LeapYears) {
  // 2028 is a leap year: W4 is on 29 February.
  VisitPlan leap = PlanVisits(RealSchedule(), D("2028-02-01"));
  EXPECT_EQ(leap.Find("W4")->target, D("2028-02-29"));
  EXPECT_EQ(leap.Find("W4")->earliest, D("2028-02-26"));
  EXPECT_EQ(leap.Find("W4")->latest, D("2028-03-03"));
  EXPECT_EQ(leap.Find("W8")->target, D("2028-03-28"));
  // The same day 0 in a common year: 1 March, one calendar day later in March.
  VisitPlan common = PlanVisits(RealSchedule(), D("2027-02-01"));
  EXPECT_EQ(common.Find("W4")->target, D("2027-03-01"));
  EXPECT_EQ(common.Find("W8")->target, D("2027-03-29"));
  // Screening reaching back over 29 February (2028-03-20 minus 28 days).
  VisitPlan back = PlanVisits(RealSchedule(), D("2028-03-20"));
  EXPECT_EQ(back.Find("SCR")->earliest, D("2028-02-21"));
  // 2100 is not a leap year.
  EXPECT_EQ(PlanVisits(RealSchedule(), D("2100-02-15")).Find("W2")->target, D("2100-03-01"));
}

class VisitStatusTest : public ::testing::Test {
 protected:
  const protocol::Schedule& schedule_ = RealSchedule();
  VisitPlan plan_ = PlanVisits(schedule_, D("2026-03-02"));  // W2 window 03-13..03-19

  VisitState StateOf(const std::vector<VisitRecord>& records, Date today, const char* id,
                     VisitReport* out = nullptr) {
    auto report = EvaluateVisits(schedule_, plan_, records, today);
    EXPECT_TRUE(report.has_value()) << report.error().message;
    if (!report) return {};
    if (out != nullptr) *out = *report;
    for (const auto& v : report->visits) {
      if (v.visit.visit_id == id) return v;
    }
    ADD_FAILURE() << "no visit " << id;
    return {};
  }
};

TEST_F(VisitStatusTest, NotDoneMovesFromUpcomingToDueToOverdueToMissed) {
  const std::vector<VisitRecord> none;
  EXPECT_EQ(StateOf(none, D("2026-03-12"), "W2").status, VisitStatus::kUpcoming);
  EXPECT_EQ(StateOf(none, D("2026-03-13"), "W2").status, VisitStatus::kDue);  // window opens
  EXPECT_EQ(StateOf(none, D("2026-03-19"), "W2").status, VisitStatus::kDue);  // last day
  EXPECT_EQ(StateOf(none, D("2026-03-20"), "W2").status, VisitStatus::kOverdue);
  EXPECT_EQ(StateOf(none, D("2026-03-26"), "W2").status, VisitStatus::kOverdue);  // grace ends
  VisitReport report;
  EXPECT_EQ(StateOf(none, D("2026-03-27"), "W2", &report).status, VisitStatus::kMissed);
  // D0 and W2 are missed by then (D0 since 2026-03-10), both dosing visits.
  ASSERT_EQ(report.deviations.size(), 5u);  // SCR, D0 + dose, W2 + dose
  EXPECT_EQ(report.deviations[0].kind, DeviationKind::kVisitMissed);
  EXPECT_EQ(report.deviations[0].visit_id, "SCR");
  EXPECT_EQ(report.deviations[3].kind, DeviationKind::kVisitMissed);
  EXPECT_EQ(report.deviations[3].visit_id, "W2");
  EXPECT_EQ(report.deviations[3].description,
            "W2 missed: not done by 2026-03-26 (window 2026-03-13..2026-03-19 + 7 days grace)");
  EXPECT_EQ(report.deviations[4].kind, DeviationKind::kDoseMissed);
  EXPECT_EQ(report.deviations[4].date, D("2026-03-16"));
  EXPECT_EQ(DeviationKindName(report.deviations[4].kind), std::string("dose_missed"));
}

TEST_F(VisitStatusTest, DoneInAndOutOfTheWindow) {
  const Date today = D("2026-04-01");
  for (const char* day : {"2026-03-13", "2026-03-16", "2026-03-19"}) {
    VisitState s = StateOf({{"W2", D(day)}}, today, "W2");
    EXPECT_EQ(s.status, VisitStatus::kDoneInWindow) << day;
    EXPECT_EQ(s.done_on, D(day));
  }
  VisitReport report;
  VisitState early = StateOf({{"W2", D("2026-03-11")}}, today, "W2", &report);
  EXPECT_EQ(early.status, VisitStatus::kDoneOutOfWindow);
  EXPECT_EQ(early.days_outside, -2);
  bool found = false;
  for (const auto& d : report.deviations) {
    if (d.kind != DeviationKind::kVisitOutOfWindow) continue;
    found = true;
    EXPECT_EQ(d.visit_id, "W2");
    EXPECT_EQ(d.days_outside, -2);
    EXPECT_EQ(d.description,
              "W2 done on 2026-03-11, 2 days before its window 2026-03-13..2026-03-19");
  }
  EXPECT_TRUE(found);
  VisitState late = StateOf({{"W2", D("2026-03-20")}}, today, "W2");
  EXPECT_EQ(late.status, VisitStatus::kDoneOutOfWindow);
  EXPECT_EQ(late.days_outside, 1);
  // A late visit recorded after the grace period is still done (out of window), not missed.
  EXPECT_EQ(StateOf({{"W2", D("2026-03-30")}}, today, "W2").days_outside, 11);
  // Day 0 has no window: the day before is out of window.
  EXPECT_EQ(StateOf({{"D0", D("2026-03-01")}}, today, "D0").status, VisitStatus::kDoneOutOfWindow);
}

TEST_F(VisitStatusTest, AnExplicitMissedRecord) {
  VisitReport report;
  VisitRecord missed{"W4", std::nullopt, true, "subject hospitalised"};
  VisitState s = StateOf({missed}, D("2026-03-28"), "W4", &report);  // window still open
  EXPECT_EQ(s.status, VisitStatus::kMissed);
  ASSERT_GE(report.deviations.size(), 2u);
  const Deviation& visit = report.deviations[report.deviations.size() - 2];
  EXPECT_EQ(visit.description, "W4 missed: recorded as missed: subject hospitalised");
  EXPECT_EQ(report.deviations.back().kind, DeviationKind::kDoseMissed);
  EXPECT_EQ(report.deviations.back().description,
            "dose 3 (W4, target 2026-03-30) missed: the visit was missed");
  // A missed visit without a dose slot gives no missed dose.
  VisitReport eot;
  StateOf({{"W8", std::nullopt, true, ""}}, D("2026-04-28"), "W8", &eot);
  EXPECT_EQ(eot.deviations.back().kind, DeviationKind::kVisitMissed);
  EXPECT_EQ(eot.deviations.back().visit_id, "W8");
}

TEST_F(VisitStatusTest, EveryStatusHasAName) {
  EXPECT_STREQ(VisitStatusName(VisitStatus::kUpcoming), "upcoming");
  EXPECT_STREQ(VisitStatusName(VisitStatus::kDue), "due");
  EXPECT_STREQ(VisitStatusName(VisitStatus::kOverdue), "overdue");
  EXPECT_STREQ(VisitStatusName(VisitStatus::kDoneInWindow), "done in window");
  EXPECT_STREQ(VisitStatusName(VisitStatus::kDoneOutOfWindow), "done out of window");
  EXPECT_STREQ(VisitStatusName(VisitStatus::kMissed), "missed");
}

TEST_F(VisitStatusTest, UnscheduledVisits) {
  VisitReport report;
  StateOf({{"UNS", D("2026-03-20")}, {"UNS", D("2026-03-05")}}, D("2026-03-21"), "W2", &report);
  EXPECT_EQ(report.unscheduled, (std::vector<Date>{D("2026-03-05"), D("2026-03-20")}));
  auto before = EvaluateVisits(schedule_, plan_, {{"UNS", D("2026-03-01")}}, D("2026-03-21"));
  ASSERT_FALSE(before.has_value());
  EXPECT_EQ(before.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(before.error().message,
            "visit record 'UNS': dated 2026-03-01, before day 0 2026-03-02");
}

TEST_F(VisitStatusTest, BadRecordsAreRejected) {
  const Date today = D("2026-03-21");
  auto message = [&](const std::vector<VisitRecord>& records) {
    auto r = EvaluateVisits(schedule_, plan_, records, today);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(message({{"W3", D("2026-03-20")}}),
            "visit record 'W3': no such planned visit (unscheduled visits use 'UNS')");
  EXPECT_EQ(message({{"W2", D("2026-03-15")}, {"W2", D("2026-03-16")}}),
            "visit record 'W2': recorded twice");
  EXPECT_EQ(message({{"W2", D("2026-03-22")}}),
            "visit record 'W2': dated 2026-03-22, after today 2026-03-21");
  EXPECT_EQ(message({{"W2", std::nullopt, false, ""}}),
            "visit record 'W2': give either a date (done) or missed, exactly one of them");
  EXPECT_EQ(message({{"W2", D("2026-03-15"), true, ""}}),
            "visit record 'W2': give either a date (done) or missed, exactly one of them");
  protocol::Schedule closed = schedule_;
  closed.unscheduled_allowed = false;
  auto r = EvaluateVisits(closed, plan_, {{"UNS", D("2026-03-20")}}, today);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "visit record 'UNS': no such planned visit (unscheduled visits are not allowed)");
}

}  // namespace
}  // namespace trial::schedule
