// TIS, IMACS improvement and worsening on the real PROMIS-MDA5 outcomes.yaml. Every expected
// number is computed by hand in the comments. Run from the repository root (ctest does).
#include "outcomes/tis.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trial::outcomes {
namespace {

using protocol::CoreSetMeasure;
using protocol::Outcomes;
using protocol::PercentReading;

const Outcomes& Promis() {
  static const Outcomes* o = [] {
    auto p = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    return new Outcomes(*(*p)->outcomes);
  }();
  return *o;
}

Outcomes With(PercentReading r) {
  Outcomes o = Promis();
  o.tis_reading = r;
  return o;
}

ExactQuantity Q(const std::string& text) {
  auto q = ExactQuantity::Parse(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q.value_or(ExactQuantity{});
}

Rational R(const std::string& text) { return *Rational::Parse(text); }

// Baseline: physician 8 cm, patient 8 cm, MMT 100, HAQ 2, extramuscular 8 cm, CK 1000 U/L
// (ULN 200: 5 x ULN) and ALT 80 U/L (ULN 40: 2 x ULN), so CK is the enzyme.
CoreSet Baseline() {
  CoreSet c;
  c.physician_global = Q("8 cm");
  c.patient_global = Q("8 cm");
  c.mmt = Q("100");
  c.haq = Q("2");
  c.extramuscular = Q("8 cm");
  c.enzymes = {{"ck", Q("1000 U/L"), Q("200 U/L")}, {"alt", Q("80 U/L"), Q("40 U/L")}};
  return c;
}

// One case: `value` of one measure at the visit (everything else unchanged: 0 points).
struct EdgeCase {
  CoreSetMeasure measure;
  std::string value;
  std::string points;
  std::string why;  // the hand computation
};

void SetValue(CoreSet& c, CoreSetMeasure m, const std::string& value) {
  switch (m) {
    case CoreSetMeasure::kPhysicianGlobal:
      c.physician_global = Q(value + " cm");
      break;
    case CoreSetMeasure::kPatientGlobal:
      c.patient_global = Q(value + " cm");
      break;
    case CoreSetMeasure::kMmt:
      c.mmt = Q(value);
      break;
    case CoreSetMeasure::kHaq:
      c.haq = Q(value);
      break;
    case CoreSetMeasure::kEnzyme:
      c.enzymes = {{"ck", Q(value + " U/L"), Q("200 U/L")}, {"alt", Q("80 U/L"), Q("40 U/L")}};
      break;
    case CoreSetMeasure::kExtramuscular:
      c.extramuscular = Q(value + " cm");
      break;
  }
}

void RunEdges(PercentReading reading, const std::vector<EdgeCase>& cases) {
  const Outcomes o = With(reading);
  for (const auto& c : cases) {
    CoreSet visit = Baseline();
    SetValue(visit, c.measure, c.value);
    auto s = ScoreTis(o, Baseline(), visit);
    ASSERT_TRUE(s.has_value()) << s.error().message;
    ASSERT_TRUE(s->known);
    const TisItem& item = s->items[static_cast<int>(c.measure)];
    EXPECT_EQ(item.points, R(c.points)) << item.id << " " << c.value << ": " << c.why << "\n"
                                        << TisToText(*s);
    EXPECT_EQ(s->total, R(c.points)) << c.why;
  }
}

using M = CoreSetMeasure;

// Default reading: percent of the scale's range (VAS 10 cm, HAQ 3, MMT 150); enzyme of baseline.
TEST(TisEdgesTest, ScaleRangeReadingEveryEdgeBothSides) {
  RunEdges(PercentReading::kScaleRange,
           {
               // Physician global, baseline 8 cm: percent = (8 - v) / 10 x 100.
               {M::kPhysicianGlobal, "7.5", "0", "0.5 cm = 5 %: <= 5"},
               {M::kPhysicianGlobal, "7.49", "7.5", "5.1 %: > 5 to 15"},
               {M::kPhysicianGlobal, "6.5", "7.5", "15 %: <= 15"},
               {M::kPhysicianGlobal, "6.49", "15", "15.1 %"},
               {M::kPhysicianGlobal, "5.5", "15", "25 %"},
               {M::kPhysicianGlobal, "5.49", "17.5", "25.1 %"},
               {M::kPhysicianGlobal, "4", "17.5", "40 %"},
               {M::kPhysicianGlobal, "3.99", "20", "40.1 %"},
               {M::kPhysicianGlobal, "9", "0", "worsening -10 %"},
               // Patient global: same percentages, its own points.
               {M::kPatientGlobal, "7.5", "0", "5 %"},
               {M::kPatientGlobal, "7.49", "2.5", "5.1 %"},
               {M::kPatientGlobal, "6.5", "2.5", "15 %"},
               {M::kPatientGlobal, "6.49", "5", "15.1 %"},
               {M::kPatientGlobal, "5.5", "5", "25 %"},
               {M::kPatientGlobal, "5.49", "7.5", "25.1 %"},
               {M::kPatientGlobal, "4", "7.5", "40 %"},
               {M::kPatientGlobal, "3.99", "10", "40.1 %"},
               // Extramuscular global.
               {M::kExtramuscular, "7.5", "0", "5 %"},
               {M::kExtramuscular, "7.49", "7.5", "5.1 %"},
               {M::kExtramuscular, "6.5", "7.5", "15 %"},
               {M::kExtramuscular, "6.49", "12.5", "15.1 %"},
               {M::kExtramuscular, "5.5", "12.5", "25 %"},
               {M::kExtramuscular, "5.49", "15", "25.1 %"},
               {M::kExtramuscular, "4", "15", "40 %"},
               {M::kExtramuscular, "3.99", "20", "40.1 %"},
               // HAQ, baseline 2: percent = (2 - v) / 3 x 100.
               {M::kHaq, "1.85", "0", "0.15 / 3 = 5 %"},
               {M::kHaq, "1.84", "5", "5.33 %"},
               {M::kHaq, "1.55", "5", "0.45 / 3 = 15 %"},
               {M::kHaq, "1.54", "7.5", "15.33 %"},
               {M::kHaq, "1.25", "7.5", "0.75 / 3 = 25 %"},
               {M::kHaq, "1.24", "7.5", "25.33 % (> 25 to 40 is also 7.5)"},
               {M::kHaq, "0.8", "7.5", "1.2 / 3 = 40 %"},
               {M::kHaq, "0.79", "10", "40.33 %"},
               // MMT, baseline 100, maximum 150: percent = (v - 100) / 150 x 100.
               {M::kMmt, "103", "0", "3 / 150 = 2 %"},
               {M::kMmt, "104", "10", "2.67 %"},
               {M::kMmt, "115", "10", "15 / 150 = 10 %"},
               {M::kMmt, "116", "20", "10.67 %"},
               {M::kMmt, "130", "20", "30 / 150 = 20 %"},
               {M::kMmt, "131", "27.5", "20.67 %"},
               {M::kMmt, "145", "27.5", "45 / 150 = 30 %"},
               {M::kMmt, "146", "32.5", "30.67 %"},
               {M::kMmt, "90", "0", "worsening"},
               // Enzyme (CK, baseline 1000 U/L): percent = (1000 - v) / 1000 x 100.
               {M::kEnzyme, "950", "0", "5 %"},
               {M::kEnzyme, "949", "2.5", "5.1 %"},
               {M::kEnzyme, "850", "2.5", "15 %"},
               {M::kEnzyme, "849", "5", "15.1 %"},
               {M::kEnzyme, "750", "5", "25 %"},
               {M::kEnzyme, "749", "7.5", "25.1 %"},
               {M::kEnzyme, "600", "7.5", "40 %"},
               {M::kEnzyme, "599", "7.5", "40.1 % (> 40 is also 7.5)"},
               {M::kEnzyme, "1500", "0", "worsening"},
           });
}

// Alternative reading: percent of each measure's baseline.
TEST(TisEdgesTest, BaselineReadingEveryEdgeBothSides) {
  RunEdges(PercentReading::kBaseline,
           {
               // Physician global, baseline 8: percent = (8 - v) / 8 x 100.
               {M::kPhysicianGlobal, "7.6", "0", "0.4 / 8 = 5 %"},
               {M::kPhysicianGlobal, "7.59", "7.5", "5.125 %"},
               {M::kPhysicianGlobal, "6.8", "7.5", "1.2 / 8 = 15 %"},
               {M::kPhysicianGlobal, "6.79", "15", "15.125 %"},
               {M::kPhysicianGlobal, "6", "15", "2 / 8 = 25 %"},
               {M::kPhysicianGlobal, "5.99", "17.5", "25.125 %"},
               {M::kPhysicianGlobal, "4.8", "17.5", "3.2 / 8 = 40 %"},
               {M::kPhysicianGlobal, "4.79", "20", "40.125 %"},
               {M::kPatientGlobal, "7.6", "0", "5 %"},
               {M::kPatientGlobal, "7.59", "2.5", "5.125 %"},
               {M::kPatientGlobal, "6.8", "2.5", "15 %"},
               {M::kPatientGlobal, "6.79", "5", "15.125 %"},
               {M::kPatientGlobal, "6", "5", "25 %"},
               {M::kPatientGlobal, "5.99", "7.5", "25.125 %"},
               {M::kPatientGlobal, "4.8", "7.5", "40 %"},
               {M::kPatientGlobal, "4.79", "10", "40.125 %"},
               {M::kExtramuscular, "7.6", "0", "5 %"},
               {M::kExtramuscular, "7.59", "7.5", "5.125 %"},
               {M::kExtramuscular, "6.8", "7.5", "15 %"},
               {M::kExtramuscular, "6.79", "12.5", "15.125 %"},
               {M::kExtramuscular, "6", "12.5", "25 %"},
               {M::kExtramuscular, "5.99", "15", "25.125 %"},
               {M::kExtramuscular, "4.8", "15", "40 %"},
               {M::kExtramuscular, "4.79", "20", "40.125 %"},
               // HAQ, baseline 2: percent = (2 - v) / 2 x 100.
               {M::kHaq, "1.9", "0", "5 %"},
               {M::kHaq, "1.89", "5", "5.5 %"},
               {M::kHaq, "1.7", "5", "15 %"},
               {M::kHaq, "1.69", "7.5", "15.5 %"},
               {M::kHaq, "1.5", "7.5", "25 %"},
               {M::kHaq, "1.49", "7.5", "25.5 %"},
               {M::kHaq, "1.2", "7.5", "40 %"},
               {M::kHaq, "1.19", "10", "40.5 %"},
               // MMT, baseline 100: percent = (v - 100) / 100 x 100.
               {M::kMmt, "102", "0", "2 %"},
               {M::kMmt, "103", "10", "3 %"},
               {M::kMmt, "110", "10", "10 %"},
               {M::kMmt, "111", "20", "11 %"},
               {M::kMmt, "120", "20", "20 %"},
               {M::kMmt, "121", "27.5", "21 %"},
               {M::kMmt, "130", "27.5", "30 %"},
               {M::kMmt, "131", "32.5", "31 %"},
               // Enzyme: the same as under the default reading.
               {M::kEnzyme, "950", "0", "5 %"},
               {M::kEnzyme, "949", "2.5", "5.1 %"},
               {M::kEnzyme, "850", "2.5", "15 %"},
               {M::kEnzyme, "849", "5", "15.1 %"},
               {M::kEnzyme, "750", "5", "25 %"},
               {M::kEnzyme, "749", "7.5", "25.1 %"},
               {M::kEnzyme, "600", "7.5", "40 %"},
               {M::kEnzyme, "599", "7.5", "40.1 %"},
           });
}

TEST(TisTest, EdgeThatDoubleArithmeticMissesLandsInTheRightBand) {
  // (1.1 - 0.6) / 10 x 100 is 5.000000000000001 in double (band > 5: 7.5 points); exactly 5 %.
  CoreSet base = Baseline(), visit = Baseline();
  base.physician_global = Q("1.1 cm");
  visit.physician_global = Q("0.6 cm");
  auto s = ScoreTis(Promis(), base, visit);
  ASSERT_TRUE(s.has_value());
  const TisItem& item = s->items[0];
  EXPECT_EQ(item.percent.value, Rational(5));
  EXPECT_EQ(item.band, "<= 5 %");
  EXPECT_EQ(item.points, Rational(0));
}

TEST(TisTest, ConvertsUnitsExactly) {
  CoreSet base = Baseline(), visit = Baseline();
  base.physician_global = Q("80 mm");
  visit.physician_global = Q("75 mm");  // 0.5 cm = 5 %: 0 points
  base.patient_global = Q("80 mm");
  visit.patient_global = Q("74 mm");                         // 0.6 cm = 6 %: 2.5
  visit.enzymes = {{"ck", Q("15 ukat/L"), Q("12 ukat/L")}};  // 900 U/L: 10 %: 2.5
  auto s = ScoreTis(Promis(), base, visit);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->items[0].points, Rational(0));
  EXPECT_EQ(s->items[1].points, R("2.5"));
  EXPECT_EQ(s->items[4].value.value, Rational(900));
  EXPECT_EQ(s->items[4].points, R("2.5"));
  EXPECT_EQ(s->total, Rational(5));
  EXPECT_EQ(s->category, "none");
}

TEST(TisTest, TotalAndCategories) {
  const Outcomes& o = Promis();
  CoreSet visit = Baseline();
  visit.physician_global = Q("3 cm");  // 50 %: 20 points
  auto s = ScoreTis(o, Baseline(), visit);
  EXPECT_EQ(s->total, Rational(20));
  EXPECT_EQ(s->category, "minimal");  // >= 20
  visit.extramuscular = Q("3 cm");    // + 20
  s = ScoreTis(o, Baseline(), visit);
  EXPECT_EQ(s->total, Rational(40));
  EXPECT_EQ(s->category, "moderate");
  visit.mmt = Q("130");  // 20 % of 150: + 20 = 60
  s = ScoreTis(o, Baseline(), visit);
  EXPECT_EQ(s->total, Rational(60));
  EXPECT_EQ(s->category, "major");
  visit = Baseline();
  visit.physician_global = Q("4 cm");  // 40 %: 17.5
  s = ScoreTis(o, Baseline(), visit);
  EXPECT_EQ(s->total, R("17.5"));
  EXPECT_EQ(s->category, "none");
}

TEST(TisTest, TheTwoReadingsCanDisagreeOnTheCategory) {
  // Baseline: physician 3 cm, patient 4 cm, MMT 120/150, HAQ 1, extramuscular 2 cm, CK 1000.
  // Visit:    physician 1.5,  patient 2.5,  MMT 132,     HAQ 0.5, extramuscular 1,  CK 500.
  CoreSet base, visit;
  base.physician_global = Q("3 cm");
  base.patient_global = Q("4 cm");
  base.mmt = Q("120");
  base.haq = Q("1");
  base.extramuscular = Q("2 cm");
  base.enzymes = {{"ck", Q("1000 U/L"), Q("200 U/L")}};
  visit.physician_global = Q("1.5 cm");
  visit.patient_global = Q("2.5 cm");
  visit.mmt = Q("132");
  visit.haq = Q("0.5");
  visit.extramuscular = Q("1 cm");
  visit.enzymes = {{"ck", Q("500 U/L"), Q("200 U/L")}};
  // Scale range: 15 % (7.5) + 15 % (2.5) + 8 % (10) + 16.67 % (7.5) + 10 % (7.5) + 50 % (7.5)
  // = 42.5, moderate.
  auto range = ScoreTis(With(PercentReading::kScaleRange), base, visit);
  EXPECT_EQ(range->total, R("42.5")) << TisToText(*range);
  EXPECT_EQ(range->category, "moderate");
  // Baseline: 50 % (20) + 37.5 % (7.5) + 10 % (10) + 50 % (10) + 50 % (20) + 50 % (7.5) = 75.
  auto base_reading = ScoreTis(With(PercentReading::kBaseline), base, visit);
  EXPECT_EQ(base_reading->total, Rational(75)) << TisToText(*base_reading);
  EXPECT_EQ(base_reading->category, "major");
}

TEST(TisTest, MmtMaximumOf80) {
  Outcomes o = Promis();
  o.measures[static_cast<int>(M::kMmt)].range = Rational(80);
  CoreSet base = Baseline(), visit = Baseline();
  base.mmt = Q("50");
  visit.mmt = Q("58");  // 8 / 80 = 10 %: 10 points
  EXPECT_EQ(ScoreTis(o, base, visit)->items[2].points, Rational(10));
  visit.mmt = Q("59");  // 11.25 %: 20 points
  EXPECT_EQ(ScoreTis(o, base, visit)->items[2].points, Rational(20));
  visit.mmt = Q("81");
  auto bad = ScoreTis(o, base, visit);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("visit mmt 81.00 is out of range (0 to 80)"),
            std::string::npos)
      << bad.error().message;
}

