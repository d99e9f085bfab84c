// Whole journeys of issue 5 on both backends (store_fixture.h): eCRF data entered with
// `trial data set` and `trial data import` (cli::Run with a simulated clock, cli_journey.h), two
// subjects from day 0 to week 8 with a neutropenia hold and its resumption, a soft-range query
// answered and closed, a missed visit, a late visit signed, changed and signed again, a hard-range
// value refused, and a first dose held by the label's initiation thresholds (FACTS.md §3.3).
// Also the batch item write (TrialStore::RecordItems) and the import built on it: one
// transaction, all or nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_journey.h"
#include "protocol/protocol.h"
#include "service/data_entry.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

using ::testing::Not;

const char* kProtocolDir = "protocols/promis-mda5";

class JourneyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto p = protocol::Load(kProtocolDir);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    protocol_ = std::move(*p);
    files_ = fs::temp_directory_path() /
             ("trial-journey-" + std::to_string(getpid()) + "-" + GetParam() + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(files_);
    fs::create_directories(files_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(files_, ec);
    StoreTest::TearDown();
  }

  // Writes `entries` as an import file; returns its path.
  std::string ImportFile(const std::string& name, const json& entries) {
    const fs::path path = files_ / name;
    std::ofstream(path) << entries.dump(2);
    return path.string();
  }

  std::unique_ptr<protocol::Protocol> protocol_;
  fs::path files_;
};

// The items a dosing visit needs, as an import file: the weight and the safety labs with their
// collection date (the required items of the two forms) and the ULNs the dose holds use.
json VisitEntries(const std::string& date, const std::string& weight, const std::string& anc,
                  const std::string& platelets = "250 10*9/L") {
  json entries = json::array();
  auto add = [&](const char* form, const char* item, const std::string& value) {
    if (!value.empty()) entries.push_back({{"form", form}, {"item", item}, {"value", value}});
  };
  add("weight", "weight", weight);
  add("safety_labs", "collected_on", date);
  add("safety_labs", "anc", anc);
  add("safety_labs", "platelets", platelets);
  add("safety_labs", "alt", "20 U/L");
  add("safety_labs", "alt_uln", "40 U/L");
  add("safety_labs", "ast", "25 U/L");
  add("safety_labs", "ast_uln", "40 U/L");
  return entries;
}

// ---- the batch write and the import on it: one transaction ----

TEST_P(JourneyTest, RecordItemsIsAllOrNothing) {
  Populate();
  const ItemKey weight{subject_, "D0", "weight", 0, "weight"};
  const ItemKey anc{subject_, "D0", "safety_labs", 0, "anc"};
  const std::vector<ItemWrite> none;
  EXPECT_FAILS(store_->RecordItems("coord", none, ""), ErrorCode::kInvalidArgument,
               "no items to record");
  const std::string before = Snapshot();
  // The second write of the same item needs a reason: the first is not kept either.
  const std::vector<ItemWrite> twice = {{weight, "70 kg"}, {anc, "3 10*9/L"}, {weight, "71 kg"}};
  EXPECT_FAILS(store_->RecordItems("coord", twice, ""), ErrorCode::kInvalidArgument,
               "already has a value: a correction needs a reason");
  // Bad input in the last write: nothing is written.
  const std::vector<ItemWrite> unnamed = {{weight, "70 kg"},
                                          {{subject_, "D0", "weight", 0, ""}, "1"}};
  EXPECT_FAILS(store_->RecordItems("coord", unnamed, ""), ErrorCode::kInvalidArgument, "the item");
  EXPECT_EQ(Snapshot(), before);
  // With a reason the same batch stores three versions, in order, one event each.
  const int64_t events = EventCount();
  auto stored = OK(store_->RecordItems("coord", twice, "entry and correction"));
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].version, 1);
  EXPECT_EQ(stored[1].key.item, "anc");
  EXPECT_EQ(stored[2].version, 2);
  EXPECT_EQ(stored[2].value, "71 kg");
  EXPECT_EQ(EventCount(), events + 3);
  EXPECT_EQ(OK(store_->ItemHistory(weight)).size(), 2u);
  ExpectIntact();
}

