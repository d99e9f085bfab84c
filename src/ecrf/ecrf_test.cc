// The eCRF engine against the PROMIS-MDA5 forms (protocols/promis-mda5/forms.yaml,
// editchecks.yaml): value validation, edit checks, derived values, and the loader's errors.
#include "ecrf/ecrf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "protocol/temp_protocol_test_util.h"

namespace trial::ecrf {
namespace {

using protocol::testing::TempProtocol;
using ::testing::HasSubstr;

const protocol::Protocol& Promis() {
  static const auto* p = [] {
    auto loaded = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    return loaded->release();
  }();
  return *p;
}

Result<Normalized> V(const std::string& form, const std::string& item, const std::string& text) {
  return ValidateEntry(Promis(), form, item, text);
}

std::string Ok(const std::string& form, const std::string& item, const std::string& text) {
  auto r = V(form, item, text);
  EXPECT_TRUE(r.has_value()) << form << "." << item << " " << text << ": " << r.error().message;
  return r ? r->text : "";
}

std::string Err(const std::string& form, const std::string& item, const std::string& text) {
  auto r = V(form, item, text);
  EXPECT_FALSE(r.has_value()) << form << "." << item << " " << text << " accepted";
  if (r) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

// ---- the forms as loaded ----

TEST(Forms, EveryScheduledFormIsDefinedAndCounted) {
  const auto& f = *Promis().forms;
  EXPECT_EQ(f.forms.size(), 26u);
  for (const auto& v : Promis().schedule->visits) {
    for (const auto& id : v.forms) EXPECT_NE(f.FindForm(id), nullptr) << v.id << " " << id;
  }
  EXPECT_EQ(f.visit_date_item, "visit.visit_date");
  ASSERT_NE(f.FindForm("weight"), nullptr);
  EXPECT_NE(f.FindForm("weight")->FindItem("weight"), nullptr);
  for (const char* lab : {"anc", "platelets", "alt", "ast", "alt_uln", "ast_uln"}) {
    EXPECT_NE(f.FindForm("safety_labs")->FindItem(lab), nullptr) << lab;
  }
  EXPECT_EQ(f.FindForm("haq_di")->items.size(), 36u);  // 20 items + 8 x (aid, help)
  EXPECT_EQ(f.FindForm("mmt8")->items.size(), 15u);
  ASSERT_TRUE(f.haq.has_value());
  EXPECT_EQ(f.haq->categories.size(), 8u);
  EXPECT_EQ(f.derived.size(), 4u);
  int generated = 0, written = 0;
  for (const auto& c : f.checks) {
    (c.generated ? generated : written)++;
    EXPECT_GE(c.rule_id, 0) << c.id;
  }
  EXPECT_EQ(written, 27);
  EXPECT_GT(generated, 100);
}

// ---- ValidateValue, by type ----

TEST(Validate, QuantityConvertsToTheCanonicalUnit) {
  EXPECT_EQ(Ok("weight", "weight", "62.5 kg"), "62.5 kg");
  EXPECT_EQ(Ok("weight", "weight", " 62500 g "), "62.5 kg");
  EXPECT_EQ(Ok("weight", "weight", "150 [lb_av]"), "68.0388555 kg");  // 150 x 0.45359237
  EXPECT_EQ(Ok("physician_global", "vas", "45 mm"), "4.5 cm");
  EXPECT_EQ(Ok("vital_signs", "systolic_bp", "16 kPa"),
            "120.0098692 mm[Hg]");  // 16000 Pa / 133.322 Pa
  EXPECT_EQ(Ok("safety_labs", "anc", "1500 /mm3"), "1.5 10*9/L");
  EXPECT_EQ(Ok("safety_labs", "alt", "1 ukat/L"), "60 U/L");  // FACTS §7.6
}

TEST(Validate, CreatinineThroughTheProtocolsMolarEquivalence) {
  // elements.yaml: 1 mg/dL = 88.4 umol/L (FACTS §5.1); canonical umol/L.
  EXPECT_EQ(Ok("safety_labs", "creatinine", "1 mg/dL"), "88.4 umol/L");
  EXPECT_EQ(Ok("safety_labs", "creatinine", "88.4 µmol/L"), "88.4 umol/L");
  EXPECT_EQ(Ok("safety_labs", "bilirubin", "1 mg/dL"), "17.1 umol/L");
}

TEST(Validate, QuantityErrorsNameTheItemAndUnits) {
  EXPECT_THAT(Err("weight", "weight", "62.5"),
              HasSubstr("weight.weight: '62.5' has no unit: write it with one of kg, g, [lb_av]"));
  EXPECT_THAT(Err("weight", "weight", "62 mm[Hg]"),
              HasSubstr("unit 'mm[Hg]' is not accepted (allowed: kg, g, [lb_av])"));
  EXPECT_THAT(Err("weight", "weight", "62 kgg"), HasSubstr("weight.weight: unit 'kgg'"));
  EXPECT_THAT(Err("weight", "weight", "heavy"), HasSubstr("is not a quantity"));
  EXPECT_THAT(Err("weight", "weight", ""), HasSubstr("weight.weight: no value given"));
}

TEST(Validate, HardRangeRejectsSoftRangeQueries) {
  EXPECT_THAT(Err("weight", "weight", "301 kg"),
              HasSubstr("weight.weight: 301 kg is outside the hard range 20 to 300 kg"));
  EXPECT_THAT(
      Err("vital_signs", "heart_rate", "300 /min"),
      HasSubstr("vital_signs.heart_rate: 300 /min is outside the hard range 20 to 250 /min"));
  auto low = V("weight", "weight", "44 kg");  // FACTS §1.4 I1: soft from 45 kg
  ASSERT_TRUE(low.has_value());
  ASSERT_TRUE(low->query.has_value());
  EXPECT_EQ(low->query->check_id, "weight.weight.soft");
  EXPECT_THAT(low->query->message, HasSubstr("44 kg"));
  auto fine = V("weight", "weight", "60 kg");
  ASSERT_TRUE(fine.has_value());
  EXPECT_FALSE(fine->query.has_value());
  EXPECT_EQ(Ok("weight", "weight", "20 kg"), "20 kg");  // the limits are inside
  EXPECT_EQ(Ok("weight", "weight", "300 kg"), "300 kg");
}

TEST(Validate, IntegerDecimalDateCodeYesNoText) {
  EXPECT_EQ(Ok("mmt8", "neck_flexors", "10"), "10");
  EXPECT_THAT(Err("mmt8", "neck_flexors", "11"), HasSubstr("outside the hard range 0 to 10"));
  EXPECT_THAT(Err("mmt8", "neck_flexors", "7.5"), HasSubstr("'7.5' is not a whole number"));
  EXPECT_EQ(Ok("vital_signs", "temperature", "36.80"), "36.8");
  EXPECT_THAT(Err("vital_signs", "temperature", "36,8"), HasSubstr("is not a number"));
  EXPECT_EQ(Ok("visit", "visit_date", "2026-03-02"), "2026-03-02");
  EXPECT_THAT(Err("visit", "visit_date", "2026-02-30"), HasSubstr("is not a date YYYY-MM-DD"));
  EXPECT_THAT(Err("visit", "visit_date", "02/03/2026"), HasSubstr("is not a date"));
  EXPECT_EQ(Ok("demographics", "sex", "female"), "female");
  EXPECT_THAT(Err("demographics", "sex", "f"),
              HasSubstr("demographics.sex: 'f' is not one of the codes female, male"));
  EXPECT_EQ(Ok("vital_signs", "on_room_air", "Yes"), "yes");
  EXPECT_EQ(Ok("vital_signs", "on_room_air", "false"), "no");
  EXPECT_THAT(Err("vital_signs", "on_room_air", "maybe"), HasSubstr("is not yes or no"));
  EXPECT_EQ(Ok("dosing", "kit_number", " K-123456 "), "K-123456");
}

TEST(Validate, UnknownFormOrItem) {
  auto r = V("nope", "x", "1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  r = V("weight", "height", "1 m");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("form weight has no item 'height'"));
}

// ---- edit checks ----

SubjectData TwoVisits() {
  SubjectData d;
  VisitRecord scr;
  scr.visit = "SCR";
  scr.Set("visit.visit_date", 0, "2026-03-01");
  scr.Set("weight.weight", 0, "60 kg");
  VisitRecord d0;
  d0.visit = "D0";
  d0.Set("visit.visit_date", 0, "2026-03-10");
  d.visits = {scr, d0};
  return d;
}

bool Fired(const std::vector<Finding>& f, const std::string& id) {
  for (const auto& x : f) {
    if (x.check_id == id) return true;
  }
  return false;
}

const Finding* Get(const std::vector<Finding>& f, const std::string& id) {
  for (const auto& x : f) {
    if (x.check_id == id) return &x;
  }
  return nullptr;
}

TEST(EditChecks, WeightChangeSincePreviousVisit) {
  SubjectData d = TwoVisits();
  d.visits[1].Set("weight.weight", 0, "66 kg");  // +10 %: not more than 10 %
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "weight.change_since_previous"));
  d.visits[1].Set("weight.weight", 0, "66.1 kg");
  auto f = RunEditChecks(Promis(), d, "D0");
  const Finding* w = Get(f, "weight.change_since_previous");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->severity, protocol::CheckSeverity::kQuery);
  EXPECT_EQ(w->visit, "D0");
  EXPECT_THAT(w->message, HasSubstr("weight.weight = 66.1 kg, previous 60 kg (SCR)"));
  d.visits[1].Set("weight.weight", 0, "53.9 kg");  // a loss counts too
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "weight.change_since_previous"));
  // Unknown: no earlier weight.
  d.visits[0].items.erase("weight.weight");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "weight.change_since_previous"));
}

