// Tests of schedule.yaml loading: the real PROMIS-MDA5 schedule, and broken copies whose errors
// must name the file, line and column. Run from the repository root (ctest does).
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
using ::trial::protocol::testing::WriteText;

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

// The errors of checking `copy`, which must contain `message` exactly.
void ExpectError(const TempProtocol& copy, const std::string& message) {
  CheckResult r = Check(copy.dir());
  EXPECT_EQ(r.protocol, nullptr);
  bool found = false;
  for (const auto& e : r.errors) found = found || e.message == message;
  EXPECT_TRUE(found) << "want: " << message << "\ngot:\n" << AllMessages(r.errors);
}

TEST(ScheduleLoaderTest, TheRealScheduleLoads) {
  auto loaded = Load("protocols/promis-mda5");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_TRUE((*loaded)->schedule.has_value());
  const Schedule& s = *(*loaded)->schedule;
  std::vector<std::string> ids;
  for (const auto& v : s.visits) ids.push_back(v.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"SCR", "D0", "W2", "W4", "W6", "W8", "SFU"}));
  const VisitDefinition* scr = s.FindVisit("SCR");
  ASSERT_NE(scr, nullptr);
  EXPECT_EQ(scr->day, -1);
  EXPECT_EQ(scr->window_before, 27);  // days -28 .. -1
  EXPECT_EQ(scr->window_after, 0);
  EXPECT_FALSE(scr->dose);
  const VisitDefinition* d0 = s.FindVisit("D0");
  EXPECT_EQ(d0->window_before, 0);
  EXPECT_EQ(d0->window_after, 0);
  EXPECT_TRUE(d0->dose);
  EXPECT_EQ(d0->dose_number, 1);
  EXPECT_EQ(s.FindVisit("W2")->window_before, 3);  // visit_window
  EXPECT_EQ(s.FindVisit("W2")->window_after, 3);
  EXPECT_TRUE(s.FindVisit("W6")->dose);
  EXPECT_EQ(s.FindVisit("W8")->dose_number, 5);
  EXPECT_FALSE(s.FindVisit("W8")->dose);  // dose_count 4
  EXPECT_EQ(s.FindVisit("SFU")->day, 84);
  EXPECT_EQ(s.FindVisit("nope"), nullptr);
  EXPECT_EQ(s.dose_count, 4);
  EXPECT_EQ(s.missed_grace_days, 7);
  EXPECT_TRUE(s.unscheduled_allowed);
  EXPECT_EQ(s.unscheduled_id, "UNS");
  EXPECT_FALSE(s.FindVisit("W4")->forms.empty());

  const Dosing& d = s.dosing;
  EXPECT_EQ(d.route, "IV");
  EXPECT_EQ(d.dose_ug_per_kg, 8000);
  EXPECT_EQ(d.reduced_dose_ug_per_kg, 4000);
  EXPECT_EQ(d.cap_ug, 800000);
  EXPECT_EQ(d.rounding_ug, 1000);
  EXPECT_EQ(d.concentration_ug_per_ml, 20000);
  ASSERT_EQ(d.vials.size(), 3u);
  EXPECT_EQ(d.vials[0].content_ug, 80000);
  EXPECT_EQ(d.vials[0].volume_ul, 4000);
  EXPECT_EQ(d.vials[2].content_ug, 400000);
  EXPECT_EQ(d.vials[2].volume_ul, 20000);
  EXPECT_EQ(d.bag_volume_ul, 100000);
  EXPECT_EQ(d.infusion_minutes, 60);
  EXPECT_EQ(d.weight_basis, WeightBasis::kLatest);
  EXPECT_EQ(d.vial_rule, VialRule::kLeastWaste);

  const DoseModification& m = s.modification;
  EXPECT_EQ(m.lab_max_age_days, 7);
  EXPECT_EQ(m.resume_reduced_doses, 1);
  ASSERT_EQ(m.labs.size(), 3u);
  EXPECT_EQ(m.labs[0].id, "neutrophils");
  EXPECT_EQ(m.labs[0].unit.code(), "/mm3");
  EXPECT_EQ(m.labs[0].resume_after_hold, Resume::kReducedDose);
  ASSERT_EQ(m.labs[0].bands.size(), 3u);
  EXPECT_EQ(m.labs[0].bands[0].bound, Bound::kBelow);
  EXPECT_EQ(m.labs[0].bands[0].limit, 500);
  EXPECT_EQ(m.labs[0].bands[1].bound, Bound::kAtOrBelow);
  EXPECT_EQ(m.labs[0].bands[1].limit, 1000);
  EXPECT_EQ(m.labs[2].measure, LabMeasure::kTimesUln);
  EXPECT_EQ(m.labs[2].analytes, (std::vector<std::string>{"alt", "ast"}));
  EXPECT_EQ(m.labs[2].bands[1].discontinue_after, 3);  // transaminase_discontinue_persistence
  EXPECT_EQ(m.labs[2].bands[2].persistent, 2);         // transaminase_persistence
  EXPECT_EQ(m.labs[2].resume_after_hold, Resume::kByValue);
}

