// Adverse events, SAE clocks, notifications and their delivery, and safety alerts on both
// backends (store/safety_store.cc, service/safety.h, docs/safety.md), and one safety journey
// through cli::Run with a simulated clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"
#include "protocol/protocol.h"
#include "service/safety.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

using ::testing::ElementsAre;

const char* kProtocolDir = "protocols/promis-mda5";

const protocol::Protocol& Promis() {
  static const auto* p = [] {
    auto loaded = protocol::Load(kProtocolDir);
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    return loaded.has_value() ? loaded->release() : nullptr;
  }();
  return *p;
}

const char* kSafetyTables[] = {"adverse_events", "sae_reports",   "sae_acks",
                               "alerts",         "notifications", "notification_deliveries"};

class SafetyTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Populate();
    ASSERT_TRUE(store_->AddUser("admin", User{"inv", "Dr Ivy", Role::kInvestigator, {"S1"}}));
    ASSERT_TRUE(store_->AddUser("admin", User{"mon1", "Mo", Role::kMonitor, {"S1"}}));
    ASSERT_TRUE(store_->AddUser("admin", User{"mon2", "Mia", Role::kMonitor, {"S2"}}));
    ASSERT_TRUE(store_->AddUser("admin", User{"coord2", "Cy", Role::kCoordinator, {"S2"}}));
    ASSERT_TRUE(store_->AddUser("admin", User{"sp", "Spo", Role::kSponsorViewer, {}}));
    Consent(subject_, "2026-06-01");
  }
  void Consent(int64_t subject, const std::string& date) {
    ASSERT_TRUE(store_->RecordItem("coord", ItemKey{subject, "SCR", "consent", 0, "consent_date"},
                                   date, ""));
  }
  // A non-serious grade-2 lung infection of subject_ with onset 2026-07-10.
  AdverseEvent Ae() const {
    AdverseEvent ae;
    ae.subject_id = subject_;
    ae.term = "lung_infection";
    ae.grade = 2;
    ae.onset = *Date::FromYmd(2026, 7, 10);
    ae.awareness = "2026-07-10T09:00:00.000000Z";
    ae.related = "possibly_related";
    ae.action = "dose_not_changed";
    return ae;
  }
  AdverseEvent Serious() const {
    AdverseEvent ae = Ae();
    ae.grade = 3;
    ae.seriousness = {"hospitalization"};
    return ae;
  }
  Result<AdverseEvent> Record(const std::string& user, const AdverseEvent& ae) {
    return service::RecordAdverseEvent(*store_, Promis(), user, ae);
  }
  // Everything a refused write must leave as it was, the safety tables included.
  std::string FullSnapshot() {
    std::string out = Snapshot();
    for (const char* t : kSafetyTables)
      out += std::string(" ") + t + "=" + std::to_string(Count(t));
    return out;
  }
  // Sets the store's clock so that its next instant is `at` (on or after 2026-07-01T00:00:01).
  void ClockAt(const std::string& at) {
    const int64_t base = *ParseInstant("2026-07-01T00:00:00Z");
    tick_->store((*ParseInstant(at) - base) / 1'000'000 - 1);
    ASSERT_EQ(*ParseInstant(NextInstant()), *ParseInstant(at));
  }
};

