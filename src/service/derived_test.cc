// Derivations from eCRF items (derived.h) on constructed SubjectData, with the PROMIS-MDA5
// protocol: every number below is computed by hand from FACTS.md §2.2 (TIS table) and §4.2
// (CTCAE), through the full path items -> derived values -> engine inputs.
#include "service/derived.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace trial::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const protocol::Protocol& Promis() {
  static const std::unique_ptr<protocol::Protocol> p = [] {
    auto r = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r ? std::move(*r) : nullptr;
  }();
  return *p;
}

const char* kMmtGroups[] = {"deltoid",        "biceps",     "wrist_extensors",   "gluteus_maximus",
                            "gluteus_medius", "quadriceps", "ankle_dorsiflexors"};
const char* kHaqItems[] = {"dress_self",   "shampoo_hair", "stand_from_chair", "in_out_of_bed",
                           "cut_meat",     "lift_cup",     "open_carton",      "walk_outdoors",
                           "climb_steps",  "wash_body",    "tub_bath",         "toilet",
                           "reach_object", "bend_down",    "car_doors",        "open_jars",
                           "faucets",      "errands",      "in_out_of_car",    "chores"};

// Builds one visit the way data entry stores it (each value validated and normalized).
class VisitBuilder {
 public:
  VisitBuilder(std::string visit, std::string date) {
    record_.visit = std::move(visit);
    Set("visit", "visit_date", date);
  }
  VisitBuilder& Set(const std::string& form, const std::string& item, const std::string& value,
                    int repeat = 0) {
    auto n = ecrf::ValidateEntry(Promis(), form, item, value);
    EXPECT_TRUE(n.has_value()) << form << "." << item << ": " << n.error().message;
    if (n) record_.Set(form + "." + item, repeat, n->text);
    return *this;
  }
  // MMT-8: neck flexors `neck`, then the 14 bilateral grades (right, left per group).
  VisitBuilder& Mmt(int neck, const std::vector<int>& sides) {
    Set("mmt8", "neck_flexors", std::to_string(neck));
    auto it = sides.begin();
    for (const char* g : kMmtGroups) {
      for (const char* side : {"_right", "_left"}) {
        Set("mmt8", std::string(g) + side, std::to_string(*it++));
      }
    }
    return *this;
  }
  // HAQ-DI: every item 0 except those given.
  VisitBuilder& Haq(const std::map<std::string, int>& scores) {
    for (const char* i : kHaqItems) {
      auto s = scores.find(i);
      Set("haq_di", i, std::to_string(s == scores.end() ? 0 : s->second));
    }
    return *this;
  }
  VisitBuilder& Globals(const std::string& physician, const std::string& patient,
                        const std::string& extramuscular) {
    Set("physician_global", "vas", physician);
    Set("patient_global", "vas", patient);
    return Set("mdaat", "extramuscular_global", extramuscular);
  }
  VisitBuilder& Lab(const std::string& id, const std::string& value, const std::string& uln) {
    Set("safety_labs", id, value);
    return Set("safety_labs", id + "_uln", uln);
  }
  ecrf::VisitRecord Done() const { return record_; }

 private:
  ecrf::VisitRecord record_;
};

// 14 grades of 8, the first `extra` raised to 9.
std::vector<int> Grades(int extra) {
  std::vector<int> g(14, 8);
  for (int i = 0; i < extra; ++i) g[i] = 9;
  return g;
}

std::map<std::string, int> AllHaq(int score) {
  std::map<std::string, int> m;
  for (const char* i : kHaqItems) m[i] = score;
  return m;
}

