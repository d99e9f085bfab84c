// Tests of the protocol loader: the real PROMIS-MDA5 folder, and broken copies of it in a
// temporary folder. Run from the repository root (ctest does).
#include "protocol/protocol.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/temp_protocol_test_util.h"

namespace trial::protocol {
namespace {

namespace fs = std::filesystem;

const char* const kDir = "protocols/promis-mda5";

using ::trial::protocol::testing::ReadText;
using ::trial::protocol::testing::WriteText;

using ::trial::protocol::testing::TempProtocol;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

std::string AllMessages(const std::vector<Error>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.message + "\n";
  return out;
}

// ---- the real protocol ----

TEST(ProtocolTest, TheRealProtocolLoads) {
  auto loaded = Load(kDir);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const Protocol& p = **loaded;
  EXPECT_EQ(p.id, "PROMIS-MDA5");
  EXPECT_EQ(p.version, "1.0");
  EXPECT_EQ(p.target_enrollment, 110);
  ASSERT_EQ(p.arms.size(), 2u);
  EXPECT_EQ(p.arms[0].id, "TCZ");
  EXPECT_EQ(p.arms[1].id, "PBO");
  ASSERT_NE(p.program, nullptr);

  ASSERT_EQ(p.criteria.size(), 26u);
  std::vector<std::string> ids;
  for (const auto& c : p.criteria) ids.push_back(c.id);
  std::vector<std::string> expected;
  for (int i = 1; i <= 8; ++i) expected.push_back("IN" + std::to_string(i));
  for (int i = 1; i <= 18; ++i) expected.push_back("EX" + std::to_string(i));
  EXPECT_EQ(ids, expected);
  std::vector<int> rule_ids;
  for (size_t i = 0; i < p.criteria.size(); ++i) {
    const Criterion& c = p.criteria[i];
    EXPECT_EQ(c.kind, i < 8 ? CriterionKind::kInclusion : CriterionKind::kExclusion) << c.id;
    EXPECT_FALSE(c.text.empty()) << c.id;
    EXPECT_FALSE(c.rule.empty()) << c.id;
    EXPECT_GE(c.rule_id, 0) << c.id;
    rule_ids.push_back(c.rule_id);
  }
  std::sort(rule_ids.begin(), rule_ids.end());
  EXPECT_EQ(std::adjacent_find(rule_ids.begin(), rule_ids.end()), rule_ids.end());

  EXPECT_GE(p.questions.size(), 6u);
  for (const char* q : {"Q-WINDOW-ENDS", "Q-ERYTHEMA-AB-IGNE", "Q-IN4-ROUTE", "Q-HBV-UNIT",
                        "Q-RPILD", "Q-EX12-WINDOW"}) {
    auto it = std::find_if(p.questions.begin(), p.questions.end(),
                           [&](const Question& x) { return x.id == q; });
    ASSERT_NE(it, p.questions.end()) << q;
    EXPECT_FALSE(it->reading.empty()) << q;
    EXPECT_FALSE(it->criteria.empty()) << q;
  }
  // Criteria name their questions.
  EXPECT_EQ(p.criteria[1].questions, std::vector<std::string>{"Q-ERYTHEMA-AB-IGNE"});

  auto weight_min = p.program->ParameterValue("weight_min");
  ASSERT_TRUE(weight_min.has_value());
  ASSERT_EQ(weight_min->kind, rules::Value::Kind::kQuantity);
  EXPECT_EQ(weight_min->quantity.value, 45);
  EXPECT_EQ(weight_min->quantity.unit.code(), "kg");
  auto window = p.program->ParameterValue("screening_window");
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->duration, (Duration{28, Duration::Unit::kDays}));

  const rules::Element* creatinine = p.catalog.FindElement("creatinine");
  ASSERT_NE(creatinine, nullptr);
  ASSERT_TRUE(creatinine->molar_mass_g_per_mol.has_value());
  EXPECT_NEAR(*creatinine->molar_mass_g_per_mol, 113.12, 0.01);  // 1 mg/dL = 88.4 umol/L
}

TEST(ProtocolTest, CheckOfTheRealProtocolHasNoErrors) {
  CheckResult r = Check(kDir);
  EXPECT_TRUE(r.errors.empty()) << AllMessages(r.errors);
  EXPECT_NE(r.protocol, nullptr);
}

TEST(ProtocolTest, AnUnchangedCopyLoads) {
  TempProtocol copy;
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->criteria.size(), 26u);
  EXPECT_EQ((*loaded)->dir, copy.dir());
}