TEST(EditChecks, PreviousSkipsVisitsWithoutTheItem) {
  SubjectData d = TwoVisits();
  VisitRecord w2;
  w2.visit = "W2";
  w2.Set("visit.visit_date", 0, "2026-03-24");
  w2.Set("weight.weight", 0, "70 kg");
  d.visits.push_back(w2);  // D0 has no weight: SCR's 60 kg is the previous one
  auto f = RunEditChecks(Promis(), d, "W2");
  ASSERT_NE(Get(f, "weight.change_since_previous"), nullptr);
  EXPECT_THAT(Get(f, "weight.change_since_previous")->message, HasSubstr("(SCR)"));
}

TEST(EditChecks, LabCollectedAfterTheVisit) {
  SubjectData d = TwoVisits();
  d.visits[1].Set("safety_labs.collected_on", 0, "2026-03-10");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "safety_labs.collected_after_visit"));
  d.visits[1].Set("safety_labs.collected_on", 0, "2026-03-11");
  auto f = RunEditChecks(Promis(), d, "D0");
  ASSERT_TRUE(Fired(f, "safety_labs.collected_after_visit"));
  EXPECT_THAT(Get(f, "safety_labs.collected_after_visit")->message,
              HasSubstr("safety_labs.collected_on = 2026-03-11, visit date 2026-03-10"));
  // Unknown visit date: not fired.
  d.visits[1].items.erase("visit.visit_date");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "safety_labs.collected_after_visit"));
}

