// Tests of outcomes.yaml loading: the real PROMIS-MDA5 definitions, and broken copies whose
// errors must name the file, line and column. Run from the repository root (ctest does).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "protocol/protocol.h"
#include "protocol/temp_protocol_test_util.h"

namespace trial::protocol {
namespace {

namespace fs = std::filesystem;
using ::trial::protocol::testing::ReadText;
using ::trial::protocol::testing::TempProtocol;

std::string AllMessages(const std::vector<Error>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.message + "\n";
  return out;
}

// "<file>:<line>:<column>" of the first occurrence of `needle` in `file` (1-based).
std::string Where(const fs::path& file, const std::string& needle) {
  const std::string text = ReadText(file);
  const size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return file.string() + ":" + std::to_string(line) + ":" + std::to_string(at - line_start + 1);
}

void ExpectError(const TempProtocol& copy, const std::string& message) {
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  bool found = false;
  for (const auto& e : r.errors) found = found || e.message == message;
  EXPECT_TRUE(found) << "want: " << message << "\ngot:\n" << AllMessages(r.errors);
}

TEST(OutcomesLoaderTest, TheRealDefinitionsLoad) {
  auto loaded = Load("protocols/promis-mda5");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_TRUE((*loaded)->outcomes.has_value());
  const Outcomes& o = *(*loaded)->outcomes;
  EXPECT_EQ(o.tis_reading, PercentReading::kScaleRange);
  EXPECT_EQ(o.imacs_reading, PercentReading::kBaseline);
  EXPECT_EQ(o.enzyme_normal_baseline, EnzymeNormalBaseline::kZeroPoints);
  ASSERT_EQ(o.measures.size(), 6u);
  const TisMeasure& pga = o.Measure(CoreSetMeasure::kPhysicianGlobal);
  EXPECT_EQ(pga.id, "physician_global");
  EXPECT_EQ(*pga.range, Rational(10));
  ASSERT_EQ(pga.bands.size(), 5u);
  EXPECT_FALSE(pga.bands[0].lower.has_value());
  EXPECT_EQ(*pga.bands[0].upper, Rational(5));
  EXPECT_TRUE(pga.bands[0].upper_inclusive);
  EXPECT_EQ(*pga.bands[1].lower, Rational(5));
  EXPECT_FALSE(pga.bands[1].lower_inclusive);
  EXPECT_EQ(pga.bands[1].points, Rational(15, 2));
  EXPECT_EQ(pga.bands[1].label, "> 5 % to <= 15 %");
  EXPECT_EQ(pga.bands[4].points, Rational(20));
  EXPECT_EQ(*o.Measure(CoreSetMeasure::kMmt).range, Rational(150));
  EXPECT_TRUE(o.Measure(CoreSetMeasure::kMmt).higher_is_better);
  EXPECT_FALSE(o.Measure(CoreSetMeasure::kEnzyme).range.has_value());
  // The TIS maximum is 100 (FACTS.md §2.2).
  Rational max;
  for (const auto& m : o.measures) max = max + m.bands.back().points;
  EXPECT_EQ(max, Rational(100));
  ASSERT_EQ(o.categories.size(), 3u);
  EXPECT_EQ(o.categories[2].name, "major");
  EXPECT_EQ(o.categories[2].min_total, Rational(60));
  EXPECT_EQ(o.enzymes.front().id, "ck");
  EXPECT_EQ(o.improvement.min_improved, 3);
  EXPECT_EQ(o.worsening.consecutive_visits, 2);
  EXPECT_EQ(o.ctcae_version, "5.0");
  EXPECT_EQ(o.possible_ae_grade, 3);
  EXPECT_EQ(o.ctcae.size(), 15u);
  ASSERT_NE(o.FindTerm("ast_increased"), nullptr);  // the YAML alias of ALT's criteria
  EXPECT_EQ(o.FindTerm("ast_increased")->criteria.size(), 8u);
  EXPECT_EQ(o.respiratory.pao2_below_mmhg, Rational(60));
  EXPECT_EQ(o.respiratory.spo2_below_percent, Rational(90));
  EXPECT_EQ(o.respiratory.stated_fio2, Rational(21, 100));
  EXPECT_EQ(o.respiratory.rpild_window_days, 30);
  EXPECT_EQ(o.respiratory.rpild_fvc_drop, Rational(10));
  EXPECT_EQ(o.respiratory.follow_up_days, 84);
  // Every outcome parameter is named by a protocol question.
  for (const char* param : {"tis_percent_change", "tis_mmt_max", "tis_enzyme_normal_baseline",
                            "imacs_percent_change", "ae_grade_min", "resp_failure_pao2",
                            "resp_failure_spo2", "resp_failure_fio2", "resp_follow_up"}) {
    bool named = false;
    for (const auto& q : (*loaded)->questions) {
      for (const auto& p : q.parameters) named = named || p == param;
    }
    EXPECT_TRUE(named) << param;
  }
}

TEST(OutcomesLoaderTest, ParametersChangeTheDefinitions) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "value: '\"scale_range\"'", "value: '\"baseline\"'");
  copy.Replace("outcomes.yaml", "value: \"150\"", "value: \"80\"");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->outcomes->tis_reading, PercentReading::kBaseline);
  EXPECT_EQ(*(*loaded)->outcomes->Measure(CoreSetMeasure::kMmt).range, Rational(80));
}