// The docs/outcomes.md worked example, entered as items: physician 3 -> 1.5 cm, patient 4 ->
// 2.5 cm, MMT-8 120 -> 132 (8 + 14 x 8; 10 + 10 x 9 + 4 x 8), HAQ-DI 1 (every item 1) -> 0.5
// (4 of 8 categories at 1), extramuscular 2 -> 1 cm, CK 1000 -> 500 U/L (ULN 200).
ecrf::SubjectData WorkedExample() {
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13")
                         .Globals("3 cm", "4 cm", "2 cm")
                         .Mmt(8, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8})
                         .Haq(AllHaq(1))
                         .Lab("ck", "1000 U/L", "200 U/L")
                         .Done());
  d.visits.push_back(
      VisitBuilder("W8", "2026-09-07")
          .Globals("1.5 cm", "2.5 cm", "10 mm")
          .Mmt(10, {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8})
          .Haq({{"dress_self", 1}, {"stand_from_chair", 1}, {"cut_meat", 1}, {"walk_outdoors", 1}})
          .Lab("ck", "500 U/L", "200 U/L")
          .Done());
  return d;
}

const outcomes::TisItem& Item(const TisAtVisit& t, const std::string& id) {
  for (const auto& i : t.tis.items) {
    if (i.id == id) return i;
  }
  static outcomes::TisItem none;
  ADD_FAILURE() << "no TIS item " << id;
  return none;
}

TEST(Derived, WorkedExampleFromItemsToTis) {
  auto d = DeriveOutcomes(Promis(), WorkedExample());
  ASSERT_TRUE(d.has_value()) << d.error().message;
  ASSERT_EQ(d->tis.size(), 1u);
  const TisAtVisit& t = d->tis[0];
  EXPECT_EQ(t.visit, "W8");
  ASSERT_TRUE(t.tis.known);
  // 1.5/10 = 15 % -> 7.5; 1.5/10 = 15 % -> 2.5; 12/150 = 8 % -> 10; 0.5/3 = 16.67 % -> 7.5;
  // CK 500/1000 = 50 % -> 7.5; 1/10 = 10 % -> 7.5. Sum 42.5: moderate.
  EXPECT_EQ(Item(t, "mmt").baseline.value, Rational(120));
  EXPECT_EQ(Item(t, "mmt").value.value, Rational(132));
  EXPECT_EQ(Item(t, "haq").value.value, Rational(1, 2));
  EXPECT_EQ(Item(t, "haq").points, Rational(15, 2));
  EXPECT_EQ(Item(t, "extramuscular").value.value, Rational(1));  // 10 mm is 1 cm
  EXPECT_EQ(Item(t, "enzyme").enzyme, "ck");
  EXPECT_EQ(t.tis.total, Rational(85, 2));
  EXPECT_EQ(t.tis.category, "moderate");
  EXPECT_EQ(t.imacs.met, true);
  // The inputs name the derived totals and where they came from.
  bool saw_mmt = false;
  for (const auto& in : t.inputs) {
    if (in.visit == "W8" && in.item == "derived.mmt8_total_150") {
      saw_mmt = true;
      EXPECT_EQ(in.value, "132");
    }
  }
  EXPECT_TRUE(saw_mmt);
}