TEST(EditChecks, VisitDateSourceCanBeGivenDirectly) {
  SubjectData d = TwoVisits();
  d.visits[1].items.erase("visit.visit_date");
  d.visits[1].date = *Date::Parse("2026-03-09");
  d.visits[1].Set("safety_labs.collected_on", 0, "2026-03-10");
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "safety_labs.collected_after_visit"));
}

TEST(EditChecks, FvcPercentConsistentWithFvc) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  v.Set("pft.fvc", 0, "2.4 L");
  v.Set("pft.fvc_predicted", 0, "3 L");
  v.Set("pft.fvc_pct", 0, "81 %");  // 2.4 / 3 = 80 %: within 2 points
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "pft.fvc_pct_consistent"));
  v.Set("pft.fvc_pct", 0, "85 %");
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "pft.fvc_pct_consistent"));
  v.Set("pft.fvc_pct", 0, "75 %");
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "pft.fvc_pct_consistent"));
  v.items.erase("pft.fvc_predicted");  // unknown: not fired
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "pft.fvc_pct_consistent"));
}

TEST(EditChecks, PaO2WithFiO2GivesPf) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  v.Set("abg.pao2", 0, "80 mm[Hg]");
  auto f = RunEditChecks(Promis(), d, "D0");
  EXPECT_TRUE(Fired(f, "abg.fio2_needed"));    // required: fires with data missing
  EXPECT_FALSE(Fired(f, "abg.pf_ratio_low"));  // unknown: not fired
  v.Set("abg.fio2", 0, "21 %");                // P/F = 381 mmHg
  f = RunEditChecks(Promis(), d, "D0");
  EXPECT_FALSE(Fired(f, "abg.fio2_needed"));
  EXPECT_FALSE(Fired(f, "abg.pf_ratio_low"));
  v.Set("abg.fio2", 0, "40 %");  // P/F = 200 mmHg <= 300
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "abg.pf_ratio_low"));
}

