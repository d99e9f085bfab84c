// Tests of the lab-based dose modification (holds.h) with the real PROMIS-MDA5 table (FACTS.md
// §3.2): each limit at and just beside it, in both count units, ALT/AST as multiples of the
// ULN, persistence, missing and stale labs, and resumption after a hold; and the initiation
// thresholds before the first dose (FACTS.md §3.3), each edge on both sides.
#include "schedule/holds.h"

#include <gtest/gtest.h>

#include "schedule/schedule_test_util.h"

namespace trial::schedule {
namespace {

using testing::D;
using testing::Q;
using testing::RealSchedule;

// The per-dose table (FACTS.md §3.2) alone: most tests below are about doses after the first,
// so the label's initiation thresholds (FACTS.md §3.3) are left out of them; they have their own
// tests at the end, with the table as shipped (RealTable).
const protocol::DoseModification& RealTable() { return RealSchedule().modification; }
const protocol::DoseModification& Table() {
  static const protocol::DoseModification per_dose = [] {
    protocol::DoseModification m = RealTable();
    m.initiation.clear();
    return m;
  }();
  return per_dose;
}

const Date kDose = D("2026-03-16");
const Date kLabDay = D("2026-03-14");

// Every lab normal, two days before the dose.
LabHistory Normal() {
  return {{"anc", {{kLabDay, Q(3.2, "10*9/L"), std::nullopt}}},
          {"platelets", {{kLabDay, Q(250, "10*9/L"), std::nullopt}}},
          {"alt", {{kLabDay, Q(20, "U/L"), Q(40, "U/L")}}},
          {"ast", {{kLabDay, Q(25, "U/L"), Q(40, "U/L")}}}};
}

LabHistory With(const std::string& analyte, const Quantity& value,
                std::optional<Quantity> uln = std::nullopt) {
  LabHistory labs = Normal();
  labs[analyte] = {{kLabDay, value, uln}};
  return labs;
}

DoseDecision Decide(const LabHistory& labs, const std::vector<PastDecision>& history = {}) {
  return DecideDose(Table(), labs, history, kDose).decision;
}

const LabFinding& FindingFor(const DoseVerdict& v, const std::string& analyte) {
  for (const auto& f : v.findings) {
    if (f.analyte == analyte) return f;
  }
  static const LabFinding none;
  ADD_FAILURE() << "no finding for " << analyte;
  return none;
}

TEST(HoldsTest, AllNormalProceeds) {
  DoseVerdict v = DecideDose(Table(), Normal(), {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kProceed);
  EXPECT_TRUE(v.causes.empty());
  ASSERT_EQ(v.findings.size(), 4u);
  EXPECT_EQ(FindingFor(v, "anc").explanation,
            "anc 3.2 10*9/L = 3200 /mm3 on 2026-03-14: ANC > 1000/mm3 -> proceed");
  EXPECT_EQ(v.explanation.rfind("proceed: anc 3.2 10*9/L", 0), 0u) << v.explanation;
}

// ANC: < 500 discontinue; 500 to 1000 (both included) hold; > 1000 proceed.
TEST(HoldsTest, NeutrophilLimitsInBothUnits) {
  struct Case {
    double value;
    const char* unit;
    DoseDecision want;
  };
  const std::vector<Case> cases = {
      {1.001, "10*9/L", DoseDecision::kProceed},
      {1.0, "10*9/L", DoseDecision::kHold},
      {0.999, "10*9/L", DoseDecision::kHold},
      {0.5, "10*9/L", DoseDecision::kHold},
      {0.499, "10*9/L", DoseDecision::kDiscontinue},
      {1001, "/mm3", DoseDecision::kProceed},
      {1000, "/mm3", DoseDecision::kHold},
      {500, "/mm3", DoseDecision::kHold},
      {499, "/mm3", DoseDecision::kDiscontinue},
      {1000, "/uL", DoseDecision::kHold},
      {1001, "/uL", DoseDecision::kProceed},
      {1.0, "10*3/uL", DoseDecision::kHold},
      {0.5, "10*3/uL", DoseDecision::kHold},
      {0.4999, "10*3/uL", DoseDecision::kDiscontinue},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Decide(With("anc", Q(c.value, c.unit))), c.want) << c.value << " " << c.unit;
  }
  DoseVerdict v = DecideDose(Table(), With("anc", Q(1.0, "10*9/L")), {}, kDose);
  EXPECT_EQ(v.causes, std::vector<std::string>{"neutrophils"});
  EXPECT_EQ(v.explanation,
            "hold: anc 1 10*9/L = 1000 /mm3 on 2026-03-14: ANC 500 to 1000/mm3 -> hold");
}

// Platelets: < 50,000 discontinue; 50,000 to 100,000 (both included) hold; > 100,000 proceed.
TEST(HoldsTest, PlateletLimitsInBothUnits) {
  struct Case {
    double value;
    const char* unit;
    DoseDecision want;
  };
  const std::vector<Case> cases = {
      {100.001, "10*9/L", DoseDecision::kProceed}, {100, "10*9/L", DoseDecision::kHold},
      {50, "10*9/L", DoseDecision::kHold},         {49.999, "10*9/L", DoseDecision::kDiscontinue},
      {100001, "/mm3", DoseDecision::kProceed},    {100000, "/mm3", DoseDecision::kHold},
      {50000, "/mm3", DoseDecision::kHold},        {49999, "/mm3", DoseDecision::kDiscontinue},
      {100, "10*3/uL", DoseDecision::kHold},       {101, "10*3/uL", DoseDecision::kProceed},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Decide(With("platelets", Q(c.value, c.unit))), c.want) << c.value << " " << c.unit;
  }
}

// ALT/AST: > 5 x ULN discontinue; > 3 to 5 x hold; > 1 to 3 x reduce when persistent.
TEST(HoldsTest, TransaminaseLimits) {
  const Quantity uln = Q(40, "U/L");
  EXPECT_EQ(Decide(With("alt", Q(40, "U/L"), uln)), DoseDecision::kProceed);  // 1 x ULN
  // A single value above 1 x and up to 3 x ULN is not persistent yet.
  EXPECT_EQ(Decide(With("alt", Q(120, "U/L"), uln)), DoseDecision::kProceed);  // 3 x exactly
  EXPECT_EQ(Decide(With("alt", Q(120.04, "U/L"), uln)), DoseDecision::kHold);  // 3.001 x
  EXPECT_EQ(Decide(With("ast", Q(200, "U/L"), uln)), DoseDecision::kHold);     // 5 x exactly
  EXPECT_EQ(Decide(With("ast", Q(200.04, "U/L"), uln)), DoseDecision::kDiscontinue);
  // The ULN in another unit: 2 ukat/L = 120 U/L = 3 x 40 U/L.
  EXPECT_EQ(Decide(With("alt", Q(2, "ukat/L"), uln)), DoseDecision::kProceed);
  EXPECT_EQ(Decide(With("alt", Q(2.001, "ukat/L"), uln)), DoseDecision::kHold);
  // 0.3 / 0.1 is 2.9999999999999996 in binary; compared exactly it is 3 x ULN.
  EXPECT_EQ(Decide(With("alt", Q(0.3, "ukat/L"), Q(0.1, "ukat/L"))), DoseDecision::kProceed);
  EXPECT_EQ(Decide(With("alt", Q(0.5, "ukat/L"), Q(0.1, "ukat/L"))), DoseDecision::kHold);

  DoseVerdict v = DecideDose(Table(), With("alt", Q(150, "U/L"), uln), {}, kDose);
  EXPECT_EQ(v.causes, std::vector<std::string>{"transaminases"});
  EXPECT_EQ(FindingFor(v, "alt").explanation,
            "alt 150 U/L = 3.75 x ULN (ULN 40 U/L) on 2026-03-14: ALT/AST > 3 to 5 x ULN "
            "(confirm by a repeat test; hold until < 3 x ULN) -> hold");
}

TEST(HoldsTest, PersistentTransaminaseElevation) {
  const Quantity uln = Q(40, "U/L");
  LabHistory labs = Normal();
  labs["alt"] = {{D("2026-03-02"), Q(80, "U/L"), uln}, {kLabDay, Q(100, "U/L"), uln}};
  DoseVerdict v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kReduce);
  EXPECT_EQ(FindingFor(v, "alt").explanation,
            "alt 100 U/L = 2.5 x ULN (ULN 40 U/L) on 2026-03-14: ALT/AST > 1 to 3 x ULN, "
            "persistent -> reduce");
  // A normal value in between breaks the run.
  labs["alt"] = {{D("2026-02-16"), Q(80, "U/L"), uln},
                 {D("2026-03-02"), Q(30, "U/L"), uln},
                 {kLabDay, Q(100, "U/L"), uln}};
  v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kProceed);
  EXPECT_NE(FindingFor(v, "alt").explanation.find("not yet persistent, 1 of 2"), std::string::npos)
      << FindingFor(v, "alt").explanation;
  // Above 3 x ULN on three consecutive assessments: persistently above 3 x, discontinue.
  labs["ast"] = {{D("2026-03-01"), Q(140, "U/L"), uln},
                 {D("2026-03-08"), Q(130, "U/L"), uln},
                 {kLabDay, Q(125, "U/L"), uln}};
  v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kDiscontinue);
  EXPECT_NE(FindingFor(v, "ast").explanation.find("persistent on 3 consecutive assessments"),
            std::string::npos);
  // Two of them (a value and its confirming repeat): hold.
  labs["ast"].erase(labs["ast"].begin());
  EXPECT_EQ(Decide(labs), DoseDecision::kHold);
}