TEST(ScheduleLoaderTest, TheScheduleQuestionsNameTheirParameters) {
  auto loaded = Load("protocols/promis-mda5");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  for (const char* id :
       {"Q-DOSE-COUNT", "Q-DOSE", "Q-ROUTE", "Q-DOSING-WEIGHT", "Q-DOSE-CAP", "Q-VISIT-WINDOW",
        "Q-TRANSAMINASE-PERSISTENCE", "Q-LAB-FRESHNESS", "Q-INITIATION"}) {
    bool found = false;
    for (const auto& q : (*loaded)->questions) {
      if (q.id != id) continue;
      found = true;
      EXPECT_FALSE(q.parameters.empty()) << id;
    }
    EXPECT_TRUE(found) << id;
  }
  // The schedule's parameters are parameters like protocol.yaml's, with their origin.
  for (const auto& param : (*loaded)->catalog.parameters) {
    if (param.name == "dose_count") {
      EXPECT_EQ(fs::path(param.origin).filename(), "schedule.yaml");
    }
  }
}

// FACTS.md §3.3: do not initiate if ANC < 2000/mm3, platelets < 100,000/mm3, ALT/AST > 1.5 x ULN.
TEST(ScheduleLoaderTest, TheInitiationThresholdsLoad) {
  auto loaded = Load("protocols/promis-mda5");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const auto& init = (*loaded)->schedule->modification.initiation;
  ASSERT_EQ(init.size(), 3u);
  EXPECT_EQ(init[0].id, "initiation_neutrophils");
  EXPECT_EQ(init[0].analytes, std::vector<std::string>{"anc"});
  EXPECT_EQ(init[0].bands[0].bound, Bound::kBelow);
  EXPECT_EQ(init[0].bands[0].limit, 2000);  // FACTS §3.3
  EXPECT_EQ(init[0].bands[0].action, DoseAction::kHold);
  EXPECT_EQ(init[1].bands[0].bound, Bound::kBelow);
  EXPECT_EQ(init[1].bands[0].limit, 100000);  // FACTS §3.3
  EXPECT_EQ(init[2].measure, LabMeasure::kTimesUln);
  EXPECT_EQ(init[2].analytes, (std::vector<std::string>{"alt", "ast"}));
  EXPECT_EQ(init[2].bands[0].bound, Bound::kAbove);
  EXPECT_EQ(init[2].bands[0].limit, 1.5);  // FACTS §3.3
}

TEST(ScheduleLoaderTest, InitiationThresholdsCanBeIgnored) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: '\"apply\"'", "value: '\"ignore\"'");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_TRUE((*loaded)->schedule->modification.initiation.empty());
  EXPECT_EQ((*loaded)->schedule->modification.labs.size(), 3u);
}

TEST(ScheduleLoaderErrorTest, InitiationThresholdsParameterAndRules) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: '\"apply\"'", "value: '\"yes\"'");
  copy.Replace("schedule.yaml", "    - id: initiation_platelets\n", "    - id: platelets\n");
  const fs::path f = copy.file("schedule.yaml");
  ExpectError(copy, Where(f, "'\"yes\"'") +
                        ": parameter 'initiation_thresholds' must be one of \"apply\", "
                        "\"ignore\" (written '\"apply\"')");
  ExpectError(copy, Where(f, "platelets\n      name: platelet count before the first dose") +
                        ": duplicate lab rule id 'platelets'");
}