TEST_P(SafetyTest, AddUpdateListAndHistory) {
  AdverseEvent first = OK(Record("inv", Ae()));
  EXPECT_EQ(first.id, 1);
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.site, "S1");
  EXPECT_FALSE(first.serious());
  EXPECT_EQ(Count("notifications"), 0);  // not serious: nobody notified
  AdverseEvent follow = first;
  follow.outcome = "recovered";
  follow.resolved = *Date::FromYmd(2026, 7, 20);
  follow.reason = "resolved at the W4 visit";
  AdverseEvent second = OK(Record("coord", follow));
  EXPECT_EQ(second.id, 1);
  EXPECT_EQ(second.version, 2);
  AdverseEvent other = Ae();
  other.term = "other";
  other.other_text = "Herpes zoster";
  other.grade = 2;
  OK(Record("inv", other));
  auto list = OK(store_->AdverseEvents(subject_, std::nullopt));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].version, 2);
  EXPECT_EQ(list[0].outcome, "recovered");
  EXPECT_EQ(list[1].other_text, "Herpes zoster");
  auto history = OK(store_->AdverseEventHistory(1));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].outcome, "");  // the first version is kept as it was
  EXPECT_EQ(history[1].reason, "resolved at the W4 visit");
  AuditEvent last = AllEvents()[AllEvents().size() - 2];
  EXPECT_EQ(last.action, "ae.update");
  EXPECT_THAT(last.old_value, HasSubstr("\"version\":1"));
  // Readers: the site's monitor, the data manager; not another site's monitor.
  EXPECT_EQ(OK(service::ListAdverseEvents(*store_, "mon1", std::nullopt, std::nullopt)).size(), 2u);
  EXPECT_EQ(OK(service::ListAdverseEvents(*store_, "dm", subject_, std::nullopt)).size(), 2u);
  EXPECT_EQ(OK(service::ListAdverseEvents(*store_, "mon2", std::nullopt, std::nullopt)).size(), 0u);
  EXPECT_FAILS(service::ListAdverseEvents(*store_, "mon2", subject_, std::nullopt),
               ErrorCode::kPermissionDenied, "may not see the adverse events of site 'S1'");
  EXPECT_FAILS(service::ListAdverseEvents(*store_, "mon2", std::nullopt, std::string("S1")),
               ErrorCode::kPermissionDenied, "may not see");
  EXPECT_FAILS(service::ShowAdverseEvent(*store_, "mon2", 1), ErrorCode::kPermissionDenied,
               "may not see");
  ExpectIntact();
}