TEST(HoldsTest, MissingStaleOrUnusableLabsAreUnknown) {
  LabHistory labs = Normal();
  labs.erase("platelets");
  DoseVerdict v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kUnknown);
  EXPECT_EQ(v.explanation,
            "unknown (lab needed): platelets: no value on or before 2026-03-16: lab needed");
  EXPECT_EQ(v.causes, std::vector<std::string>{"platelets"});
  // 7 days old is still fresh; 8 days is stale.
  labs = Normal();
  labs["anc"] = {{D("2026-03-09"), Q(3, "10*9/L"), std::nullopt}};
  EXPECT_EQ(Decide(labs), DoseDecision::kProceed);
  labs["anc"] = {{D("2026-03-08"), Q(3, "10*9/L"), std::nullopt}};
  v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kUnknown);
  EXPECT_EQ(FindingFor(v, "anc").explanation,
            "anc 3 10*9/L on 2026-03-08 is 8 days before the dose (more than 7): lab needed");
  // A value after the dose date is not used.
  labs["anc"] = {{D("2026-03-17"), Q(3, "10*9/L"), std::nullopt}};
  EXPECT_EQ(Decide(labs), DoseDecision::kUnknown);
  // ALT without its ULN; a count in a unit that does not convert.
  EXPECT_EQ(Decide(With("alt", Q(20, "U/L"))), DoseDecision::kUnknown);
  EXPECT_EQ(Decide(With("anc", Q(3, "g/L"))), DoseDecision::kUnknown);
}