TEST(ScheduleLoaderTest, FiveDosesGiveTheWeekEightDose) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: \"4\"", "value: \"5\"");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->schedule->dose_count, 5);
  EXPECT_TRUE((*loaded)->schedule->FindVisit("W8")->dose);
}

TEST(ScheduleLoaderTest, AParameterNameWorksWhereANumberIsExpected) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: 84 days", "value: 12 weeks");
  copy.Replace("schedule.yaml", "day: 42  # FACTS §1.1",
               "day: 42\n    window_before: visit_window");
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ((*loaded)->schedule->FindVisit("SFU")->day, 84);
  EXPECT_EQ((*loaded)->schedule->FindVisit("W6")->window_before, 3);
}

TEST(ScheduleLoaderTest, WithoutTheFileThereIsNoSchedule) {
  TempProtocol copy;
  fs::remove(copy.file("schedule.yaml"));
  // The eCRF forms need the schedule (its visits name the forms they collect): drop them too.
  fs::remove(copy.file("forms.yaml"));
  fs::remove(copy.file("editchecks.yaml"));
  // The protocol's questions name schedule parameters, so drop them with the file.
  std::string text = ReadText(copy.file("protocol.yaml"));
  text = text.substr(0, text.find("  # Schedule and dosing (schedule.yaml"));
  WriteText(copy.file("protocol.yaml"), text);
  auto loaded = Load(copy.dir());
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_FALSE((*loaded)->schedule.has_value());
}

// ---- errors ----

TEST(ScheduleLoaderErrorTest, YamlSyntaxErrorStopsWithItsPosition) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "  - id: W2\n", "  - id: [W2\n");
  CheckResult r = Check(copy.dir());
  ASSERT_EQ(r.errors.size(), 1u) << AllMessages(r.errors);
  EXPECT_EQ(r.errors[0].code, ErrorCode::kParse);
  EXPECT_EQ(r.errors[0].message.rfind(copy.file("schedule.yaml").string() + ":", 0), 0u)
      << r.errors[0].message;
}

TEST(ScheduleLoaderErrorTest, UnknownKeys) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "    day: 14  # FACTS §1.1", "    dday: 14");
  copy.Replace("schedule.yaml", "unscheduled:\n", "unscheduld:\n");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "dday") +
                        ": unknown key 'dday' in a visit (expected id, name, day, days, "
                        "window_before, window_after, dose, forms)");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "unscheduld") +
                        ": unknown key 'unscheduld' in schedule.yaml (expected parameters, visits, "
                        "unscheduled, dosing, dose_modification)");
}

TEST(ScheduleLoaderErrorTest, DoseCountAboveTheDoseSlots) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: \"4\"", "value: \"6\"");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "\"6\"") +
                        ": parameter 'dose_count' is 6 but only 5 visits have a dose slot "
                        "('dose: k' in schedule.yaml)");
}

TEST(ScheduleLoaderErrorTest, DoseCountMustBeAWholeNumber) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: \"4\"", "value: 4 days");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "4 days") +
                        ": parameter 'dose_count' must be a whole number from 1 to 1000");
}

TEST(ScheduleLoaderErrorTest, VisitsOutOfOrder) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "day: 28  # FACTS §1.1", "day: 10");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "10\n") +
                        ": visit W4 (day 10) must come after the visit before it (day 14): list "
                        "visits in day order");
}

TEST(ScheduleLoaderErrorTest, DoseSlotsOutOfSequence) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "dose: 3  # FACTS §1.1", "dose: 4");
  ExpectError(copy, Where(copy.file("schedule.yaml"),
                          "4\n    forms: [visit, vital_signs, weight, safety_labs, mmt8") +
                        ": visit W4: dose slots must be numbered 1, 2, 3, ... in day order; found "
                        "4 where 3 was expected");
}

TEST(ScheduleLoaderErrorTest, UnknownParameterName) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "day: safety_follow_up_day  # parameter",
               "day: safety_followup_day  # parameter");
  ExpectError(copy, copy.file("schedule.yaml").string() +
                        ": missing parameter 'safety_followup_day' (define it under 'parameters'; "
                        "see docs/schedule.md)");
}