// Band edges through the full path: the percentage lands exactly on the edge.
TEST(Derived, BandEdgesFromItems) {
  auto base = VisitBuilder("D0", "2026-07-13")
                  .Globals("3 cm", "4 cm", "2 cm")
                  .Mmt(8, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8})  // 120
                  .Haq(AllHaq(1))                                      // 1
                  .Lab("ck", "1000 U/L", "200 U/L")
                  .Done();
  struct Case {
    const char* physician;
    int neck;        // MMT total = neck + 14 x 8 + extra
    int extra;       // grades raised from 8 to 9
    int haq_raised;  // categories at 1 (the rest 0): HAQ-DI = n / 8
    const char* ck;
    const char* physician_points;
    const char* mmt_points;
    const char* haq_points;
    const char* enzyme_points;
  } cases[] = {
      // 3 -> 2.5 cm: 0.5/10 = 5 % exactly, "<= 5 %" -> 0. MMT 120 -> 123: 3/150 = 2 % exactly,
      // "<= 2 %" -> 0. HAQ 1 -> 7/8: 0.125/3 = 4.17 % -> 0. CK 1000 -> 950: 5 % exactly -> 0.
      {"2.5 cm", 8, 3, 7, "950 U/L", "0", "0", "0", "0"},
      // 3 -> 2.49 cm: 5.1 % -> 7.5. 120 -> 124: 2.67 % -> 10. HAQ 6/8: 0.25/3 = 8.33 % -> 5.
      // CK 949: 5.1 % -> 2.5.
      {"2.49 cm", 8, 4, 6, "949 U/L", "7.5", "10", "5", "2.5"},
      // 3 -> 1.5 cm: 15 % exactly -> 7.5. 120 -> 135 (9 + 14 x 9): 10 % exactly -> 10.
      // HAQ 4/8: 0.5/3 = 16.67 % -> 7.5. CK 850: 15 % exactly -> 2.5.
      {"1.5 cm", 9, 14, 4, "850 U/L", "7.5", "10", "7.5", "2.5"},
      // 3 -> 1.49 cm: 15.1 % -> 15. 120 -> 136: 10.67 % -> 20. HAQ 5/8: 0.375/3 = 12.5 % -> 5.
      // CK 849: 15.1 % -> 5.
      {"1.49 cm", 10, 14, 5, "849 U/L", "15", "20", "5", "5"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.physician);
    std::map<std::string, int> haq;
    const char* firsts[] = {"dress_self", "stand_from_chair", "cut_meat",  "walk_outdoors",
                            "wash_body",  "reach_object",     "car_doors", "errands"};
    for (int i = 0; i < c.haq_raised; ++i) haq[firsts[i]] = 1;
    ecrf::SubjectData d;
    d.visits.push_back(base);
    d.visits.push_back(VisitBuilder("W8", "2026-09-07")
                           .Globals(c.physician, "4 cm", "2 cm")
                           .Mmt(c.neck, Grades(c.extra))
                           .Haq(haq)
                           .Lab("ck", c.ck, "200 U/L")
                           .Done());
    auto r = DeriveOutcomes(Promis(), d);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_EQ(r->tis.size(), 1u);
    const auto& t = r->tis[0];
    EXPECT_EQ(Item(t, "physician_global").points, *Rational::Parse(c.physician_points));
    EXPECT_EQ(Item(t, "mmt").points, *Rational::Parse(c.mmt_points));
    EXPECT_EQ(Item(t, "haq").points, *Rational::Parse(c.haq_points));
    EXPECT_EQ(Item(t, "enzyme").points, *Rational::Parse(c.enzyme_points));
  }
}

TEST(Derived, EnzymeIsTheMostAbnormalAtBaseline) {
  // CK 300/200 = 1.5 x ULN; ALT 150/40 = 3.75 x ULN: ALT is followed. ALT 150 -> 75: 50 % ->
  // 7.5 points, though CK rose.
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13")
                         .Globals("3 cm", "4 cm", "2 cm")
                         .Mmt(8, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8})
                         .Haq(AllHaq(1))
                         .Lab("ck", "300 U/L", "200 U/L")
                         .Lab("alt", "150 U/L", "40 U/L")
                         .Done());
  d.visits.push_back(VisitBuilder("W8", "2026-09-07")
                         .Globals("3 cm", "4 cm", "2 cm")
                         .Mmt(8, {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8})
                         .Haq(AllHaq(1))
                         .Lab("ck", "600 U/L", "200 U/L")
                         .Lab("alt", "75 U/L", "40 U/L")
                         .Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->tis.size(), 1u);
  EXPECT_EQ(Item(r->tis[0], "enzyme").enzyme, "alt");
  EXPECT_EQ(Item(r->tis[0], "enzyme").points, Rational(15, 2));
  EXPECT_EQ(r->tis[0].tis.total, Rational(15, 2));
}