TEST(ProtocolTest, AChangedParameterIsUsed) {
  TempProtocol copy;
  copy.Replace("protocol.yaml", "value: 45 'kg'", "value: 50 'kg'");
  copy.Replace("protocol.yaml", "value: 28 days\n    description: screening values",
               "value: 21 days\n    description: screening values");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  auto weight_min = (*loaded)->program->ParameterValue("weight_min");
  ASSERT_TRUE(weight_min.has_value());
  EXPECT_EQ(weight_min->quantity.value, 50);
  auto window = (*loaded)->program->ParameterValue("screening_window");
  ASSERT_TRUE(window.has_value());
  EXPECT_EQ(window->duration, (Duration{21, Duration::Unit::kDays}));
}

// ---- errors ----

TEST(ProtocolErrorTest, MissingFolder) {
  CheckResult r = Check("protocols/no-such-protocol");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.protocol, nullptr);
  EXPECT_EQ(r.errors[0].code, ErrorCode::kNotFound);
  EXPECT_EQ(r.errors[0].message,
            "protocols/no-such-protocol: not a protocol folder (no such directory)");
  auto loaded = Load("protocols/no-such-protocol");
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().code, ErrorCode::kNotFound);
  // A file is not a folder either.
  EXPECT_FALSE(Load("protocols/promis-mda5/protocol.yaml").has_value());
}

TEST(ProtocolErrorTest, MissingFile) {
  TempProtocol copy;
  fs::remove(copy.file("definitions.yaml"));
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_EQ(r.protocol, nullptr);
  EXPECT_EQ(r.errors[0].code, ErrorCode::kNotFound);
  EXPECT_EQ(r.errors[0].message, copy.file("definitions.yaml").string() + ": cannot read the file");
}

TEST(ProtocolErrorTest, TwoMissingFilesAreBothReported) {
  TempProtocol copy;
  fs::remove(copy.file("elements.yaml"));
  fs::remove(copy.file("criteria.yaml"));
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 2u) << AllMessages(r.errors);
  EXPECT_TRUE(Contains(r.errors[0].message, "elements.yaml: cannot read the file"));
  EXPECT_TRUE(Contains(r.errors[1].message, "criteria.yaml: cannot read the file"));
  auto loaded = Load(copy.dir());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message,
            r.errors[0].message + " (and 1 more: run 'trial protocol check')");
}

TEST(ProtocolErrorTest, MalformedYamlGivesLineAndColumn) {
  TempProtocol copy;
  // Line 5 of criteria.yaml is "  - id: IN1": an unclosed flow sequence starts there.
  copy.Replace("criteria.yaml", "  - id: IN1\n", "  - id: [IN1\n");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  const Error& e = r.errors[0];
  EXPECT_EQ(e.code, ErrorCode::kParse);
  std::smatch m;
  std::regex re("^" +
                std::regex_replace(copy.file("criteria.yaml").string(),
                                   std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                R"(:(\d+):(\d+): .+)");
  ASSERT_TRUE(std::regex_match(e.message, m, re)) << e.message;
  // yaml-cpp notices the unclosed '[' at the next token (line 6, "kind:").
  int line = std::stoi(m[1]);
  EXPECT_TRUE(line == 5 || line == 6) << e.message;
  EXPECT_GE(std::stoi(m[2]), 1) << e.message;
  auto loaded = Load(copy.dir());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message, e.message);
}

TEST(ProtocolErrorTest, TopLevelNotAMapping) {
  TempProtocol copy;
  WriteText(copy.file("definitions.yaml"), "- just\n- a list\n");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_EQ(r.errors[0].code, ErrorCode::kParse);
  EXPECT_EQ(r.errors[0].message,
            copy.file("definitions.yaml").string() + ": expected a mapping at the top level");
}

// "FILE:LINE:COLUMN" of the first occurrence of `needle` in `file` (1-based), as messages give it.
std::string PositionOf(const fs::path& file, const std::string& needle, int offset = 0) {
  std::ifstream in(file);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto at = line.find(needle);
    if (at != std::string::npos) {
      return file.string() + ":" + std::to_string(n) + ":" +
             std::to_string(static_cast<int>(at) + 1 + offset);
    }
  }
  return file.string() + ":?:?";
}