TEST_P(SafetyTest, BadInputStoresNothing) {
  OK(Record("inv", Ae()));
  auto no_consent = OK(store_->AddSubject("coord", "S1", "S1-002"));
  const std::string before = FullSnapshot();
  struct Case {
    const char* name;
    std::function<void(AdverseEvent&)> change;
    ErrorCode code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"no consent", [&](AdverseEvent& a) { a.subject_id = no_consent.id; },
       ErrorCode::kInvalidInput, "has no consent date recorded"},
      {"onset before consent", [](AdverseEvent& a) { a.onset = *Date::FromYmd(2026, 5, 31); },
       ErrorCode::kInvalidInput, "is before subject 1's consent date 2026-06-01"},
      {"resolution before onset", [](AdverseEvent& a) { a.resolved = *Date::FromYmd(2026, 7, 9); },
       ErrorCode::kInvalidArgument, "resolution date 2026-07-09 is before the onset date"},
      {"grade the term does not define", [](AdverseEvent& a) { a.grade = 1; },
       ErrorCode::kInvalidArgument, "does not define grade 1"},
      {"lab term has no grade 5",
       [](AdverseEvent& a) {
         a.term = "neutrophil_count_decreased";
         a.grade = 5;
         a.seriousness = {"death"};
       },
       ErrorCode::kInvalidArgument, "does not define grade 5"},
      {"fatal without death", [](AdverseEvent& a) { a.grade = 5; }, ErrorCode::kInvalidArgument,
       "give --serious death"},
      {"death on a non-fatal AE", [](AdverseEvent& a) { a.seriousness = {"death"}; },
       ErrorCode::kInvalidArgument, "criterion death needs grade 5"},
      {"unknown criterion", [](AdverseEvent& a) { a.seriousness = {"expensive"}; },
       ErrorCode::kInvalidArgument, "seriousness criterion 'expensive'"},
      {"unknown term", [](AdverseEvent& a) { a.term = "headache"; }, ErrorCode::kInvalidArgument,
       "unknown adverse event term 'headache'"},
      {"unknown relatedness", [](AdverseEvent& a) { a.related = "maybe"; },
       ErrorCode::kInvalidArgument, "the relatedness 'maybe'"},
      {"unknown action", [](AdverseEvent& a) { a.action = "shrug"; }, ErrorCode::kInvalidArgument,
       "the action taken 'shrug'"},
      {"unknown outcome", [](AdverseEvent& a) { a.outcome = "fine"; }, ErrorCode::kInvalidArgument,
       "the outcome 'fine'"},
      {"other without text", [](AdverseEvent& a) { a.term = "other"; }, ErrorCode::kInvalidArgument,
       "needs the event named in free text"},
      {"text on a CTCAE term", [](AdverseEvent& a) { a.other_text = "pneumonia"; },
       ErrorCode::kInvalidArgument, "free text is only for"},
      {"awareness not a date-time", [](AdverseEvent& a) { a.awareness = "2026-07-10"; },
       ErrorCode::kInvalidArgument, "awareness time '2026-07-10'"},
      {"awareness before onset", [](AdverseEvent& a) { a.awareness = "2026-07-09T23:59"; },
       ErrorCode::kInvalidArgument, "is before the onset date"},
      {"follow-up without a reason", [](AdverseEvent& a) { a.id = 1; }, ErrorCode::kInvalidArgument,
       "the reason for the follow-up is empty"},
      {"unknown AE",
       [](AdverseEvent& a) {
         a.id = 99;
         a.reason = "x";
       },
       ErrorCode::kNotFound, "unknown adverse event 99"},
      {"coordinator of another site", nullptr, ErrorCode::kPermissionDenied,
       "may not record adverse events at site 'S1'"},
      {"monitor", nullptr, ErrorCode::kPermissionDenied, "may not record adverse events"},
  };
  for (const auto& c : cases) {
    AdverseEvent ae = Ae();
    std::string user = "inv";
    if (c.change) c.change(ae);
    if (std::string(c.name) == "coordinator of another site") user = "coord2";
    if (std::string(c.name) == "monitor") user = "mon1";
    EXPECT_FAILS(Record(user, ae), c.code, c.message);
    EXPECT_EQ(FullSnapshot(), before) << c.name;
  }
  // The end of study bounds the onset once it is recorded.
  ASSERT_TRUE(store_->RecordItem("coord", ItemKey{subject_, "SFU", "end_of_study", 0, "last_date"},
                                 "2026-07-05", ""));
  const std::string with_end = FullSnapshot();
  EXPECT_FAILS(Record("inv", Ae()), ErrorCode::kInvalidInput,
               "is after subject 1's end of study 2026-07-05");
  EXPECT_EQ(FullSnapshot(), with_end);
  // The seriousness answer and the awareness as written.
  const auto& safety = *Promis().safety;
  EXPECT_FAILS(service::ParseSeriousness(safety, "yes"), ErrorCode::kInvalidArgument,
               "needs at least one seriousness criterion");
  EXPECT_FAILS(service::ParseSeriousness(safety, ""), ErrorCode::kInvalidArgument,
               "needs at least one seriousness criterion");
  EXPECT_FAILS(service::ParseSeriousness(safety, "no,death"), ErrorCode::kInvalidArgument,
               "a non-serious adverse event has no seriousness criterion");
  EXPECT_THAT(OK(service::ParseSeriousness(safety, "hospitalization, life_threatening")),
              ElementsAre("hospitalization", "life_threatening"));
  EXPECT_TRUE(OK(service::ParseSeriousness(safety, "no")).empty());
  EXPECT_FAILS(service::ParseAwareness("2026-02-30T10:00", "--awareness"),
               ErrorCode::kInvalidArgument, "not a UTC date and time");
  EXPECT_FAILS(service::ParseAwareness("2026-07-10T24:00", "--awareness"),
               ErrorCode::kInvalidArgument, "not a UTC date and time");
  EXPECT_EQ(OK(service::ParseAwareness("2026-07-10T09:05", "x")), "2026-07-10T09:05:00.000000Z");
}

