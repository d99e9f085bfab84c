// Store-backed randomization (store/randomization_store.cc, service/randomization.h, the
// `randomize`, `unblind` and `randomization golive|verify` verbs) on both backends, with the
// fixture of store_test.cc (store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"
#include "protocol/protocol.h"
#include "randomization/blocks.h"
#include "randomization/design.h"
#include "randomization/random.h"
#include "service/randomization.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

namespace rnd = trial::randomization;

const char* kProtocolDir = "protocols/promis-mda5";
const char* kS1Present = "site=S1,ild_at_baseline=present";

rnd::Seed TestSeed() {
  rnd::Seed s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + 3);
  return s;
}

class RandomizationTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto p = protocol::Load(kProtocolDir);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    protocol_ = std::move(*p);
  }

  // Populate(), investigators `inv` (S1) and `inv2` (S2), subject_ made eligible.
  void Prepare() {
    Populate();
    OK(store_->AddUser("admin", User{"inv", "Ivy", Role::kInvestigator, {"S1"}}));
    OK(store_->AddUser("admin", User{"inv2", "Ian", Role::kInvestigator, {"S2"}}));
    MakeEligible(subject_);
  }

  void MakeEligible(int64_t subject) {
    ScreeningRecord r = Screening(subject, "eligible");
    r.protocol_version = protocol_->version;
    OK(store_->SaveScreening("coord", r));
  }

  int64_t NewEligibleSubject(const std::string& number) {
    auto s = OK(store_->AddSubject("coord", "S1", number));
    MakeEligible(s.id);
    return s.id;
  }

  std::string GoLive() {
    return OK(service::GoLive(*store_, *protocol_, {"S1", "S2"}, "admin", TestSeed()));
  }

  // The arm the engine's list gives `stratum` at `position`.
  std::string EngineArm(const std::string& stratum, int position) {
    auto design = rnd::FromProtocol(*protocol_, {"S1", "S2"});
    EXPECT_TRUE(design.has_value());
    if (!design) return "";
    for (const auto& list : rnd::GenerateAll(*design, TestSeed(), protocol_->target_enrollment)) {
      for (const auto& e : list.entries) {
        if (e.stratum == stratum && e.position == position) return e.arm;
      }
    }
    return "";
  }

  int Cli(const std::vector<std::string>& args, std::string* out, std::string* err) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--db", path_});
    std::ostringstream o, e;
    int code = cli::Run(full, o, e, app::ProductionEnvironment());
    *out = o.str();
    *err = e.str();
    return code;
  }

  std::unique_ptr<protocol::Protocol> protocol_;
};

TEST_P(RandomizationTest, GoLiveOnce) {
  Prepare();
  const int64_t before = EventCount();
  std::string commitment = GoLive();
  EXPECT_EQ(commitment.size(), 64u);
  EXPECT_EQ(EventCount(), before + 1);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "randomization.golive");
  EXPECT_THAT(e.new_value, HasSubstr(commitment));
  EXPECT_THAT(e.new_value, HasSubstr("slots_sha256"));
  EXPECT_THAT(e.new_value, ::testing::Not(HasSubstr("TCZ|")));
  auto setup = OK(store_->RandomizationSetup());
  ASSERT_TRUE(setup.has_value());
  EXPECT_EQ(setup->commitment, commitment);
  EXPECT_EQ(setup->audit_seq, e.seq);
  EXPECT_EQ(Count("rand_slots"), static_cast<int64_t>(setup->slots.size()));
  EXPECT_THAT(e.new_value, HasSubstr("\"slot_count\":" + std::to_string(setup->slots.size())));
  EXPECT_THAT(e.new_value, ::testing::Not(HasSubstr("\"TCZ\"")));
  EXPECT_THAT(e.new_value, ::testing::Not(HasSubstr(setup->seed_hex)));
  // 2 sites x 2 ILD values, each at least target_enrollment long.
  std::map<std::string, int> per_stratum;
  for (const auto& s : setup->slots) ++per_stratum[s.stratum];
  EXPECT_EQ(per_stratum.size(), 4u);
  for (const auto& [k, n] : per_stratum) EXPECT_GE(n, protocol_->target_enrollment) << k;
  std::string before2 = Snapshot();
  EXPECT_FAILS(service::GoLive(*store_, *protocol_, {"S1", "S2"}, "admin", TestSeed()),
               ErrorCode::kInvalidInput, "already live");
  EXPECT_EQ(Snapshot(), before2);
  ExpectIntact();
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_TRUE(check.ok) << check.detail;
  EXPECT_EQ(check.slots, static_cast<int64_t>(setup->slots.size()));
}