TEST(HoldsTest, CensoredValuesCountOnlyOnTheSafeSide) {
  // "<10 U/L" cannot be worse than 10 U/L; "<0.5 10*9/L" neutrophils could be far worse.
  EXPECT_EQ(Decide(With("alt", Q(10, "U/L", Comparator::kLt), Q(40, "U/L"))),
            DoseDecision::kProceed);
  EXPECT_EQ(Decide(With("anc", Q(0.5, "10*9/L", Comparator::kLt))), DoseDecision::kUnknown);
  EXPECT_EQ(Decide(With("anc", Q(3, "10*9/L", Comparator::kGt))), DoseDecision::kProceed);
  EXPECT_EQ(Decide(With("alt", Q(300, "U/L", Comparator::kGt), Q(40, "U/L"))),
            DoseDecision::kUnknown);
}

TEST(HoldsTest, TheMostSevereWins) {
  LabHistory labs = With("anc", Q(0.8, "10*9/L"));
  labs["platelets"] = {{kLabDay, Q(40, "10*9/L"), std::nullopt}};
  DoseVerdict v = DecideDose(Table(), labs, {}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kDiscontinue);
  EXPECT_EQ(v.causes, std::vector<std::string>{"platelets"});
  // A hold outranks a missing lab; a missing lab outranks proceed and reduce.
  labs = With("anc", Q(0.8, "10*9/L"));
  labs.erase("alt");
  EXPECT_EQ(Decide(labs), DoseDecision::kHold);
  labs = Normal();
  labs.erase("alt");
  EXPECT_EQ(Decide(labs), DoseDecision::kUnknown);
  labs = Normal();
  labs["ast"] = {{D("2026-03-02"), Q(80, "U/L"), Q(40, "U/L")},
                 {kLabDay, Q(100, "U/L"), Q(40, "U/L")}};  // reduce
  labs.erase("anc");
  EXPECT_EQ(Decide(labs), DoseDecision::kUnknown);
}