TEST(TisEnzymeTest, MostAbnormalEnzymeIsChosenWithTiesInProtocolOrder) {
  CoreSet base = Baseline(), visit = Baseline();
  // CK 2 x ULN, aldolase 4 x ULN: aldolase is the enzyme.
  base.enzymes = {{"ck", Q("400 U/L"), Q("200 U/L")}, {"aldolase", Q("30 U/L"), Q("7.5 U/L")}};
  visit.enzymes = {{"ck", Q("100 U/L"), Q("200 U/L")}, {"aldolase", Q("27 U/L"), Q("7.5 U/L")}};
  auto s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->items[4].enzyme, "aldolase");
  EXPECT_EQ(s->items[4].points, R("2.5"));  // 10 %
  // Tie: CK 2 x ULN and LDH 2 x ULN: CK (listed first).
  base.enzymes = {{"ldh", Q("500 U/L"), Q("250 U/L")}, {"ck", Q("400 U/L"), Q("200 U/L")}};
  visit.enzymes = {{"ldh", Q("100 U/L"), Q("250 U/L")}, {"ck", Q("380 U/L"), Q("200 U/L")}};
  s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->items[4].enzyme, "ck");
  EXPECT_EQ(s->items[4].points, Rational(0));  // 5 %
}

TEST(TisEnzymeTest, NormalBaselineScoresZeroByDefaultOrRelative) {
  CoreSet base = Baseline(), visit = Baseline();
  base.enzymes = {{"ck", Q("200 U/L"), Q("200 U/L")}};  // exactly the ULN: normal
  visit.enzymes = {{"ck", Q("50 U/L"), Q("200 U/L")}};  // 75 % lower
  auto s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->items[4].points, Rational(0));
  EXPECT_EQ(s->items[4].band, "normal at baseline");
  EXPECT_NE(s->items[4].note.find("1.00 x ULN"), std::string::npos) << s->items[4].note;
  Outcomes relative = Promis();
  relative.enzyme_normal_baseline = protocol::EnzymeNormalBaseline::kRelative;
  s = ScoreTis(relative, base, visit);
  EXPECT_EQ(s->items[4].points, R("7.5"));  // 75 % > 40
  // Just above the ULN is abnormal: scored relative to baseline under either rule.
  base.enzymes = {{"ck", Q("201 U/L"), Q("200 U/L")}};
  s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->items[4].points, R("7.5"));
}