TEST_P(SafetyTest, SeriousAeQueuesNotificationsInItsTransaction) {
  AdverseEvent ae = OK(Record("inv", Serious()));
  EXPECT_TRUE(ae.serious());
  auto notes = OK(store_->Notifications());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].recipient, "sponsor");
  EXPECT_EQ(notes[1].recipient, "medical_monitor");
  EXPECT_EQ(notes[0].kind, "sae");
  EXPECT_THAT(notes[0].body, HasSubstr("Serious adverse event 1 version 1 of subject 1"));
  EXPECT_THAT(notes[0].body, HasSubstr("hospitalization"));
  EXPECT_EQ(notes[0].delivered_at, "");
  // Delivery: administrators only, once, audited.
  EXPECT_FAILS(store_->MarkDelivered("inv", notes[0].id, "/x/n1.json"),
               ErrorCode::kPermissionDenied, "administrators only");
  Notification sent = OK(store_->MarkDelivered("admin", notes[0].id, "/x/n1.json"));
  EXPECT_NE(sent.delivered_at, "");
  EXPECT_EQ(LastEvent().action, "notification.deliver");
  EXPECT_FAILS(store_->MarkDelivered("admin", notes[0].id, "/x/n1.json"), ErrorCode::kInvalidInput,
               "already delivered");
  EXPECT_EQ(OK(store_->Notifications())[0].delivered_at, sent.delivered_at);
  EXPECT_FAILS(service::Outbox(*store_, "mon1"), ErrorCode::kPermissionDenied,
               "administrators only");
  EXPECT_EQ(OK(service::Outbox(*store_, "admin")).size(), 2u);
  ExpectIntact();
}

TEST_P(SafetyTest, SaeClocksAtTheEdgeWithTheStoreClock) {
  // Awareness 2026-07-01T00:00: the initial report is due 24 hours later, at 2026-07-02T00:00.
  AdverseEvent ae = Serious();
  ae.onset = *Date::FromYmd(2026, 7, 1);
  ae.awareness = "2026-07-01T00:00:00.000000Z";
  AdverseEvent on_time = OK(Record("inv", ae));
  AdverseEvent late = OK(Record("inv", ae));
  AdverseEvent plain = OK(Record("inv", Ae()));
  const auto& safety = *Promis().safety;
  auto events = OK(store_->AdverseEvents(std::nullopt, std::nullopt));
  auto clocks = service::SaeClocks(safety, events, {}, "2026-07-02T00:00:00.000000Z");
  ASSERT_EQ(clocks.size(), 2u);  // the non-serious AE has none
  EXPECT_EQ(clocks[0].due_at, "2026-07-02T00:00:00.000000Z");
  EXPECT_FALSE(clocks[0].overdue);  // exactly 24 h: still on time
  clocks = service::SaeClocks(safety, events, {}, "2026-07-02T00:00:00.000001Z");
  EXPECT_TRUE(clocks[0].overdue);  // one microsecond later: overdue
  // Reports: at the due instant on time; one second later late.
  ClockAt("2026-07-02T00:00:00Z");
  SaeReport first = OK(service::SubmitSaeReport(*store_, Promis(), "coord", on_time.id, "initial"));
  EXPECT_EQ(first.submitted_at, "2026-07-02T00:00:00.000000Z");
  EXPECT_TRUE(first.on_time);
  ClockAt("2026-07-02T00:00:01Z");
  SaeReport second = OK(service::SubmitSaeReport(*store_, Promis(), "inv", late.id, "initial"));
  EXPECT_FALSE(second.on_time);
  EXPECT_FAILS(service::SubmitSaeReport(*store_, Promis(), "inv", late.id, "initial"),
               ErrorCode::kInvalidInput, "already submitted");
  EXPECT_FAILS(service::SubmitSaeReport(*store_, Promis(), "inv", plain.id, "initial"),
               ErrorCode::kInvalidInput, "is not serious");
  EXPECT_FAILS(service::SubmitSaeReport(*store_, Promis(), "mon1", on_time.id, "follow_up"),
               ErrorCode::kPermissionDenied, "may not report serious adverse events");
  // Follow-up: due sae_follow_up (7 days) after the initial report, edge both sides.
  auto reports = OK(store_->SaeReports(std::nullopt));
  events = OK(store_->AdverseEvents(std::nullopt, std::nullopt));
  clocks = service::SaeClocks(safety, {events[0]}, reports, "2026-07-09T00:00:00.000000Z");
  ASSERT_EQ(clocks.size(), 2u);
  EXPECT_EQ(clocks[1].kind, "follow_up");
  EXPECT_EQ(clocks[1].due_at, "2026-07-09T00:00:00.000000Z");
  EXPECT_FALSE(clocks[1].overdue);
  clocks = service::SaeClocks(safety, {events[0]}, reports, "2026-07-09T00:00:00.000001Z");
  EXPECT_TRUE(clocks[1].overdue);
  EXPECT_FAILS(service::SubmitSaeReport(*store_, Promis(), "inv", plain.id, "follow_up"),
               ErrorCode::kInvalidInput, "is not serious");
  ClockAt("2026-07-09T00:00:00Z");
  SaeReport follow =
      OK(service::SubmitSaeReport(*store_, Promis(), "inv", on_time.id, "follow_up"));
  EXPECT_TRUE(follow.on_time);
  // The board: the late AE's follow-up is due; nothing else pending.
  auto board = OK(service::SafetyAlerts(*store_, Promis(), "mon1", std::nullopt,
                                        "2026-07-20T00:00:00.000000Z"));
  ASSERT_EQ(board.pending.size(), 1u);
  EXPECT_EQ(board.pending[0].ae_id, late.id);
  EXPECT_EQ(board.pending[0].kind, "follow_up");
  EXPECT_TRUE(board.pending[0].overdue);
  EXPECT_FAILS(service::SafetyAlerts(*store_, Promis(), "mon2", std::string("S1"), "x"),
               ErrorCode::kPermissionDenied, "may not see");
  EXPECT_TRUE(
      OK(service::SafetyAlerts(*store_, Promis(), "mon2", std::nullopt, "x")).pending.empty());
  // Acknowledgement by the sponsor, once.
  EXPECT_FAILS(store_->AcknowledgeSaeReport("inv", first.id), ErrorCode::kPermissionDenied,
               "sponsor viewers and administrators only");
  SaeReport acked = OK(store_->AcknowledgeSaeReport("sp", first.id));
  EXPECT_EQ(acked.acknowledged_by, "sp");
  EXPECT_FAILS(store_->AcknowledgeSaeReport("sp", first.id), ErrorCode::kInvalidInput,
               "already acknowledged");
  EXPECT_EQ(LastEvent().action, "sae.acknowledge");
  ExpectIntact();
}