TEST(Derived, MissingMeasureMakesTheTisUnknownNamingIt) {
  ecrf::SubjectData d = WorkedExample();
  // W8 without the patient global and with one MMT grade missing (the total is unknown).
  d.visits[1].items.erase("patient_global.vas");
  d.visits[1].items.erase("mmt8.quadriceps_left");
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->tis.size(), 1u);
  EXPECT_FALSE(r->tis[0].tis.known);
  EXPECT_EQ(r->tis[0].tis.category, "unknown");
  EXPECT_THAT(r->tis[0].tis.missing, ElementsAre("patient_global", "mmt"));
  EXPECT_FALSE(r->tis[0].imacs.met.has_value());
}

const LabAtVisit* Lab(const Derivations& d, const std::string& visit, const std::string& term) {
  for (const auto& l : d.labs) {
    if (l.visit == visit && l.term_id == term) return &l;
  }
  return nullptr;
}

TEST(Derived, CtcaeAltWithBothBaselineBranches) {
  struct Case {
    const char* baseline;
    const char* value;
    int grade;
    const char* branch;
  } cases[] = {
      // Baseline 30 <= ULN 40: normal. 120 = 3.0 x ULN exactly: "> ULN - 3.0 x ULN" -> grade 1.
      {"30 U/L", "120 U/L", 1, "baseline normal"},
      // 121 > 3.0 x ULN -> grade 2; 201 > 5 x ULN -> grade 3 (possible AE).
      {"30 U/L", "121 U/L", 2, "baseline normal"},
      {"30 U/L", "201 U/L", 3, "baseline normal"},
      // Baseline 80 > ULN 40: abnormal, x baseline. 240 = 3.0 x 80: ">= 1.5 - 3.0" -> grade 1.
      {"80 U/L", "240 U/L", 1, "baseline abnormal"},
      // 119 < 1.5 x 80 = 120 -> grade 0; 120 -> grade 1; 400 = 5.0 x -> grade 2; 401 -> grade 3.
      {"80 U/L", "119 U/L", 0, "baseline abnormal"},
      {"80 U/L", "120 U/L", 1, "baseline abnormal"},
      {"80 U/L", "400 U/L", 2, "baseline abnormal"},
      {"80 U/L", "401 U/L", 3, "baseline abnormal"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.baseline) + " -> " + c.value);
    ecrf::SubjectData d;
    d.visits.push_back(VisitBuilder("D0", "2026-07-13").Lab("alt", c.baseline, "40 U/L").Done());
    d.visits.push_back(VisitBuilder("W2", "2026-07-27").Lab("alt", c.value, "40 U/L").Done());
    auto r = DeriveOutcomes(Promis(), d);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    const LabAtVisit* lab = Lab(*r, "W2", "alt_increased");
    ASSERT_NE(lab, nullptr);
    ASSERT_TRUE(lab->grade.has_value()) << lab->problem;
    EXPECT_EQ(lab->grade->grade, c.grade) << lab->grade->rule;
    EXPECT_EQ(lab->grade->branch, c.branch);
    EXPECT_EQ(lab->grade->possible_ae, c.grade >= 3);  // ae_grade_min 3
    auto signals = SafetySignals(Promis(), d, "7", "W2");
    ASSERT_TRUE(signals.has_value()) << signals.error().message;
    if (c.grade >= 3) {
      ASSERT_EQ(signals->size(), 1u);
      EXPECT_EQ((*signals)[0].key, "7/W2/possible_ae/alt_increased");
      EXPECT_THAT((*signals)[0].text, HasSubstr("safety_labs.alt = " + std::string(c.value)));
    } else {
      EXPECT_TRUE(signals->empty());
    }
  }
}