TEST(ScheduleLoaderErrorTest, MissingRequiredParameter) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "  dose_cap:\n", "  dose_cap_mg:\n");
  CheckResult r = Check(copy.dir());
  EXPECT_NE(AllMessages(r.errors).find("missing parameter 'dose_cap'"), std::string::npos)
      << AllMessages(r.errors);
  // The question naming it reports it too.
  EXPECT_NE(AllMessages(r.errors).find("question Q-DOSE-CAP names an unknown parameter 'dose_cap'"),
            std::string::npos)
      << AllMessages(r.errors);
}

TEST(ScheduleLoaderErrorTest, WrongParameterTypes) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "value: 800 'mg'", "value: 800 'mL'");
  copy.Replace("schedule.yaml", "value: '\"IV\"'", "value: '\"SC\"'");
  copy.Replace("schedule.yaml", "value: '\"latest\"'", "value: '\"newest\"'");
  const fs::path f = copy.file("schedule.yaml");
  ExpectError(copy, Where(f, "800 'mL'") +
                        ": parameter 'dose_cap' must be a positive quantity convertible to 'ug' "
                        "(e.g. 8 'mg/kg', 800 'mg')");
  ExpectError(copy, Where(f, "'\"SC\"'") +
                        ": parameter 'dosing_route' must be one of \"IV\" (written '\"IV\"')");
  ExpectError(copy, Where(f, "'\"newest\"'") +
                        ": parameter 'dosing_weight' must be one of \"latest\", \"baseline\" "
                        "(written '\"latest\"')");
}

TEST(ScheduleLoaderErrorTest, ParameterClashesWithProtocolYaml) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "  visit_missed_grace:\n", "  weight_min:\n");
  ExpectError(copy, copy.file("schedule.yaml").string() +
                        ": parameter 'weight_min' clashes with parameter of the same name");
}

TEST(ScheduleLoaderErrorTest, VialWithTheWrongConcentration) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "{content: 200 mg, volume: 10 mL}",
               "{content: 200 mg, volume: 8 mL}");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "{content: 200 mg, volume: 8 mL}") +
                        ": vial of 200 mg in 8 mL does not have the concentration 20 mg/mL");
}

TEST(ScheduleLoaderErrorTest, BadUnit) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "bag_volume: 100 mL", "bag_volume: 100 mg");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "100 mg") +
                        ": 'bag_volume' '100 mg' cannot be converted to 'uL'");
}

TEST(ScheduleLoaderErrorTest, BadBands) {
  TempProtocol copy;
  const fs::path f = copy.file("schedule.yaml");
  copy.Replace("schedule.yaml", "action: hold\n          row: ANC 500",
               "action: pause\n          row: ANC 500");
  copy.Replace("schedule.yaml", "- action: proceed  # FACTS §3.2 (\">1000\": maintain dose)",
               "- action: proceed\n          above: 1000");
  copy.Replace("schedule.yaml", "at_or_below: 100000", "at_or_below: 40000");
  ExpectError(copy, Where(f, "pause") +
                        ": lab rule neutrophils: action must be proceed, reduce, hold or "
                        "discontinue, not 'pause'");
  ExpectError(copy, Where(f, "action: proceed\n          above: 1000") +
                        ": lab rule neutrophils: the last band has no bound (it covers every "
                        "other value)");
  ExpectError(copy, Where(f, "at_or_below: 40000") +
                        ": lab rule platelets: band limits must widen down the list (increasing "
                        "for below)");
}

TEST(ScheduleLoaderErrorTest, SeverityMustDecreaseDownTheBands) {
  TempProtocol copy;
  copy.Replace("schedule.yaml", "action: reduce\n          persistent",
               "action: discontinue\n          persistent");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "above: 1  # FACTS") +
                        ": lab rule transaminases: bands must go from the most to the least "
                        "severe action");
}

TEST(ScheduleLoaderErrorTest, TimesUlnRuleHasNoUnitAndValueRuleNeedsOne) {
  TempProtocol copy;
  copy.Replace("schedule.yaml",
               "      name: platelet count\n      analytes: [platelets]\n      unit: /mm3\n",
               "      name: platelet count\n      analytes: [platelets]\n");
  ExpectError(copy, Where(copy.file("schedule.yaml"), "id: platelets") + ": missing 'unit'");
}

}  // namespace
}  // namespace trial::protocol
