// CTCAE v5.0 grading at every boundary of every term of outcomes.yaml, both baseline branches.
// Run from the repository root (ctest does).
#include "safety/ctcae.h"

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

std::optional<ExactQuantity> Q(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto q = ExactQuantity::Parse(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? std::optional<ExactQuantity>(*q) : std::nullopt;
}

// value -> expected grade, with one set of reference values.
struct Row {
  std::string value;
  int grade;
};
void Expect(const std::string& term, const std::string& uln, const std::string& lln,
            const std::string& baseline, const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    LabValue lab{term, *Q(r.value), Q(uln), Q(lln), Q(baseline)};
    auto g = GradeLab(Promis(), lab);
    ASSERT_TRUE(g.has_value()) << term << " " << r.value << ": " << g.error().message;
    EXPECT_EQ(g->grade, r.grade) << term << " " << r.value << " (ULN " << uln << ", LLN " << lln
                                 << ", baseline " << baseline << "): " << g->rule;
    EXPECT_EQ(g->possible_ae, r.grade >= 3) << term << " " << r.value;
  }
}

TEST(CtcaeTest, TransaminasesBaselineNormal) {
  for (const char* term : {"alt_increased", "ast_increased"}) {
    Expect(term, "40 U/L", "", "30 U/L",
           {{"40 U/L", 0},
            {"40.1 U/L", 1},
            {"120 U/L", 1},
            {"120.1 U/L", 2},
            {"200 U/L", 2},
            {"200.1 U/L", 3},
            {"800 U/L", 3},
            {"800.1 U/L", 4}});
    // No baseline: the baseline-normal branch.
    Expect(term, "40 U/L", "", "", {{"40.1 U/L", 1}, {"120.1 U/L", 2}, {"800.1 U/L", 4}});
  }
}

TEST(CtcaeTest, TransaminasesBaselineAbnormal) {
  for (const char* term : {"alt_increased", "ast_increased"}) {
    // Baseline 80 (above ULN 40): x baseline bands; grade 1 includes 1.5 x baseline.
    Expect(term, "40 U/L", "", "80 U/L",
           {{"100 U/L", 0},
            {"119.9 U/L", 0},
            {"120 U/L", 1},
            {"240 U/L", 1},
            {"240.1 U/L", 2},
            {"400 U/L", 2},
            {"400.1 U/L", 3},
            {"1600 U/L", 3},
            {"1600.1 U/L", 4}});
  }
  // The baseline at exactly the ULN is normal.
  Expect("alt_increased", "40 U/L", "", "40 U/L", {{"40.1 U/L", 1}});
}

TEST(CtcaeTest, ExactRatioAtTheEdge) {
  // 0.3 / 0.1 is 2.9999999999999996 in double; exactly 3.0 x ULN is grade 1 (> 3.0 is grade 2).
  Expect("alt_increased", "0.1 ukat/L", "", "", {{"0.3 ukat/L", 1}, {"0.30001 ukat/L", 2}});
  // Units convert exactly: ULN 40 U/L, value 2 ukat/L = 120 U/L = 3.0 x ULN.
  Expect("alt_increased", "40 U/L", "", "", {{"2 ukat/L", 1}});
}

TEST(CtcaeTest, Bilirubin) {
  Expect("blood_bilirubin_increased", "20 umol/L", "", "10 umol/L",
         {{"20 umol/L", 0},
          {"20.1 umol/L", 1},
          {"30 umol/L", 1},
          {"30.1 umol/L", 2},
          {"60 umol/L", 2},
          {"60.1 umol/L", 3},
          {"200 umol/L", 3},
          {"200.1 umol/L", 4}});
  Expect("blood_bilirubin_increased", "20 umol/L", "", "30 umol/L",
         {{"30 umol/L", 0},
          {"30.1 umol/L", 1},
          {"45 umol/L", 1},
          {"45.1 umol/L", 2},
          {"90 umol/L", 2},
          {"90.1 umol/L", 3},
          {"300 umol/L", 3},
          {"300.1 umol/L", 4}});
}

TEST(CtcaeTest, AlkalinePhosphataseAndGgt) {
  for (const char* term : {"alkaline_phosphatase_increased", "ggt_increased"}) {
    Expect(term, "100 U/L", "", "80 U/L",
           {{"100 U/L", 0},
            {"100.1 U/L", 1},
            {"250 U/L", 1},
            {"250.1 U/L", 2},
            {"500 U/L", 2},
            {"500.1 U/L", 3},
            {"2000 U/L", 3},
            {"2000.1 U/L", 4}});
    Expect(term, "100 U/L", "", "150 U/L",
           {{"299.9 U/L", 0},
            {"300 U/L", 1},
            {"375 U/L", 1},
            {"375.1 U/L", 2},
            {"750 U/L", 2},
            {"750.1 U/L", 3},
            {"3000 U/L", 3},
            {"3000.1 U/L", 4}});
  }
}