TEST(ProtocolErrorTest, RuleTypeErrorNamesFileCriterionAndPosition) {
  TempProtocol copy;
  copy.Replace("criteria.yaml", "and W >= weight_min", "and W >= 120 'mm[Hg]'");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_EQ(r.protocol, nullptr);
  const Error& e = r.errors[0];
  EXPECT_EQ(e.code, ErrorCode::kType);
  // Positions are the file's: "W >= 120 'mm[Hg]'" starts where the comparison does.
  EXPECT_EQ(e.message.rfind(PositionOf(copy.file("criteria.yaml"), "W >= 120 'mm[Hg]'") + ": ", 0),
            0u)
      << e.message;
  EXPECT_TRUE(Contains(e.message, "(rule of IN1)")) << e.message;
  EXPECT_TRUE(Contains(e.message, "criteria.yaml")) << e.message;
  EXPECT_TRUE(Contains(e.message, "IN1")) << e.message;
  EXPECT_TRUE(Contains(e.message, "'mm[Hg]'")) << e.message;
  EXPECT_TRUE(Contains(e.message, "cannot compare 'W' (g) with 'mm[Hg]'")) << e.message;
  auto loaded = Load(copy.dir());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message, e.message);
}

TEST(ProtocolErrorTest, EveryRuleErrorIsReported) {
  TempProtocol copy;
  copy.Replace("criteria.yaml", "rule: exists(conditions(other_myositis))",
               "rule: exists(conditions(other_myositis)");  // EX1: syntax
  copy.Replace("criteria.yaml", "rule: used_within(ivig, ivig_lookback)",
               "rule: used_within(ivig, ivig_lookback) and W");                   // EX13: type
  copy.Replace("criteria.yaml", "and W >= weight_min", "and W >= 120 'mm[Hg]'");  // IN1: units
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 3u) << AllMessages(r.errors);
  const std::string crit = copy.file("criteria.yaml").string();
  EXPECT_EQ(
      r.errors[0].message.rfind(
          PositionOf(copy.file("criteria.yaml"), "W >= 120 'mm[Hg]'") + ": cannot compare", 0),
      0u)
      << r.errors[0].message;
  EXPECT_EQ(r.errors[1].code, ErrorCode::kParse);
  // The missing ')' is reported where the rule ends: just after "other_myositis)".
  EXPECT_EQ(r.errors[1].message,
            PositionOf(copy.file("criteria.yaml"), "exists(conditions(other_myositis)", 33) +
                ": expected ')' to close the argument list, found end of rule (rule of EX1)");
  EXPECT_EQ(r.errors[2].code, ErrorCode::kType);
  EXPECT_EQ(r.errors[2].message.rfind(crit + ":", 0), 0u) << r.errors[2].message;
  EXPECT_TRUE(Contains(r.errors[2].message, "(rule of EX13)")) << r.errors[2].message;
  auto loaded = Load(copy.dir());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message,
            r.errors[0].message + " (and 2 more: run 'trial protocol check')");
}

TEST(ProtocolErrorTest, EveryStructuralErrorIsReportedWithItsFile) {
  TempProtocol copy;
  copy.Replace("elements.yaml", "codes: [loinc:29463-7]", "codes: [lonic:29463-7]");
  copy.Replace("criteria.yaml", "questions: [Q-ERYTHEMA-AB-IGNE]", "questions: [Q-NO-SUCH]");
  copy.Replace("protocol.yaml", "parameters: [window_ends_inclusive]",
               "parameters: [no_such_parameter]");
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  ASSERT_EQ(r.errors.size(), 3u) << AllMessages(r.errors);
  const std::string all = AllMessages(r.errors);
  bool alias = false, question = false, parameter = false;
  for (const auto& e : r.errors) {
    if (Contains(e.message, "unknown code-system alias 'lonic'")) {
      alias = true;
      EXPECT_EQ(e.message.rfind(copy.file("elements.yaml").string() + ":", 0), 0u) << e.message;
      EXPECT_TRUE(std::regex_search(e.message, std::regex(R"(elements\.yaml:\d+:\d+: )")))
          << e.message;
    }
    if (Contains(e.message, "unknown question 'Q-NO-SUCH'")) {
      question = true;
      EXPECT_EQ(e.message, copy.file("criteria.yaml").string() +
                               ": IN2 refers to an unknown question 'Q-NO-SUCH'");
    }
    if (Contains(e.message, "unknown parameter 'no_such_parameter'")) {
      parameter = true;
      EXPECT_EQ(e.message.rfind(copy.file("protocol.yaml").string() + ":", 0), 0u) << e.message;
      EXPECT_TRUE(Contains(e.message, "Q-WINDOW-ENDS")) << e.message;
    }
  }
  EXPECT_TRUE(alias) << all;
  EXPECT_TRUE(question) << all;
  EXPECT_TRUE(parameter) << all;
  auto loaded = Load(copy.dir());
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().message,
            r.errors[0].message + " (and 2 more: run 'trial protocol check')");
}

