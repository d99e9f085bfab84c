// Respiratory-failure, P/F and on-study RP-ILD detection on constructed timelines, near misses
// included. Day 0 is 2026-03-02. Run from the repository root (ctest does).
#include "safety/respiratory.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trial::safety {
namespace {

const protocol::Outcomes& Promis() {
  static const protocol::Outcomes* o = [] {
    auto p = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    return new protocol::Outcomes(*(*p)->outcomes);
  }();
  return *o;
}

const Date kDay0 = *Date::Parse("2026-03-02");
Date Day(int n) { return kDay0.AddDays(n); }

std::optional<ExactQuantity> Q(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto q = ExactQuantity::Parse(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? std::optional<ExactQuantity>(*q) : std::nullopt;
}

OxygenationSample S(int day, const std::string& spo2, const std::string& pao2,
                    const std::string& fio2) {
  return {Day(day), Q(spo2), Q(pao2), Q(fio2)};
}

TEST(RespiratoryFailureTest, EventsAfterDayZeroBelowThresholdsWithNearMisses) {
  auto r = DetectRespiratoryFailure(
      Promis(), kDay0,
      {
          S(0, "80 %", "", ""),                                         // day 0: not after it
          S(14, "90 %", "", ""),                                        // 90 is not < 90
          S(28, "", "60 mm[Hg]", "21 %"),                               // 60 is not < 60
          S(29, "", "8.0 kPa", ""),                                     // 60.0 mmHg: not < 60
          S(42, "", "59.9 mm[Hg]", "0.21"), S(35, "89 %", "", "40 %"),  // low on oxygen: counts
          S(36, "", "7.9 kPa", ""),                                     // 59.3 mmHg
      });
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].day, 35);
  EXPECT_EQ((*r)[0].reason, "SpO2 89.0 % < 90 % on FiO2 40 %");
  EXPECT_EQ((*r)[1].day, 36);
  EXPECT_NE((*r)[1].reason.find("no FiO2 recorded: taken as 21 %"), std::string::npos);
  EXPECT_EQ((*r)[2].day, 42);
}

TEST(RespiratoryFailureTest, BadValuesAreErrors) {
  auto r = DetectRespiratoryFailure(Promis(), kDay0, {S(3, "101 %", "", "")});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("SpO2 101.00 % is out of range"), std::string::npos)
      << r.error().message;
  r = DetectRespiratoryFailure(Promis(), kDay0, {S(3, "95 %", "", "0.15")});
  EXPECT_NE(r.error().message.find("FiO2 0.15 is out of range"), std::string::npos)
      << r.error().message;
  r = DetectRespiratoryFailure(Promis(), kDay0, {S(3, "", "60 kg", "")});
  EXPECT_EQ(r.error().code, ErrorCode::kType);
}

TEST(PfTest, RatioAndSeriesAgainstBaseline) {
  EXPECT_EQ(*PfRatio(*Q("63 mm[Hg]"), *Q("21 %")), Rational(300));
  EXPECT_EQ(*PfRatio(*Q("70 mm[Hg]"), *Q("0.5")), Rational(140));
  auto s = TrackPf(kDay0, {S(14, "", "70 mm[Hg]", "50 %"), S(-3, "", "84 mm[Hg]", "21 %"),
                           S(0, "", "63 mm[Hg]", "21 %"), S(7, "95 %", "", "")});
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(s->baseline.has_value());
  EXPECT_EQ(s->baseline->pf, Rational(300));  // day 0 is the latest on or before day 0
  ASSERT_EQ(s->points.size(), 1u);
  EXPECT_EQ(s->points[0].day, 14);
  EXPECT_EQ(*s->points[0].change, Rational(-160));
}

DatedValue V(int day, const std::string& q) { return {Day(day), *Q(q)}; }

TEST(RpIldTest, MeasurementsWithinTheWindowAgainstBaseline) {
  RespiratoryTimeline t;
  t.fvc_percent = {V(-10, "70 %"), V(35, "60 %"), V(51, "59.9 %")};
  t.hrct_extent = {V(-5, "20 %"), V(40, "40 %")};
  t.pao2 = {V(0, "80 mm[Hg]"), V(45, "70 mm[Hg]")};
  t.symptom_onsets = {Day(20)};  // window days 20..50
  t.supplemental_oxygen = {Day(19)};
  // Near misses only: FVC drop exactly 10 points, FVC 59.9 after the window, HRCT +20 exactly,
  // PaO2 -10 exactly, oxygen the day before onset.
  auto r = DetectRpIld(Promis(), kDay0, t);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_FALSE(r->detected) << r->reason;
  t.fvc_percent.push_back(V(50, "59.9 %"));  // last day of the window, 10.1 below
  r = DetectRpIld(Promis(), kDay0, t);
  EXPECT_TRUE(r->detected);
  EXPECT_EQ(*r->date, Day(50));
  EXPECT_NE(r->reason.find("FVC % predicted 59.9 % on 2026-04-21 is 10.1 below baseline 70"),
            std::string::npos)
      << r->reason;
  t.hrct_extent.push_back(V(30, "40.5 %"));  // +20.5: earlier
  r = DetectRpIld(Promis(), kDay0, t);
  EXPECT_EQ(*r->date, Day(30));
  t.pao2.push_back(V(25, "69.9 mm[Hg]"));  // -10.1: earlier still
  r = DetectRpIld(Promis(), kDay0, t);
  EXPECT_EQ(*r->date, Day(25));
  EXPECT_NE(r->reason.find("PaO2"), std::string::npos);
}

TEST(RpIldTest, OxygenStaysDiagnosesAndOnsets) {
  RespiratoryTimeline t;
  t.symptom_onsets = {Day(0), Day(-5)};  // not after day 0: ignored
  t.supplemental_oxygen = {Day(2)};
  EXPECT_FALSE(DetectRpIld(Promis(), kDay0, t)->detected);
  t.symptom_onsets.push_back(Day(10));
  t.supplemental_oxygen = {Day(41)};  // 31 days after onset: outside
  EXPECT_FALSE(DetectRpIld(Promis(), kDay0, t)->detected);
  t.supplemental_oxygen = {Day(40)};
  EXPECT_EQ(*DetectRpIld(Promis(), kDay0, t)->date, Day(40));
  t.respiratory_stays = {{Day(5), Day(12)}};  // overlaps the window from day 10
  auto r = DetectRpIld(Promis(), kDay0, t);
  EXPECT_EQ(*r->date, Day(10));
  EXPECT_NE(r->reason.find("respiratory hospital stay"), std::string::npos);
  // Without an on-study onset only a diagnosis after day 0 counts.
  RespiratoryTimeline dx;
  dx.supplemental_oxygen = {Day(3)};
  dx.rp_ild_diagnoses = {Day(0)};
  EXPECT_FALSE(DetectRpIld(Promis(), kDay0, dx)->detected);
  dx.rp_ild_diagnoses.push_back(Day(9));
  EXPECT_EQ(*DetectRpIld(Promis(), kDay0, dx)->date, Day(9));
  // A measurement without a baseline cannot signal RP-ILD.
  RespiratoryTimeline nb;
  nb.symptom_onsets = {Day(10)};
  nb.fvc_percent = {V(15, "30 %")};
  EXPECT_FALSE(DetectRpIld(Promis(), kDay0, nb)->detected);
}

}  // namespace
}  // namespace trial::safety