TEST(CtcaeTest, CreatinineUlnAndBaselineAlternatives) {
  // Baseline 0.8, ULN 1.0 mg/dL: x baseline limits 1.2 (G2) and 2.4 (G3).
  Expect("creatinine_increased", "1.0 mg/dL", "", "0.8 mg/dL",
         {{"1.0 mg/dL", 0},
          {"1.1 mg/dL", 1},
          {"1.2 mg/dL", 1},
          {"1.21 mg/dL", 2},
          {"1.5 mg/dL", 2},
          {"2.4 mg/dL", 2},
          {"2.41 mg/dL", 3},
          {"6.0 mg/dL", 3},
          {"6.01 mg/dL", 4}});
  // No baseline: x ULN only.
  Expect("creatinine_increased", "1.0 mg/dL", "", "",
         {{"1.5 mg/dL", 1},
          {"1.51 mg/dL", 2},
          {"3.0 mg/dL", 2},
          {"3.01 mg/dL", 3},
          {"6.0 mg/dL", 3},
          {"6.01 mg/dL", 4}});
  // In umol/L throughout.
  Expect("creatinine_increased", "88.4 umol/L", "", "", {{"88.4 umol/L", 0}, {"88.5 umol/L", 1}});
  auto g = GradeLab(Promis(),
                    {"creatinine_increased", *Q("1.5 mg/dL"), Q("1.0 mg/dL"), {}, Q("0.8 mg/dL")});
  EXPECT_NE(g->rule.find("grade 2: > 1.5 x baseline"), std::string::npos) << g->rule;
}

TEST(CtcaeTest, CpkAndLdh) {
  Expect("cpk_increased", "200 U/L", "", "",
         {{"200 U/L", 0},
          {"200.1 U/L", 1},
          {"500 U/L", 1},
          {"500.1 U/L", 2},
          {"1000 U/L", 2},
          {"1000.1 U/L", 3},
          {"2000 U/L", 3},
          {"2000.1 U/L", 4}});
  Expect("blood_ldh_increased", "250 U/L", "", "",
         {{"250 U/L", 0}, {"250.1 U/L", 1}, {"5000 U/L", 1}});
}

TEST(CtcaeTest, CountsDecreased) {
  Expect("neutrophil_count_decreased", "", "2.0 10*9/L", "",
         {{"2.0 10*9/L", 0},
          {"1.99 10*9/L", 1},
          {"1.5 10*9/L", 1},
          {"1.49 10*9/L", 2},
          {"1.0 10*9/L", 2},
          {"0.99 10*9/L", 3},
          {"0.5 10*9/L", 3},
          {"0.49 10*9/L", 4}});
  Expect("neutrophil_count_decreased", "", "2.0 10*9/L", "", {{"1.49 10*3/uL", 2}});
  Expect("lymphocyte_count_decreased", "", "1.0 10*9/L", "",
         {{"1.0 10*9/L", 0},
          {"0.99 10*9/L", 1},
          {"0.8 10*9/L", 1},
          {"0.79 10*9/L", 2},
          {"0.5 10*9/L", 2},
          {"0.49 10*9/L", 3},
          {"0.2 10*9/L", 3},
          {"0.19 10*9/L", 4}});
  Expect("white_blood_cell_decreased", "", "4.0 10*9/L", "",
         {{"4.0 10*9/L", 0},
          {"3.99 10*9/L", 1},
          {"3.0 10*9/L", 1},
          {"2.99 10*9/L", 2},
          {"2.0 10*9/L", 2},
          {"1.99 10*9/L", 3},
          {"1.0 10*9/L", 3},
          {"0.99 10*9/L", 4}});
  Expect("platelet_count_decreased", "", "150 10*9/L", "",
         {{"150 10*9/L", 0},
          {"149 10*9/L", 1},
          {"75 10*9/L", 1},
          {"74.9 10*9/L", 2},
          {"50 10*9/L", 2},
          {"49.9 10*9/L", 3},
          {"25 10*9/L", 3},
          {"24.9 10*9/L", 4}});
}

TEST(CtcaeTest, AnemiaInGramsAndMillimoles) {
  Expect("anemia", "", "120 g/L", "",
         {{"120 g/L", 0},
          {"119 g/L", 1},
          {"100 g/L", 1},
          {"99 g/L", 2},
          {"80 g/L", 2},
          {"79 g/L", 3},
          {"10.0 g/dL", 1},
          {"9.9 g/dL", 2}});
  Expect("anemia", "", "7.4 mmol/L", "",
         {{"7.4 mmol/L", 0},
          {"6.2 mmol/L", 1},
          {"6.1 mmol/L", 2},
          {"4.9 mmol/L", 2},
          {"4.8 mmol/L", 3}});
}