TEST_P(RandomizationTest, GoLiveNeedsAnAdministrator) {
  Prepare();
  std::string before = Snapshot();
  EXPECT_FAILS(service::GoLive(*store_, *protocol_, {"S1", "S2"}, "coord", TestSeed()),
               ErrorCode::kInvalidArgument, "administrators only");
  EXPECT_EQ(Snapshot(), before);
}

TEST_P(RandomizationTest, RandomizeHappyPathAndRetry) {
  Prepare();
  GoLive();
  const int64_t before = EventCount();
  auto a = OK(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-1"));
  EXPECT_EQ(a.randomization_number, "R-0001");
  EXPECT_EQ(a.stratum, kS1Present);
  EXPECT_EQ(a.position, 1);
  EXPECT_EQ(StatusOf(subject_), SubjectStatus::kRandomized);
  EXPECT_EQ(EventCount(), before + 2);  // allocation and status
  auto events = AllEvents();
  const AuditEvent& alloc = events[events.size() - 2];
  EXPECT_EQ(alloc.action, "randomization.allocate");
  EXPECT_THAT(alloc.new_value, HasSubstr("R-0001"));
  EXPECT_THAT(alloc.new_value, HasSubstr(kS1Present));
  EXPECT_THAT(alloc.new_value, ::testing::Not(HasSubstr("TCZ")));
  EXPECT_THAT(alloc.new_value, ::testing::Not(HasSubstr("PBO")));
  EXPECT_EQ(events.back().action, "subject.status");
  auto used = Sql("SELECT subject_id FROM allocations WHERE stratum = $1 AND position = 1",
                  {std::string(kS1Present)});
  ASSERT_EQ(used.size(), 1u);
  EXPECT_EQ(used[0].Int(0), subject_);
  // A retry with the same request id: the same allocation, nothing written.
  std::string snap = Snapshot();
  auto again = OK(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-1"));
  EXPECT_EQ(again.randomization_number, "R-0001");
  EXPECT_EQ(again.position, 1);
  EXPECT_EQ(Snapshot(), snap);
  // Another request for the same subject.
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-2"),
               ErrorCode::kInvalidInput, "already randomized as R-0001");
  // The same request id for another subject.
  int64_t other = NewEligibleSubject("S1-002");
  snap = Snapshot();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", other, "present", "req-1"),
               ErrorCode::kInvalidInput, "already used");
  EXPECT_EQ(Snapshot(), snap);
  auto b = OK(service::Randomize(*store_, *protocol_, "coord", other, "absent", "req-3"));
  EXPECT_EQ(b.randomization_number, "R-0002");
  EXPECT_EQ(b.stratum, "site=S1,ild_at_baseline=absent");
  EXPECT_EQ(b.position, 1);
  EXPECT_EQ(OK(store_->ArmOf(other)).value_or(""), EngineArm(b.stratum, 1));
  ExpectIntact();
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_TRUE(check.ok) << check.detail;
}

TEST_P(RandomizationTest, RefusedRandomizations) {
  Prepare();
  // Not live yet.
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "r0"),
               ErrorCode::kInvalidInput, "not live");
  GoLive();
  std::string snap = Snapshot();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", 999, "present", "r1"),
               ErrorCode::kNotFound, "unknown subject 999");
  auto screening = OK(store_->AddSubject("coord", "S1", "S1-002"));
  auto failed = OK(store_->AddSubject("coord", "S1", "S1-003"));
  OK(store_->SaveScreening("coord", Screening(failed.id, "ineligible")));
  snap = Snapshot();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", screening.id, "present", "r2"),
               ErrorCode::kInvalidInput, "is screening");
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", failed.id, "present", "r3"),
               ErrorCode::kInvalidInput, "is screen_failed");
  // Eligible, but screened under another protocol version.
  auto old = OK(store_->AddSubject("coord", "S1", "S1-004"));
  ScreeningRecord r = Screening(old.id, "eligible");
  r.protocol_version = "0.9-other";
  OK(store_->SaveScreening("coord", r));
  snap = Snapshot();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", old.id, "present", "r4"),
               ErrorCode::kInvalidInput, "protocol version 0.9-other");
  // Bad stratum values; an unknown stratum at the store; no access.
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "maybe", "r5"),
               ErrorCode::kInvalidArgument, "'maybe' is not a value");
  EXPECT_FAILS(store_->Randomize("coord", subject_, "site=S9,ild_at_baseline=present", "r6",
                                 protocol_->version),
               ErrorCode::kInvalidArgument, "unknown stratum 'site=S9,ild_at_baseline=present'");
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "inv2", subject_, "present", "r7"),
               ErrorCode::kInvalidArgument, "may not change data of site 'S1'");
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "present", ""),
               ErrorCode::kInvalidArgument, "request id");
  EXPECT_EQ(Snapshot(), snap);
  EXPECT_EQ(StatusOf(subject_), SubjectStatus::kEligible);
  ExpectIntact();
}