TEST_P(JourneyTest, AnImportRefusedByTheStoreStoresNothing) {
  Populate();
  ASSERT_TRUE(store_->AddUser("admin", User{"mon", "Mo", Role::kMonitor, {"S1"}}).has_value());
  // D0's lab date, entered, verified and locked.
  ASSERT_TRUE(service::SetItem(*store_, *protocol_, "coord", subject_, "D0", "safety_labs",
                               "collected_on", "2026-07-01", "")
                  .has_value());
  const ItemKey locked{subject_, "D0", "safety_labs", 0, "collected_on"};
  ASSERT_TRUE(store_->ReviewItem("mon", locked, "verify", "").has_value());
  ASSERT_TRUE(store_->ReviewItem("dm", locked, "lock", "").has_value());
  const std::string before = Snapshot();
  // Every entry is valid for the eCRF; the last is refused by the store (locked).
  std::vector<service::ImportEntry> entries = {{"weight", "weight", "70 kg", 0},
                                               {"safety_labs", "anc", "3.1 10*9/L", 0},
                                               {"safety_labs", "collected_on", "2026-07-02", 0}};
  EXPECT_FAILS(
      service::ImportItems(*store_, *protocol_, "coord", subject_, "D0", entries, "date corrected"),
      ErrorCode::kInvalidInput,
      "item " + std::to_string(subject_) + "/D0/safety_labs/0/collected_on is locked");
  EXPECT_EQ(Snapshot(), before);  // no item, no audit event
  EXPECT_TRUE(OK(store_->ItemHistory({subject_, "D0", "weight", 0, "weight"})).empty());
  EXPECT_TRUE(OK(store_->ItemHistory({subject_, "D0", "safety_labs", 0, "anc"})).empty());
  // Without the locked item the import stores both, audited; the chain verifies.
  entries.pop_back();
  auto imported = OK(service::ImportItems(*store_, *protocol_, "coord", subject_, "D0", entries,
                                          "date corrected"));
  EXPECT_TRUE(imported.rejected.empty());
  ASSERT_EQ(imported.stored.size(), 2u);
  EXPECT_EQ(imported.stored[0].value, "70 kg");
  EXPECT_EQ(imported.stored[1].value, "3.1 10*9/L");
  ExpectIntact();
}

// ---- two subjects from day 0 to week 8 through the command line ----

// The open-query counts of `trial query list --format json` as one line:
// "subjects 1=1 2=1; sites S1=2; forms safety_labs=2".
std::string OpenCounts(const std::string& listing_json) {
  json open = json::parse(listing_json)["open"];
  std::string out;
  for (const char* what : {"by_subject", "by_site", "by_form"}) {
    out += out.empty() ? "" : "; ";
    out += std::string(what).substr(3) + ":";
    for (const auto& [k, n] : open[what].items())
      out += " " + k + "=" + std::to_string(n.get<int>());
  }
  return out;
}

// The query id of "query N opened on ..." in a data-entry output (0 when none).
int64_t OpenedQuery(const std::string& out) {
  const size_t at = out.find("query ");
  const size_t opened = out.find(" opened on ", at);
  if (at == std::string::npos || opened == std::string::npos) return 0;
  return std::stoll(out.substr(at + 6, opened - at - 6));
}

