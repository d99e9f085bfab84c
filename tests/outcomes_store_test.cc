// `trial outcomes` on both backends (tests/store_fixture.h): D0 and W8 data entered with
// `trial data import` / `trial data set` through cli::Run, then the derived values read back as
// JSON and compared with hand computation; the same data through `--input FILE`; bad input files
// refused naming the entry; blinding and site scoping.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"
#include "store/store.h"
#include "store_fixture.h"
// after store_fixture.h
#include "cli_journey.h"

namespace trial::store {
namespace {

json Entry(const std::string& form, const std::string& item, const std::string& value) {
  return {{"form", form}, {"item", item}, {"value", value}};
}

const char* kGroups[] = {"deltoid",        "biceps",     "wrist_extensors",   "gluteus_maximus",
                         "gluteus_medius", "quadriceps", "ankle_dorsiflexors"};
const char* kHaqItems[] = {"dress_self",   "shampoo_hair", "stand_from_chair", "in_out_of_bed",
                           "cut_meat",     "lift_cup",     "open_carton",      "walk_outdoors",
                           "climb_steps",  "wash_body",    "tub_bath",         "toilet",
                           "reach_object", "bend_down",    "car_doors",        "open_jars",
                           "faucets",      "errands",      "in_out_of_car",    "chores"};

// The items of one visit (a JSON array for `data import`).
json VisitItems(bool day0) {
  json items = json::array();
  items.push_back(Entry("visit", "visit_date", day0 ? "2026-07-13" : "2026-09-07"));
  // physician 3 -> 1.5 cm, patient 4 -> 2.5 cm, extramuscular 2 -> 1 cm.
  items.push_back(Entry("physician_global", "vas", day0 ? "3 cm" : "15 mm"));
  items.push_back(Entry("patient_global", "vas", day0 ? "4 cm" : "2.5 cm"));
  items.push_back(Entry("mdaat", "extramuscular_global", day0 ? "2 cm" : "1 cm"));
  // MMT-8 (bilateral): D0 neck 8 + 14 x 8 = 120; W8 neck 10 + 10 x 9 + 4 x 8 = 132.
  items.push_back(Entry("mmt8", "neck_flexors", day0 ? "8" : "10"));
  int k = 0;
  for (const char* g : kGroups) {
    for (const char* side : {"_right", "_left"}) {
      items.push_back(Entry("mmt8", std::string(g) + side, day0 ? "8" : (k++ < 10 ? "9" : "8")));
    }
  }
  // HAQ-DI: D0 every item 1 (8 categories at 1: 1); W8 one item of 4 categories at 1: 4/8 = 0.5.
  for (const char* i : kHaqItems) {
    const std::string id = i;
    const bool one = day0 || id == "dress_self" || id == "stand_from_chair" || id == "cut_meat" ||
                     id == "walk_outdoors";
    items.push_back(Entry("haq_di", id, one ? "1" : "0"));
  }
  // Labs: CK 1000 -> 500 U/L (ULN 200); ALT 30 -> 250 U/L (ULN 40); ANC with its LLN.
  items.push_back(Entry("safety_labs", "collected_on", day0 ? "2026-07-13" : "2026-09-07"));
  items.push_back(Entry("safety_labs", "ck", day0 ? "1000 U/L" : "500 U/L"));
  items.push_back(Entry("safety_labs", "ck_uln", "200 U/L"));
  items.push_back(Entry("safety_labs", "alt", day0 ? "30 U/L" : "250 U/L"));
  items.push_back(Entry("safety_labs", "alt_uln", "40 U/L"));
  items.push_back(Entry("safety_labs", "ast", "30 U/L"));
  items.push_back(Entry("safety_labs", "ast_uln", "40 U/L"));
  items.push_back(Entry("safety_labs", "anc", "3 10*9/L"));
  items.push_back(Entry("safety_labs", "anc_lln", "2 10*9/L"));
  items.push_back(Entry("safety_labs", "platelets", "250 10*9/L"));
  items.push_back(Entry("safety_labs", "platelets_lln", "150 10*9/L"));
  // Blood gas: PaO2 80 -> 55 mmHg on 21 %.
  items.push_back(Entry("abg", "collected_on", day0 ? "2026-07-13" : "2026-09-07"));
  items.push_back(Entry("abg", "pao2", day0 ? "80 mm[Hg]" : "55 mm[Hg]"));
  items.push_back(Entry("abg", "fio2", "21 %"));
  return items;
}

class OutcomesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::string tmpl = (fs::temp_directory_path() / "trial-outcomes-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    files_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    if (!files_.empty()) fs::remove_all(files_, ec);
    StoreTest::TearDown();
  }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (files_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path files_;
};

const json* Find(const json& list, const std::string& key, const std::string& value,
                 const std::string& key2 = "", const std::string& value2 = "") {
  for (const auto& x : list) {
    if (x[key] == value && (key2.empty() || x[key2] == value2)) return &x;
  }
  return nullptr;
}

TEST_P(OutcomesTest, StoredD0AndW8GiveTheHandComputedOutcomes) {
  Populate();
  ASSERT_TRUE(
      store_->AddUser("admin", User{"coord2", "Cody", Role::kCoordinator, {"S2"}}).has_value());
  Journey c(path_);
  c.today_ = *Date::FromYmd(2026, 9, 8);  // after the W8 visit of 2026-09-07
  const std::string subject = std::to_string(subject_);
  ASSERT_EQ(c.Run({"data", "import", Write("d0.json", VisitItems(true).dump()), "--subject",
                   subject, "--visit", "D0", "--user", "coord"}),
            cli::kExitOk)
      << c.err_;
  ASSERT_EQ(c.Run({"data", "import", Write("w8.json", VisitItems(false).dump()), "--subject",
                   subject, "--visit", "W8", "--user", "coord"}),
            cli::kExitOk)
      << c.err_;
  // One item by `data set`: the W8 HRCT, with its screening baseline (baseline_missing_d0).
  ASSERT_EQ(c.Run({"data", "set", "--subject", subject, "--visit", "SCR", "--form", "hrct",
                   "--item", "extent", "--value", "20 %", "--user", "coord"}),
            cli::kExitOk)
      << c.err_;
  ASSERT_EQ(c.Run({"data", "set", "--subject", subject, "--visit", "W8", "--form", "hrct", "--item",
                   "extent", "--value", "30 %", "--user", "coord"}),
            cli::kExitOk)
      << c.err_;

  ASSERT_EQ(c.Run({"outcomes", subject, "--user", "coord", "--format", "json"}), cli::kExitOk)
      << c.err_;
  const std::string stored_out = c.out_;
  json j = json::parse(c.out_);
  EXPECT_EQ(j["baseline"]["visit"], "D0");
  EXPECT_EQ(j["baseline"]["date"], "2026-07-13");
  ASSERT_EQ(j["tis"].size(), 1u);
  const json& tis = j["tis"][0];
  EXPECT_EQ(tis["visit"], "W8");
  // physician (3 - 1.5)/10 = 15 % -> 7.5; patient 1.5/10 = 15 % -> 2.5; MMT (132 - 120)/150 =
  // 8 % -> 10; HAQ (1 - 0.5)/3 = 16.67 % -> 7.5; CK (1000 - 500)/1000 = 50 % -> 7.5 (CK 5 x ULN
  // is the most abnormal: ALT 30/40 = 0.75, AST 0.75); extramuscular 1/10 = 10 % -> 7.5.
  // TIS = 7.5 + 2.5 + 10 + 7.5 + 7.5 + 7.5 = 42.5: moderate (>= 40).
  EXPECT_EQ(tis["total"], 42.5);
  EXPECT_EQ(tis["category"], "moderate");
  const json* mmt = Find(tis["measures"], "id", "mmt");
  ASSERT_NE(mmt, nullptr);
  EXPECT_EQ((*mmt)["baseline"], 120);
  EXPECT_EQ((*mmt)["value"], 132);
  EXPECT_EQ((*mmt)["percent"], 8);
  EXPECT_EQ((*mmt)["points"], 10);
  const json* enzyme = Find(tis["measures"], "id", "enzyme");
  ASSERT_NE(enzyme, nullptr);
  EXPECT_EQ((*enzyme)["enzyme"], "ck");
  EXPECT_EQ((*enzyme)["points"], 7.5);
  EXPECT_EQ(tis["imacs_improvement"]["met"], true);
  EXPECT_NE(Find(tis["inputs"], "item", "derived.haq_di", "visit", "W8"), nullptr);
  // ALT 250 U/L with ULN 40 and a normal baseline (30): 250 > 5 x 40 = 200 -> grade 3, a
  // possible AE (ae_grade_min 3). CK 500 > 2.5 x 200 = 500? No (not above): > 1 x ULN -> 1.
  const json* alt = Find(j["labs"], "visit", "W8", "term_id", "alt_increased");
  ASSERT_NE(alt, nullptr);
  EXPECT_EQ((*alt)["grade"], 3);
  EXPECT_EQ((*alt)["branch"], "baseline normal");
  EXPECT_EQ((*alt)["possible_ae"], true);
  const json* cpk = Find(j["labs"], "visit", "W8", "term_id", "cpk_increased");
  ASSERT_NE(cpk, nullptr);
  EXPECT_EQ((*cpk)["grade"], 1);
  const json* anc = Find(j["labs"], "visit", "W8", "term_id", "neutrophil_count_decreased");
  ASSERT_NE(anc, nullptr);
  EXPECT_EQ((*anc)["grade"], 0);
  // P/F: 80 / 0.21 = 380.95 at D0, 55 / 0.21 = 261.90 at W8 (change -119.05); PaO2 55 < 60 on
  // FiO2 21 % is respiratory failure on day 56 (2026-09-07 - 2026-07-13).
  EXPECT_NEAR(j["pf_ratio"]["baseline"]["pf"].get<double>(), 380.952, 0.001);
  ASSERT_EQ(j["pf_ratio"]["points"].size(), 1u);
  EXPECT_NEAR(j["pf_ratio"]["points"][0]["pf"].get<double>(), 261.905, 0.001);
  ASSERT_EQ(j["respiratory_failure"].size(), 1u);
  EXPECT_EQ(j["respiratory_failure"][0]["day"], 56);
  EXPECT_EQ(j["time_to_respiratory_failure_or_death"]["days"], 56);
  EXPECT_EQ(j["time_to_respiratory_failure_or_death"]["event"], true);
  // HRCT 20 % (SCR, the latest before D0) -> 30 %: +10 points.
  EXPECT_EQ(j["week8_changes"]["hrct_extent"]["change"], 10);
  EXPECT_NE(Find(j["week8_changes"]["inputs"], "item", "hrct.extent (baseline)", "visit", "SCR"),
            nullptr);
  // The signals of W8: the grade-3 ALT and the failure sample, each with a stable key.
  std::vector<std::string> keys;
  for (const auto& s : j["signals"]) keys.push_back(s["key"]);
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre(subject + "/W8/possible_ae/alt_increased",
                                                    subject + "/W8/respiratory_failure/abg.pao2"));
  // Blinded: no arm in any output.
  for (const char* arm : {"tocilizumab", "placebo", "\"arm\""}) {
    EXPECT_EQ(stored_out.find(arm), std::string::npos) << arm;
  }
  ASSERT_EQ(c.Run({"outcomes", subject, "--user", "coord"}), cli::kExitOk) << c.err_;
  EXPECT_THAT(c.out_, HasSubstr("TIS 42.5: moderate"));
  EXPECT_THAT(c.out_, HasSubstr("POSSIBLE AE"));

