// `trial ae summary` (service::SafetySummary, service::SiteSafety; docs/safety.md "Safety
// summaries") on both backends: two randomized subjects, AEs recorded with `ae add`, labs and
// glucocorticoids entered with `data set` through cli::Run with a simulated clock; the summary
// numbers and JSON keys checked, site totals, usage errors, another site's monitor refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

const char* kProtocolDir = "protocols/promis-mda5";

class SafetySummaryTest : public StoreTest {};

std::vector<std::string> Keys(const json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

TEST_P(SafetySummaryTest, SubjectAndSiteSummaries) {
  Journey j(path_);
  const std::string p = kProtocolDir;
  RUN_OK(j, {"init", "--admin", "admin"});
  RUN_OK(j, {"site", "add", "S1", "--name", "Site One", "--user", "admin"});
  RUN_OK(j, {"site", "add", "S2", "--name", "Site Two", "--user", "admin"});
  RUN_OK(j, {"user", "add", "coord", "--role", "coordinator", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "inv", "--role", "investigator", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "mon1", "--role", "monitor", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "mon2", "--role", "monitor", "--sites", "S2", "--user", "admin"});
  for (const char* number : {"001", "002", "003"}) {
    RUN_OK(j, {"subject", "add", "--site", "S1", "--number", number, "--user", "coord"});
  }
  for (const char* subject : {"1", "2"}) {  // subject 3 stays in screening
    RUN_OK(j, {"screen", "examples/eligible-male.json", "--screening-date", "2026-07-06",
               "--randomization-date", "2026-07-13", "--save", "--subject", subject, "--user",
               "coord", "--protocol", p});
  }
  const std::string seed(64, 'c');
  RUN_OK(j, {"randomization", "golive", "--user", "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "generate", "--count", "24", "--lot", "L1", "--expiry", "2027-12-31", "--user",
             "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "ship", "--site", "S1", "--count", "20", "--user", "admin", "--protocol", p});
  RUN_OK(j, {"kit", "receive", "--shipment", "SH-0001", "--user", "coord"});
  for (const char* subject : {"1", "2"}) {
    RUN_OK(j, {"randomize", "--subject", subject, "--ild", "present", "--user", "coord",
               "--protocol", p});
  }
  auto set = [&](const std::string& visit, const std::string& form, const std::string& item,
                 const std::string& value) {
    RUN_OK(j, {"data", "set", "--subject", "1", "--visit", visit, "--form", form, "--item", item,
               "--value", value, "--user", "coord", "--protocol", p});
  };
  set("SCR", "consent", "consent_date", "2026-07-01");
  // D0 (2026-07-13): ALT 30 U/L, ULN 40 (normal baseline); prednisone 50 mg/d.
  // W2 (2026-07-27): ALT 250 U/L = 6.25 x ULN -> grade 3 (> 5.0-20.0 x ULN, FACTS §4.2);
  // prednisone 40 mg/d.
  for (const auto& [visit, date, alt, dose] :
       std::vector<std::tuple<std::string, std::string, std::string, std::string>>{
           {"D0", "2026-07-13", "30 U/L", "50 mg/d"}, {"W2", "2026-07-27", "250 U/L", "40 mg/d"}}) {
    j.today_ = *Date::Parse(date);
    set(visit, "visit", "visit_date", date);
    set(visit, "safety_labs", "collected_on", date);
    set(visit, "safety_labs", "alt", alt);
    set(visit, "safety_labs", "alt_uln", "40 U/L");
    set(visit, "medications", "category", "glucocorticoid");
    set(visit, "medications", "drug", "prednisone");
    set(visit, "medications", "daily_dose", dose);
    set(visit, "medications", "route", "oral");
    set(visit, "medications", "start_date", "2026-07-01");
  }
  // Two AEs: a serious lung infection (possibly related), a grade-1 infusion reaction.
  j.today_ = *Date::FromYmd(2026, 7, 28);
  RUN_OK(j, {"ae",          "add",
             "--subject",   "1",
             "--term",      "lung_infection",
             "--grade",     "3",
             "--onset",     "2026-07-20",
             "--awareness", "2026-07-20T09:00",
             "--serious",   "hospitalization",
             "--related",   "possibly_related",
             "--action",    "drug_interrupted",
             "--user",      "inv",
             "--protocol",  p});
  RUN_OK(j, {"ae",          "add",
             "--subject",   "1",
             "--term",      "infusion_related_reaction",
             "--grade",     "1",
             "--onset",     "2026-07-13",
             "--awareness", "2026-07-13T12:00",
             "--serious",   "no",
             "--related",   "not_related",
             "--action",    "dose_not_changed",
             "--user",      "inv",
             "--protocol",  p});

  // ---- one subject, JSON ----
  RUN_OK(j, {"ae", "summary", "--subject", "1", "--user", "mon1", "--format", "json", "--protocol",
             p});
  json s = json::parse(j.out_);
  EXPECT_THAT(Keys(s), ::testing::UnorderedElementsAre(
                           "subject", "site", "screening_number", "status", "counts", "worst_grade",
                           "infections", "lab_abnormalities", "prednisone_equivalent",
                           "open_alerts", "sae_reports_due", "notes", "now"));
  EXPECT_EQ(s["subject"], 1);
  EXPECT_EQ(s["site"], "S1");
  EXPECT_EQ(s["status"], "randomized");
  EXPECT_EQ(s["worst_grade"], 3);
  const json& c = s["counts"];
  EXPECT_THAT(Keys(c), ::testing::UnorderedElementsAre(
                           "adverse_events", "by_grade", "serious", "serious_by_criterion",
                           "related_to_study_drug", "infections", "labs_by_worst_grade",
                           "open_alerts", "sae_reports_due", "sae_reports_overdue"));
  EXPECT_EQ(c["adverse_events"], 2);
  EXPECT_EQ(c["by_grade"], json({{"1", 1}, {"2", 0}, {"3", 1}, {"4", 0}, {"5", 0}}));
  EXPECT_EQ(c["serious"], 1);
  EXPECT_EQ(c["serious_by_criterion"]["hospitalization"], 1);
  EXPECT_EQ(c["serious_by_criterion"]["death"], 0);
  EXPECT_EQ(c["serious_by_criterion"].size(), 6u);
  EXPECT_EQ(c["related_to_study_drug"], 1);  // possibly_related counts; not_related does not
  EXPECT_EQ(c["infections"], 1);
  EXPECT_EQ(c["labs_by_worst_grade"], json({{"1", 0}, {"2", 0}, {"3", 1}, {"4", 0}, {"5", 0}}));
  ASSERT_EQ(s["infections"].size(), 1u);
  EXPECT_EQ(s["infections"][0]["term"], "lung_infection");
  EXPECT_EQ(s["infections"][0]["grade"], 3);
  EXPECT_EQ(s["infections"][0]["onset"], "2026-07-20");
  EXPECT_EQ(s["infections"][0]["serious"], true);
  EXPECT_EQ(s["infections"][0]["seriousness"], json({"hospitalization"}));
  ASSERT_EQ(s["lab_abnormalities"].size(), 1u);  // D0's ALT is baseline, not an abnormality
  EXPECT_EQ(s["lab_abnormalities"][0]["term_id"], "alt_increased");
  EXPECT_EQ(s["lab_abnormalities"][0]["worst_grade"], 3);
  EXPECT_EQ(s["lab_abnormalities"][0]["visit"], "W2");
  ASSERT_EQ(s["prednisone_equivalent"].size(), 2u);
  EXPECT_EQ(s["prednisone_equivalent"][0]["visit"], "D0");
  EXPECT_EQ(s["prednisone_equivalent"][0]["mg_per_day"], 50.0);
  EXPECT_EQ(s["prednisone_equivalent"][1]["visit"], "W2");
  EXPECT_EQ(s["prednisone_equivalent"][1]["mg_per_day"], 40.0);
  // The W2 ALT raised a possible-AE alert on save; the SAE's initial report was due
  // 2026-07-21T09:00 (24 h after awareness) and is overdue on 2026-07-28.
  ASSERT_EQ(s["open_alerts"].size(), 1u);
  EXPECT_EQ(s["open_alerts"][0]["kind"], "possible_ae");
  EXPECT_EQ(c["open_alerts"], 1);
  ASSERT_EQ(s["sae_reports_due"].size(), 1u);
  EXPECT_EQ(s["sae_reports_due"][0]["kind"], "initial");
  EXPECT_EQ(s["sae_reports_due"][0]["due_at"], "2026-07-21T09:00:00.000000Z");
  EXPECT_EQ(s["sae_reports_due"][0]["overdue"], true);
  EXPECT_EQ(c["sae_reports_overdue"], 1);
  EXPECT_TRUE(s["notes"].empty());
  // Blinded: no arm anywhere.
  EXPECT_EQ(j.out_.find("tocilizumab"), std::string::npos);
  EXPECT_EQ(j.out_.find("placebo"), std::string::npos);

  // ---- text ----
  RUN_OK(j, {"ae", "summary", "--subject", "1", "--user", "inv", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("adverse events: 2 (by grade: 1=1 2=0 3=1 4=0 5=0)"));
  EXPECT_THAT(j.out_, HasSubstr("serious: 1 (hospitalization 1)"));
  EXPECT_THAT(j.out_, HasSubstr("infection: AE 1 Lung infection grade 3 onset 2026-07-20"));
  EXPECT_THAT(j.out_, HasSubstr("lab: Alanine aminotransferase increased worst grade 3"));
  EXPECT_THAT(j.out_, HasSubstr("prednisone-equivalent dose: D0 50.00 mg/d; W2 40.00 mg/d;"));

  // ---- the site: randomized subjects only, then totals ----
  RUN_OK(j,
         {"ae", "summary", "--site", "S1", "--user", "mon1", "--format", "json", "--protocol", p});
  json site = json::parse(j.out_);
  ASSERT_EQ(site["subjects"].size(), 2u);  // subject 3 is not randomized
  EXPECT_EQ(site["subjects"][1]["subject"], 2);
  EXPECT_EQ(site["subjects"][1]["counts"]["adverse_events"], 0);
  EXPECT_EQ(site["subjects"][1]["worst_grade"], nullptr);
  ASSERT_EQ(site["subjects"][1]["notes"].size(), 1u);
  EXPECT_THAT(site["subjects"][1]["notes"][0].get<std::string>(),
              HasSubstr("no lab value after D0"));
  EXPECT_EQ(site["totals"]["subjects"], 2);
  EXPECT_EQ(site["totals"]["adverse_events"], 2);
  EXPECT_EQ(site["totals"]["serious"], 1);
  EXPECT_EQ(site["totals"]["infections"], 1);
  EXPECT_EQ(site["totals"]["labs_by_worst_grade"]["3"], 1);
  RUN_OK(j, {"ae", "summary", "--site", "S1", "--user", "mon1", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("site S1 totals (2 randomized subjects):"));

  // ---- refused ----
  EXPECT_EQ(j.Run({"ae", "summary", "--subject", "1", "--user", "mon2", "--protocol", p}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("may not see the adverse events of site 'S1'"));
  EXPECT_EQ(j.out_, "");
  EXPECT_EQ(j.Run({"ae", "summary", "--site", "S1", "--user", "mon2", "--protocol", p}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("may not see the safety summaries of site 'S1'"));
  EXPECT_EQ(
      j.Run({"ae", "summary", "--subject", "1", "--site", "S1", "--user", "mon1", "--protocol", p}),
      cli::kExitUsage);
  EXPECT_THAT(j.err_, HasSubstr("give --subject ID or --site S"));
  EXPECT_EQ(j.Run({"ae", "summary", "--subject", "99", "--user", "mon1", "--protocol", p}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("unknown subject 99"));
  RUN_OK(j, {"audit", "verify"});
}

INSTANTIATE_TEST_SUITE_P(Backends, SafetySummaryTest, ::testing::Values("sqlite", "postgres"),
                         ParamName);

}  // namespace
}  // namespace trial::store