TEST(TisEnzymeTest, ZeroBaselineCannotImprove) {
  Outcomes relative = Promis();
  relative.enzyme_normal_baseline = protocol::EnzymeNormalBaseline::kRelative;
  CoreSet base = Baseline(), visit = Baseline();
  base.enzymes = {{"ck", Q("0 U/L"), Q("200 U/L")}};
  visit.enzymes = {{"ck", Q("0 U/L"), Q("200 U/L")}};
  auto s = ScoreTis(relative, base, visit);
  EXPECT_EQ(s->items[4].points, Rational(0));
  EXPECT_EQ(s->items[4].percent.ToString(2), "0.00 %");
  visit.enzymes = {{"ck", Q("10 U/L"), Q("200 U/L")}};
  s = ScoreTis(relative, base, visit);
  EXPECT_EQ(s->items[4].points, Rational(0));
  EXPECT_EQ(s->items[4].percent.ToString(2), "-unbounded %");
  EXPECT_EQ(ScoreTis(Promis(), base, visit)->items[4].points, Rational(0));
}

TEST(TisTest, ZeroVasBaselineUnderTheBaselineReading) {
  CoreSet base = Baseline(), visit = Baseline();
  base.physician_global = Q("0 cm");
  visit.physician_global = Q("0 cm");
  auto s = ScoreTis(With(PercentReading::kBaseline), base, visit);
  EXPECT_EQ(s->items[0].points, Rational(0));
  visit.physician_global = Q("1 cm");
  s = ScoreTis(With(PercentReading::kBaseline), base, visit);
  EXPECT_EQ(s->items[0].points, Rational(0));
  EXPECT_FALSE(s->items[0].percent.finite);
}

