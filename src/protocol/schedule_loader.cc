// Reads schedule.yaml (schedule_loader.h, docs/schedule.md).
#include "protocol/schedule_loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace trial::protocol {

const VisitDefinition* Schedule::FindVisit(const std::string& id) const {
  for (const auto& v : visits) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

namespace internal {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFile = "schedule.yaml";

// Visit and form ids: letters, digits, '_' and '-'.
bool IsId(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

std::optional<long long> ParseWhole(const std::string& s) {
  long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseDouble(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Days in a duration of days or weeks; nullopt for months and years (not a fixed number of days).
std::optional<long long> DurationDays(const Duration& d) {
  switch (d.unit) {
    case Duration::Unit::kDays:
      return d.amount;
    case Duration::Unit::kWeeks:
      return 7LL * d.amount;
    case Duration::Unit::kMonths:
    case Duration::Unit::kYears:
      return std::nullopt;
  }
  return std::nullopt;
}

const char* BoundWord(Bound b) {
  switch (b) {
    case Bound::kBelow:
      return "below";
    case Bound::kAtOrBelow:
      return "at_or_below";
    case Bound::kAbove:
      return "above";
    case Bound::kAtOrAbove:
      return "at_or_above";
    case Bound::kNone:
      break;
  }
  return "";
}

}  // namespace

ScheduleLoader::ScheduleLoader(std::string dir, std::vector<Error>* errors)
    : ParameterFile(std::move(dir), kFile, "docs/schedule.md",
                    {"visits", "unscheduled", "dosing", "dose_modification"}, errors) {}

std::vector<std::string> ScheduleLoader::TextList(const YAML::Node& parent, const char* key) {
  std::vector<std::string> out;
  if (!parent.IsMap()) return out;
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    Fail(n, std::string("'") + key + "' must be a list");
    return out;
  }
  for (const auto& item : n) {
    if (!item.IsScalar()) {
      Fail(item, std::string("items of '") + key + "' must be single values");
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

// ---- steps 1 and 2: the file and its parameters ----

// ---- parameter values ----

std::optional<int> ScheduleLoader::DaysParam(const Protocol& p, const std::string& name, int min) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  std::optional<long long> days;
  if (v->kind == rules::Value::Kind::kDuration) days = DurationDays(v->duration);
  if (!days || *days < min || *days > 3660) {
    FailParameter(name, "must be a duration in days or weeks of at least " + std::to_string(min) +
                            " days (e.g. 3 days), at most 3660 days");
    return std::nullopt;
  }
  return static_cast<int>(*days);
}

std::optional<int> ScheduleLoader::CountParam(const Protocol& p, const std::string& name, int min) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  if (v->kind != rules::Value::Kind::kNumber || v->number != std::floor(v->number) ||
      v->number < min || v->number > 1000) {
    FailParameter(name, "must be a whole number from " + std::to_string(min) + " to 1000");
    return std::nullopt;
  }
  return static_cast<int>(v->number);
}

std::optional<double> ScheduleLoader::QuantityParam(const Protocol& p, const std::string& name,
                                                    const char* unit) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  const Unit to = *Unit::Parse(unit);
  if (v->kind == rules::Value::Kind::kQuantity) {
    auto q = Convert(v->quantity, to);
    if (q && q->value > 0 && std::isfinite(q->value)) return q->value;
  }
  FailParameter(name, std::string("must be a positive quantity convertible to '") + unit +
                          "' (e.g. 8 'mg/kg', 800 'mg')");
  return std::nullopt;
}

std::optional<std::string> ScheduleLoader::StringParam(const Protocol& p, const std::string& name,
                                                       const std::vector<std::string>& allowed) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  if (v->kind == rules::Value::Kind::kString) {
    std::string s(v->str);
    if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "\"" : ", \"") + a + "\"";
  FailParameter(name, "must be one of " + list + " (written '\"" + allowed.front() + "\"')");
  return std::nullopt;
}

std::optional<int> ScheduleLoader::Whole(const Protocol& p, const YAML::Node& n,
                                         const std::string& what) {
  if (!n.IsScalar()) {
    Fail(n, what + " must be a whole number or a parameter name");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  if (auto w = ParseWhole(text)) {
    if (*w < -100000 || *w > 100000) {
      Fail(n, what + " " + text + " is out of range");
      return std::nullopt;
    }
    return static_cast<int>(*w);
  }
  if (!IsParameterName(text)) {
    Fail(n, what + " must be a whole number or a parameter name, not '" + text + "'");
    return std::nullopt;
  }
  auto v = Param(p, text);
  if (!v) return std::nullopt;
  std::optional<long long> out;
  if (v->kind == rules::Value::Kind::kNumber && v->number == std::floor(v->number) &&
      std::abs(v->number) <= 100000) {
    out = static_cast<long long>(v->number);
  } else if (v->kind == rules::Value::Kind::kDuration) {
    out = DurationDays(v->duration);
  }
  if (!out) {
    Fail(n,
         what + ": parameter '" + text + "' must be a whole number or a duration in days or weeks");
    return std::nullopt;
  }
  return static_cast<int>(*out);
}

std::optional<double> ScheduleLoader::Number(const Protocol& p, const YAML::Node& n,
                                             const std::string& what,
                                             const std::optional<Unit>& unit) {
  if (!n.IsScalar()) {
    Fail(n, what + " must be a number or a parameter name");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  if (auto d = ParseDouble(text)) return d;
  if (!IsParameterName(text)) {
    Fail(n, what + " must be a number or a parameter name, not '" + text + "'");
    return std::nullopt;
  }
  auto v = Param(p, text);
  if (!v) return std::nullopt;
  if (v->kind == rules::Value::Kind::kNumber) return v->number;
  if (v->kind == rules::Value::Kind::kQuantity && unit) {
    if (auto q = Convert(v->quantity, *unit)) return q->value;
  }
  Fail(n, what + ": parameter '" + text + "' must be a number" +
              (unit ? " or a quantity convertible to '" + unit->code() + "'" : std::string()));
  return std::nullopt;
}

std::optional<double> ScheduleLoader::Amount(const Protocol& p, const YAML::Node& n,
                                             const std::string& what, const char* unit) {
  const Unit to = *Unit::Parse(unit);
  if (!n.IsScalar()) {
    Fail(n, what + " must be a quantity such as '20 mg/mL' or a parameter name");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  std::optional<Quantity> q;
  if (IsParameterName(text)) {
    auto v = Param(p, text);
    if (!v) return std::nullopt;
    if (v->kind == rules::Value::Kind::kQuantity) q = v->quantity;
  } else {
    const size_t space = text.find(' ');
    auto number = ParseDouble(text.substr(0, space));
    if (number && space != std::string::npos) {
      auto u = Unit::Parse(text.substr(space + 1));
      if (!u) {
        Fail(n, what + ": " + u.error().message);
        return std::nullopt;
      }
      q = Quantity{*number, *u, Comparator::kEq};
    }
  }
  if (!q) {
    Fail(n, what + " must be a number and a UCUM unit ('20 mg/mL') or a quantity parameter, not '" +
                text + "'");
    return std::nullopt;
  }
  auto converted = Convert(*q, to);
  if (!converted) {
    Fail(n, what + " '" + text + "' cannot be converted to '" + unit + "'");
    return std::nullopt;
  }
  if (!(converted->value > 0) || !std::isfinite(converted->value)) {
    Fail(n, what + " must be positive");
    return std::nullopt;
  }
  return converted->value;
}

// ---- step 3: the schedule ----

void ScheduleLoader::Build(Protocol& p) {
  if (!root_.IsDefined() || !root_.IsMap()) return;
  const size_t before = errors_->size();
  Schedule s;
  BuildVisits(p, s);
  BuildUnscheduled(s);
  BuildDosing(p, s);
  BuildModification(p, s);
  if (errors_->size() == before) p.schedule = std::move(s);
}

void ScheduleLoader::BuildVisits(const Protocol& p, Schedule& s) {
  YAML::Node list = root_["visits"];
  if (!list.IsSequence() || list.size() == 0) {
    Fail(list.IsDefined() ? list : root_, "'visits' must be a non-empty list of visits");
    return;
  }
  const int window = DaysParam(p, "visit_window", 0).value_or(0);
  s.missed_grace_days = DaysParam(p, "visit_missed_grace", 0).value_or(0);
  std::set<std::string> ids;
  std::optional<int> previous_day;
  int dose_slots = 0;
  for (const auto& v : list) {
    if (!v.IsMap()) {
      Fail(v, "a visit must be a mapping {id, name, day, ...}");
      continue;
    }
    CheckKeys(v, {"id", "name", "day", "days", "window_before", "window_after", "dose", "forms"},
              "a visit");
    VisitDefinition d;
    d.id = Text(v, "id", true);
    d.name = Text(v, "name", true);
    if (!d.id.empty() && !IsId(d.id)) {
      Fail(v["id"], "visit id '" + d.id + "' may hold only letters, digits, '_' and '-'");
    }
    if (!d.id.empty() && !ids.insert(d.id).second)
      Fail(v["id"], "duplicate visit id '" + d.id + "'");
    const std::string label = "visit " + (d.id.empty() ? std::string("?") : d.id);
    // Where the visit's day is written, for errors (a fresh node: a missing key's node is
    // invalid in yaml-cpp and cannot be reassigned).
    YAML::Node day_node = v["day"].IsDefined() ? v["day"] : YAML::Node(v);
    if (v["days"].IsDefined()) {
      if (v["day"].IsDefined() || v["window_before"].IsDefined() || v["window_after"].IsDefined()) {
        Fail(v["days"],
             label + ": give 'day' (with optional windows) or 'days: [FROM, TO]', not both");
        continue;
      }
      YAML::Node range = v["days"];
      if (!range.IsSequence() || range.size() != 2) {
        Fail(range, label + ": 'days' must be [FROM, TO]");
        continue;
      }
      auto from = Whole(p, range[0], label + " 'days' FROM");
      auto to = Whole(p, range[1], label + " 'days' TO");
      if (!from || !to) continue;
      if (*from > *to) {
        Fail(range, label + ": 'days' FROM (" + std::to_string(*from) + ") is after TO (" +
                        std::to_string(*to) + ")");
        continue;
      }
      day_node.reset(range[1]);
      d.day = *to;
      d.window_before = *to - *from;
      d.window_after = 0;
    } else if (v["day"].IsDefined()) {
      auto day = Whole(p, day_node, label + " 'day'");
      if (!day) continue;
      d.day = *day;
      d.window_before = window;
      d.window_after = window;
      for (const char* key : {"window_before", "window_after"}) {
        if (!v[key].IsDefined()) continue;
        auto w = Whole(p, v[key], label + " '" + key + "'");
        if (!w) continue;
        if (*w < 0) {
          Fail(v[key], label + ": '" + key + "' must not be negative");
          continue;
        }
        (std::string(key) == "window_before" ? d.window_before : d.window_after) = *w;
      }
    } else {
      Fail(v, label + " needs 'day' or 'days'");
      continue;
    }
    if (previous_day && d.day <= *previous_day) {
      Fail(day_node, label + " (day " + std::to_string(d.day) +
                         ") must come after the visit before it (day " +
                         std::to_string(*previous_day) + "): list visits in day order");
    }
    previous_day = d.day;
    if (v["dose"].IsDefined()) {
      auto k = Whole(p, v["dose"], label + " 'dose'");
      if (k) {
        if (*k != dose_slots + 1) {
          Fail(v["dose"], label +
                              ": dose slots must be numbered 1, 2, 3, ... in day order; found " +
                              std::to_string(*k) + " where " + std::to_string(dose_slots + 1) +
                              " was expected");
        }
        d.dose_number = *k;
        ++dose_slots;
      }
    }
    d.forms = TextList(v, "forms");
    for (const auto& f : d.forms) {
      if (!IsId(f)) Fail(v["forms"], label + ": form id '" + f + "' is not an id");
    }
    s.visits.push_back(std::move(d));
  }
  auto count = CountParam(p, "dose_count", 1);
  if (!count) return;
  if (*count > dose_slots) {
    FailParameter("dose_count", "is " + std::to_string(*count) + " but only " +
                                    std::to_string(dose_slots) +
                                    " visits have a dose slot ('dose: k' in schedule.yaml)");
    return;
  }
  s.dose_count = *count;
  for (auto& d : s.visits) d.dose = d.dose_number > 0 && d.dose_number <= s.dose_count;
}

void ScheduleLoader::BuildUnscheduled(Schedule& s) {
  YAML::Node n = root_["unscheduled"];
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    Fail(n, "'unscheduled' must be a mapping {allowed, id, forms}");
    return;
  }
  CheckKeys(n, {"allowed", "id", "forms"}, "'unscheduled'");
  const std::string allowed = Text(n, "allowed", true);
  if (allowed != "true" && allowed != "false") {
    if (!allowed.empty()) Fail(n["allowed"], "'allowed' must be true or false");
    return;
  }
  s.unscheduled_allowed = allowed == "true";
  s.unscheduled_id = Text(n, "id", s.unscheduled_allowed);
  s.unscheduled_forms = TextList(n, "forms");
  if (!s.unscheduled_id.empty() && !IsId(s.unscheduled_id)) {
    Fail(n["id"], "unscheduled visit id '" + s.unscheduled_id + "' is not an id");
  }
  if (s.FindVisit(s.unscheduled_id) != nullptr) {
    Fail(n["id"], "unscheduled visit id '" + s.unscheduled_id + "' is also a planned visit's id");
  }
}

void ScheduleLoader::BuildDosing(const Protocol& p, Schedule& s) {
  YAML::Node n = root_["dosing"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_, "missing 'dosing' (a mapping: concentration, vials, ...)");
    return;
  }
  CheckKeys(n, {"drug", "concentration", "vials", "diluent", "bag_volume", "infusion_minutes"},
            "'dosing'");
  Dosing& d = s.dosing;
  d.drug = Text(n, "drug", true);
  d.diluent = Text(n, "diluent", true);
  if (auto route = StringParam(p, "dosing_route", {"IV"})) d.route = *route;
  auto full = QuantityParam(p, "dose_mg_per_kg", "ug/kg");
  auto reduced = QuantityParam(p, "reduced_dose_mg_per_kg", "ug/kg");
  auto cap = QuantityParam(p, "dose_cap", "ug");
  auto rounding = QuantityParam(p, "dose_rounding", "ug");
  // Upper bounds keep the integer arithmetic of the engine far from overflow.
  if (full && *full > 1e6) FailParameter("dose_mg_per_kg", "must be at most 1000 mg/kg");
  if (full) d.dose_ug_per_kg = std::llround(*full);
  if (reduced) d.reduced_dose_ug_per_kg = std::llround(*reduced);
  if (full && reduced && *reduced > *full) {
    FailParameter("reduced_dose_mg_per_kg", "must not exceed dose_mg_per_kg");
  }
  if (cap && *cap > 1e9) FailParameter("dose_cap", "must be at most 1 kg");
  if (cap) d.cap_ug = std::llround(*cap);
  if (rounding) d.rounding_ug = std::llround(*rounding);
  if (rounding && d.rounding_ug < 1) FailParameter("dose_rounding", "must be at least 1 ug");
  if (auto basis = StringParam(p, "dosing_weight", {"latest", "baseline"})) {
    d.weight_basis = *basis == "latest" ? WeightBasis::kLatest : WeightBasis::kBaseline;
  }
  if (auto rule = StringParam(p, "vial_selection", {"least_waste", "fewest_vials"})) {
    d.vial_rule = *rule == "least_waste" ? VialRule::kLeastWaste : VialRule::kFewestVials;
  }
  if (auto c = Amount(p, n["concentration"], "'concentration'", "ug/mL")) {
    d.concentration_ug_per_ml = std::llround(*c);
  }
  if (!n["concentration"].IsDefined()) Fail(n, "missing 'concentration'");
  YAML::Node vials = n["vials"];
  if (!vials.IsSequence() || vials.size() == 0) {
    Fail(vials.IsDefined() ? vials : n, "'vials' must be a non-empty list of {content, volume}");
  } else {
    for (const auto& v : vials) {
      if (!v.IsMap()) {
        Fail(v, "a vial must be a mapping {content, volume}");
        continue;
      }
      CheckKeys(v, {"content", "volume"}, "a vial");
      auto content = Amount(p, v["content"], "vial 'content'", "ug");
      auto volume = Amount(p, v["volume"], "vial 'volume'", "uL");
      if (!v["content"].IsDefined() || !v["volume"].IsDefined()) {
        Fail(v, "a vial needs 'content' and 'volume'");
        continue;
      }
      if (!content || !volume) continue;
      Vial vial{std::llround(*content), std::llround(*volume)};
      // The vial must hold the stated concentration (content = volume x concentration).
      if (d.concentration_ug_per_ml > 0 &&
          vial.volume_ul * d.concentration_ug_per_ml != vial.content_ug * 1000) {
        Fail(v, "vial of " + v["content"].Scalar() + " in " + v["volume"].Scalar() +
                    " does not have the concentration " + n["concentration"].Scalar());
        continue;
      }
      for (const auto& other : d.vials) {
        if (other.content_ug == vial.content_ug) Fail(v, "two vials of the same content");
      }
      d.vials.push_back(vial);
    }
    std::sort(d.vials.begin(), d.vials.end(),
              [](const Vial& a, const Vial& b) { return a.content_ug < b.content_ug; });
  }
  if (auto bag = Amount(p, n["bag_volume"], "'bag_volume'", "uL")) {
    d.bag_volume_ul = std::llround(*bag);
  }
  if (!n["bag_volume"].IsDefined()) Fail(n, "missing 'bag_volume'");
  if (n["infusion_minutes"].IsDefined()) {
    auto minutes = Whole(p, n["infusion_minutes"], "'infusion_minutes'");
    if (minutes && *minutes <= 0)
      Fail(n["infusion_minutes"], "'infusion_minutes' must be positive");
    if (minutes) d.infusion_minutes = *minutes;
  } else {
    Fail(n, "missing 'infusion_minutes'");
  }
  // The largest dose's drug volume must fit into the bag it is diluted in.
  if (d.cap_ug > 0 && d.concentration_ug_per_ml > 0 && d.bag_volume_ul > 0 &&
      d.cap_ug * 1000 / d.concentration_ug_per_ml > d.bag_volume_ul) {
    Fail(n["bag_volume"], "the volume of the largest dose (dose_cap) exceeds 'bag_volume'");
  }
}

void ScheduleLoader::BuildModification(const Protocol& p, Schedule& s) {
  YAML::Node n = root_["dose_modification"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_,
         "missing 'dose_modification' (a mapping with 'labs'; without it no dose could be "
         "checked against labs)");
    return;
  }
  CheckKeys(n, {"labs", "initiation"}, "'dose_modification'");
  DoseModification& m = s.modification;
  m.lab_max_age_days = DaysParam(p, "lab_max_age", 0).value_or(0);
  m.resume_reduced_doses = CountParam(p, "resume_reduced_doses", 0).value_or(0);
  YAML::Node labs = n["labs"];
  if (!labs.IsSequence() || labs.size() == 0) {
    Fail(labs.IsDefined() ? labs : n, "'labs' must be a non-empty list of lab rules");
    return;
  }
  std::set<std::string> ids;  // lab rule ids, unique across both lists
  m.labs = BuildLabRules(p, labs, "'labs'", ids);
  // The initiation thresholds are optional; with them, the parameter initiation_thresholds
  // says whether they apply ([Q-INITIATION] in PROMIS-MDA5).
  YAML::Node initiation = n["initiation"];
  if (!initiation.IsDefined() || initiation.IsNull()) return;
  if (!initiation.IsSequence() || initiation.size() == 0) {
    Fail(initiation, "'initiation' must be a non-empty list of lab rules");
    return;
  }
  auto rules = BuildLabRules(p, initiation, "'initiation'", ids);
  auto applies = StringParam(p, "initiation_thresholds", {"apply", "ignore"});
  if (applies && *applies == "apply") m.initiation = std::move(rules);
}

std::vector<LabRule> ScheduleLoader::BuildLabRules(const Protocol& p, const YAML::Node& list,
                                                   const std::string& where,
                                                   std::set<std::string>& ids) {
  std::vector<LabRule> out;
  std::set<std::string> analytes;  // one rule per analyte within a list
  for (const auto& l : list) {
    auto rule = BuildLabRule(p, l);
    if (!rule) continue;
    if (!ids.insert(rule->id).second) Fail(l["id"], "duplicate lab rule id '" + rule->id + "'");
    for (const auto& a : rule->analytes) {
      if (!analytes.insert(a).second) {
        Fail(l["analytes"], "analyte '" + a + "' is already used by another lab rule of " + where);
      }
    }
    out.push_back(std::move(*rule));
  }
  return out;
}

std::optional<LabRule> ScheduleLoader::BuildLabRule(const Protocol& p, const YAML::Node& n) {
  if (!n.IsMap()) {
    Fail(n, "a lab rule must be a mapping {id, name, analytes, unit, bands, ...}");
    return std::nullopt;
  }
  CheckKeys(n, {"id", "name", "analytes", "measure", "unit", "resume_after_hold", "bands"},
            "a lab rule");
  const size_t before = errors_->size();
  LabRule r;
  r.id = Text(n, "id", true);
  r.name = Text(n, "name", true);
  if (!r.id.empty() && !IsParameterName(r.id))
    Fail(n["id"], "lab rule id '" + r.id + "' is not a name");
  const std::string label = "lab rule " + (r.id.empty() ? std::string("?") : r.id);
  r.analytes = TextList(n, "analytes");
  if (r.analytes.empty()) Fail(n, label + " needs 'analytes' (a list of lab ids)");
  for (const auto& a : r.analytes) {
    if (!IsParameterName(a)) Fail(n["analytes"], label + ": analyte '" + a + "' is not a name");
  }
  const std::string measure = Text(n, "measure", false);
  if (measure.empty() || measure == "value") {
    r.measure = LabMeasure::kValue;
  } else if (measure == "times_uln") {
    r.measure = LabMeasure::kTimesUln;
  } else {
    Fail(n["measure"], label + ": measure must be 'value' or 'times_uln', not '" + measure + "'");
  }
  const std::string unit = Text(n, "unit", r.measure == LabMeasure::kValue);
  std::optional<Unit> limit_unit;
  if (r.measure == LabMeasure::kTimesUln && !unit.empty()) {
    Fail(n["unit"], label + ": a times_uln rule has no unit (its limits are multiples of the ULN)");
  } else if (!unit.empty()) {
    auto u = Unit::Parse(unit);
    if (!u) {
      Fail(n["unit"], label + ": " + u.error().message);
    } else {
      r.unit = *u;
      limit_unit = *u;
    }
  }
  const std::string resume = Text(n, "resume_after_hold", false);
  if (resume.empty() || resume == "by_value") {
    r.resume_after_hold = Resume::kByValue;
  } else if (resume == "reduced_dose") {
    r.resume_after_hold = Resume::kReducedDose;
  } else {
    Fail(n["resume_after_hold"],
         label + ": resume_after_hold must be 'by_value' or 'reduced_dose', not '" + resume + "'");
  }
  YAML::Node bands = n["bands"];
  if (!bands.IsSequence() || bands.size() == 0) {
    Fail(bands.IsDefined() ? bands : n, label + ": 'bands' must be a non-empty list");
    return std::nullopt;
  }
  const std::vector<std::pair<const char*, Bound>> kBounds = {{"below", Bound::kBelow},
                                                              {"at_or_below", Bound::kAtOrBelow},
                                                              {"above", Bound::kAbove},
                                                              {"at_or_above", Bound::kAtOrAbove}};
  const std::vector<std::pair<const char*, DoseAction>> kActions = {
      {"proceed", DoseAction::kProceed},
      {"reduce", DoseAction::kReduce},
      {"hold", DoseAction::kHold},
      {"discontinue", DoseAction::kDiscontinue}};
  for (size_t i = 0; i < bands.size(); ++i) {
    const YAML::Node b = bands[i];
    if (!b.IsMap()) {
      Fail(b, label + ": a band must be a mapping {action, below|at_or_below|above|at_or_above}");
      continue;
    }
    CheckKeys(b,
              {"below", "at_or_below", "above", "at_or_above", "action", "persistent",
               "discontinue_after", "row"},
              "a band");
    LabBand band;
    YAML::Node limit_node;
    for (const auto& [key, bound] : kBounds) {
      if (!b[key].IsDefined()) continue;
      if (band.bound != Bound::kNone) {
        Fail(b[key], label + ": a band has one bound (below, at_or_below, above or at_or_above)");
        continue;
      }
      band.bound = bound;
      limit_node.reset(b[key]);
    }
    const bool last = i + 1 == bands.size();
    if (last && band.bound != Bound::kNone) {
      Fail(b, label + ": the last band has no bound (it covers every other value)");
    } else if (!last && band.bound == Bound::kNone) {
      Fail(b, label + ": only the last band may have no bound");
    }
    if (band.bound != Bound::kNone) {
      if (auto limit =
              Number(p, limit_node, label + " '" + BoundWord(band.bound) + "'", limit_unit)) {
        band.limit = *limit;
      }
    }
    const std::string action = Text(b, "action", true);
    bool known = false;
    for (const auto& [word, a] : kActions) {
      if (action == word) {
        band.action = a;
        known = true;
      }
    }
    if (!known && !action.empty()) {
      Fail(b["action"],
           label + ": action must be proceed, reduce, hold or discontinue, not '" + action + "'");
    }
    for (const char* key : {"persistent", "discontinue_after"}) {
      if (!b[key].IsDefined()) continue;
      auto k = Whole(p, b[key], label + " '" + key + "'");
      if (k && *k < 1) Fail(b[key], label + ": '" + key + "' must be at least 1");
      if (k && *k >= 1)
        (std::string(key) == "persistent" ? band.persistent : band.discontinue_after) = *k;
    }
    if ((band.persistent > 0 || band.discontinue_after > 0) && band.bound == Bound::kNone) {
      Fail(b, label + ": 'persistent' and 'discontinue_after' need a bound");
    }
    band.row = Text(b, "row", false);
    if (band.row.empty()) {  // e.g. "hold at_or_below 1000"
      band.row =
          action + (band.bound == Bound::kNone || !limit_node.IsScalar()
                        ? std::string(" otherwise")
                        : std::string(" ") + BoundWord(band.bound) + " " + limit_node.Scalar());
    }
    r.bands.push_back(std::move(band));
  }
  // One direction per rule, limits in order and actions from the most to the least severe, so
  // "the first band that holds" is the most severe that applies.
  for (size_t i = 1; i < r.bands.size(); ++i) {
    const LabBand& a = r.bands[i - 1];
    const LabBand& b = r.bands[i];
    if (b.action > a.action) {
      Fail(bands[i], label + ": bands must go from the most to the least severe action");
    }
    if (a.bound == Bound::kNone || b.bound == Bound::kNone) continue;
    const bool a_low = a.bound == Bound::kBelow || a.bound == Bound::kAtOrBelow;
    const bool b_low = b.bound == Bound::kBelow || b.bound == Bound::kAtOrBelow;
    if (a_low != b_low) {
      Fail(bands[i], label + ": all bands of a rule must bound the same side (below or above)");
    } else if (a_low ? b.limit < a.limit : b.limit > a.limit) {
      Fail(bands[i], label + ": band limits must widen down the list (" +
                         std::string(a_low ? "increasing for below" : "decreasing for above") +
                         ")");
    }
  }
  if (errors_->size() != before) return std::nullopt;
  return r;
}

}  // namespace internal
}  // namespace trial::protocol