TEST(Derived, DecreasedTermsUseTheirLln) {
  // ANC 1.4 < 1.5 x 10^9/L: grade 2 whatever the LLN; 1.8 with LLN 2.0: grade 1 (< LLN).
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13")
                         .Set("safety_labs", "anc", "1.8 10*9/L")
                         .Set("safety_labs", "anc_lln", "2.0 10*9/L")
                         .Done());
  d.visits.push_back(VisitBuilder("W2", "2026-07-27")
                         .Set("safety_labs", "anc", "1400 /mm3")
                         .Set("safety_labs", "anc_lln", "2.0 10*9/L")
                         .Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_NE(Lab(*r, "D0", "neutrophil_count_decreased"), nullptr);
  EXPECT_EQ(Lab(*r, "D0", "neutrophil_count_decreased")->grade->grade, 1);
  EXPECT_EQ(Lab(*r, "W2", "neutrophil_count_decreased")->grade->grade, 2);
  ASSERT_EQ(r->lab_worst.size(), 1u);
  EXPECT_EQ(r->lab_worst[0].grade, 2);
  EXPECT_EQ(r->lab_worst[0].visit, "W2");
}

TEST(Derived, MissingReferenceRangeIsUnknownNotAnError) {
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13").Set("safety_labs", "alt", "30 U/L").Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const LabAtVisit* lab = Lab(*r, "D0", "alt_increased");
  ASSERT_NE(lab, nullptr);
  EXPECT_FALSE(lab->grade.has_value());
  EXPECT_THAT(lab->problem, HasSubstr("ULN is needed"));
}

TEST(Derived, BaselineFallsBackToScreeningAndRespiratoryEndpoints) {
  // HRCT is collected at SCR and W8 only: its baseline is the screening value (latest_before).
  // PaO2 80 mmHg on 21 % at D0 (P/F 80 / 0.21 = 380.95); W8 PaO2 55 on 21 %: failure on day 56,
  // P/F 261.90. FVC 80 -> 70 % (D0 -> W8): -10 points. HRCT 20 -> 30 %: +10 points.
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("SCR", "2026-07-06").Set("hrct", "extent", "20 %").Done());
  d.visits.push_back(VisitBuilder("D0", "2026-07-13")
                         .Set("abg", "pao2", "80 mm[Hg]")
                         .Set("abg", "fio2", "21 %")
                         .Set("pft", "fvc_pct", "80 %")
                         .Done());
  d.visits.push_back(VisitBuilder("W8", "2026-09-07")
                         .Set("abg", "pao2", "55 mm[Hg]")
                         .Set("abg", "fio2", "21 %")
                         .Set("pft", "fvc_pct", "70 %")
                         .Set("hrct", "extent", "30 %")
                         .Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->week8.has_value());
  EXPECT_EQ(r->week8->hrct.change, Rational(10));
  EXPECT_EQ(r->week8->fvc.change, Rational(-10));
  EXPECT_EQ(r->week8->pf.change, Rational(5500, 21) - Rational(8000, 21));
  bool screening_input = false;
  for (const auto& in : r->week8_inputs) {
    screening_input = screening_input || (in.visit == "SCR" && in.item == "hrct.extent (baseline)");
  }
  EXPECT_TRUE(screening_input);
  ASSERT_EQ(r->respiratory_failures.size(), 1u);
  EXPECT_EQ(r->respiratory_failures[0].visit, "W8");
  EXPECT_EQ(r->respiratory_failures[0].event.day, 56);
  ASSERT_TRUE(r->time_to_failure_or_death.has_value());
  EXPECT_TRUE(r->time_to_failure_or_death->event);
  EXPECT_EQ(r->time_to_failure_or_death->days, 56);
  auto signals = SafetySignals(Promis(), d, "7", "W8");
  ASSERT_TRUE(signals.has_value()) << signals.error().message;
  ASSERT_EQ(signals->size(), 1u);
  EXPECT_EQ((*signals)[0].key, "7/W8/respiratory_failure/abg.pao2");
  EXPECT_THAT((*signals)[0].text, HasSubstr("PaO2 55.0 mm[Hg] < 60 mm[Hg]"));
}