TEST_P(SafetyTest, AlertsDedupConfirmAndDismiss) {
  const std::vector<NewAlert> signals = {
      {"possible_ae", "W2", "lab:W2:anc", R"({"item":"anc","value":"0.4 10*9/L","grade":4})"},
      {"respiratory_failure", "W4", "resp:W4", R"({"spo2":"86 %"})"},
  };
  auto raised = OK(store_->RaiseAlerts("coord", subject_, signals));
  ASSERT_EQ(raised.size(), 2u);
  EXPECT_EQ(raised[0].status, "open");
  const std::string before = FullSnapshot();
  EXPECT_TRUE(OK(store_->RaiseAlerts("coord", subject_, signals)).empty());  // dedup
  EXPECT_EQ(FullSnapshot(), before);
  EXPECT_FAILS(store_->RaiseAlerts("coord2", subject_, signals), ErrorCode::kPermissionDenied,
               "may not change data of site 'S1'");
  EXPECT_FAILS(store_->RaiseAlerts("coord", subject_, {{"x", "", "", ""}}),
               ErrorCode::kInvalidArgument, "dedup key is missing");
  // Dismiss: investigators with a reason.
  EXPECT_FAILS(store_->DismissAlert("inv", raised[1].id, ""), ErrorCode::kInvalidArgument,
               "reason for dismissing is empty");
  EXPECT_FAILS(store_->DismissAlert("coord", raised[1].id, "artefact"),
               ErrorCode::kPermissionDenied, "investigators (of the site) only");
  AlertRecord dismissed = OK(store_->DismissAlert("inv", raised[1].id, "probe artefact"));
  EXPECT_EQ(dismissed.status, "dismissed");
  EXPECT_EQ(dismissed.version, 2);
  EXPECT_FAILS(store_->AcknowledgeAlert("coord", raised[1].id), ErrorCode::kInvalidInput,
               "is dismissed");
  // Acknowledge, then confirm as an AE linked to the alert.
  EXPECT_EQ(OK(store_->AcknowledgeAlert("coord", raised[0].id)).status, "acknowledged");
  AdverseEvent ae = Ae();
  ae.term = "neutrophil_count_decreased";
  ae.grade = 4;
  ae.seriousness = {"important_medical_event"};
  ae.subject_id = 0;  // taken from the alert
  const std::string before_bad = FullSnapshot();
  AdverseEvent bad = ae;
  bad.grade = 5;
  EXPECT_FAILS(service::ConfirmAlert(*store_, Promis(), "inv", raised[0].id, bad),
               ErrorCode::kInvalidArgument, "does not define grade 5");
  EXPECT_EQ(FullSnapshot(), before_bad);
  auto [alert, recorded] = OK(service::ConfirmAlert(*store_, Promis(), "inv", raised[0].id, ae));
  EXPECT_EQ(alert.status, "confirmed");
  EXPECT_EQ(alert.ae_id, recorded.id);
  EXPECT_EQ(recorded.alert_id, raised[0].id);
  EXPECT_EQ(recorded.subject_id, subject_);
  EXPECT_EQ(Count("notifications"), 2);  // serious: both recipients
  EXPECT_FAILS(service::ConfirmAlert(*store_, Promis(), "inv", raised[0].id, ae),
               ErrorCode::kInvalidInput, "is confirmed");
  auto open = OK(store_->Alerts(AlertFilter{std::nullopt, std::nullopt, std::string("open")}));
  EXPECT_TRUE(open.empty());
  // A new signal for the subject is raised; the board shows it to the site only.
  OK(store_->RaiseAlerts("inv", subject_, {{"rp_ild", "W6", "rpild:W6", "{}"}}));
  auto board = OK(service::SafetyAlerts(*store_, Promis(), "mon1", std::nullopt, "x"));
  ASSERT_EQ(board.alerts.size(), 1u);
  EXPECT_EQ(board.alerts[0].alert.kind, "rp_ild");
  EXPECT_TRUE(
      OK(service::SafetyAlerts(*store_, Promis(), "mon2", std::nullopt, "x")).alerts.empty());
  ExpectIntact();
}

