// Store-backed randomization (store/randomization_store.cc, service/randomization.h, the
// `randomize`, `unblind` and `randomization golive|verify` verbs) on both backends, with the
// fixture of store_test.cc (store_fixture.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <map>
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
#include "randomization/minimization.h"
#include "randomization/random.h"
#include "service/kits.h"
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

  void MakeEligible(int64_t subject, const std::string& actor = "coord") {
    ScreeningRecord r = Screening(subject, "eligible");
    r.protocol_version = protocol_->version;
    OK(store_->SaveScreening(actor, r));
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
               ErrorCode::kPermissionDenied, "administrators only");
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
               ErrorCode::kInvalidArgument,
               "no allocation list for stratum 'site=S9,ild_at_baseline=present'");
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "inv2", subject_, "present", "r7"),
               ErrorCode::kPermissionDenied, "may not change data of site 'S1'");
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "present", ""),
               ErrorCode::kInvalidArgument, "request id");
  EXPECT_EQ(Snapshot(), snap);
  EXPECT_EQ(StatusOf(subject_), SubjectStatus::kEligible);
  ExpectIntact();
}

TEST_P(RandomizationTest, ExhaustedListIsExtendedFromTheSeed) {
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
      std::string("list for stratum ") + kS1Present +
          " is exhausted: run 'trial randomization extend'");
  EXPECT_EQ(Snapshot(), snap);
  // Only an administrator extends; nothing is stored otherwise.
  EXPECT_FAILS(service::ExtendLists(*store_, *protocol_, "coord", 3, kS1Present),
               ErrorCode::kPermissionDenied, "administrators only");
  EXPECT_FAILS(service::ExtendLists(*store_, *protocol_, "admin", 3, "site=S1,ild=maybe"),
               ErrorCode::kInvalidArgument, "not a stratum of the design");
  EXPECT_EQ(Snapshot(), snap);
  const int64_t added = OK(service::ExtendLists(*store_, *protocol_, "admin", 3, kS1Present));
  EXPECT_GE(added, 3);
  EXPECT_EQ(LastEvent().action, "randomization.extend");
  // The extended list is exactly the prefix of the one long list the seed gives.
  auto design = OK(rnd::FromProtocol(*protocol_, {"S1", "S2"}));
  auto after = OK(store_->RandomizationSetup());
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->extensions.size(), 1u);
  std::vector<RandSlot> s1;
  for (const auto& s : after->slots) {
    if (s.stratum == kS1Present) s1.push_back(s);
  }
  ASSERT_EQ(s1.size(), static_cast<size_t>(length + added));
  rnd::Random rng = rnd::StratumRandom(TestSeed(), kS1Present);
  rnd::AllocationList longer =
      rnd::GenerateList(design, kS1Present, rng, static_cast<int>(s1.size()));
  ASSERT_GE(longer.entries.size(), s1.size());
  for (size_t i = 0; i < s1.size(); ++i) {
    EXPECT_EQ(s1[i].arm, longer.entries[i].arm) << i;
    EXPECT_EQ(s1[i].block, longer.entries[i].block) << i;
    EXPECT_EQ(s1[i].audit_seq,
              i < static_cast<size_t>(length) ? after->audit_seq : after->extensions[0].audit_seq);
  }
  // A stratum with enough free slots is left alone.
  EXPECT_EQ(OK(service::ExtendLists(*store_, *protocol_, "admin", 1, kS1Present)), 0);
  auto a =
      OK(service::Randomize(*store_, *protocol_, "coord", subjects[length], "present", "last"));
  EXPECT_EQ(a.position, length + 1);
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_TRUE(check.ok) << check.detail;
  EXPECT_EQ(check.extensions, 1);
  ExpectIntact();
  // A changed extension slot is caught by both verifications.
  const std::string arm = Sql("SELECT arm FROM rand_slots WHERE stratum = $1 AND position = $2",
                              {std::string(kS1Present), int64_t{length + 2}})[0]
                              .Text(0);
  Sql("UPDATE rand_slots SET arm = $1 WHERE stratum = $2 AND position = $3",
      {std::string(arm == "TCZ" ? "PBO" : "TCZ"), std::string(kS1Present), int64_t{length + 2}});
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("list extension 1"));
  EXPECT_FALSE(OK(service::VerifyRandomization(*store_, *protocol_)).ok);
}

