// The dose of one infusion and how to prepare it: pure functions of the protocol's dosing
// (protocol::Dosing, from schedule.yaml) and the subject's weight. The plan does not depend on
// the arm: placebo is prepared with the same vials and volumes, so nothing in it reveals the
// allocation. Formula, vial rule and dilution: docs/schedule.md.
//
// Arithmetic is exact: the weight is taken in whole milligrams (after UCUM conversion to kg),
// doses in whole micrograms and volumes in whole microlitres, so a dose at the cap or at a
// rounding tie is decided without floating-point error.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "core/quantity.h"
#include "protocol/protocol.h"

namespace trial::schedule {

struct WeightMeasurement {
  Date date;
  Quantity weight;  // any mass unit: kg, g, [lb_av]
};

// The weight the dosing basis selects for a dose on `dose_date`: the most recent measurement on
// or before `dose_date` (WeightBasis::kLatest) or on or before `day0` (kBaseline); of several on
// that day, the last given. Fails with kNotFound when there is none, naming the date searched.
Result<WeightMeasurement> SelectDosingWeight(const protocol::Dosing& dosing,
                                             const std::vector<WeightMeasurement>& weights,
                                             Date day0, Date dose_date);

enum class DoseLevel : uint8_t { kFull, kReduced };  // Dosing::dose_ / reduced_dose_ug_per_kg

struct VialUse {
  int64_t content_ug = 0;
  int64_t volume_ul = 0;
  int count = 0;
};

// Vials that together hold at least `dose_ug`, chosen by `rule`:
//   kLeastWaste:  least drug left over, then fewest vials;
//   kFewestVials: fewest vials, then least drug left over;
// remaining ties prefer larger vials. Returns one entry per vial size used, largest first.
// Fails with kInvalidArgument when `dose_ug` <= 0 or there are no vials.
Result<std::vector<VialUse>> ChooseVials(const std::vector<protocol::Vial>& vials, int64_t dose_ug,
                                         protocol::VialRule rule);

struct DosePlan {
  DoseLevel level = DoseLevel::kFull;
  int64_t weight_mg = 0;       // the weight used, converted to kg and held in milligrams
  int64_t ug_per_kg = 0;       // the dose level's mg/kg, in micrograms per kg
  int64_t computed_ug = 0;     // mg/kg x weight, rounded to Dosing::rounding_ug (ties down)
  int64_t dose_ug = 0;         // the dose given: computed_ug, or Dosing::cap_ug if lower
  bool capped = false;         // the cap applied (computed_ug > cap_ug)
  int64_t drug_volume_ul = 0;  // volume of concentrate: dose / concentration (nearest uL)
  std::vector<VialUse> vials;  // vials opened (ChooseVials)
  int64_t vials_content_ug = 0;
  int64_t waste_ug = 0;  // vials_content_ug - dose_ug, discarded
  // Dilution (label): withdraw this much saline from the bag, then add the drug.
  int64_t saline_withdrawn_ul = 0;
  int64_t final_volume_ul = 0;  // the bag's volume, Dosing::bag_volume_ul
  std::string diluent;
  int infusion_minutes = 0;
  std::vector<std::string> steps;  // the computation, one line each, for the pharmacist
};

// The dose for `weight` at `level`:
//   dose = min(round(mg_per_kg x weight_kg, to rounding_ug, ties to the lower dose), cap)
//   drug volume = dose / concentration; saline withdrawn = drug volume; final volume = bag.
// Fails with kInvalidArgument when the weight is not a mass (the unit is converted, never
// assumed), is not an exact value (a comparator such as '<'), or is not in (0, 1000] kg, and
// with kInvalidInput when the dosing is unusable (no vials, zero concentration).
Result<DosePlan> PlanDose(const protocol::Dosing& dosing, const Quantity& weight, DoseLevel level);

// `value` / `per_unit` written exactly as a decimal, then `unit`: FormatScaled(18050, 1000, "mL")
// is "18.05 mL". `per_unit` must be a power of ten.
std::string FormatScaled(int64_t value, int64_t per_unit, const std::string& unit);

}  // namespace trial::schedule