TEST(EditChecks, CrossItemRejectAndRepeatingForms) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  v.Set("vital_signs.systolic_bp", 0, "120 mm[Hg]");
  v.Set("vital_signs.diastolic_bp", 0, "80 mm[Hg]");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "vital_signs.diastolic_above_systolic"));
  v.Set("vital_signs.diastolic_bp", 0, "120 mm[Hg]");
  auto f = RunEditChecks(Promis(), d, "D0");
  ASSERT_TRUE(Fired(f, "vital_signs.diastolic_above_systolic"));
  EXPECT_EQ(Get(f, "vital_signs.diastolic_above_systolic")->severity,
            protocol::CheckSeverity::kReject);
  // Medications repeat: each instance is checked on its own.
  v.Set("medications.start_date", 0, "2026-01-01");
  v.Set("medications.stop_date", 0, "2026-02-01");
  v.Set("medications.start_date", 1, "2026-02-10");
  v.Set("medications.stop_date", 1, "2026-02-01");
  f = RunEditChecks(Promis(), d, "D0");
  int fired = 0;
  for (const auto& x : f) {
    if (x.check_id == "medications.stop_before_start") {
      ++fired;
      EXPECT_EQ(x.repeat, 1);
    }
  }
  EXPECT_EQ(fired, 1);
}

TEST(EditChecks, RequiredOnlyWhereTheFormIsStarted) {
  SubjectData d = TwoVisits();
  auto f = RunEditChecks(Promis(), d, "D0");
  EXPECT_FALSE(Fired(f, "safety_labs.anc.required"));  // no lab data at D0
  d.visits[1].Set("safety_labs.collected_on", 0, "2026-03-10");
  f = RunEditChecks(Promis(), d, "D0");
  EXPECT_TRUE(Fired(f, "safety_labs.anc.required"));
  d.visits[1].Set("safety_labs.anc", 0, "2 10*9/L");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "safety_labs.anc.required"));
  // Conditional required: the FiO2 when SpO2 is not on room air.
  d.visits[1].Set("vital_signs.on_room_air", 0, "no");
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "vital_signs.fio2_needed"));
  d.visits[1].Set("vital_signs.on_room_air", 0, "yes");
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "D0"), "vital_signs.fio2_needed"));
}

TEST(EditChecks, GeneratedRangesFireOnStoredValues) {
  SubjectData d = TwoVisits();
  d.visits[0].Set("weight.weight", 0, "40 kg");  // below the soft 45 kg
  auto f = RunEditChecks(Promis(), d, "SCR");
  EXPECT_TRUE(Fired(f, "weight.weight.soft"));
  EXPECT_FALSE(Fired(f, "weight.weight.hard"));
  d.visits[0].Set("weight.weight", 0, "400 kg");  // stored before the range existed
  f = RunEditChecks(Promis(), d, "SCR");
  EXPECT_TRUE(Fired(f, "weight.weight.hard"));
  EXPECT_EQ(Get(f, "weight.weight.hard")->severity, protocol::CheckSeverity::kReject);
  // A form a visit does not collect is never checked there.
  d.visits[1].Set("mmt8.neck_flexors", 0, "12");
  EXPECT_TRUE(Fired(RunEditChecks(Promis(), d, "D0"), "mmt8.neck_flexors.hard"));
  VisitRecord w2;
  w2.visit = "W2";
  w2.Set("mmt8.neck_flexors", 0, "12");
  d.visits.push_back(w2);
  EXPECT_FALSE(Fired(RunEditChecks(Promis(), d, "W2"), "mmt8.neck_flexors.hard"));
}

