// Dose computation and preparation (dose.h).
#include "schedule/dose.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>

namespace trial::schedule {

std::string FormatScaled(int64_t value, int64_t per_unit, const std::string& unit) {
  const bool negative = value < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  const uint64_t scale = static_cast<uint64_t>(per_unit);
  std::string out = (negative ? "-" : "") + std::to_string(v / scale);
  uint64_t rest = v % scale;
  if (rest != 0) {
    std::string digits = std::to_string(rest);
    const size_t width = std::to_string(scale).size() - 1;  // scale is a power of ten
    digits.insert(0, width - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return unit.empty() ? out : out + " " + unit;
}

Result<WeightMeasurement> SelectDosingWeight(const protocol::Dosing& dosing,
                                             const std::vector<WeightMeasurement>& weights,
                                             Date day0, Date dose_date) {
  const bool baseline = dosing.weight_basis == protocol::WeightBasis::kBaseline;
  const Date until = baseline ? day0 : dose_date;
  const WeightMeasurement* best = nullptr;
  for (const auto& w : weights) {
    if (w.date > until) continue;
    if (best == nullptr || w.date >= best->date) best = &w;  // the last given wins a same-day tie
  }
  if (best == nullptr) {
    return Fail(ErrorCode::kNotFound,
                std::string("no body weight on or before ") + until.ToString() +
                    (baseline ? " (day 0: the dosing weight is the baseline weight)"
                              : " (the dose date: the dosing weight is the latest weight)"));
  }
  return *best;
}

Result<std::vector<VialUse>> ChooseVials(const std::vector<protocol::Vial>& vials, int64_t dose_ug,
                                         protocol::VialRule rule) {
  if (dose_ug <= 0) return Fail(ErrorCode::kInvalidArgument, "a dose must be positive");
  if (vials.empty()) return Fail(ErrorCode::kInvalidArgument, "no vial sizes are defined");
  std::vector<protocol::Vial> sizes = vials;  // largest first: the order of ties and output
  std::sort(sizes.begin(), sizes.end(), [](const protocol::Vial& a, const protocol::Vial& b) {
    return a.content_ug > b.content_ug;
  });
  for (const auto& v : sizes) {
    if (v.content_ug <= 0) return Fail(ErrorCode::kInvalidArgument, "a vial must hold some drug");
  }

  // Exhaustive search over the counts of every size but the smallest; the smallest size then
  // takes the fewest vials that reach the dose. More than ceil(dose / content) vials of one size
  // only adds waste and vials, so that bounds each count.
  struct Candidate {
    std::vector<int> counts;
    int64_t waste = 0;
    int vials = 0;
  };
  std::optional<Candidate> best;
  auto better = [&](const Candidate& a, const Candidate& b) {
    const bool least_waste = rule == protocol::VialRule::kLeastWaste;
    auto first = [&](const Candidate& c) { return least_waste ? c.waste : c.vials; };
    auto second = [&](const Candidate& c) { return least_waste ? c.vials : c.waste; };
    if (first(a) != first(b)) return first(a) < first(b);
    if (second(a) != second(b)) return second(a) < second(b);
    return a.counts > b.counts;  // more of the larger vials
  };
  std::vector<int> counts(sizes.size(), 0);
  auto search = [&](auto&& self, size_t i, int64_t filled) -> void {
    const int64_t content = sizes[i].content_ug;
    const int64_t missing = std::max<int64_t>(0, dose_ug - filled);
    const int64_t most = (missing + content - 1) / content;
    if (i + 1 == sizes.size()) {
      counts[i] = static_cast<int>(most);
      Candidate c{counts, filled + most * content - dose_ug, 0};
      for (int n : counts) c.vials += n;
      if (!best || better(c, *best)) best = c;
      return;
    }
    for (int64_t n = 0; n <= most; ++n) {
      counts[i] = static_cast<int>(n);
      self(self, i + 1, filled + n * content);
    }
  };
  search(search, 0, 0);
  std::vector<VialUse> out;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (best->counts[i] > 0) {
      out.push_back(VialUse{sizes[i].content_ug, sizes[i].volume_ul, best->counts[i]});
    }
  }
  return out;
}

Result<DosePlan> PlanDose(const protocol::Dosing& dosing, const Quantity& weight, DoseLevel level) {
  if (dosing.concentration_ug_per_ml <= 0 || dosing.rounding_ug <= 0 || dosing.vials.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "the protocol's dosing is incomplete (concentration, rounding or vials)");
  }
  static const Unit kKg = *Unit::Parse("kg");
  auto kg = Convert(weight, kKg);
  if (!kg) {
    return Fail(ErrorCode::kInvalidArgument,
                "weight " + weight.ToString() + " is not a mass: " + kg.error().message);
  }
  if (weight.comparator != Comparator::kEq) {
    return Fail(ErrorCode::kInvalidArgument,
                "weight " + weight.ToString() + " is not an exact value; a dose needs one");
  }
  if (!(kg->value > 0) || !(kg->value <= 1000)) {
    return Fail(ErrorCode::kInvalidArgument,
                "weight " + weight.ToString() + " is not in (0, 1000] kg");
  }
  DosePlan plan;
  plan.level = level;
  plan.weight_mg = std::llround(kg->value * 1e6);
  plan.ug_per_kg =
      level == DoseLevel::kFull ? dosing.dose_ug_per_kg : dosing.reduced_dose_ug_per_kg;
  const std::string weight_text = FormatScaled(plan.weight_mg, 1000000, "kg");
  plan.steps.push_back("weight: " + weight.ToString() +
                       (weight.unit.code() == "kg" ? "" : " = " + weight_text));

  // exact = ug_per_kg x weight_mg / 1e6 ug; both factors are bounded (loader: <= 1e6 ug/kg;
  // here: <= 1e9 mg), so the product stays below 1e15.
  const int64_t exact_num = plan.ug_per_kg * plan.weight_mg;  // in 1e-6 ug
  const int64_t step = 1000000 * dosing.rounding_ug;
  int64_t q = exact_num / step;
  if (2 * (exact_num % step) > step) ++q;  // nearest; a tie goes to the lower dose
  plan.computed_ug = q * dosing.rounding_ug;
  plan.steps.push_back("dose: " + FormatScaled(plan.ug_per_kg, 1000, "mg/kg") +
                       (level == DoseLevel::kReduced ? " (reduced)" : "") + " x " + weight_text +
                       " = " + FormatScaled(exact_num, 1000000000, "mg") +
                       ", rounded to the nearest " + FormatScaled(dosing.rounding_ug, 1000, "mg") +
                       " (ties down): " + FormatScaled(plan.computed_ug, 1000, "mg"));
  plan.dose_ug = plan.computed_ug;
  if (dosing.cap_ug > 0 && plan.computed_ug > dosing.cap_ug) {
    plan.dose_ug = dosing.cap_ug;
    plan.capped = true;
    plan.steps.push_back("cap: above the cap of " + FormatScaled(dosing.cap_ug, 1000, "mg") +
                         " per infusion: " + FormatScaled(plan.dose_ug, 1000, "mg"));
  }
  if (plan.dose_ug <= 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "weight " + weight.ToString() + " gives no dose after rounding");
  }
  // volume_ul = dose_ug / (ug per mL) x 1000, to the nearest microlitre.
  const int64_t c = dosing.concentration_ug_per_ml;
  plan.drug_volume_ul = (plan.dose_ug * 1000 + c / 2) / c;
  plan.steps.push_back("volume: " + FormatScaled(plan.dose_ug, 1000, "mg") + " / " +
                       FormatScaled(c, 1000, "mg/mL") + " = " +
                       FormatScaled(plan.drug_volume_ul, 1000, "mL"));
  auto vials = ChooseVials(dosing.vials, plan.dose_ug, dosing.vial_rule);
  if (!vials) return std::unexpected(vials.error());
  plan.vials = std::move(*vials);
  std::string vial_text;
  for (const auto& v : plan.vials) {
    plan.vials_content_ug += v.count * v.content_ug;
    vial_text += (vial_text.empty() ? "" : " + ") + std::to_string(v.count) + " x " +
                 FormatScaled(v.content_ug, 1000, "mg") + " (" +
                 FormatScaled(v.volume_ul, 1000, "mL") + ")";
  }
  plan.waste_ug = plan.vials_content_ug - plan.dose_ug;
  plan.steps.push_back(
      "vials: " + vial_text + " = " + FormatScaled(plan.vials_content_ug, 1000, "mg") +
      ", discard " + FormatScaled(plan.waste_ug, 1000, "mg") + " (" +
      (dosing.vial_rule == protocol::VialRule::kLeastWaste ? "least waste, then fewest vials"
                                                           : "fewest vials, then least waste") +
      ")");
  plan.saline_withdrawn_ul = plan.drug_volume_ul;
  plan.final_volume_ul = dosing.bag_volume_ul;
  plan.diluent = dosing.diluent;
  plan.infusion_minutes = dosing.infusion_minutes;
  plan.steps.push_back("dilution: withdraw " + FormatScaled(plan.saline_withdrawn_ul, 1000, "mL") +
                       " of " + dosing.diluent + " from a " +
                       FormatScaled(dosing.bag_volume_ul, 1000, "mL") + " bag, add " +
                       FormatScaled(plan.drug_volume_ul, 1000, "mL") +
                       " of drug: " + FormatScaled(plan.final_volume_ul, 1000, "mL") +
                       ", infused over " + std::to_string(dosing.infusion_minutes) + " minutes");
  return plan;
}

}  // namespace trial::schedule