TEST(TisTest, MissingMeasuresMakeTheScoreUnknownAndAreNamed) {
  CoreSet visit = Baseline();
  visit.mmt.reset();
  visit.enzymes = {{"alt", Q("40 U/L"), Q("40 U/L")}};  // CK, the chosen enzyme, not measured
  visit.physician_global = Q("3 cm");
  CoreSet base = Baseline();
  base.haq.reset();
  auto s = ScoreTis(Promis(), base, visit);
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(s->known);
  EXPECT_EQ(s->missing, (std::vector<std::string>{"mmt", "haq (baseline)", "enzyme (ck)"}));
  EXPECT_EQ(s->category, "unknown");
  EXPECT_EQ(s->total, Rational(0));  // not a score from fewer measures
  EXPECT_TRUE(s->items[0].known);    // the known items are still shown
  EXPECT_NE(TisToText(*s).find("TIS unknown: missing mmt, haq (baseline), enzyme (ck)"),
            std::string::npos);
  base.enzymes.clear();
  s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->missing.back(), "enzyme (baseline)");
}

TEST(TisTest, OutOfRangeAndBadInputsAreErrors) {
  struct Bad {
    CoreSet visit;
    std::string message;
    ErrorCode code;
  };
  std::vector<Bad> cases;
  CoreSet v = Baseline();
  v.physician_global = Q("11 cm");
  cases.push_back({v, "visit physician_global 11.00 cm is out of range (0 to 10 cm)",
                   ErrorCode::kInvalidInput});
  v = Baseline();
  v.haq = Q("3.5");
  cases.push_back({v, "visit haq 3.50 is out of range (0 to 3)", ErrorCode::kInvalidInput});
  v = Baseline();
  v.patient_global = Q("-1 cm");
  cases.push_back({v, "out of range", ErrorCode::kInvalidInput});
  v = Baseline();
  v.mmt = Q("151");
  cases.push_back({v, "visit mmt 151.00 is out of range (0 to 150)", ErrorCode::kInvalidInput});
  v = Baseline();
  v.extramuscular = Q("5 kg");
  cases.push_back({v, "cannot be converted", ErrorCode::kType});
  v = Baseline();
  v.enzymes = {{"crp", Q("5 U/L"), Q("10 U/L")}};
  cases.push_back(
      {v, "enzyme 'crp' is not one of the protocol's TIS enzymes", ErrorCode::kInvalidInput});
  v = Baseline();
  v.enzymes = {{"ck", Q("5 U/L"), Q("0 U/L")}};
  cases.push_back({v, "ck ULN must be positive", ErrorCode::kInvalidInput});
  v = Baseline();
  v.enzymes = {{"ck", Q("5 U/L"), Q("10 U/L")}, {"ck", Q("5 U/L"), Q("10 U/L")}};
  cases.push_back({v, "enzyme 'ck' twice", ErrorCode::kInvalidInput});
  for (const auto& c : cases) {
    auto s = ScoreTis(Promis(), Baseline(), c.visit);
    ASSERT_FALSE(s.has_value()) << c.message;
    EXPECT_EQ(s.error().code, c.code) << s.error().message;
    EXPECT_NE(s.error().message.find(c.message), std::string::npos) << s.error().message;
  }
  auto by_visit =
      ScoreTisByVisit(Promis(), Baseline(), {{"W2", Baseline()}, {"W4", cases[0].visit}});
  ASSERT_FALSE(by_visit.has_value());
  EXPECT_EQ(by_visit.error().message.rfind("W4: ", 0), 0u) << by_visit.error().message;
}