// The brief's combination: a bad code alias (elements.yaml), a rule syntax error (criteria.yaml)
// and an unknown question id. Today rules are compiled only when the files are otherwise sound,
// so the rule error is not reported together with the other two.
TEST(ProtocolErrorTest, RuleErrorsAreReportedTogetherWithFileErrors) {
  TempProtocol copy;
  copy.Replace("elements.yaml", "codes: [loinc:29463-7]", "codes: [lonic:29463-7]");
  copy.Replace("criteria.yaml", "rule: exists(conditions(other_myositis))",
               "rule: exists(conditions(other_myositis)");
  copy.Replace("criteria.yaml", "questions: [Q-ERYTHEMA-AB-IGNE]", "questions: [Q-NO-SUCH]");
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  EXPECT_GE(r.errors.size(), 3u) << AllMessages(r.errors);
  bool elements = false, syntax = false, question = false;
  for (const auto& e : r.errors) {
    elements = elements || Contains(e.message, "elements.yaml");
    syntax =
        syntax || (Contains(e.message, "criteria.yaml:") && Contains(e.message, "(rule of EX1)"));
    question = question || Contains(e.message, "unknown question 'Q-NO-SUCH'");
  }
  EXPECT_TRUE(elements) << AllMessages(r.errors);
  EXPECT_TRUE(syntax) << AllMessages(r.errors);
  EXPECT_TRUE(question) << AllMessages(r.errors);
}

TEST(ProtocolErrorTest, DefinitionAndParameterErrors) {
  {
    TempProtocol copy;
    copy.Replace("definitions.yaml", "W: screening_value(body_weight).value",
                 "W: screening_value(body_weight).value +");
    CheckResult r = Check(copy.dir());
    ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
    EXPECT_EQ(r.errors[0].code, ErrorCode::kParse);
    EXPECT_EQ(r.errors[0].message, PositionOf(copy.file("definitions.yaml"),
                                              "W: screening_value(body_weight).value +", 39) +
                                       ": expected an expression, found end of rule");
  }
  {
    TempProtocol copy;
    copy.Replace("protocol.yaml", "value: 45 'kg'", "value: 45 'kgg'");
    CheckResult r = Check(copy.dir());
    ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
    EXPECT_EQ(r.errors[0].code, ErrorCode::kParse);
    EXPECT_NE(r.errors[0].message.find("protocol.yaml: parameter weight_min:1:1: unit 'kgg'"),
              std::string::npos)
        << r.errors[0].message;
  }
}

// protocol.h: every error names its file. A parameter's rule error names only the parameter.
TEST(ProtocolErrorTest, ParameterErrorNamesProtocolYaml) {
  TempProtocol copy;
  copy.Replace("protocol.yaml", "value: 45 'kg'", "value: 45 'kgg'");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_TRUE(Contains(r.errors[0].message, "protocol.yaml")) << r.errors[0].message;
  EXPECT_TRUE(Contains(r.errors[0].message, "weight_min")) << r.errors[0].message;
}

TEST(ProtocolErrorTest, ElementErrors) {
  TempProtocol copy;
  copy.Replace("elements.yaml", "half_life: 8.7 h", "half_life: 8.7 kg");
  copy.Replace("elements.yaml", "  unit: mm[Hg]\n", "  unit: mm[Hgg]\n");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 2u) << AllMessages(r.errors);
  const std::string all = AllMessages(r.errors);
  EXPECT_TRUE(Contains(all, "half_life must be a duration such as '8.7 h'")) << all;
  EXPECT_TRUE(Contains(all, "unit 'mm[Hgg]'")) << all;
  for (const auto& e : r.errors) {
    EXPECT_TRUE(std::regex_search(e.message, std::regex(R"(elements\.yaml:\d+:\d+: )")))
        << e.message;
  }
}

