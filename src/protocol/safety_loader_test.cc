// safety.yaml: the PROMIS-MDA5 file as loaded, and located errors in edited copies.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "protocol/protocol.h"
#include "protocol/temp_protocol_test_util.h"

namespace trial::protocol {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::trial::protocol::testing::TempProtocol;

std::string AllErrors(const CheckResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.message + "\n";
  return out;
}

TEST(SafetyLoader, LoadsThePromisTermsCodesAndClocks) {
  CheckResult r = Check("protocols/promis-mda5");
  ASSERT_TRUE(r.errors.empty()) << AllErrors(r);
  ASSERT_TRUE(r.protocol->safety.has_value());
  const Safety& s = *r.protocol->safety;
  EXPECT_EQ(s.ctcae_version, "5.0");
  EXPECT_EQ(s.initial_report_hours, 24);
  EXPECT_EQ(s.follow_up_days, 7);
  EXPECT_THAT(s.recipients, ElementsAre("sponsor", "medical_monitor"));
  ASSERT_NE(s.FindTerm("neutrophil_count_decreased"), nullptr);
  EXPECT_THAT(s.FindTerm("neutrophil_count_decreased")->grades, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(s.FindTerm("respiratory_failure")->grades, ElementsAre(4, 5));
  EXPECT_THAT(s.FindTerm("bacteremia")->grades, ElementsAre(2));
  EXPECT_TRUE(s.FindTerm("other")->needs_text);
  EXPECT_FALSE(s.FindTerm("sepsis")->Defines(2));
  EXPECT_EQ(s.seriousness.size(), 6u);
  // Categories of the summaries: every FACTS §4.4 term is an infection.
  for (const char* id :
       {"lung_infection", "upper_respiratory_infection", "urinary_tract_infection",
        "skin_infection", "sepsis", "bacteremia", "hepatitis_b_reactivation", "infections_other"}) {
    EXPECT_EQ(s.FindTerm(id)->category, "infection") << id;
  }
  EXPECT_EQ(s.FindTerm("alt_increased")->category, "laboratory");
  EXPECT_EQ(s.FindTerm("pneumonitis")->category, "respiratory");
  EXPECT_EQ(s.FindTerm("infusion_related_reaction")->category, "infusion");
  EXPECT_EQ(s.FindTerm("other")->category, "other");
  EXPECT_THAT(s.counted_as_related, ElementsAre("related", "possibly_related"));
}

TEST(SafetyLoader, UnknownCategoryAndRelatednessAreLocatedErrors) {
  TempProtocol t;
  t.Replace("safety.yaml", "grades: [3, 4, 5], category: infection}",
            "grades: [3, 4, 5], category: infectious}");
  t.Replace("safety.yaml", "counted_as_related: [related, possibly_related]",
            "counted_as_related: [related, probably]");
  CheckResult r = Check(t.dir());
  const std::string errors = AllErrors(r);
  EXPECT_THAT(errors, HasSubstr("safety.yaml:"));
  EXPECT_THAT(errors, HasSubstr("term 'sepsis': unknown category 'infectious' (the 'categories' "
                                "are: infection, respiratory, laboratory, infusion, other)"));
  EXPECT_THAT(errors, HasSubstr("'counted_as_related': 'probably' is not a code of 'relatedness'"));
  EXPECT_EQ(r.protocol, nullptr);
}

TEST(SafetyLoader, ReportsErrorsWithFileAndLine) {
  TempProtocol t;
  t.Replace("safety.yaml", "{id: sepsis, name: Sepsis, grades: [3, 4, 5],",
            "{id: sepsis, name: Sepsis, grades: [3, 6],");
  t.Replace("safety.yaml", "value: 7 days", "value: 7 months");
  CheckResult r = Check(t.dir());
  const std::string errors = AllErrors(r);
  EXPECT_THAT(errors, HasSubstr("safety.yaml:"));
  EXPECT_THAT(errors, HasSubstr("term 'sepsis': grade '6' is not a CTCAE grade (1 to 5)"));
  EXPECT_THAT(errors, HasSubstr("parameter 'sae_follow_up' must be a duration"));
  EXPECT_EQ(r.protocol, nullptr);
}

TEST(SafetyLoader, NeedsAnOtherSpecifyTerm) {
  TempProtocol t;
  t.Replace("safety.yaml", "grades: [1, 2, 3, 4, 5]  # FACTS §4.4 (generic row)\n    other: true",
            "grades: [1, 2, 3, 4, 5]");
  t.Replace("safety.yaml", "grades: [1, 2, 3, 4, 5], other: true,", "grades: [1, 2, 3, 4, 5],");
  EXPECT_THAT(AllErrors(Check(t.dir())), HasSubstr("an \"other, specify\" term is required"));
}

}  // namespace
}  // namespace trial::protocol