TEST(HoldsTest, ResumingAfterANeutropeniaHold) {
  const std::vector<PastDecision> held = {{D("2026-03-02"), DoseDecision::kHold, {"neutrophils"}}};
  // Recovered (ANC > 1000): resume at the reduced dose.
  DoseVerdict v = DecideDose(Table(), Normal(), held, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kReduce);
  EXPECT_EQ(v.causes, std::vector<std::string>{"neutrophils"});
  EXPECT_NE(v.explanation.find("resuming at the reduced dose after the hold of 2026-03-02 "
                               "(neutrophils): reduced dose 1 of 1"),
            std::string::npos)
      << v.explanation;
  // Not recovered: still hold.
  EXPECT_EQ(Decide(With("anc", Q(0.9, "10*9/L")), held), DoseDecision::kHold);
  // After one reduced dose the full dose returns.
  std::vector<PastDecision> resumed = held;
  resumed.push_back({D("2026-03-09"), DoseDecision::kReduce, {"neutrophils"}});
  EXPECT_EQ(Decide(Normal(), resumed), DoseDecision::kProceed);
  // A platelet hold resumes the same way; a transaminase hold does not (its value decides).
  EXPECT_EQ(Decide(Normal(), {{D("2026-03-02"), DoseDecision::kHold, {"platelets"}}}),
            DoseDecision::kReduce);
  EXPECT_EQ(Decide(Normal(), {{D("2026-03-02"), DoseDecision::kHold, {"transaminases"}}}),
            DoseDecision::kProceed);
  // A full dose given after the hold ends the resumption.
  std::vector<PastDecision> full = held;
  full.push_back({D("2026-03-09"), DoseDecision::kProceed, {}});
  EXPECT_EQ(Decide(Normal(), full), DoseDecision::kProceed);
  // A decision dated after the dose is ignored.
  EXPECT_EQ(Decide(Normal(), {{D("2026-03-20"), DoseDecision::kHold, {"neutrophils"}}}),
            DoseDecision::kProceed);
}

TEST(HoldsTest, DiscontinuationIsFinal) {
  DoseVerdict v = DecideDose(Table(), Normal(),
                             {{D("2026-03-02"), DoseDecision::kDiscontinue, {"platelets"}}}, kDose);
  EXPECT_EQ(v.decision, DoseDecision::kDiscontinue);
  EXPECT_EQ(v.explanation, "discontinue: treatment was discontinued on 2026-03-02 (platelets)");
  EXPECT_EQ(v.findings.size(), 4u);  // the labs are still shown
}