TEST(TisTest, BreakdownPrintsFixedDecimalsWithoutChangingTheBand) {
  CoreSet visit = Baseline();
  visit.haq = Q("1.99");  // 0.01 / 3 = 0.333... %
  auto s = ScoreTis(Promis(), Baseline(), visit);
  const std::string text = TisToText(*s, 2);
  EXPECT_NE(text.find("haq: baseline 2.00, value 1.99, improvement 0.01, 0.33 %, band <= 5 %, "
                      "points 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("TIS 0: none"), std::string::npos) << text;
  // 15.004 % prints as 15.00 % but is in the band above 15 %.
  CoreSet base = Baseline();
  base.physician_global = Q("10 cm");
  visit = Baseline();
  visit.physician_global = Q("8.49996 cm");  // 1.50004 / 10 = 15.0004 %
  s = ScoreTis(Promis(), base, visit);
  EXPECT_EQ(s->items[0].percent.ToString(2), "15.00 %");
  EXPECT_EQ(s->items[0].points, Rational(15));
}

TEST(TisTest, ByVisit) {
  CoreSet w2 = Baseline(), w4 = Baseline();
  w4.physician_global = Q("3 cm");
  auto r = ScoreTisByVisit(Promis(), Baseline(), {{"W2", w2}, {"W4", w4}});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].visit, "W2");
  EXPECT_EQ((*r)[0].score.total, Rational(0));
  EXPECT_EQ((*r)[1].score.total, Rational(20));
}