TEST(ProtocolErrorTest, RandomizationDesignErrors) {
  TempProtocol copy;
  copy.Replace("randomization.yaml", "method: permuted_blocks", "method: coin_toss");
  copy.Replace("randomization.yaml", "block_sizes: [2, 4]", "block_sizes: [2, 3]");
  copy.Replace("randomization.yaml", "high_probability: 0.8", "high_probability: 1.5");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 3u) << AllMessages(r.errors);
  EXPECT_TRUE(Contains(r.errors[0].message, "randomization.yaml:")) << r.errors[0].message;
  EXPECT_TRUE(Contains(r.errors[0].message, "'coin_toss'")) << r.errors[0].message;
  EXPECT_TRUE(Contains(r.errors[1].message, "positive multiple of the arms' ratio sum (2)"))
      << r.errors[1].message;
  EXPECT_TRUE(Contains(r.errors[2].message, "high_probability")) << r.errors[2].message;
  EXPECT_EQ(r.protocol, nullptr);
}

TEST(ProtocolTest, RandomizationDesignIsRead) {
  auto p = Load("protocols/promis-mda5");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  const auto& d = (*p)->randomization;
  EXPECT_EQ(d.block_sizes, (std::vector<int>{2, 4}));
  ASSERT_EQ(d.factors.size(), 2u);
  EXPECT_EQ(d.factors[0].name, "site");
  EXPECT_EQ(d.factors[1].name, "ild_at_baseline");
}

TEST(ProtocolTest, KitSupplyIsRead) {
  auto p = Load("protocols/promis-mda5");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  const KitSupply& k = (*p)->kits;
  EXPECT_EQ(k.first_dose_visit, "D0");
  EXPECT_EQ(k.dose_days, (std::vector<int>{0, 14, 28, 42}));
  EXPECT_EQ(k.horizon_days, 28);
  EXPECT_EQ(k.buffer_per_arm, 2);
  EXPECT_EQ(k.kit_number_digits, 6);
}

TEST(ProtocolErrorTest, KitSupplyErrors) {
  TempProtocol copy;
  copy.Replace("kits.yaml", "horizon_days: 28", "dose_days: [0, 28, 14]\nhorizon_days: soon");
  copy.Replace("kits.yaml", "kit_number_digits: 6", "kit_number_digits: 12\ncolour: blue");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 5u) << AllMessages(r.errors);
  // In file order: unknown key, then the checks in reading order, then the link to the schedule.
  EXPECT_TRUE(Contains(r.errors[0].message, "kits.yaml:")) << r.errors[0].message;
  EXPECT_TRUE(Contains(r.errors[0].message, "unknown key 'colour'")) << r.errors[0].message;
  EXPECT_TRUE(Contains(r.errors[1].message, "horizon_days must be a whole number from 1 to 365"))
      << r.errors[1].message;
  EXPECT_TRUE(Contains(r.errors[2].message, "kit_number_digits must be a whole number from 4"))
      << r.errors[2].message;
  EXPECT_TRUE(Contains(r.errors[3].message, "dose days must increase (14 after 28)"))
      << r.errors[3].message;
  EXPECT_TRUE(Contains(r.errors[4].message, "dose_days come from schedule.yaml"))
      << r.errors[4].message;
  EXPECT_EQ(r.protocol, nullptr);
  // Line and column of the offending value.
  EXPECT_TRUE(Contains(r.errors[3].message, "kits.yaml:")) << r.errors[3].message;
  TempProtocol first;
  first.Replace("kits.yaml", "horizon_days: 28", "dose_days: [7, 14]\nhorizon_days: 28");
  r = Check(first.dir());
  ASSERT_GE(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_TRUE(Contains(r.errors[0].message, "the first dose day must be 0"));
  TempProtocol visit;
  visit.Replace("kits.yaml", "first_dose_visit: D0", "first_dose_visit: W2");
  r = Check(visit.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_TRUE(Contains(r.errors[0].message, "'W2' is not a dosing visit on day 0"));
}

TEST(ProtocolTest, KitDoseDaysAreTheSchedulesDosingVisits) {
  TempProtocol copy;
  std::filesystem::remove(copy.file("kits.yaml"));  // optional: defaults
  auto p = Load(copy.dir());
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ((*p)->kits.dose_days, (std::vector<int>{0, 14, 28, 42}));
  EXPECT_EQ((*p)->kits.first_dose_visit, "D0");
  // Five doses (Q-DOSE-COUNT): the kit days follow.
  TempProtocol five;
  five.Replace("schedule.yaml", "value: \"4\"  # FACTS §1.1", "value: \"5\"  # FACTS §1.1");
  auto q = Load(five.dir());
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ((*q)->kits.dose_days, (std::vector<int>{0, 14, 28, 42, 56}));
}

}  // namespace
}  // namespace trial::protocol