// ---- the initiation thresholds (FACTS.md §3.3), before the first dose: history empty ----

const LabFinding& RuleFinding(const DoseVerdict& v, const std::string& rule,
                              const std::string& analyte) {
  for (const auto& f : v.findings) {
    if (f.rule_id == rule && f.analyte == analyte) return f;
  }
  static const LabFinding none;
  ADD_FAILURE() << "no finding of " << rule << " for " << analyte;
  return none;
}

DoseVerdict First(const LabHistory& labs, const std::vector<PastDecision>& history = {}) {
  return DecideDose(RealTable(), labs, history, kDose);
}

TEST(HoldsInitiationTest, AllNormalInitiates) {
  DoseVerdict v = First(Normal());
  EXPECT_EQ(v.decision, DoseDecision::kProceed);
  ASSERT_EQ(v.findings.size(), 8u);  // 4 of the per-dose table, then 4 of the initiation rules
  EXPECT_EQ(v.findings[4].rule_id, "initiation_neutrophils");
  EXPECT_EQ(RuleFinding(v, "initiation_neutrophils", "anc").explanation,
            "anc 3.2 10*9/L = 3200 /mm3 on 2026-03-14: ANC >= 2000/mm3 (may initiate) -> proceed");
}

// ANC < 2000/mm3 does not initiate (FACTS §3.3); 2000 itself initiates.
TEST(HoldsInitiationTest, NeutrophilThresholdInBothUnits) {
  EXPECT_EQ(First(With("anc", Q(2000, "/mm3"))).decision, DoseDecision::kProceed);
  EXPECT_EQ(First(With("anc", Q(2.0, "10*9/L"))).decision, DoseDecision::kProceed);
  EXPECT_EQ(First(With("anc", Q(1999, "/mm3"))).decision, DoseDecision::kHold);
  EXPECT_EQ(First(With("anc", Q(1.999, "10*9/L"))).decision, DoseDecision::kHold);
  // 1.5 x10^9/L: the per-dose table proceeds (> 1000/mm3), the initiation rule holds.
  DoseVerdict v = First(With("anc", Q(1.5, "10*9/L")));
  EXPECT_EQ(v.decision, DoseDecision::kHold);
  EXPECT_EQ(v.causes, std::vector<std::string>{"initiation_neutrophils"});
  EXPECT_EQ(RuleFinding(v, "neutrophils", "anc").decision, DoseDecision::kProceed);
  EXPECT_EQ(v.explanation,
            "hold: anc 1.5 10*9/L = 1500 /mm3 on 2026-03-14: ANC < 2000/mm3 (do not initiate) "
            "-> hold");
  // After the first dose the same value proceeds.
  EXPECT_EQ(First(With("anc", Q(1.5, "10*9/L")), {{D("2026-03-02"), DoseDecision::kProceed, {}}})
                .decision,
            DoseDecision::kProceed);
}

// Platelets < 100,000/mm3 does not initiate (FACTS §3.3); 100,000 itself initiates (the per-dose
// table still holds 100,000: "50,000 to 100,000", FACTS §3.2).
TEST(HoldsInitiationTest, PlateletThresholdInBothUnits) {
  auto init = [](const Quantity& q) {
    return RuleFinding(First(With("platelets", q)), "initiation_platelets", "platelets").decision;
  };
  EXPECT_EQ(init(Q(100000, "/mm3")), DoseDecision::kProceed);
  EXPECT_EQ(init(Q(100, "10*9/L")), DoseDecision::kProceed);
  EXPECT_EQ(init(Q(99999, "/mm3")), DoseDecision::kHold);
  EXPECT_EQ(init(Q(99.999, "10*9/L")), DoseDecision::kHold);
  EXPECT_EQ(First(With("platelets", Q(100.001, "10*9/L"))).decision, DoseDecision::kProceed);
  DoseVerdict v = First(With("platelets", Q(90, "10*9/L")));
  EXPECT_EQ(v.decision, DoseDecision::kHold);
  EXPECT_EQ(v.causes, (std::vector<std::string>{"platelets", "initiation_platelets"}));
  EXPECT_NE(v.explanation.find("platelets < 100,000/mm3 (do not initiate) -> hold"),
            std::string::npos)
      << v.explanation;
}