TEST(Derived, RpIldDetectedOnceAtTheVisitThatShowsIt) {
  // Symptom onset on day 20 (recorded at W4); W4 FVC 65 % is 15 points below the D0 80 %
  // (> 10): RP-ILD at W4, not again at W8.
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13").Set("pft", "fvc_pct", "80 %").Done());
  d.visits.push_back(VisitBuilder("W4", "2026-08-10")
                         .Set("pft", "fvc_pct", "65 %")
                         .Set("respiratory_events", "new_symptoms", "yes")
                         .Set("respiratory_events", "symptom_onset", "2026-08-02")
                         .Done());
  d.visits.push_back(VisitBuilder("W8", "2026-09-07").Set("pft", "fvc_pct", "60 %").Done());
  auto w4 = SafetySignals(Promis(), d, "7", "W4");
  ASSERT_TRUE(w4.has_value()) << w4.error().message;
  ASSERT_EQ(w4->size(), 1u);
  EXPECT_EQ((*w4)[0].key, "7/W4/rp_ild/rp_ild");
  EXPECT_THAT((*w4)[0].text, HasSubstr("FVC % predicted 65"));
  auto w8 = SafetySignals(Promis(), d, "7", "W8");
  ASSERT_TRUE(w8.has_value()) << w8.error().message;
  EXPECT_TRUE(w8->empty());
}

// ---- on-study RP-ILD from the respiratory_events form (FACTS §6.1, Q-RPILD-ONSTUDY) ----
// Day 0 is 2026-07-13; rpild_window is 30 days (protocol.yaml), so an onset on 2026-08-01 opens
// the window [2026-08-01, 2026-08-31]; rpild_fvc_drop is 10 points.

// D0 with FVC 80 %, W4 (2026-08-10) reporting new symptoms from 2026-08-01.
ecrf::SubjectData OnsetOnAugust1() {
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13").Set("pft", "fvc_pct", "80 %").Done());
  d.visits.push_back(VisitBuilder("W4", "2026-08-10")
                         .Set("respiratory_events", "new_symptoms", "yes")
                         .Set("respiratory_events", "symptom_onset", "2026-08-01")
                         .Set("respiratory_events", "hospitalized", "no")
                         .Set("respiratory_events", "rp_ild_diagnosed", "no")
                         .Done());
  return d;
}

safety::RpIldDetection RpIld(const ecrf::SubjectData& d) {
  auto r = DeriveOutcomes(Promis(), d);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  if (!r || !r->rp_ild) {
    ADD_FAILURE() << "no RP-ILD derivation";
    return {};
  }
  return *r->rp_ild;
}

bool HasInput(const std::vector<DerivationInput>& inputs, const std::string& visit,
              const std::string& item, const std::string& value) {
  return std::any_of(inputs.begin(), inputs.end(), [&](const DerivationInput& in) {
    return in.visit == visit && in.item == item && in.value == value;
  });
}

TEST(Derived, RpIldByTheInvestigatorsDiagnosisAfterDayZero) {
  // No onset is needed for the diagnosis (exclusion 8's reading): dated 2026-07-25 (day 12).
  ecrf::SubjectData d;
  d.visits.push_back(VisitBuilder("D0", "2026-07-13").Done());
  d.visits.push_back(VisitBuilder("W2", "2026-07-27")
                         .Set("respiratory_events", "new_symptoms", "no")
                         .Set("respiratory_events", "hospitalized", "no")
                         .Set("respiratory_events", "rp_ild_diagnosed", "yes")
                         .Set("respiratory_events", "rp_ild_date", "2026-07-25")
                         .Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->rp_ild.has_value());
  EXPECT_TRUE(r->rp_ild->detected);
  EXPECT_EQ(r->rp_ild->date, Date::Parse("2026-07-25").value());
  EXPECT_EQ(r->rp_ild->reason, "RP-ILD diagnosed on 2026-07-25");
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "W2", "respiratory_events.rp_ild_diagnosed", "yes"));
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "W2", "respiratory_events.rp_ild_date", "2026-07-25"));
  // The signal of W2 names the diagnosis.
  auto signals = SafetySignals(Promis(), d, "7", "W2");
  ASSERT_TRUE(signals.has_value()) << signals.error().message;
  ASSERT_EQ(signals->size(), 1u);
  EXPECT_EQ((*signals)[0].key, "7/W2/rp_ild/rp_ild");
  EXPECT_THAT((*signals)[0].text, HasSubstr("RP-ILD diagnosed on 2026-07-25"));
}