// ---- derived values (hand-computed) ----

const DerivedResult* Derived(const std::vector<DerivedResult>& r, const std::string& id,
                             int repeat = 0) {
  for (const auto& x : r) {
    if (x.id == id && x.repeat == repeat) return &x;
  }
  return nullptr;
}

TEST(Derived, Mmt8Totals) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  const char* groups[] = {"deltoid",        "biceps",     "wrist_extensors",   "gluteus_maximus",
                          "gluteus_medius", "quadriceps", "ankle_dorsiflexors"};
  // Right 9, 8, 10, 7, 9, 10, 8 = 61; left 9, 9, 10, 8, 8, 10, 9 = 63; neck 6.
  int right[] = {9, 8, 10, 7, 9, 10, 8};
  int left[] = {9, 9, 10, 8, 8, 10, 9};
  v.Set("mmt8.neck_flexors", 0, "6");
  for (int i = 0; i < 7; ++i) {
    v.Set(std::string("mmt8.") + groups[i] + "_right", 0, std::to_string(right[i]));
    v.Set(std::string("mmt8.") + groups[i] + "_left", 0, std::to_string(left[i]));
  }
  auto r = ComputeDerived(Promis(), d, "D0");
  ASSERT_NE(Derived(r, "mmt8_total_150"), nullptr);
  EXPECT_EQ(Derived(r, "mmt8_total_150")->value, 130.0);  // 6 + 61 + 63
  EXPECT_EQ(Derived(r, "mmt8_total_80")->value, 67.0);    // 6 + 61
  // Right deltoid not tested: the left one counts for the 80-point total; 150 is unknown.
  v.items.erase("mmt8.deltoid_right");
  r = ComputeDerived(Promis(), d, "D0");
  EXPECT_EQ(Derived(r, "mmt8_total_80")->value, 67.0);  // 6 + 61 - 9 + 9
  EXPECT_FALSE(Derived(r, "mmt8_total_150")->value.has_value());
  EXPECT_EQ(Derived(r, "mmt8_total_150")->text, "unknown");
}

TEST(Derived, PfRatioAndPrednisoneEquivalent) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  v.Set("abg.pao2", 0, "63 mm[Hg]");
  v.Set("abg.fio2", 0, "21 %");
  auto r = ComputeDerived(Promis(), d, "D0");
  ASSERT_NE(Derived(r, "pf_ratio"), nullptr);
  EXPECT_NEAR(*Derived(r, "pf_ratio")->value, 300.0, 1e-9);  // 63 / 0.21
  EXPECT_EQ(Derived(r, "pf_ratio")->text, "300 mm[Hg]");
  // Methylprednisolone 16 mg/d oral = 20 mg/d prednisone (x 1.25, FACTS §5.2); dexamethasone
  // 1.5 mg/d IV = 10.0005 mg/d (x 6.667); a topical one has no systemic equivalent.
  auto med = [&](int r, const char* drug, const char* dose, const char* route) {
    v.Set("medications.category", r, "glucocorticoid");
    v.Set("medications.drug", r, drug);
    v.Set("medications.daily_dose", r, dose);
    v.Set("medications.route", r, route);
  };
  med(0, "methylprednisolone", "16 mg/d", "oral");
  med(1, "dexamethasone", "1.5 mg/d", "iv");
  med(2, "prednisone", "10 mg/d", "topical");
  r = ComputeDerived(Promis(), d, "D0");
  ASSERT_NE(Derived(r, "prednisone_equivalent", 0), nullptr);
  EXPECT_NEAR(*Derived(r, "prednisone_equivalent", 0)->value, 20.0, 1e-9);
  EXPECT_EQ(Derived(r, "prednisone_equivalent", 0)->text, "20 mg/d");
  EXPECT_NEAR(*Derived(r, "prednisone_equivalent", 1)->value, 10.0005, 1e-9);
  EXPECT_FALSE(Derived(r, "prednisone_equivalent", 2)->value.has_value());
}