TEST(OutcomesLoaderTest, WithoutTheFileThereAreNoOutcomes) {
  TempProtocol copy;
  fs::remove(copy.file("outcomes.yaml"));
  // The questions name outcome parameters: drop them too.
  std::string text = ReadText(copy.file("protocol.yaml"));
  text = text.substr(0, text.find("  # Outcomes and safety (outcomes.yaml"));
  testing::WriteText(copy.file("protocol.yaml"), text);
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_FALSE((*loaded)->outcomes.has_value());
}

TEST(OutcomesLoaderTest, BandsMustBeContiguous) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "{above: \"15\", up_to: \"25\", points: \"15\"}",
               "{above: \"16\", up_to: \"25\", points: \"15\"}");
  ExpectError(copy, Where(copy.file("outcomes.yaml"), "{above: \"16\"") +
                        ": measure physician_global: band starts at 16 % but the band before "
                        "ends at 15 % (bands must be contiguous)");
}

TEST(OutcomesLoaderTest, AnEdgeBelongsToExactlyOneBand) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "{above: \"5\", up_to: \"15\", points: \"5\"}",
               "{from: \"5\", up_to: \"15\", points: \"5\"}");
  ExpectError(copy, Where(copy.file("outcomes.yaml"), "{from: \"5\"") +
                        ": measure haq: the edge 5 % must belong to exactly one band ('up_to' "
                        "then 'above', or 'below' then 'from')");
}

TEST(OutcomesLoaderTest, BadParameterValuesNameTheirLine) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "value: '\"scale_range\"'", "value: '\"relative\"'");
  ExpectError(copy, Where(copy.file("outcomes.yaml"), "'\"relative\"'") +
                        ": parameter 'tis_percent_change' must be one of \"scale_range\", "
                        "\"baseline\" (written '\"scale_range\"')");
  TempProtocol mmt;
  mmt.Replace("outcomes.yaml", "value: \"150\"", "value: \"100\"");
  ExpectError(mmt, Where(mmt.file("outcomes.yaml"), "tis_mmt_max  #") +
                       ": measure mmt: the MMT maximum must be 80, 150 or 260 (FACTS.md §7.1), "
                       "not 100");
}