// ---- IMACS improvement (relative to baseline by default) ----

TEST(ImacsImprovementTest, MetNotMetAndUnknown) {
  CoreSet visit = Baseline();
  visit.physician_global = Q("6.4 cm");  // 20 % of 8: improved
  visit.patient_global = Q("6.4 cm");    // improved
  visit.haq = Q("1.6");                  // 20 % of 2: improved
  auto r = ImacsImprovement(Promis(), Baseline(), visit);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->met, true) << r->explanation;
  EXPECT_EQ(r->improved, (std::vector<std::string>{"physician_global", "patient_global", "haq"}));
  // Just under 20 % on one: only 2 improved.
  visit.haq = Q("1.61");
  EXPECT_EQ(ImacsImprovement(Promis(), Baseline(), visit)->met, false);
  visit.haq = Q("1.6");
  // MMT worse by 25 % cannot be among the worse measures.
  visit.mmt = Q("75");
  r = ImacsImprovement(Promis(), Baseline(), visit);
  EXPECT_EQ(r->met, false);
  EXPECT_NE(r->explanation.find("MMT worse"), std::string::npos);
  visit.mmt = Q("76");  // 24 %: not worse
  EXPECT_EQ(ImacsImprovement(Promis(), Baseline(), visit)->met, true);
  // Three worse (>= 25 %) is too many: extramuscular 10, CK 1250, plus...
  visit.extramuscular = Q("10 cm");                                     // 25 % worse
  visit.enzymes = {{"ck", Q("1250 U/L"), Q("200 U/L")}};                // 25 % worse
  EXPECT_EQ(ImacsImprovement(Promis(), Baseline(), visit)->met, true);  // 2 worse: allowed
  visit.physician_global = Q("10 cm");                                  // 25 % worse
  visit.mmt = Q("120");                                                 // improved 20 %
  r = ImacsImprovement(Promis(), Baseline(), visit);
  EXPECT_EQ(r->met, false) << r->explanation;  // 3 improved, 3 worse
  visit.haq.reset();
  r = ImacsImprovement(Promis(), Baseline(), visit);
  EXPECT_FALSE(r->met.has_value());
  EXPECT_EQ(r->missing, (std::vector<std::string>{"haq"}));
}