TEST(CtcaeTest, LipidsInBothUnits) {
  Expect("cholesterol_high", "200 mg/dL", "", "",
         {{"200 mg/dL", 0},
          {"201 mg/dL", 1},
          {"300 mg/dL", 1},
          {"301 mg/dL", 2},
          {"400 mg/dL", 2},
          {"401 mg/dL", 3},
          {"500 mg/dL", 3},
          {"501 mg/dL", 4}});
  Expect("cholesterol_high", "5.2 mmol/L", "", "",
         {{"7.75 mmol/L", 1},
          {"7.76 mmol/L", 2},
          {"10.34 mmol/L", 2},
          {"10.35 mmol/L", 3},
          {"12.92 mmol/L", 3},
          {"12.93 mmol/L", 4}});
  Expect("hypertriglyceridemia", "", "", "",
         {{"149 mg/dL", 0},
          {"150 mg/dL", 1},
          {"300 mg/dL", 1},
          {"301 mg/dL", 2},
          {"500 mg/dL", 2},
          {"501 mg/dL", 3},
          {"1000 mg/dL", 3},
          {"1001 mg/dL", 4},
          {"1.70 mmol/L", 0},
          {"1.71 mmol/L", 1},
          {"11.4 mmol/L", 3},
          {"11.41 mmol/L", 4}});
}

TEST(CtcaeTest, RuleNamesTheCriterionAndTheLimit) {
  auto g = GradeLab(Promis(), {"alt_increased", *Q("250 U/L"), Q("40 U/L"), {}, Q("30 U/L")});
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->grade, 3);
  EXPECT_TRUE(g->possible_ae);
  EXPECT_EQ(g->branch, "baseline normal");
  EXPECT_EQ(g->rule, "grade 3: > 5 x ULN (baseline normal) (value 250.000 U/L, limit 200.000 U/L)");
  g = GradeLab(Promis(), {"alt_increased", *Q("30 U/L"), Q("40 U/L"), {}, {}});
  EXPECT_EQ(g->grade, 0);
  EXPECT_EQ(g->branch, "no baseline: baseline normal");
  EXPECT_FALSE(g->possible_ae);
  // The AE threshold is a parameter.
  protocol::Outcomes o = Promis();
  o.possible_ae_grade = 2;
  EXPECT_TRUE(GradeLab(o, {"alt_increased", *Q("121 U/L"), Q("40 U/L"), {}, {}})->possible_ae);
}

TEST(CtcaeTest, BadInputs) {
  auto g = GradeLab(Promis(), {"alt_increased", *Q("50 U/L"), {}, {}, {}});
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(g.error().message.find("the ULN is needed"), std::string::npos);
  // Without an LLN only grade 1 (< LLN) is out of reach: it matters only when no higher grade's
  // absolute limit holds (FACTS §4.1: grade 2 < 1.5, grade 3 < 1.0, grade 4 < 0.5 x10^9/L).
  g = GradeLab(Promis(), {"neutrophil_count_decreased", *Q("1.6 10*9/L"), {}, {}, {}});
  ASSERT_FALSE(g.has_value());
  EXPECT_NE(g.error().message.find("the LLN is needed"), std::string::npos);
  for (const auto& [value, grade] : std::vector<std::pair<const char*, int>>{{"1.5 10*9/L", -1},
                                                                             {"1.49 10*9/L", 2},
                                                                             {"1.0 10*9/L", 2},
                                                                             {"0.8 10*9/L", 3},
                                                                             {"0.5 10*9/L", 3},
                                                                             {"0.49 10*9/L", 4}}) {
    g = GradeLab(Promis(), {"neutrophil_count_decreased", *Q(value), {}, {}, {}});
    if (grade < 0) {
      EXPECT_FALSE(g.has_value()) << value;  // 1.5 is not < 1.5: grade 1 or 0 needs the LLN
    } else {
      ASSERT_TRUE(g.has_value()) << value << ": " << g.error().message;
      EXPECT_EQ(g->grade, grade) << value;
    }
  }
  g = GradeLab(Promis(), {"nope", *Q("1 U/L"), {}, {}, {}});
  EXPECT_EQ(g.error().code, ErrorCode::kNotFound);
  g = GradeLab(Promis(), {"alt_increased", *Q("-1 U/L"), Q("40 U/L"), {}, {}});
  EXPECT_EQ(g.error().code, ErrorCode::kInvalidInput);
  // Creatinine in umol/L against a ULN in mg/dL: no molar conversion here.
  g = GradeLab(Promis(), {"creatinine_increased", *Q("90 umol/L"), Q("1.0 mg/dL"), {}, {}});
  EXPECT_EQ(g.error().code, ErrorCode::kType);
  // Hemoglobin in a unit of neither listed kind.
  g = GradeLab(Promis(), {"anemia", *Q("90 U/L"), {}, Q("120 U/L"), {}});
  EXPECT_NE(g.error().message.find("cannot be graded against limits in g/L or mmol/L"),
            std::string::npos)
      << g.error().message;
}

}  // namespace
}  // namespace trial::safety