TEST(OutcomesLoaderTest, MalformedEntries) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "  any_count: 3 ", "  any_count: 7 ");
  copy.Replace("outcomes.yaml", "{grade: 4, above: \"10\", of: uln}",
               "{grade: 4, above: \"10\", of: ulm}");
  copy.Replace("outcomes.yaml", "    - {name: major, at_least: \"60\"}",
               "    - {name: major, at_least: \"60\", color: red}");
  copy.Replace("outcomes.yaml", "{grade: 2, below: \"1.5 10*9/L\"}",
               "{grade: 2, above: \"1.5 10*9/L\"}");
  const fs::path f = copy.file("outcomes.yaml");
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  const std::string all = AllMessages(r.errors);
  EXPECT_NE(all.find(Where(f, "7 ") + ": 'any_count' must be a whole number from 1 to 5, not '7'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(Where(f, "ulm") + ": term cpk_increased: 'of' must be uln, lln or "
                                       "baseline, not 'ulm'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(Where(f, "color") + ": unknown key 'color' in a category (expected name, "
                                         "at_least)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(Where(f, "\"1.5 10*9/L\"") +
                     ": term neutrophil_count_decreased: 'above' does not fit a term whose "
                     "direction is decreased"),
            std::string::npos)
      << all;
}

TEST(OutcomesLoaderTest, YamlSyntaxErrorHasLineAndColumn) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "  consecutive_visits: 2", "  consecutive_visits: [2");
  CheckResult r = Check(copy.dir());
  ASSERT_FALSE(r.errors.empty());
  const std::string prefix = copy.file("outcomes.yaml").string() + ":";
  EXPECT_EQ(r.errors[0].message.rfind(prefix, 0), 0u) << r.errors[0].message;
  EXPECT_EQ(r.errors[0].code, ErrorCode::kParse);
}

// ---- sources (outcomes.yaml `sources`, checked against forms.yaml) ----

void ExpectErrorContaining(const TempProtocol& copy, const std::string& part) {
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  const std::string all = AllMessages(r.errors);
  EXPECT_NE(all.find(part), std::string::npos) << "want: " << part << "\ngot:\n" << all;
}

TEST(OutcomesLoaderTest, SourcesOfTheRealDefinitions) {
  auto loaded = Load("protocols/promis-mda5");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_TRUE((*loaded)->outcomes->sources.has_value());
  const OutcomeSources& s = *(*loaded)->outcomes->sources;
  EXPECT_EQ(s.baseline_visit, "D0");
  EXPECT_EQ(s.fallback, BaselineFallback::kLatestBeforeDay0);
  EXPECT_EQ(s.physician_global.value.Name(), "physician_global.vas");
  EXPECT_EQ(s.mmt.value.Name(), "derived.mmt8_total_150");
  EXPECT_EQ(s.mmt.value.form, "mmt8");
  EXPECT_EQ(s.haq.value.Name(), "derived.haq_di");
  EXPECT_EQ(s.enzymes.size(), 5u);
  EXPECT_EQ(s.labs.size(), 12u);  // 15 terms, 3 not collected
  EXPECT_EQ(s.labs_not_collected.size(), 3u);
  EXPECT_EQ(s.pao2.fio2->Name(), "abg.fio2");
  EXPECT_EQ(s.death.equals, "death");
  EXPECT_EQ(s.symptom_onset.value.Name(), "respiratory_events.symptom_onset");
  EXPECT_EQ(s.respiratory_stay.value.Name(), "respiratory_events.hospitalized");
  EXPECT_EQ(s.respiratory_stay.equals, "yes");
  EXPECT_EQ(s.respiratory_stay.date->Name(), "respiratory_events.admission_date");
  EXPECT_EQ(s.respiratory_stay.end->Name(), "respiratory_events.discharge_date");
  EXPECT_EQ(s.rp_ild_diagnosis.value.Name(), "respiratory_events.rp_ild_diagnosed");
  EXPECT_EQ(s.rp_ild_diagnosis.date->Name(), "respiratory_events.rp_ild_date");
}