TEST(Derived, RpIldDiagnosisOnOrBeforeDayZeroIsNotOnStudy) {
  for (const char* date : {"2026-07-10", "2026-07-13"}) {  // before day 0; day 0 itself
    SCOPED_TRACE(date);
    ecrf::SubjectData d;
    d.visits.push_back(VisitBuilder("D0", "2026-07-13").Done());
    d.visits.push_back(VisitBuilder("W2", "2026-07-27")
                           .Set("respiratory_events", "rp_ild_diagnosed", "yes")
                           .Set("respiratory_events", "rp_ild_date", date)
                           .Done());
    auto rp = RpIld(d);
    EXPECT_FALSE(rp.detected);
    EXPECT_EQ(rp.reason, "no RP-ILD condition after day 0");
    auto signals = SafetySignals(Promis(), d, "7", "W2");
    ASSERT_TRUE(signals.has_value()) << signals.error().message;
    EXPECT_TRUE(signals->empty());
  }
}

TEST(Derived, RpIldByARespiratoryStayOnTheLastDayOfTheWindow) {
  // Admitted 2026-08-31 = onset 2026-08-01 + 30 days (the window includes its last day).
  ecrf::SubjectData d = OnsetOnAugust1();
  d.visits.push_back(VisitBuilder("UNS", "2026-09-03")
                         .Set("respiratory_events", "hospitalized", "yes")
                         .Set("respiratory_events", "admission_date", "2026-08-31")
                         .Set("respiratory_events", "discharge_date", "2026-09-02")
                         .Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->rp_ild.has_value());
  EXPECT_TRUE(r->rp_ild->detected);
  EXPECT_EQ(r->rp_ild->date, Date::Parse("2026-08-31").value());
  EXPECT_EQ(r->rp_ild->reason,
            "respiratory hospital stay from 2026-08-31, within 30 days after onset 2026-08-01");
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "W4", "respiratory_events.symptom_onset", "2026-08-01"));
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "UNS", "respiratory_events.hospitalized", "yes"));
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "UNS", "respiratory_events.admission_date", "2026-08-31"));
  EXPECT_TRUE(HasInput(r->rp_ild_inputs, "UNS", "respiratory_events.discharge_date", "2026-09-02"));
}

TEST(Derived, RpIldNotByAStayOneDayAfterTheWindow) {
  ecrf::SubjectData d = OnsetOnAugust1();
  d.visits.push_back(VisitBuilder("UNS", "2026-09-03")
                         .Set("respiratory_events", "hospitalized", "yes")
                         .Set("respiratory_events", "admission_date", "2026-09-01")
                         .Done());
  auto rp = RpIld(d);
  EXPECT_FALSE(rp.detected);
  EXPECT_EQ(rp.reason, "no RP-ILD condition after day 0");
}

TEST(Derived, RpIldStayWithoutDischargeLastsToTheVisitDate) {
  // Admitted 2026-07-25, before the onset; reported at W2 (2026-07-27) without a discharge date:
  // the stay is known to 2026-07-27 only, which ends before the window opens. With a discharge
  // on 2026-08-03 it overlaps the window: RP-ILD from the onset, 2026-08-01.
  ecrf::SubjectData d = OnsetOnAugust1();
  d.visits.insert(d.visits.begin() + 1,
                  VisitBuilder("W2", "2026-07-27")
                      .Set("respiratory_events", "hospitalized", "yes")
                      .Set("respiratory_events", "admission_date", "2026-07-25")
                      .Done());
  auto rp = RpIld(d);
  EXPECT_FALSE(rp.detected);
  d.visits[1].Set("respiratory_events.discharge_date", 0, "2026-08-03");
  rp = RpIld(d);
  EXPECT_TRUE(rp.detected);
  EXPECT_EQ(rp.date, Date::Parse("2026-08-01").value());
  EXPECT_THAT(rp.reason, HasSubstr("respiratory hospital stay from 2026-07-25"));
}