  // A coordinator of another site may not see the subject; nothing is printed.
  EXPECT_EQ(c.Run({"outcomes", subject, "--user", "coord2"}), cli::kExitInput);
  EXPECT_THAT(c.err_, HasSubstr("may not see"));
  EXPECT_EQ(c.out_, "");

  // The same data from an --input file: the same derivation.
  json file = {{"visits", json::array()}};
  file["visits"].push_back({{"visit", "SCR"}, {"items", {Entry("hrct", "extent", "20 %")}}});
  file["visits"].push_back({{"visit", "D0"}, {"items", VisitItems(true)}});
  json w8 = VisitItems(false);
  w8.push_back(Entry("hrct", "extent", "30 %"));
  file["visits"].push_back({{"visit", "W8"}, {"items", w8}});
  ASSERT_EQ(c.Run({"outcomes", "--input", Write("in.json", file.dump()), "--format", "json"}),
            cli::kExitOk)
      << c.err_;
  json k = json::parse(c.out_);
  EXPECT_EQ(k["tis"], j["tis"]);
  EXPECT_EQ(k["labs"], j["labs"]);
  EXPECT_EQ(k["week8_changes"], j["week8_changes"]);
}

// The investigator's RP-ILD diagnosis entered with `data set` (respiratory_events, FACTS §6.1):
// the save raises an rp_ild alert, and `trial outcomes` shows the detection with its inputs.
TEST_P(OutcomesTest, RpIldDiagnosisEnteredRaisesAnAlertAndShowsInOutcomes) {
  Populate();
  Journey c(path_);
  c.today_ = *Date::FromYmd(2026, 7, 28);  // after the W2 visit of 2026-07-27
  const std::string subject = std::to_string(subject_);
  auto set = [&](const std::string& visit, const std::string& form, const std::string& item,
                 const std::string& value) {
    EXPECT_EQ(c.Run({"data", "set", "--subject", subject, "--visit", visit, "--form", form,
                     "--item", item, "--value", value, "--user", "coord"}),
              cli::kExitOk)
        << visit << " " << form << "." << item << ": " << c.err_;
  };
  set("D0", "visit", "visit_date", "2026-07-13");
  set("W2", "visit", "visit_date", "2026-07-27");
  set("W2", "respiratory_events", "new_symptoms", "no");
  set("W2", "respiratory_events", "hospitalized", "no");
  EXPECT_THAT(c.out_, ::testing::Not(HasSubstr("RP-ILD detected")));
  // The date first: without the diagnosis it detects nothing.
  set("W2", "respiratory_events", "rp_ild_date", "2026-07-25");
  EXPECT_THAT(c.out_, ::testing::Not(HasSubstr("RP-ILD detected")));
  set("W2", "respiratory_events", "rp_ild_diagnosed", "yes");
  EXPECT_THAT(c.out_, HasSubstr("  rp_ild  subject " + subject + " (S1) at W2"));
  EXPECT_THAT(c.out_, HasSubstr("on-study RP-ILD detected at W2 (2026-07-25): RP-ILD diagnosed on "
                                "2026-07-25"));

  ASSERT_EQ(c.Run({"outcomes", subject, "--user", "coord", "--format", "json"}), cli::kExitOk)
      << c.err_;
  json j = json::parse(c.out_);
  EXPECT_EQ(j["rp_ild"]["detected"], true);
  EXPECT_EQ(j["rp_ild"]["date"], "2026-07-25");
  EXPECT_EQ(j["rp_ild"]["reason"], "RP-ILD diagnosed on 2026-07-25");
  EXPECT_NE(
      Find(j["rp_ild"]["inputs"], "item", "respiratory_events.rp_ild_diagnosed", "visit", "W2"),
      nullptr)
      << j["rp_ild"].dump();
  EXPECT_NE(Find(j["rp_ild"]["inputs"], "item", "respiratory_events.rp_ild_date", "visit", "W2"),
            nullptr)
      << j["rp_ild"].dump();
  std::vector<std::string> keys;
  for (const auto& x : j["signals"]) keys.push_back(x["key"]);
  EXPECT_THAT(keys, ::testing::Contains(subject + "/W2/rp_ild/rp_ild"));

  // A diagnosis date after the visit date opens a query (edit check), it is not refused.
  ASSERT_EQ(c.Run({"data", "set", "--subject", subject, "--visit", "W2", "--form",
                   "respiratory_events", "--item", "rp_ild_date", "--value", "2026-07-30",
                   "--reason", "date corrected", "--user", "coord"}),
            cli::kExitOk)
      << c.err_;
  EXPECT_THAT(c.out_, HasSubstr("respiratory_events.rp_ild_date_after_visit"));
}

TEST_P(OutcomesTest, BadInputFilesAreRefusedNamingTheEntry) {
  Journey c(path_);
  c.today_ = *Date::FromYmd(2026, 9, 8);  // after the W8 visit of 2026-09-07
  struct Case {
    const char* name;
    std::string text;
    const char* message;
  } cases[] = {
      {"malformed", "{\"visits\": [", "malformed JSON"},
      {"unknown_item",
       R"({"visits": [{"visit": "D0", "items": [{"form": "safety_labs", "item": "alt", "value": "30 U/L"},
          {"form": "safety_labs", "item": "alt_ul", "value": "40 U/L"}]}]})",
       "visits[0] (D0) items[1] safety_labs.alt_ul"},
      {"out_of_range",
       R"({"visits": [{"visit": "W8", "items": [{"form": "mmt8", "item": "neck_flexors", "value": "11"}]}]})",
       "visits[0] (W8) items[0] mmt8.neck_flexors: 11 is outside the hard range 0 to 10"},
      {"unknown_visit", R"({"visits": [{"visit": "W9", "items": []}]})",
       "visits[0] (W9): unknown visit 'W9'"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    EXPECT_EQ(c.Run({"outcomes", "--input", Write(std::string(k.name) + ".json", k.text)}),
              cli::kExitInput);
    EXPECT_THAT(c.err_, HasSubstr(k.message));
    EXPECT_EQ(c.out_, "");
  }
  // Usage: a subject and --input together, or neither.
  EXPECT_EQ(c.Run({"outcomes", "1", "--input", "x.json"}), cli::kExitUsage);
  EXPECT_EQ(c.Run({"outcomes"}), cli::kExitUsage);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutcomesTest, ::testing::Values("sqlite", "postgres"),
                         ParamName);

}  // namespace
}  // namespace trial::store