TEST(OutcomesLoaderTest, RpIldSourcesAreChecked) {
  TempProtocol end;
  end.Replace("outcomes.yaml", "end: respiratory_events.discharge_date",
              "end: respiratory_events.hospitalized");
  ExpectErrorContaining(end,
                        "respiratory.respiratory_stay 'end': 'respiratory_events.hospitalized' "
                        "(yesno) must be a date item");
  TempProtocol equals;
  equals.Replace("outcomes.yaml",
                 "value: respiratory_events.rp_ild_diagnosed\n      equals: \"yes\"",
                 "value: respiratory_events.rp_ild_diagnosed\n      equals: \"maybe\"");
  ExpectErrorContaining(equals,
                        "respiratory.rp_ild_diagnosis: 'maybe' is not a value of "
                        "respiratory_events.rp_ild_diagnosed");
  TempProtocol not_end;
  not_end.Replace(
      "outcomes.yaml", "date: respiratory_events.rp_ild_date",
      "date: respiratory_events.rp_ild_date\n      end: respiratory_events.rp_ild_date");
  ExpectErrorContaining(not_end, "unknown key 'end'");
}

TEST(OutcomesLoaderTest, TheMmtSourceFollowsTheMmtMaximum) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml", "value: \"150\"", "value: \"80\"");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->outcomes->sources->mmt.value.Name(), "derived.mmt8_total_80");
  TempProtocol none;
  none.Replace("outcomes.yaml", "value: \"150\"", "value: \"260\"");
  ExpectErrorContaining(none, "'tis.mmt' has no total for the MMT maximum 260 (tis_mmt_max)");
}

TEST(OutcomesLoaderTest, SourcesMustNameItemsOfFittingTypeAndUnit) {
  TempProtocol unknown;
  unknown.Replace("outcomes.yaml", "haq: derived.haq_di", "haq: haq_di.total");
  ExpectError(unknown, Where(unknown.file("outcomes.yaml"), "haq_di.total") +
                           ": tis.haq: 'total' is not an item of form haq_di");
  TempProtocol unit;
  unit.Replace("outcomes.yaml", "physician_global: physician_global.vas",
               "physician_global: safety_labs.alt");
  ExpectError(unit, Where(unit.file("outcomes.yaml"), "safety_labs.alt       ") +
                        ": tis.physician_global: 'safety_labs.alt' (quantity) must be a quantity "
                        "convertible to 'cm', not 'U/L'");
  TempProtocol type;
  type.Replace("outcomes.yaml", "symptom_onset: respiratory_events.symptom_onset",
               "symptom_onset: medical_history.anti_mda5");
  ExpectErrorContaining(type,
                        "respiratory.symptom_onset: 'medical_history.anti_mda5' (code) must "
                        "be a date item");
  TempProtocol code;
  code.Replace("outcomes.yaml", "equals: death,", "equals: dead,");
  ExpectErrorContaining(code, "respiratory.death: 'dead' is not a value of end_of_study.status");
  TempProtocol range;
  range.Replace("outcomes.yaml", "{value: safety_labs.alt, uln: safety_labs.alt_uln}\n    ast:",
                "{value: safety_labs.alt}\n    ast:");
  ExpectErrorContaining(range, "enzymes.alt needs its 'uln'");
}

TEST(OutcomesLoaderTest, EveryCtcaeTermHasASourceOrIsNotCollected) {
  TempProtocol copy;
  copy.Replace("outcomes.yaml",
               "    ggt_increased: not_collected         # no GGT item in forms.yaml\n", "");
  ExpectErrorContaining(copy, "'sources: labs' says nothing of CTCAE term 'ggt_increased'");
  TempProtocol lln;
  lln.Replace("outcomes.yaml", "{value: safety_labs.anc, lln: safety_labs.anc_lln}",
              "{value: safety_labs.anc}");
  ExpectErrorContaining(lln, "labs.neutrophil_count_decreased needs 'lln' (grade 1: < 1 x LLN)");
}

}  // namespace
}  // namespace trial::protocol