TEST(Derived, HaqDiWithTheAidsRule) {
  const auto& haq = *Promis().forms->haq;
  // Dressing 1 (max of 1, 0), arising 2, eating 0, walking 1, hygiene 3, reach 0, grip 1,
  // activities 2: mean 10 / 8 = 1.25.
  std::map<std::string, std::string> items = {
      {"dress_self", "1"},    {"shampoo_hair", "0"},  {"stand_from_chair", "2"},
      {"in_out_of_bed", "1"}, {"cut_meat", "0"},      {"lift_cup", "0"},
      {"open_carton", "0"},   {"walk_outdoors", "1"}, {"climb_steps", "0"},
      {"wash_body", "3"},     {"tub_bath", "1"},      {"toilet", "0"},
      {"reach_object", "0"},  {"bend_down", "0"},     {"car_doors", "1"},
      {"open_jars", "0"},     {"faucets", "0"},       {"errands", "2"},
      {"in_out_of_car", "1"}, {"chores", "0"}};
  EXPECT_DOUBLE_EQ(*HaqDi(haq, items), 1.25);
  // A walking aid raises walking from 1 to 2; help with hygiene leaves 3 (already higher).
  items["aid_walking"] = "yes";
  items["help_hygiene"] = "yes";
  items["aid_eating"] = "no";
  EXPECT_DOUBLE_EQ(*HaqDi(haq, items), 11.0 / 8);
  // Two categories unanswered: mean of 6 answered (reach and grip dropped: 11 - 0 - 1 = 10).
  for (const char* id : {"reach_object", "bend_down", "car_doors", "open_jars", "faucets"}) {
    items.erase(id);
  }
  EXPECT_DOUBLE_EQ(*HaqDi(haq, items), 10.0 / 6);
  // Three unanswered: fewer than 6 categories, no score.
  for (const char* id : {"errands", "in_out_of_car", "chores"}) items.erase(id);
  EXPECT_FALSE(HaqDi(haq, items).has_value());
}

TEST(Derived, HaqDiThroughComputeDerived) {
  SubjectData d = TwoVisits();
  auto& v = d.visits[1];
  for (const auto& cat : Promis().forms->haq->categories) {
    for (const auto& item : cat.items) v.Set("haq_di." + item, 0, "3");
  }
  auto r = ComputeDerived(Promis(), d, "D0");
  ASSERT_NE(Derived(r, "haq_di"), nullptr);
  EXPECT_EQ(Derived(r, "haq_di")->value, 3.0);
  EXPECT_EQ(Derived(r, "haq_di")->text, "3");
}

// ---- the loader's errors (file:line:column) ----

std::string CheckErrors(const TempProtocol& t) {
  auto r = protocol::Check(t.dir());
  std::string all;
  for (const auto& e : r.errors) all += e.message + "\n";
  return all;
}

TEST(FormsLoader, YamlSyntaxError) {
  TempProtocol t;
  t.Replace("forms.yaml", "units: [kg, g, \"[lb_av]\"]", "units: [kg, mm[Hg]]");
  EXPECT_THAT(CheckErrors(t), HasSubstr("forms.yaml:132:"));
}

TEST(FormsLoader, ItemErrorsPointAtTheirLine) {
  TempProtocol t;
  t.Replace("forms.yaml", "units: [kg, g, \"[lb_av]\"]", "units: [kg, \"mm[Hg]\"]");
  t.Replace("forms.yaml", "{id: activity, label: CDASI activity score, type: integer,",
            "{id: activity, label: CDASI activity score, type: intger,");
  t.Replace("forms.yaml", "hard: [0, 32], required: true}", "hard: [32, 0], required: true}");
  std::string e = CheckErrors(t);
  EXPECT_THAT(e, HasSubstr("forms.yaml:132:21: item weight.weight: unit 'mm[Hg]' does not "
                           "convert to 'kg'"));
  EXPECT_THAT(e, HasSubstr("forms.yaml:455:59: item cdasi.activity: unknown type 'intger'"));
  EXPECT_THAT(e, HasSubstr("'hard': the low limit is above the high one"));
}