TEST_P(SafetyTest, AuditVerifyCatchesTamperedSafetyRows) {
  OK(Record("inv", Serious()));
  auto raised = OK(store_->RaiseAlerts("coord", subject_, {{"possible_ae", "", "k1", "{}"}}));
  OK(store_->MarkDelivered("admin", 1, "/x/n1.json"));
  ExpectIntact();
  const struct {
    const char* table;
    const char* tamper;
    const char* undo;
    const char* message;
  } kCases[] = {
      {"adverse_events", "UPDATE adverse_events SET grade = 2",
       "UPDATE adverse_events SET grade = 3", "a row of adverse_events"},
      {"alerts", "UPDATE alerts SET details = '{\"x\":1}'", "UPDATE alerts SET details = '{}'",
       "a row of alerts"},
      {"notifications", "UPDATE notifications SET body = 'nothing' WHERE id = 2",
       "UPDATE notifications SET body = (SELECT body FROM notifications WHERE id = 1) WHERE id = 2",
       "notification 2 was changed"},
      {"delivered_at", "UPDATE notifications SET delivered_at = '' WHERE id = 1", nullptr,
       "its delivery record says"},
  };
  for (const auto& c : kCases) {
    Sql(c.tamper);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok) << c.table;
    EXPECT_THAT(r.problem, HasSubstr(c.message)) << r.problem;
    if (c.undo != nullptr) {
      Sql(c.undo);
      ExpectIntact();
    }
  }
}

