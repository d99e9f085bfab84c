// Tests of the dose computation and preparation (dose.h) against hand-computed values, with the
// real PROMIS-MDA5 dosing: 8 mg/kg (reduced 4 mg/kg), cap 800 mg, nearest 1 mg, 20 mg/mL,
// vials 80/200/400 mg, 100 mL bags, least waste first.
#include "schedule/dose.h"

#include <gtest/gtest.h>

#include "schedule/schedule_test_util.h"

namespace trial::schedule {
namespace {

using testing::D;
using testing::Q;
using testing::RealSchedule;

const protocol::Dosing& Dosing() { return RealSchedule().dosing; }

DosePlan Plan(const Quantity& weight, DoseLevel level = DoseLevel::kFull) {
  auto plan = PlanDose(Dosing(), weight, level);
  EXPECT_TRUE(plan.has_value()) << plan.error().message;
  return plan ? *plan : DosePlan{};
}

std::string Vials(const std::vector<VialUse>& vials) {
  std::string out;
  for (const auto& v : vials) {
    out += (out.empty() ? "" : " + ") + std::to_string(v.count) + "x" +
           std::to_string(v.content_ug / 1000);
  }
  return out;
}

TEST(DoseTest, FortyFiveKilograms) {
  DosePlan p = Plan(Q(45, "kg"));
  EXPECT_EQ(p.weight_mg, 45000000);
  EXPECT_EQ(p.computed_ug, 360000);  // 8 x 45 = 360 mg
  EXPECT_EQ(p.dose_ug, 360000);
  EXPECT_FALSE(p.capped);
  EXPECT_EQ(p.drug_volume_ul, 18000);         // 360 / 20 = 18 mL
  EXPECT_EQ(Vials(p.vials), "1x200 + 2x80");  // exactly 360 mg, nothing wasted
  EXPECT_EQ(p.vials_content_ug, 360000);
  EXPECT_EQ(p.waste_ug, 0);
  EXPECT_EQ(p.saline_withdrawn_ul, 18000);
  EXPECT_EQ(p.final_volume_ul, 100000);
  EXPECT_EQ(p.infusion_minutes, 60);
  ASSERT_EQ(p.steps.size(), 5u);
  EXPECT_EQ(p.steps[0], "weight: 45 kg");
  EXPECT_EQ(p.steps[1],
            "dose: 8 mg/kg x 45 kg = 360 mg, rounded to the nearest 1 mg (ties down): 360 mg");
  EXPECT_EQ(p.steps[2], "volume: 360 mg / 20 mg/mL = 18 mL");
  EXPECT_EQ(p.steps[3],
            "vials: 1 x 200 mg (10 mL) + 2 x 80 mg (4 mL) = 360 mg, discard 0 mg (least waste, "
            "then fewest vials)");
  EXPECT_EQ(p.steps[4],
            "dilution: withdraw 18 mL of 0.9% sodium chloride from a 100 mL bag, add 18 mL of "
            "drug: 100 mL, infused over 60 minutes");
}

TEST(DoseTest, OneHundredKilogramsReachesTheCapExactly) {
  DosePlan p = Plan(Q(100, "kg"));
  EXPECT_EQ(p.dose_ug, 800000);
  EXPECT_FALSE(p.capped);  // 800 mg is the cap, not above it
  EXPECT_EQ(p.drug_volume_ul, 40000);
  EXPECT_EQ(Vials(p.vials), "2x400");
  EXPECT_EQ(p.saline_withdrawn_ul, 40000);
}

TEST(DoseTest, HeavierSubjectsAreCapped) {
  DosePlan p = Plan(Q(120, "kg"));
  EXPECT_EQ(p.computed_ug, 960000);
  EXPECT_EQ(p.dose_ug, 800000);
  EXPECT_TRUE(p.capped);
  EXPECT_EQ(p.steps[2], "cap: above the cap of 800 mg per infusion: 800 mg");
  // Just above 100 kg: 100.0001 kg x 8 = 800.0008 mg rounds to 800 mg, not capped.
  EXPECT_FALSE(Plan(Q(100.0001, "kg")).capped);
  // 100.07 kg x 8 = 800.56 mg rounds to 801 mg: capped to 800.
  DosePlan over = Plan(Q(100.07, "kg"));
  EXPECT_EQ(over.computed_ug, 801000);
  EXPECT_EQ(over.dose_ug, 800000);
  EXPECT_TRUE(over.capped);
}

TEST(DoseTest, ReducedDoses) {
  DosePlan p = Plan(Q(45, "kg"), DoseLevel::kReduced);
  EXPECT_EQ(p.ug_per_kg, 4000);
  EXPECT_EQ(p.dose_ug, 180000);        // 4 x 45 = 180 mg
  EXPECT_EQ(p.drug_volume_ul, 9000);   // 9 mL
  EXPECT_EQ(Vials(p.vials), "1x200");  // 20 mg discarded beats 80+80+80 (60 mg discarded)
  EXPECT_EQ(p.waste_ug, 20000);
  EXPECT_EQ(p.steps[1],
            "dose: 4 mg/kg (reduced) x 45 kg = 180 mg, rounded to the nearest 1 mg (ties down): "
            "180 mg");
  EXPECT_EQ(Plan(Q(100, "kg"), DoseLevel::kReduced).dose_ug, 400000);
  DosePlan heavy = Plan(Q(250, "kg"), DoseLevel::kReduced);  // 1000 mg, capped
  EXPECT_EQ(heavy.dose_ug, 800000);
  EXPECT_TRUE(heavy.capped);
}

TEST(DoseTest, WeightInPoundsOrGramsIsConverted) {
  // 100 [lb_av] = 45.359237 kg exactly; x 8 = 362.873896 mg -> 363 mg = 18.15 mL.
  DosePlan lb = Plan(Q(100, "[lb_av]"));
  EXPECT_EQ(lb.weight_mg, 45359237);
  EXPECT_EQ(lb.dose_ug, 363000);
  EXPECT_EQ(lb.drug_volume_ul, 18150);
  EXPECT_EQ(lb.steps[0], "weight: 100 [lb_av] = 45.359237 kg");
  EXPECT_EQ(lb.steps[1],
            "dose: 8 mg/kg x 45.359237 kg = 362.873896 mg, rounded to the nearest 1 mg (ties "
            "down): 363 mg");
  EXPECT_EQ(Vials(lb.vials), "1x400");  // 363 mg: 37 mg discarded is the least possible
  // 72500 g = 72.5 kg -> 580 mg = 29 mL; vials come in steps of 40 mg, so 600 mg is the least.
  DosePlan g = Plan(Q(72500, "g"));
  EXPECT_EQ(g.dose_ug, 580000);
  EXPECT_EQ(g.drug_volume_ul, 29000);
  EXPECT_EQ(Vials(g.vials), "1x400 + 1x200");
  EXPECT_EQ(g.waste_ug, 20000);
  // 250 lb = 113.398 kg: capped.
  EXPECT_TRUE(Plan(Q(250, "[lb_av]")).capped);
}

TEST(DoseTest, RoundingTiesGoToTheLowerDose) {
  // 45.0625 kg x 8 = 360.5 mg exactly: a tie, 360 mg.
  EXPECT_EQ(Plan(Q(45.0625, "kg")).dose_ug, 360000);
  // 45.062501 kg x 8 = 360.500008 mg: 361 mg.
  EXPECT_EQ(Plan(Q(45.062501, "kg")).dose_ug, 361000);
  // 45.062499 kg: 360.499992 mg -> 360 mg.
  EXPECT_EQ(Plan(Q(45.062499, "kg")).dose_ug, 360000);
  // 361 mg = 18.05 mL.
  EXPECT_EQ(Plan(Q(45.1, "kg")).drug_volume_ul, 18050);
}

TEST(DoseTest, TheWeightMustBeAnExactMass) {
  auto volume = PlanDose(Dosing(), Q(45, "mL"), DoseLevel::kFull);
  ASSERT_FALSE(volume.has_value());
  EXPECT_EQ(volume.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(volume.error().message.rfind("weight 45 mL is not a mass", 0), 0u)
      << volume.error().message;
  auto bare = PlanDose(Dosing(), Quantity{45, Unit(), Comparator::kEq},
                       DoseLevel::kFull);  // no unit: never assumed kg
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().code, ErrorCode::kInvalidArgument);
  auto censored = PlanDose(Dosing(), Q(45, "kg", Comparator::kGt), DoseLevel::kFull);
  ASSERT_FALSE(censored.has_value());
  EXPECT_EQ(censored.error().message, "weight >45 kg is not an exact value; a dose needs one");
  for (double kg : {0.0, -3.0, 1000.5}) {
    auto r = PlanDose(Dosing(), Q(kg, "kg"), DoseLevel::kFull);
    ASSERT_FALSE(r.has_value()) << kg;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(DoseTest, PlaceboIsPreparedTheSameWay) {
  // PlanDose takes no arm: the same weight gives the same volumes and vials for both arms, so
  // the preparation cannot reveal the allocation. Two plans for the same weight are identical.
  DosePlan a = Plan(Q(63.4, "kg"));
  DosePlan b = Plan(Q(63.4, "kg"));
  EXPECT_EQ(a.steps, b.steps);
  EXPECT_EQ(a.drug_volume_ul, b.drug_volume_ul);
}

TEST(VialTest, LeastWasteThenFewestVials) {
  const auto& vials = Dosing().vials;
  auto choose = [&](int64_t mg, protocol::VialRule rule) {
    auto r = ChooseVials(vials, mg * 1000, rule);
    EXPECT_TRUE(r.has_value());
    return r ? Vials(*r) : std::string();
  };
  using protocol::VialRule;
  EXPECT_EQ(choose(360, VialRule::kLeastWaste), "1x200 + 2x80");
  EXPECT_EQ(choose(360, VialRule::kFewestVials), "1x400");
  EXPECT_EQ(choose(800, VialRule::kLeastWaste), "2x400");
  // 400 mg: one 400 (no waste, 1 vial) beats 2x200 and 5x80.
  EXPECT_EQ(choose(400, VialRule::kLeastWaste), "1x400");
  // 80 mg: one vial; 81 mg: 2x80 (79 mg waste) loses to... 200 (119) -> 2x80.
  EXPECT_EQ(choose(80, VialRule::kLeastWaste), "1x80");
  EXPECT_EQ(choose(81, VialRule::kLeastWaste), "2x80");
  EXPECT_EQ(choose(81, VialRule::kFewestVials), "1x200");
  // 160 mg: 2x80 exactly.
  EXPECT_EQ(choose(160, VialRule::kLeastWaste), "2x80");
  // 680 mg: 400 + 200 + 80 exactly, 3 vials (rather than 400 + 3x80 + ... ).
  EXPECT_EQ(choose(680, VialRule::kLeastWaste), "1x400 + 1x200 + 1x80");
  // Equal waste, fewer vials: 480 mg = 400 + 80 (2 vials) rather than 200 + 200 + 80 (3).
  EXPECT_EQ(choose(480, VialRule::kLeastWaste), "1x400 + 1x80");
  EXPECT_FALSE(ChooseVials(vials, 0, VialRule::kLeastWaste).has_value());
  EXPECT_FALSE(ChooseVials({}, 1000, VialRule::kLeastWaste).has_value());
}

TEST(DosingWeightTest, LatestOrBaseline) {
  const std::vector<WeightMeasurement> weights = {{D("2026-02-20"), Q(62, "kg")},
                                                  {D("2026-03-02"), Q(61, "kg")},
                                                  {D("2026-03-16"), Q(58, "kg")},
                                                  {D("2026-03-20"), Q(57, "kg")}};
  protocol::Dosing latest = Dosing();
  latest.weight_basis = protocol::WeightBasis::kLatest;
  auto w = SelectDosingWeight(latest, weights, D("2026-03-02"), D("2026-03-16"));
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->weight.value, 58);  // on the dose date; the later 57 kg is ignored
  protocol::Dosing baseline = Dosing();
  baseline.weight_basis = protocol::WeightBasis::kBaseline;
  w = SelectDosingWeight(baseline, weights, D("2026-03-02"), D("2026-03-16"));
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->weight.value, 61);
  auto none = SelectDosingWeight(latest, weights, D("2026-02-01"), D("2026-02-10"));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(none.error().message,
            "no body weight on or before 2026-02-10 (the dose date: the dosing weight is the "
            "latest weight)");
}

TEST(FormatTest, ScaledDecimals) {
  EXPECT_EQ(FormatScaled(18050, 1000, "mL"), "18.05 mL");
  EXPECT_EQ(FormatScaled(18000, 1000, "mL"), "18 mL");
  EXPECT_EQ(FormatScaled(45359237, 1000000, "kg"), "45.359237 kg");
  EXPECT_EQ(FormatScaled(5, 1000, ""), "0.005");
  EXPECT_EQ(FormatScaled(-1500, 1000, "mg"), "-1.5 mg");
}

}  // namespace
}  // namespace trial::schedule