TEST(FormsLoader, ScheduleNamesAnUndefinedForm) {
  TempProtocol t;
  t.Replace("schedule.yaml", "tb_igra, abg]", "tb_igra, abg, ecg]");
  EXPECT_THAT(CheckErrors(t), HasSubstr("schedule.yaml: visit SCR collects form 'ecg', which "
                                        "forms.yaml does not define"));
}

TEST(FormsLoader, EditCheckRuleErrorsCarryFileLineColumn) {
  TempProtocol t;
  t.Replace("editchecks.yaml",
            "rule: item(\"vital_signs.diastolic_bp\") >= item(\"vital_signs.systolic_bp\")",
            "rule: item(\"vital_signs.diastolic_bp\") >= item(\"weight.weight\")");
  std::string e = CheckErrors(t);
  EXPECT_THAT(e, HasSubstr("editchecks.yaml:106:11: cannot compare"));
  EXPECT_THAT(e, HasSubstr("(rule of edit check vital_signs.diastolic_above_systolic)"));
}

TEST(FormsLoader, EditCheckUnknownItemAndSeverity) {
  TempProtocol t;
  t.Replace("editchecks.yaml", "items: [weight.weight]\n", "items: [weight.wieght]\n");
  t.Replace(
      "editchecks.yaml",
      "  - id: vital_signs.diastolic_above_systolic\n    kind: cross_item\n    severity: reject",
      "  - id: vital_signs.diastolic_above_systolic\n    kind: cross_item\n    severity: block");
  t.Replace("editchecks.yaml", "rule: item(\"abg.collected_on\") > visit_date()",
            "rule: item(\"abg.collected\") > visit_date()");
  std::string e = CheckErrors(t);
  EXPECT_THAT(e, HasSubstr("editchecks.yaml:"));
  EXPECT_THAT(e,
              HasSubstr("edit check weight.change_since_previous: unknown item 'weight.wieght'"));
  EXPECT_THAT(e, HasSubstr("unknown severity 'block' (expected reject or query)"));
  EXPECT_THAT(e, HasSubstr("unknown eCRF item 'abg.collected' (forms.yaml)"));
}

TEST(FormsLoader, ItemNeedsAStringArgument) {
  TempProtocol t;
  t.Replace("editchecks.yaml", "rule: item(\"abg.collected_on\") > visit_date()",
            "rule: item(1) > visit_date()");
  EXPECT_THAT(CheckErrors(t), HasSubstr("item() needs the name of an eCRF item in double quotes"));
}

TEST(FormsLoader, EditChecksWithoutForms) {
  TempProtocol t;
  std::filesystem::remove(t.file("forms.yaml"));
  EXPECT_THAT(CheckErrors(t), HasSubstr("editchecks.yaml: edit checks need forms.yaml"));
}

TEST(FormsLoader, NoFormsFilesMeansNoForms) {
  TempProtocol t;
  std::filesystem::remove(t.file("forms.yaml"));
  std::filesystem::remove(t.file("editchecks.yaml"));
  auto r = protocol::Check(t.dir());
  ASSERT_TRUE(r.errors.empty()) << r.errors.front().message;
  EXPECT_FALSE(r.protocol->forms.has_value());
}

TEST(FormsLoader, ParametersAreProtocolParameters) {
  TempProtocol t;
  t.Replace("editchecks.yaml", "value: \"0.10\"", "value: \"0.20\"");
  auto p = protocol::Load(t.dir());
  ASSERT_TRUE(p.has_value()) << p.error().message;
  SubjectData d = TwoVisits();
  d.visits[1].Set("weight.weight", 0, "71 kg");  // +18 %: under 20 %
  EXPECT_FALSE(Fired(RunEditChecks(**p, d, "D0"), "weight.change_since_previous"));
  d.visits[1].Set("weight.weight", 0, "73 kg");
  EXPECT_TRUE(Fired(RunEditChecks(**p, d, "D0"), "weight.change_since_previous"));
}

}  // namespace
}  // namespace trial::ecrf