TEST_P(RandomizationTest, SiteAddedAfterGoLiveGetsItsListsByExtension) {
  Prepare();
  GoLive();
  OK(store_->AddSite("admin", Site{"S3", "Site Three"}));
  OK(store_->AddUser("admin", User{"coord3", "Cai", Role::kCoordinator, {"S3"}}));
  auto s = OK(store_->AddSubject("coord3", "S3", "S3-001"));
  MakeEligible(s.id, "coord3");
  std::string snap = Snapshot();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord3", s.id, "absent", "r1"),
               ErrorCode::kInvalidArgument,
               "no allocation list for stratum 'site=S3,ild_at_baseline=absent'");
  EXPECT_EQ(Snapshot(), snap);
  // The design committed at go-live does not list the sites, so it still matches.
  EXPECT_TRUE(OK(service::VerifyRandomization(*store_, *protocol_)).ok);
  const int64_t added = OK(service::ExtendLists(*store_, *protocol_, "admin", 10, ""));
  EXPECT_GE(added, 20);  // the two strata of S3; S1 and S2 have enough
  auto a = OK(service::Randomize(*store_, *protocol_, "coord3", s.id, "absent", "r1"));
  EXPECT_EQ(a.stratum, "site=S3,ild_at_baseline=absent");
  EXPECT_EQ(a.position, 1);
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_TRUE(check.ok) << check.detail;
  ExpectIntact();
  std::string out, err;
  EXPECT_EQ(
      Cli({"randomization", "extend", "--user", "admin", "--free", "5", "--protocol", kProtocolDir},
          &out, &err),
      cli::kExitOk)
      << err;
  EXPECT_THAT(out, HasSubstr("nothing added"));
  EXPECT_EQ(Cli({"randomization", "extend", "--user", "admin", "--free", "zero", "--protocol",
                 kProtocolDir},
                &out, &err),
            cli::kExitUsage);
  EXPECT_THAT(err, HasSubstr("--free must be a whole number"));
}

TEST_P(RandomizationTest, MinimizationIsDrawnAtAllocationAndReplayable) {
  Prepare();
  protocol_->randomization.method = protocol::RandomizationMethod::kMinimization;
  OK(store_->AddUser("admin", User{"coord2", "Cleo", Role::kCoordinator, {"S2"}}));
  const std::string commitment = GoLive();
  EXPECT_EQ(Count("rand_slots"), 0);
  EXPECT_FAILS(service::ExtendLists(*store_, *protocol_, "admin", 5, ""), ErrorCode::kInvalidInput,
               "minimization has no lists to extend");
  // 16 subjects over both sites and both ILD values.
  auto design = OK(rnd::FromProtocol(*protocol_, {"S1", "S2"}));
  std::vector<rnd::PriorAllocation> expected;
  for (int i = 0; i < 16; ++i) {
    const bool s2 = i % 3 == 0;
    const std::string ild = i % 2 == 0 ? "present" : "absent";
    int64_t id = subject_;
    if (i > 0) {
      auto s = OK(
          store_->AddSubject(s2 ? "coord2" : "coord", s2 ? "S2" : "S1", "M-" + std::to_string(i)));
      id = s.id;
      MakeEligible(id, s2 ? "coord2" : "coord");
    }
    auto a = service::Randomize(*store_, *protocol_, s2 && i > 0 ? "coord2" : "coord", id, ild,
                                "m" + std::to_string(i));
    ASSERT_TRUE(a.has_value()) << a.error().message;
    char number[16];
    std::snprintf(number, sizeof number, "R-%04d", i + 1);
    EXPECT_EQ(a->randomization_number, number);
    // The engine alone, fed the same history, draws the same arm.
    auto levels = OK(rnd::ParseStratumKey(design, a->stratum));
    rnd::Random rng = rnd::AllocationRandom(TestSeed(), i + 1);
    const int arm = OK(rnd::Minimize(design, expected, levels, rng));
    EXPECT_EQ(OK(store_->ArmOf(id)).value_or(""), design.arms[static_cast<size_t>(arm)].id) << i;
    expected.push_back(rnd::PriorAllocation{levels, arm});
  }
  EXPECT_EQ(Count("rand_slots"), 16);
  auto check = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_TRUE(check.ok) << check.detail;
  ExpectIntact();
  auto setup = OK(store_->RandomizationSetup());
  ASSERT_TRUE(setup.has_value());
  EXPECT_EQ(setup->commitment, commitment);
  // Flipping one drawn arm breaks the audit trail and the replay.
  const RandSlot& slot = setup->slots[3];
  Sql("UPDATE rand_slots SET arm = $1 WHERE stratum = $2 AND position = $3",
      {std::string(slot.arm == "TCZ" ? "PBO" : "TCZ"), slot.stratum, int64_t{slot.position}});
  Restart();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("allocation of subject"));
  auto broken = OK(service::VerifyRandomization(*store_, *protocol_));
  EXPECT_FALSE(broken.ok);
  EXPECT_THAT(broken.detail, HasSubstr("the seed and the earlier allocations give"));
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
               ErrorCode::kPermissionDenied, "investigators of the site only");
  EXPECT_FAILS(store_->EmergencyUnblind("inv2", subject_, "anaphylaxis"),
               ErrorCode::kPermissionDenied, "investigators of the site only");
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