TEST_P(RandomizationTest, ExhaustedList) {
  Prepare();
  protocol_->target_enrollment = 2;  // lists of one block (2 or 4 entries)
  GoLive();
  auto setup = OK(store_->RandomizationSetup());
  ASSERT_TRUE(setup.has_value());
  int length = 0;
  for (const auto& s : setup->slots) length += s.stratum == kS1Present ? 1 : 0;
  ASSERT_GE(length, 2);
  ASSERT_LE(length, 4);
  std::vector<int64_t> subjects = {subject_};
  for (int i = 2; i <= length + 1; ++i)
    subjects.push_back(NewEligibleSubject("S1-10" + std::to_string(i)));
  for (int i = 0; i < length; ++i) {
    auto a = OK(service::Randomize(*store_, *protocol_, "coord", subjects[i], "present",
                                   "x" + std::to_string(i)));
    EXPECT_EQ(a.position, i + 1);
  }
  std::string snap = Snapshot();
  EXPECT_FAILS(
      service::Randomize(*store_, *protocol_, "coord", subjects[length], "present", "last"),
      ErrorCode::kInvalidInput,
      std::string("list for stratum ") + kS1Present + " is exhausted: extend it");
  EXPECT_EQ(Snapshot(), snap);
  ExpectIntact();
}