// ---- worsening ----

CoreSet Worse(const std::string& kind) {
  CoreSet c = Baseline();
  if (kind == "pga+mmt") {
    c.physician_global = Q("10 cm");  // +2 cm
    c.mmt = Q("80");                  // 20 % worse
  } else if (kind == "extramuscular") {
    c.extramuscular = Q("10 cm");  // +2 cm
  }
  return c;
}

TEST(WorseningTest, EachConditionAndItsNearMiss) {
  const Outcomes& o = Promis();
  auto at = [&](const CoreSet& v) {
    auto r = ConfirmedWorsening(o, Baseline(), {{"W2", v}});
    EXPECT_TRUE(r.has_value());
    return r->visits[0];
  };
  EXPECT_EQ(at(Worse("pga+mmt")).worsened, true);
  CoreSet v = Worse("pga+mmt");
  v.mmt = Q("81");  // 19 % worse: not enough
  EXPECT_EQ(at(v).worsened, false);
  v = Worse("pga+mmt");
  v.physician_global = Q("9.99 cm");  // 1.99 cm: not enough
  EXPECT_EQ(at(v).worsened, false);
  EXPECT_EQ(at(Worse("extramuscular")).worsened, true);
  v = Baseline();
  v.extramuscular = Q("9.99 cm");
  EXPECT_EQ(at(v).worsened, false);
  // Three of five worse by >= 30 %: baseline patient 5, HAQ 1, MMT 100.
  CoreSet base = Baseline();
  base.patient_global = Q("5 cm");
  base.haq = Q("1");
  v = base;
  v.patient_global = Q("6.5 cm");  // 30 %
  v.haq = Q("1.3");                // 30 %
  v.mmt = Q("70");                 // 30 %
  auto r = ConfirmedWorsening(o, base, {{"W2", v}});
  EXPECT_EQ(r->visits[0].worsened, true) << r->visits[0].reason;
  EXPECT_NE(r->visits[0].reason.find("3 measures worse by >= 30 %"), std::string::npos);
  v.mmt = Q("71");  // 29 %: only two
  r = ConfirmedWorsening(o, base, {{"W2", v}});
  EXPECT_EQ(r->visits[0].worsened, false);
  // The enzyme does not count towards the three.
  v.enzymes = {{"ck", Q("2000 U/L"), Q("200 U/L")}};
  r = ConfirmedWorsening(o, base, {{"W2", v}});
  EXPECT_EQ(r->visits[0].worsened, false);
  // Unknown when a missing measure could make it the third.
  v.mmt.reset();
  r = ConfirmedWorsening(o, base, {{"W2", v}});
  EXPECT_FALSE(r->visits[0].worsened.has_value());
  EXPECT_EQ(r->visits[0].missing, (std::vector<std::string>{"mmt"}));
}

TEST(WorseningTest, ConfirmedOnlyOnConsecutiveVisits) {
  const Outcomes& o = Promis();
  const CoreSet same = Baseline(), worse = Worse("extramuscular");
  auto r = ConfirmedWorsening(o, Baseline(), {{"W2", worse}, {"W4", worse}, {"W6", same}});
  EXPECT_EQ(r->confirmed, true);
  EXPECT_EQ(r->confirmed_at, "W4");
  r = ConfirmedWorsening(o, Baseline(), {{"W2", worse}, {"W4", same}, {"W6", worse}});
  EXPECT_EQ(r->confirmed, false);  // not consecutive
  r = ConfirmedWorsening(o, Baseline(), {{"W2", same}, {"W4", same}, {"W6", same}, {"W8", worse}});
  EXPECT_EQ(r->confirmed, false);  // a single visit at the end
  CoreSet unknown = Baseline();
  unknown.extramuscular.reset();
  unknown.physician_global.reset();
  r = ConfirmedWorsening(o, Baseline(), {{"W2", worse}, {"W4", unknown}, {"W6", same}});
  EXPECT_FALSE(r->confirmed.has_value());
  EXPECT_TRUE(r->confirmed_at.empty());
}

}  // namespace
}  // namespace trial::outcomes