// Issue 4: at least 16 concurrent randomizations from 2 processes. Each process runs 8 threads,
// each with its own connection; one extra subject is contested by both processes. Afterwards no
// slot is used twice, each stratum's positions are 1..n without a gap, no subject is allocated
// twice, and both the audit trail and the commitment verify.
TEST_P(RandomizationTest, ConcurrentRandomizationsFromTwoProcesses) {
  Prepare();
  OK(store_->AddUser("admin", User{"coord2", "Cleo", Role::kCoordinator, {"S2"}}));
  GoLive();
  // Kits at both sites, so every randomization also hands out its first kit.
  OK(service::GenerateKits(*store_, *protocol_, "admin", 40, "LOT-C",
                           Date::Parse("2027-06-30").value(), TestSeed()));
  for (const auto& [site, user] : {std::pair{"S1", "coord"}, std::pair{"S2", "coord2"}}) {
    auto shipment = OK(service::ShipKitCount(*store_, *protocol_, "admin", site, 20));
    OK(store_->ReceiveShipment(user, shipment.id, {}));
  }
  constexpr int kPerProcess = 8;
  struct Planned {
    int64_t id;
    std::string actor;
    std::string ild;
  };
  std::vector<Planned> planned;  // 2 x kPerProcess, over both sites and both ILD values
  for (int i = 0; i < 2 * kPerProcess; ++i) {
    const bool s2 = i % 2 == 1;
    const std::string actor = s2 ? "coord2" : "coord";
    int64_t id = subject_;
    if (i > 0) {
      id = OK(store_->AddSubject(actor, s2 ? "S2" : "S1", "P-" + std::to_string(i))).id;
      MakeEligible(id, actor);
    }
    planned.push_back(Planned{id, actor, i % 4 < 2 ? "present" : "absent"});
  }
  const int64_t contested = NewEligibleSubject("P-contested");
  std::vector<pid_t> children;
  for (int p = 0; p < 2; ++p) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: its own connections only; reports through its exit status.
      std::atomic<int> failures{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < kPerProcess; ++t) {
        threads.emplace_back([&, t] {
          auto conn = OpenConnection();
          if (conn == nullptr) {
            ++failures;
            return;
          }
          TrialStore mine(std::move(conn), TestClock());
          const Planned& s = planned[static_cast<size_t>(p * kPerProcess + t)];
          if (!service::Randomize(mine, *protocol_, s.actor, s.id, s.ild,
                                  "p" + std::to_string(p) + "-" + std::to_string(t))) {
            ++failures;
          }
          if (t == 0) {  // both processes try the contested subject; one must win
            (void)service::Randomize(mine, *protocol_, "coord", contested, "present",
                                     "contested-" + std::to_string(p));
          }
        });
      }
      for (auto& th : threads) th.join();
      _exit(failures.load() == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a child failed to randomize";
  }
  Restart();
  EXPECT_EQ(Count("allocations"), 2 * kPerProcess + 1);
  std::map<std::string, std::set<int>> positions;
  std::set<std::string> numbers;
  for (const auto& s : planned) {
    auto a = OK(store_->AllocationOf(s.id));
    ASSERT_TRUE(a.has_value()) << "subject " << s.id << " not allocated";
    EXPECT_TRUE(positions[a->stratum].insert(a->position).second) << "slot used twice";
    numbers.insert(a->randomization_number);
  }
  auto won = OK(store_->AllocationOf(contested));
  ASSERT_TRUE(won.has_value());
  // Every allocation handed out exactly one kit, of its arm, and no kit twice.
  std::set<std::string> kits;
  planned.push_back(Planned{contested, "coord", "present"});
  for (const auto& s : planned) {
    auto given = OK(store_->Dispensings(s.id));
    ASSERT_EQ(given.size(), 1u) << "subject " << s.id;
    EXPECT_TRUE(kits.insert(given[0].kit_number).second) << "kit used twice";
  }
  EXPECT_EQ(Count("dispensings"), 2 * kPerProcess + 1);
  const auto arm_mismatches = Sql(
      "SELECT count(*) FROM dispensings d JOIN kits k ON k.kit_number = d.kit_number JOIN "
      "allocations a ON a.subject_id = d.subject_id JOIN rand_slots s ON s.stratum = a.stratum AND "
      "s.position = a.position WHERE k.arm <> s.arm");
  EXPECT_EQ(arm_mismatches[0].Int(0), 0);
  EXPECT_TRUE(positions[won->stratum].insert(won->position).second);
  numbers.insert(won->randomization_number);
  EXPECT_EQ(numbers.size(), static_cast<size_t>(2 * kPerProcess + 1));
  for (const auto& [stratum, used] : positions) {
    EXPECT_EQ(*used.rbegin(), static_cast<int>(used.size())) << stratum << " has a gap";
  }
  ExpectIntact();
  EXPECT_TRUE(OK(service::VerifyRandomization(*store_, *protocol_)).ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, RandomizationTest, ::testing::Values("sqlite", "postgres"),
                         ParamName);

}  // namespace
}  // namespace trial::store