TEST(Derived, RpIldFvcDropOfExactlyTheThresholdIsNotEnough) {
  // FVC 80 % at D0; 70 % at W4 is 10 points below (not more than 10): not RP-ILD; 69 % is 11.
  ecrf::SubjectData d = OnsetOnAugust1();
  d.visits[1].Set("pft.fvc_pct", 0, ecrf::ValidateEntry(Promis(), "pft", "fvc_pct", "70 %")->text);
  auto rp = RpIld(d);
  EXPECT_FALSE(rp.detected);
  EXPECT_EQ(rp.reason, "no RP-ILD condition after day 0");
  d.visits[1].Set("pft.fvc_pct", 0, ecrf::ValidateEntry(Promis(), "pft", "fvc_pct", "69 %")->text);
  rp = RpIld(d);
  EXPECT_TRUE(rp.detected);
  EXPECT_THAT(rp.reason, HasSubstr("FVC % predicted 69"));
  EXPECT_THAT(rp.reason, HasSubstr("below baseline 80 (more than 10)"));
}

TEST(Derived, PrednisoneEquivalentPerVisit) {
  // Methylprednisolone 16 mg/d = 20 mg/d prednisone (x 1.25, FACTS §5.2) plus prednisone 10:
  // 30 mg/d. TMP-SMZ is not a glucocorticoid and is skipped.
  ecrf::SubjectData d;
  VisitBuilder d0("D0", "2026-07-13");
  d0.Set("medications", "category", "glucocorticoid", 0)
      .Set("medications", "drug", "methylprednisolone", 0)
      .Set("medications", "daily_dose", "16 mg/d", 0)
      .Set("medications", "route", "iv", 0)
      .Set("medications", "category", "tmp_smz", 1)
      .Set("medications", "drug", "tmp_smz", 1)
      .Set("medications", "route", "oral", 1)
      .Set("medications", "category", "glucocorticoid", 2)
      .Set("medications", "drug", "prednisone", 2)
      .Set("medications", "daily_dose", "10 mg/d", 2)
      .Set("medications", "route", "oral", 2);
  d.visits.push_back(d0.Done());
  auto r = DeriveOutcomes(Promis(), d);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->prednisone.size(), 1u);
  EXPECT_EQ(r->prednisone[0].total_mg_per_day, Rational(30));
}

TEST(Derived, InputFileIsValidatedLikeDataEntry) {
  EXPECT_EQ(ParseOutcomeInput(Promis(), "{\"visits\": [").error().code, ErrorCode::kParse);
  auto unknown = ParseOutcomeInput(
      Promis(),
      R"({"visits": [{"visit": "D0", "items": [{"form": "safety_labs", "item": "alt", "value": "30 U/L"},
                                                {"form": "safety_labs", "item": "altx", "value": "1"}]}]})");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message, HasSubstr("visits[0] (D0) items[1] safety_labs.altx"));
  auto range = ParseOutcomeInput(
      Promis(),
      R"({"visits": [{"visit": "W8", "items": [{"form": "physician_global", "item": "vas", "value": "11 cm"}]}]})");
  ASSERT_FALSE(range.has_value());
  EXPECT_THAT(range.error().message, HasSubstr("visits[0] (W8) items[0] physician_global.vas"));
  EXPECT_THAT(range.error().message, HasSubstr("hard range"));
  auto ok = ParseOutcomeInput(Promis(),
                              R"({"visits": [{"visit": "W8", "date": "2026-09-07", "items": []},
                     {"visit": "D0", "items": [{"form": "visit", "item": "visit_date", "value": "2026-07-13"}]}]})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  ASSERT_EQ(ok->visits.size(), 2u);
  EXPECT_EQ(ok->visits[0].visit, "D0");  // schedule order
}

}  // namespace
}  // namespace trial::service