// ALT/AST > 1.5 x ULN does not initiate (FACTS §3.3); 1.5 x ULN itself initiates.
TEST(HoldsInitiationTest, TransaminaseThreshold) {
  const Quantity uln = Q(40, "U/L");
  EXPECT_EQ(First(With("alt", Q(60, "U/L"), uln)).decision, DoseDecision::kProceed);  // 1.5 x
  EXPECT_EQ(First(With("ast", Q(60, "U/L"), uln)).decision, DoseDecision::kProceed);
  EXPECT_EQ(First(With("alt", Q(60.04, "U/L"), uln)).decision, DoseDecision::kHold);  // 1.501 x
  DoseVerdict v = First(With("ast", Q(61, "U/L"), uln));
  EXPECT_EQ(v.decision, DoseDecision::kHold);
  EXPECT_EQ(v.causes, std::vector<std::string>{"initiation_transaminases"});
  EXPECT_EQ(RuleFinding(v, "initiation_transaminases", "ast").explanation,
            "ast 61 U/L = 1.525 x ULN (ULN 40 U/L) on 2026-03-14: ALT/AST > 1.5 x ULN (do not "
            "initiate) -> hold");
}

TEST(HoldsInitiationTest, MissingLabsAreUnknown) {
  LabHistory labs = Normal();
  labs.erase("platelets");
  DoseVerdict v = First(labs);
  EXPECT_EQ(v.decision, DoseDecision::kUnknown);
  EXPECT_EQ(v.causes, (std::vector<std::string>{"platelets", "initiation_platelets"}));
  EXPECT_EQ(RuleFinding(v, "initiation_platelets", "platelets").explanation,
            "platelets: no value on or before 2026-03-16: lab needed");
  // ALT without its ULN: the times-ULN threshold cannot be checked.
  v = First(With("alt", Q(20, "U/L")));
  EXPECT_EQ(v.decision, DoseDecision::kUnknown);
  EXPECT_EQ(RuleFinding(v, "initiation_transaminases", "alt").decision, DoseDecision::kUnknown);
}

TEST(HoldsInitiationTest, ApplyUntilTreatmentStarts) {
  // Day 0 held for the initiation thresholds: the next dose is still the first, checked again;
  // the hold does not resume at the reduced dose (the initiation rules resume by value).
  const std::vector<PastDecision> held = {
      {D("2026-03-02"), DoseDecision::kHold, {"initiation_neutrophils"}}};
  EXPECT_EQ(First(With("anc", Q(1.8, "10*9/L")), held).decision, DoseDecision::kHold);
  DoseVerdict v = First(Normal(), held);
  EXPECT_EQ(v.decision, DoseDecision::kProceed);
  EXPECT_EQ(v.findings.size(), 8u);
  // A reduced dose given starts treatment too.
  v = First(With("anc", Q(1.8, "10*9/L")), {{D("2026-03-02"), DoseDecision::kReduce, {}}});
  EXPECT_EQ(v.findings.size(), 4u);
  EXPECT_NE(v.decision, DoseDecision::kHold);
}

TEST(HoldsTest, DecisionNames) {
  EXPECT_STREQ(DoseDecisionName(DoseDecision::kProceed), "proceed");
  EXPECT_STREQ(DoseDecisionName(DoseDecision::kReduce), "reduce");
  EXPECT_STREQ(DoseDecisionName(DoseDecision::kUnknown), "unknown");
  EXPECT_STREQ(DoseDecisionName(DoseDecision::kHold), "hold");
  EXPECT_STREQ(DoseDecisionName(DoseDecision::kDiscontinue), "discontinue");
}

}  // namespace
}  // namespace trial::schedule