TEST_P(RandomizationTest, NoArmOnTheRandomizePath) {
  Prepare();
  GoLive();
  auto a = OK(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-1"));
  for (const std::string& field : {a.randomization_number, a.stratum, a.request_id, a.at, a.user}) {
    EXPECT_THAT(field, ::testing::Not(HasSubstr("TCZ")));
    EXPECT_THAT(field, ::testing::Not(HasSubstr("PBO")));
  }
  int64_t other = NewEligibleSubject("S1-002");
  std::string out, err;
  int code = Cli({"randomize", "--subject", std::to_string(other), "--ild", "present", "--user",
                  "coord", "--request-id", "cli-1", "--protocol", kProtocolDir},
                 &out, &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(out, "R-0002\n");
  EXPECT_THAT(out + err, ::testing::Not(HasSubstr("TCZ")));
  EXPECT_THAT(out + err, ::testing::Not(HasSubstr("PBO")));
  // Bad input: one line, nothing stored.
  Restart();
  std::string snap = Snapshot();
  code = Cli({"randomize", "--subject", std::to_string(other), "--ild", "maybe", "--user", "coord",
              "--protocol", kProtocolDir},
             &out, &err);
  EXPECT_EQ(code, cli::kExitUsage);
  EXPECT_EQ(out, "");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  code = Cli({"randomize", "--subject", "999", "--ild", "present", "--user", "coord", "--protocol",
              kProtocolDir},
             &out, &err);
  EXPECT_EQ(code, cli::kExitInput);
  EXPECT_THAT(err, HasSubstr("unknown subject 999"));
  EXPECT_EQ(Snapshot(), snap);
  // verify through the command line.
  code = Cli({"randomization", "verify", "--protocol", kProtocolDir}, &out, &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_THAT(out, HasSubstr("commitment verified: "));
}

TEST_P(RandomizationTest, EmergencyUnblind) {
  Prepare();
  GoLive();
  auto a = OK(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-1"));
  int64_t not_randomized = NewEligibleSubject("S1-002");
  std::string snap = Snapshot();
  EXPECT_FAILS(store_->EmergencyUnblind("inv", subject_, "  "), ErrorCode::kInvalidArgument,
               "needs a reason");
  EXPECT_FAILS(store_->EmergencyUnblind("coord", subject_, "anaphylaxis"),
               ErrorCode::kInvalidArgument, "investigators of the site only");
  EXPECT_FAILS(store_->EmergencyUnblind("inv2", subject_, "anaphylaxis"),
               ErrorCode::kInvalidArgument, "investigators of the site only");
  EXPECT_FAILS(store_->EmergencyUnblind("inv", not_randomized, "anaphylaxis"),
               ErrorCode::kInvalidInput, "not randomized");
  EXPECT_FAILS(store_->EmergencyUnblind("inv", 999, "anaphylaxis"), ErrorCode::kNotFound,
               "unknown subject");
  EXPECT_EQ(Snapshot(), snap);
  const int64_t before = EventCount();
  std::string arm = OK(store_->EmergencyUnblind("inv", subject_, "anaphylaxis"));
  EXPECT_EQ(arm, EngineArm(a.stratum, a.position));
  EXPECT_EQ(OK(store_->ArmOf(subject_)).value_or(""), arm);
  EXPECT_EQ(EventCount(), before + 1);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "unblind.emergency");
  EXPECT_EQ(e.user, "inv");
  EXPECT_EQ(e.reason, "anaphylaxis");
  EXPECT_EQ(e.subject_id, std::to_string(subject_));
  auto notes = OK(store_->Notifications());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0].recipient, "sponsor");
  EXPECT_EQ(notes[1].recipient, "medical_monitor");
  for (const auto& n : notes) {
    EXPECT_EQ(n.audit_seq, e.seq);
    EXPECT_EQ(n.delivered_at, "");
    EXPECT_THAT(n.body, HasSubstr(a.randomization_number));
  }
  EXPECT_EQ(Count("unblindings"), 1);
  // Through the command line: the arm is printed.
  std::string out, err;
  int code = Cli(
      {"unblind", "--subject", std::to_string(subject_), "--reason", "overdose", "--user", "inv"},
      &out, &err);
  EXPECT_EQ(code, 0) << err;
  EXPECT_EQ(out, arm + "\n");
  code = Cli({"unblind", "--subject", std::to_string(subject_), "--user", "inv"}, &out, &err);
  EXPECT_EQ(code, cli::kExitUsage);
  Restart();
  EXPECT_EQ(Count("notifications"), 4);
  ExpectIntact();
}

TEST_P(RandomizationTest, TamperedSlotIsDetected) {
  Prepare();
  GoLive();
  OK(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "req-1"));
  OK(store_->EmergencyUnblind("inv", subject_, "anaphylaxis"));
  Restart();
  ExpectIntact();
  auto setup = OK(store_->RandomizationSetup());
  ASSERT_TRUE(setup.has_value());
  const std::string stratum = "site=S2,ild_at_baseline=absent";
  std::string arm =
      Sql("SELECT arm FROM rand_slots WHERE stratum = $1 AND position = 3", {stratum})[0].Text(0);
  std::string flipped = arm == "TCZ" ? "PBO" : "TCZ";
  Sql("UPDATE rand_slots SET arm = $1 WHERE stratum = $2 AND position = 3", {flipped, stratum});
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, setup->audit_seq) << r.problem;
  EXPECT_THAT(r.problem, HasSubstr("audit event " + std::to_string(setup->audit_seq)));
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_FALSE(check.ok);
  EXPECT_THAT(check.detail, ::testing::Not(::testing::IsEmpty()));
  std::string out, err;
  EXPECT_EQ(Cli({"randomization", "verify", "--protocol", kProtocolDir}, &out, &err),
            cli::kExitAuditBroken);
  EXPECT_THAT(err, HasSubstr("NOT verified"));
  // Restored: intact again.
  Sql("UPDATE rand_slots SET arm = $1 WHERE stratum = $2 AND position = 3", {arm, stratum});
  Restart();
  ExpectIntact();
  EXPECT_TRUE(OK(service::VerifyRandomization(*store_, *protocol_)).ok);
  // A deleted notification is caught through the unblinding event.
  Sql("DELETE FROM notifications WHERE recipient = 'sponsor'");
  Restart();
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("unblinding"));
}

TEST_P(RandomizationTest, ConcurrentRandomizations) {
  Prepare();
  GoLive();
  constexpr int kThreads = 8;
  std::vector<int64_t> subjects = {subject_};
  for (int i = 2; i <= kThreads; ++i)
    subjects.push_back(NewEligibleSubject("S1-20" + std::to_string(i)));
  std::vector<Allocation> got(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conn = OpenConnection();
      if (conn == nullptr) {
        errors[t] = "cannot open";
        return;
      }
      TrialStore mine(std::move(conn), TestClock());
      auto a = mine.Randomize("coord", subjects[t], kS1Present, "c" + std::to_string(t),
                              protocol_->version);
      if (a) {
        got[t] = *a;
      } else {
        errors[t] = a.error().message;
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<int> positions;
  std::set<std::string> numbers;
  std::set<int64_t> randomized;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(errors[t], "") << "thread " << t;
    positions.insert(got[t].position);
    numbers.insert(got[t].randomization_number);
    randomized.insert(got[t].subject_id);
  }
  EXPECT_EQ(positions, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(numbers.size(), 8u);
  EXPECT_EQ(randomized.size(), 8u);
  EXPECT_EQ(Count("allocations"), 8);
  Restart();
  ExpectIntact();
}

INSTANTIATE_TEST_SUITE_P(Backends, RandomizationTest, ::testing::Values("sqlite", "postgres"),
                         ParamName);

}  // namespace
}  // namespace trial::store