// ---- the journey through the command line ----

// Runs `trial` commands against this test's database with a simulated clock at `now_`.
class SafetyJourney {
 public:
  explicit SafetyJourney(std::string db) : db_(std::move(db)) {
    env_ = app::ProductionEnvironment();
    env_.clock = [this] { return FormatInstant(now_); };
  }
  int Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db_});
    const std::string verb = args[0];
    if (verb == "ae" || verb == "sae" || verb == "alerts" || verb == "alert") {
      args.insert(args.end(), {"--protocol", kProtocolDir});
    }
    std::ostringstream out, err;
    int code = cli::Run(args, out, err, env_);
    out_ = out.str();
    err_ = err.str();
    return code;
  }
  void At(const std::string& instant) { now_ = *ParseInstant(instant); }
  std::string out_, err_;

 private:
  std::string db_;
  cli::Environment env_;
  int64_t now_ = *ParseInstant("2026-07-10T08:00");
};

#define RUN_OK(j, ...)                                      \
  do {                                                      \
    int code_ = (j).Run(__VA_ARGS__);                       \
    ASSERT_EQ(code_, cli::kExitOk) << (j).err_ << (j).out_; \
  } while (0)

class SafetyCliTest : public StoreTest {};

TEST_P(SafetyCliTest, SeriousAeFromReportToDelivery) {
  SafetyJourney j(path_);
  RUN_OK(j, {"init", "--admin", "admin"});
  RUN_OK(j, {"site", "add", "S1", "--name", "Site One", "--user", "admin"});
  RUN_OK(j, {"site", "add", "S2", "--name", "Site Two", "--user", "admin"});
  RUN_OK(j, {"user", "add", "inv", "--role", "investigator", "--sites", "S1", "--user", "admin"});
  RUN_OK(j, {"user", "add", "mon2", "--role", "monitor", "--sites", "S2", "--user", "admin"});
  RUN_OK(j, {"user", "add", "sp", "--role", "sponsor_viewer", "--user", "admin"});
  RUN_OK(j, {"subject", "add", "--site", "S1", "--number", "001", "--user", "inv"});
  const std::vector<std::string> add = {"ae",          "add",
                                        "--subject",   "1",
                                        "--term",      "lung_infection",
                                        "--grade",     "3",
                                        "--onset",     "2026-07-10",
                                        "--awareness", "2026-07-10T09:00",
                                        "--serious",   "hospitalization",
                                        "--related",   "possibly_related",
                                        "--action",    "drug_interrupted",
                                        "--user",      "inv"};
  EXPECT_EQ(j.Run(add), cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("no consent date recorded"));
  RUN_OK(j, {"item", "record", "--subject", "1", "--visit", "SCR", "--form", "consent", "--item",
             "consent_date", "--value", "2026-07-01", "--user", "inv"});
  // Bad usage and bad input: exit codes and messages, nothing stored.
  auto with = [&](const std::string& option, const std::string& value) {
    std::vector<std::string> args = add;
    auto it = std::find(args.begin(), args.end(), option);
    *(it + 1) = value;
    return args;
  };
  EXPECT_EQ(j.Run(with("--onset", "2026-02-30")), cli::kExitUsage);
  EXPECT_THAT(j.err_, HasSubstr("--onset"));
  EXPECT_EQ(j.Run(with("--awareness", "2026-07-10 9am")), cli::kExitUsage);
  EXPECT_THAT(j.err_, HasSubstr("not a UTC date and time"));
  EXPECT_EQ(j.Run(with("--serious", "yes")), cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("needs at least one seriousness criterion"));
  EXPECT_EQ(j.Run(with("--grade", "1")), cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("does not define grade 1"));
  RUN_OK(j, {"ae", "list", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("0 adverse events"));
  RUN_OK(j, add);
  EXPECT_THAT(j.out_, HasSubstr("recorded AE 1 v1"));
  EXPECT_THAT(j.out_, HasSubstr("notified: sponsor, medical_monitor"));
  // The 24-hour clock: due at 2026-07-11T09:00 exactly, overdue one microsecond later.
  j.At("2026-07-11T09:00:00.000000Z");
  RUN_OK(j, {"alerts", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("due     initial SAE report of AE 1"));
  EXPECT_THAT(j.out_, HasSubstr("(0 overdue)"));
  j.At("2026-07-11T09:00:00.000001Z");
  RUN_OK(j, {"alerts", "--user", "inv", "--format", "json"});
  auto board = json::parse(j.out_);
  ASSERT_EQ(board["sae_reports_due"].size(), 1u);
  EXPECT_TRUE(board["sae_reports_due"][0]["overdue"].get<bool>());
  EXPECT_EQ(j.Run({"alerts", "--site", "S1", "--user", "mon2"}), cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("may not see"));
  // Reported at the edge: on time; the follow-up clock starts at the submission.
  j.At("2026-07-11T09:00:00.000000Z");
  RUN_OK(j, {"sae", "report", "1", "--kind", "initial", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("(on time)"));
  j.At("2026-07-18T09:00:00.000001Z");
  RUN_OK(j, {"alerts", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("OVERDUE follow_up SAE report of AE 1"));
  RUN_OK(j, {"sae", "report", "1", "--kind", "follow-up", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("(LATE)"));
  RUN_OK(j, {"sae", "ack", "1", "--user", "sp"});
  EXPECT_THAT(j.out_, HasSubstr("acknowledged 2026-07-18T09:00:00.000001Z by sp"));
  // A follow-up version of the AE.
  RUN_OK(j, {"ae", "update", "1", "--outcome", "recovered", "--resolved", "2026-07-17", "--reason",
             "discharged", "--user", "inv"});
  EXPECT_THAT(j.out_, HasSubstr("AE 1 v2"));
  RUN_OK(j, {"ae", "show", "1", "--user", "inv", "--format", "json"});
  auto shown = json::parse(j.out_);
  EXPECT_EQ(shown["versions"].size(), 2u);
  EXPECT_EQ(shown["reports"].size(), 2u);
  EXPECT_EQ(j.Run({"ae", "list", "--subject", "1", "--user", "mon2"}), cli::kExitInput);
  // The outbox: 4 notifications (two serious versions); one write fails and stays queued.
  RUN_OK(j, {"outbox", "list", "--user", "admin"});
  EXPECT_THAT(j.out_, HasSubstr("4 notifications, 4 queued"));
  std::string tmpl = (fs::temp_directory_path() / "trial-outbox-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  fs::create_directory(dir / "notification-2.json.tmp");  // blocks that file's write
  EXPECT_EQ(j.Run({"outbox", "deliver", "--to", dir.string(), "--user", "admin"}), cli::kExitInput);
  EXPECT_THAT(j.err_, HasSubstr("notification 2 stays queued: cannot create"));
  EXPECT_THAT(j.out_, HasSubstr("3 delivered, 1 failed"));
  std::ifstream f(dir / "notification-1.json");
  json note = json::parse(f);
  EXPECT_EQ(note["recipient"], "sponsor");
  EXPECT_THAT(note["body"].get<std::string>(), HasSubstr("Serious adverse event 1"));
  EXPECT_FALSE(fs::exists(dir / "notification-2.json"));
  fs::remove(dir / "notification-2.json.tmp");
  RUN_OK(j, {"outbox", "deliver", "--to", dir.string(), "--user", "admin"});
  EXPECT_THAT(j.out_, HasSubstr("1 delivered, 0 failed"));
  RUN_OK(j, {"outbox", "list", "--user", "admin"});
  EXPECT_THAT(j.out_, HasSubstr("4 notifications, 0 queued"));
  fs::remove_all(dir);
  RUN_OK(j, {"audit", "verify"});
}

INSTANTIATE_TEST_SUITE_P(Backends, SafetyTest, ::testing::Values("sqlite", "postgres"), ParamName);
INSTANTIATE_TEST_SUITE_P(Backends, SafetyCliTest, ::testing::Values("sqlite", "postgres"),
                         ParamName);

}  // namespace
}  // namespace trial::store