TEST_P(JourneyTest, TwoSubjectsThroughDataSetAndImport) {
  Journey j(path_);
  const std::string p = kProtocolDir;
  RUN_OK(j, {"init", "--admin", "admin", "--name", "Ada Admin"});
  RUN_OK(j, {"site", "add", "S1", "--name", "Site One", "--user", "admin"});
  RUN_OK(j, {"user", "add", "coord", "--role", "coordinator", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "inv", "--role", "investigator", "--sites", "S1", "--name", "Dr Ivy",
             "--user", "admin"});
  RUN_OK(j, {"user", "add", "mon", "--role", "monitor", "--sites", "S1", "--user", "admin"});
  for (const char* number : {"001", "002"}) {
    RUN_OK(j, {"subject", "add", "--site", "S1", "--number", number, "--user", "coord"});
  }
  for (const char* subject : {"1", "2"}) {
    RUN_OK(j, {"screen", "examples/eligible-male.json", "--screening-date", "2026-07-06",
               "--randomization-date", "2026-07-13", "--save", "--subject", subject, "--user",
               "coord", "--protocol", p});
  }
  const std::string seed(64, 'b');
  RUN_OK(j, {"randomization", "golive", "--user", "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "generate", "--count", "24", "--lot", "L1", "--expiry", "2027-12-31", "--user",
             "admin", "--seed", seed, "--protocol", p});
  RUN_OK(j, {"kit", "ship", "--site", "S1", "--count", "20", "--user", "admin", "--protocol", p});
  RUN_OK(j, {"kit", "receive", "--shipment", "SH-0001", "--user", "coord"});
  for (const char* subject : {"1", "2"}) {
    RUN_OK(j, {"randomize", "--subject", subject, "--ild", "present", "--user", "coord",
               "--protocol", p});
  }
  const Date day0 = j.today_;  // 2026-07-13, day 0 of both subjects
  auto at_day = [&](int day) {
    j.today_ = day0.AddDays(day);
    return j.today_.ToString();
  };
  auto import = [&](const char* subject, const char* visit, const json& entries,
                    const std::string& reason = "") {
    std::vector<std::string> args = {
        "data",       "import", ImportFile(std::string(visit) + "-" + subject + ".json", entries),
        "--subject",  subject,  "--visit",
        visit,        "--user", "coord",
        "--protocol", p};
    if (!reason.empty()) args.insert(args.end(), {"--reason", reason});
    return j.Run(args);
  };
  // Records the visit on `date` and returns the dose plan ("" with a test failure if either fails).
  auto visit_and_plan = [&](const char* subject, const char* visit,
                            const std::string& date) -> std::string {
    if (j.Run({"visit", "record", "--subject", subject, "--visit", visit, "--date", date, "--user",
               "coord", "--protocol", p}) != cli::kExitOk ||
        j.Run({"dose", "plan", "--subject", subject, "--visit", visit, "--date", date, "--user",
               "coord", "--protocol", p}) != cli::kExitOk) {
      ADD_FAILURE() << subject << " " << visit << ": " << j.err_;
      return "";
    }
    return j.out_;
  };
  auto give = [&](const char* subject, const char* visit, const std::string& date,
                  const std::string& mg) {
    RUN_OK(j, {"dose", "record", "--subject", subject, "--visit", visit, "--date", date, "--user",
               "coord", "--protocol", p});
    EXPECT_THAT(j.out_, HasSubstr("given " + mg)) << j.out_;
  };
  auto query_counts = [&] {
    EXPECT_EQ(j.Run({"query", "list", "--user", "mon", "--format", "json"}), cli::kExitOk)
        << j.err_;
    return OpenCounts(j.out_);
  };

  // ---- day 0 ----
  std::string date = at_day(0);
  ASSERT_EQ(import("1", "D0", VisitEntries(date, "70 kg", "3.1 10*9/L")), cli::kExitOk) << j.err_;
  EXPECT_THAT(j.out_, HasSubstr("D0 weight.weight = 70 kg (version 1)"));
  EXPECT_THAT(j.out_, HasSubstr("D0 safety_labs.collected_on = " + date + " (version 1)"));
  std::string plan = visit_and_plan("1", "D0", date);
  // 8 mg/kg x 70 kg = 560 mg (FACTS §3.1), below the 800 mg cap.
  EXPECT_THAT(plan, HasSubstr("give: 560 mg (full dose)")) << plan;
  EXPECT_THAT(plan, HasSubstr("ANC >= 2000/mm3 (may initiate) -> proceed")) << plan;
  give("1", "D0", date, "560 mg");

  // Subject 2: platelets 90 x10^9/L. Below the soft range (100) -> a query; below the label's
  // initiation threshold (100,000/mm3, FACTS §3.3) -> no first dose.
  ASSERT_EQ(import("2", "D0", VisitEntries(date, "80 kg", "3.5 10*9/L", "90 10*9/L")), cli::kExitOk)
      << j.err_;
  const int64_t platelet_query = OpenedQuery(j.out_);
  EXPECT_GT(platelet_query, 0) << j.out_;
  EXPECT_THAT(j.out_, HasSubstr("opened on D0 safety_labs.platelets")) << j.out_;
  plan = visit_and_plan("2", "D0", date);
  EXPECT_THAT(plan, HasSubstr("give: nothing (hold)")) << plan;
  EXPECT_THAT(plan, HasSubstr("platelets 90 10*9/L = 90000 /mm3 on " + date +
                              ": platelets < 100,000/mm3 (do not initiate) -> hold"))
      << plan;
  EXPECT_EQ(j.Run({"dose", "record", "--subject", "2", "--visit", "D0", "--date", date, "--user",
                   "coord", "--protocol", p}),
            cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("give an override reason"));
  // A correction needs a reason; with it the first dose is allowed.
  EXPECT_EQ(
      j.Run({"data", "set", "--subject", "2", "--visit", "D0", "--form", "safety_labs", "--item",
             "platelets", "--value", "190 10*9/L", "--user", "coord", "--protocol", p}),
      cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("a correction needs a reason"));
  RUN_OK(j, {"data", "set", "--subject", "2", "--visit", "D0", "--form", "safety_labs", "--item",
             "platelets", "--value", "190 10*9/L", "--reason", "transcription error (190, not 90)",
             "--user", "coord", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("D0 safety_labs.platelets = 190 10*9/L (version 2)"));
  RUN_OK(j, {"dose", "plan", "--subject", "2", "--visit", "D0", "--date", date, "--user", "coord",
             "--protocol", p});
  // 8 mg/kg x 80 kg = 640 mg (FACTS §3.1).
  EXPECT_THAT(j.out_, HasSubstr("give: 640 mg (full dose)")) << j.out_;
  EXPECT_THAT(j.out_, HasSubstr("platelets >= 100,000/mm3 (may initiate) -> proceed")) << j.out_;
  give("2", "D0", date, "640 mg");
  // A hard-range value is refused with the item and the rule named; nothing is stored.
  const int64_t events = EventCount();
  EXPECT_EQ(
      j.Run({"data", "set", "--subject", "2", "--visit", "D0", "--form", "weight", "--item",
             "weight", "--value", "301 kg", "--reason", "x", "--user", "coord", "--protocol", p}),
      cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("weight.weight"));
  EXPECT_THAT(j.err_, HasSubstr("outside the hard range 20 to 300 kg"));
  EXPECT_EQ(EventCount(), events);
  EXPECT_EQ(OK(store_->ItemHistory({2, "D0", "weight", 0, "weight"})).size(), 1u);
  EXPECT_EQ(query_counts(), "subject: 2=1; site: S1=1; form: safety_labs=1");

  // ---- week 2 (day 14): a neutropenia hold for subject 1 ----
  date = at_day(14);
  json w2 = VisitEntries(date, "70 kg", "");  // ANC entered on its own below
  ASSERT_EQ(import("1", "W2", w2), cli::kExitOk) << j.err_;
  // 0.8 x10^9/L: below the soft range 1.0 (a query opened by `data set`) and in the hold row.
  RUN_OK(j, {"data", "set", "--subject", "1", "--visit", "W2", "--form", "safety_labs", "--item",
             "anc", "--value", "0.8 10*9/L", "--user", "coord", "--protocol", p});
  const int64_t anc_query = OpenedQuery(j.out_);
  EXPECT_GT(anc_query, 0) << j.out_;
  EXPECT_THAT(j.out_, HasSubstr("opened on W2 safety_labs.anc")) << j.out_;
  // ... and CTCAE grade 3 (< 1.0 x10^9/L, FACTS §4.1): a possible-AE alert, raised once.
  EXPECT_THAT(j.out_, HasSubstr("open  possible_ae  subject 1 (S1) at W2")) << j.out_;
  EXPECT_THAT(j.out_, HasSubstr("Neutrophil count decreased grade 3")) << j.out_;
  RUN_OK(j, {"alert", "scan", "--subject", "1", "--user", "coord", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("0 alert(s) raised for 1 subject(s)")) << j.out_;
  RUN_OK(j, {"alerts", "--user", "inv", "--protocol", p, "--format", "json"});
  const json board = json::parse(j.out_);
  ASSERT_EQ(board["alerts"].size(), 1u) << j.out_;
  const std::string alert_id = std::to_string(board["alerts"][0]["id"].get<int64_t>());
  EXPECT_EQ(j.Run({"alert", "dismiss", alert_id, "--reason", "x", "--user", "coord"}),
            cli::kExitInput);  // investigators decide
  RUN_OK(j, {"alert", "dismiss", alert_id, "--reason", "neutropenia managed by the dose hold",
             "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("dismissed")) << j.out_;
  RUN_OK(j, {"query", "list", "--subject", "1", "--user", "mon"});
  EXPECT_THAT(j.out_,
              HasSubstr("query " + std::to_string(anc_query) + " on 1/W2/safety_labs/0/anc: open"))
      << j.out_;
  EXPECT_EQ(query_counts(), "subject: 1=1 2=1; site: S1=2; form: safety_labs=2");
  plan = visit_and_plan("1", "W2", date);
  EXPECT_THAT(plan, HasSubstr("ANC 500 to 1000/mm3 -> hold")) << plan;
  EXPECT_THAT(plan, Not(HasSubstr("initiate"))) << plan;  // treatment has started
  RUN_OK(j, {"dose", "withhold", "--subject", "1", "--visit", "W2", "--date", date, "--user",
             "coord", "--protocol", p});
  // The coordinator answers, the monitor closes: the counts move.
  RUN_OK(j, {"query", "answer", std::to_string(anc_query), "--text", "repeat sample confirmed 0.8",
             "--user", "coord"});
  EXPECT_THAT(j.out_, HasSubstr("anc: answered (edit check safety_labs.anc.soft) by coord"));
  RUN_OK(j, {"query", "close", std::to_string(anc_query), "--user", "mon"});
  EXPECT_THAT(j.out_, HasSubstr("anc: closed (edit check safety_labs.anc.soft) by mon"));
  EXPECT_EQ(query_counts(), "subject: 2=1; site: S1=1; form: safety_labs=1");
  RUN_OK(j, {"query", "close", std::to_string(platelet_query), "--text", "corrected", "--user",
             "mon"});
  EXPECT_EQ(query_counts(), "subject:; site:; form:");
  ASSERT_EQ(import("2", "W2", VisitEntries(date, "80 kg", "3.2 10*9/L")), cli::kExitOk) << j.err_;
  plan = visit_and_plan("2", "W2", date);
  give("2", "W2", date, "640 mg");

  // ---- week 4 (day 28): subject 1 resumes at 4 mg/kg; subject 2 does not come ----
  date = at_day(28);
  ASSERT_EQ(import("1", "W4", VisitEntries(date, "70.4 kg", "1.6 10*9/L")), cli::kExitOk) << j.err_;
  plan = visit_and_plan("1", "W4", date);
  // 4 mg/kg x 70.4 kg = 281.6 mg, rounded to the nearest 1 mg = 282 mg (FACTS §3.2 "resume at
  // 4 mg/kg"; schedule.yaml dose_rounding).
  EXPECT_THAT(plan, HasSubstr("give: 282 mg (reduced dose)")) << plan;
  give("1", "W4", date, "282 mg");
  date = at_day(35);  // after W4's window (day 31): recorded as missed
  RUN_OK(j, {"visit", "record", "--subject", "2", "--visit", "W4", "--missed", "--reason",
             "admitted elsewhere", "--user", "coord", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("missed (admitted elsewhere)"));
  EXPECT_THAT(j.out_, HasSubstr("(dose_missed)"));

  // ---- week 6 (day 42): full doses ----
  date = at_day(42);
  ASSERT_EQ(import("1", "W6", VisitEntries(date, "71 kg", "2.4 10*9/L")), cli::kExitOk) << j.err_;
  plan = visit_and_plan("1", "W6", date);
  give("1", "W6", date, "568 mg");  // 8 mg/kg x 71 kg = 568 mg
  ASSERT_EQ(import("2", "W6", VisitEntries(date, "80 kg", "3.0 10*9/L")), cli::kExitOk) << j.err_;
  plan = visit_and_plan("2", "W6", date);
  give("2", "W6", date, "640 mg");

  // ---- week 8 (target day 56, window to day 59) on day 60: late ----
  date = at_day(60);
  RUN_OK(j, {"visit", "record", "--subject", "1", "--visit", "W8", "--date", date, "--user",
             "coord", "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("(visit_out_of_window)"));
  ASSERT_EQ(import("1", "W8", VisitEntries(date, "71 kg", "2.6 10*9/L")), cli::kExitOk) << j.err_;
  RUN_OK(j, {"sign", "--subject", "1", "--visit", "W8", "--meaning",
             "I approve the data of visit W8", "--user", "inv"});
  RUN_OK(j, {"data", "set", "--subject", "1", "--visit", "W8", "--form", "weight", "--item",
             "weight", "--value", "71.5 kg", "--reason", "scale recalibrated", "--user", "coord",
             "--protocol", p});
  EXPECT_THAT(j.out_, HasSubstr("W8 weight.weight = 71.5 kg (version 2)"));
  EXPECT_THAT(j.out_, HasSubstr("signature of visit W8 by Dr Ivy voided"));
  RUN_OK(j, {"sign", "--subject", "1", "--visit", "W8", "--meaning",
             "I approve the data of visit W8", "--user", "inv"});
  auto signatures = OK(store_->Signatures(1));
  ASSERT_EQ(signatures.size(), 2u);
  EXPECT_EQ(signatures[0].visit, "W8");
  EXPECT_NE(signatures[0].voided_at, "");
  EXPECT_THAT(signatures[0].void_reason,
              HasSubstr("item 1/W8/weight/0/weight changed (version 2)"));
  EXPECT_EQ(signatures[1].visit, "W8");
  EXPECT_EQ(signatures[1].voided_at, "");  // the valid signature of W8
  EXPECT_EQ(signatures[1].printed_name, "Dr Ivy");

  // ---- the visit lists and deviations ----
  auto statuses = [&](const char* subject) {
    EXPECT_EQ(j.Run({"visit", "list", "--subject", subject, "--date", j.today_.ToString(), "--user",
                     "mon", "--format", "json", "--protocol", p}),
              cli::kExitOk)
        << j.err_;
    std::string out;
    const json list = json::parse(j.out_);
    for (const auto& v : list["visits"]) {
      out += (out.empty() ? "" : ", ") + v["visit"].get<std::string>() + " " +
             v["status"].get<std::string>();
    }
    return out;
  };
  EXPECT_EQ(statuses("1"),
            "D0 done in window, W2 done in window, W4 done in window, W6 done in window, "
            "W8 done out of window, SFU upcoming");
  EXPECT_EQ(statuses("2"),
            "D0 done in window, W2 done in window, W4 missed, W6 done in window, W8 overdue, "
            "SFU upcoming");
  auto kinds = [&](const char* subject) {
    EXPECT_EQ(
        j.Run({"deviation", "list", "--subject", subject, "--user", "mon", "--format", "json"}),
        cli::kExitOk)
        << j.err_;
    std::vector<std::string> out;
    for (const auto& d : json::parse(j.out_)) out.push_back(d["kind"].get<std::string>());
    return out;
  };
  EXPECT_THAT(kinds("1"), ::testing::ElementsAre("visit_out_of_window"));
  EXPECT_THAT(kinds("2"), ::testing::UnorderedElementsAre("visit_missed", "dose_missed"));
  RUN_OK(j, {"audit", "verify"});
}

INSTANTIATE_TEST_SUITE_P(Backends, JourneyTest, ::testing::Values("sqlite", "postgres"), ParamName);

}  // namespace
}  // namespace trial::store
