// The evaluator: runs bound trees against one patient record with Kleene three-valued logic.
// Missing or unconvertible data gives `unknown`, never a silent `false`; with a Trace it records
// the steps that decided each result and the data that would decide an unknown one.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "rules/bound.h"

namespace trial::rules {

namespace {

using Kind = Value::Kind;

struct Interval {
  double lo, hi;
  bool lo_open, hi_open;
};

Interval ToInterval(double v, Comparator c) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (c) {
    case Comparator::kEq:
      return {v, v, false, false};
    case Comparator::kLt:
      return {-kInf, v, true, true};
    case Comparator::kLe:
      return {-kInf, v, true, false};
    case Comparator::kGt:
      return {v, kInf, true, true};
    case Comparator::kGe:
      return {v, kInf, false, true};
  }
  return {v, v, false, false};
}

// x < y for every x in X and y in Y (true), for none (false), or it depends (nullopt).
std::optional<bool> Less(const Interval& x, const Interval& y) {
  if (x.hi < y.lo || (x.hi == y.lo && (x.hi_open || y.lo_open))) return true;
  if (x.lo >= y.hi) return false;
  return std::nullopt;
}
std::optional<bool> LessEq(const Interval& x, const Interval& y) {
  if (x.hi <= y.lo) return true;
  if (x.lo > y.hi || (x.lo == y.hi && (x.lo_open || y.hi_open))) return false;
  return std::nullopt;
}
std::optional<bool> Equal(const Interval& x, const Interval& y) {
  if (x.lo == x.hi && y.lo == y.hi && !x.lo_open && !y.lo_open) return x.lo == y.lo;
  if (Less(x, y) == true || Less(y, x) == true) return false;
  return std::nullopt;
}

// Values equal to 1e-9 relative are equal: unit conversions and ratios (120 U/L / 40 U/L,
// a Cockcroft-Gault clearance at exactly 45 mL/min) must not miss a boundary by rounding.
void Snap(double& y, double x) {
  if (std::isfinite(x) && std::isfinite(y) &&
      std::fabs(x - y) <= 1e-9 * std::max({1.0, std::fabs(x), std::fabs(y)})) {
    y = x;
  }
}

std::optional<bool> CompareIntervals(Op op, const Interval& x, Interval y) {
  Snap(y.lo, x.lo);
  Snap(y.lo, x.hi);
  Snap(y.hi, x.hi);
  Snap(y.hi, x.lo);
  switch (op) {
    case Op::kLt:
      return Less(x, y);
    case Op::kLe:
      return LessEq(x, y);
    case Op::kGt:
      return Less(y, x);
    case Op::kGe:
      return LessEq(y, x);
    case Op::kEq:
      return Equal(x, y);
    case Op::kNe: {
      auto e = Equal(x, y);
      if (!e) return std::nullopt;
      return !*e;
    }
    default:
      return std::nullopt;
  }
}

Value FromTruth(std::optional<bool> t) { return t ? Value::Bool(*t) : Value::Unknown(); }

bool SameValue(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Kind::kUnknown:
      return true;
    case Kind::kBool:
      return a.b == b.b;
    case Kind::kNumber:
      return a.number == b.number;
    case Kind::kQuantity:
      return a.quantity.value == b.quantity.value &&
             a.quantity.unit.code() == b.quantity.unit.code() &&
             a.quantity.comparator == b.quantity.comparator;
    case Kind::kDate:
      return a.date == b.date;
    case Kind::kDuration:
      return a.duration == b.duration;
    case Kind::kString:
      return a.str == b.str;
    case Kind::kCodes:
      return a.codes == b.codes || (a.codes && b.codes && *a.codes == *b.codes);
    case Kind::kFact:
      return a.fact.ptr == b.fact.ptr;
    default:
      return false;
  }
}

// The value of several alternatives: the common value, `unknown` for disagreeing conditions,
// otherwise the alternatives themselves.
Value Collapse(std::vector<Value> values) {
  if (values.empty()) return Value::Unknown();
  bool same = true;
  for (size_t i = 1; i < values.size(); ++i) same = same && SameValue(values[0], values[i]);
  if (same) return values[0];
  bool any_bool = false;
  for (const auto& v : values) any_bool = any_bool || v.kind == Kind::kBool;
  if (any_bool) return Value::Unknown();
  auto list = std::make_shared<List>();
  list->items = std::move(values);
  Value r;
  r.kind = Kind::kAlternatives;
  r.list = std::move(list);
  return r;
}

const Unit& MgPerDay() {
  static const Unit u = *Unit::Parse("mg/d");
  return u;
}
const Unit& Day() {
  static const Unit u = *Unit::Parse("d");
  return u;
}

std::optional<double> ToBase(const Quantity& q, const Unit& to) {
  if (!(q.unit.dim() == to.dim())) return std::nullopt;
  return q.value * q.unit.factor() / to.factor();
}

}  // namespace

struct Session::State {
  const Program& program;
  const Program::Impl& impl;
  const record::PatientRecord& rec;
  Date s, r;
  const VisitData* visit = nullptr;  // item(), previous(), visit_date(); may be null
  std::vector<std::optional<Value>> defs;
  std::vector<Value> locals;
  std::vector<char> local_ready;  // let slots: computed in this evaluation of the let
  std::map<std::pair<int, int>, std::shared_ptr<const List>> queries;
  Trace* trace = nullptr;
  int quiet = 0;  // > 0 inside lambdas: per-item steps are summarised by the caller

  State(const Program& p, const record::PatientRecord& record, Date screening, Date randomization,
        const VisitData* visit_data)
      : program(p), impl(*p.impl_), rec(record), s(screening), r(randomization), visit(visit_data) {
    defs.resize(impl.definition_roots.size());
    locals.resize(static_cast<size_t>(impl.local_slots));
    local_ready.resize(static_cast<size_t>(impl.local_slots));
  }

  bool Tracing() const { return trace != nullptr && quiet == 0; }
  void Step(std::string text) {
    if (Tracing()) trace->steps.push_back(std::move(text));
  }
  void Missing(std::string text) {
    if (trace == nullptr) return;
    if (std::find(trace->missing.begin(), trace->missing.end(), text) == trace->missing.end()) {
      trace->missing.push_back(std::move(text));
    }
  }
  struct Mark {
    size_t steps = 0, missing = 0;
  };
  Mark Here() const {
    if (!trace) return {};
    return {trace->steps.size(), trace->missing.size()};
  }
  // Drops what was recorded in [from, to) (a sub-expression that did not decide the result).
  void Drop(Mark from, Mark to) {
    if (!trace) return;
    trace->steps.erase(trace->steps.begin() + static_cast<long>(from.steps),
                       trace->steps.begin() + static_cast<long>(to.steps));
    trace->missing.erase(trace->missing.begin() + static_cast<long>(from.missing),
                         trace->missing.begin() + static_cast<long>(to.missing));
  }

  // For steps: the element's name for people and the filters applied.
  static std::string ListLabel(const List& l) {
    std::string out = l.element ? (l.element->label.empty() ? l.element->name : l.element->label)
                                : std::string("records");
    return out + l.note;
  }
  // For missing data: also the codes that would match, so a coordinator knows what to record.
  static std::string MissingLabel(const List& l) {
    std::string out = l.element ? l.element->Describe() : std::string("records");
    return out + l.note;
  }

  // ---- record queries ----

  std::shared_ptr<const List> Query(Builtin b, const Element* e) {
    auto key = std::make_pair(static_cast<int>(b), e ? e->index : -1);
    if (auto it = queries.find(key); it != queries.end()) return it->second;
    auto list = std::make_shared<List>();
    list->element = e;
    auto add = [&](FactKind kind, const void* ptr, const Member* m, bool certain) {
      FactRef f{kind, ptr, e, m, certain};
      list->items.push_back(Value::Fact(f));
    };
    switch (b) {
      case Builtin::kObservations:
        for (const auto& o : rec.observations) {
          if (const Member* m = e->Match(o.codes)) add(FactKind::kObservation, &o, m, true);
        }
        break;
      case Builtin::kConditions:
        for (const auto& c : rec.conditions) {
          if (const Member* m = e->Match(c.codes)) {
            add(FactKind::kCondition, &c, m, c.verification == record::Verification::kConfirmed);
          }
        }
        break;
      case Builtin::kAllergies:
        for (const auto& a : rec.allergies) {
          if (a.inactive) continue;
          if (const Member* m = e->Match(a.codes)) {
            add(FactKind::kAllergy, &a, m, a.verification == record::Verification::kConfirmed);
          }
        }
        break;
      case Builtin::kExposures:
        for (const auto& x : rec.exposures) {
          if (const Member* m = e->Match(x.codes)) {
            add(FactKind::kExposure, &x, m, !x.status_unknown);
          }
        }
        break;
      case Builtin::kRequests:
        for (const auto& q : rec.requests) {
          if (const Member* m = e->Match(q.codes)) add(FactKind::kRequest, &q, m, true);
        }
        break;
      case Builtin::kStays:
        for (const auto& st : rec.stays) add(FactKind::kStay, &st, nullptr, true);
        break;
      case Builtin::kConsents:
        for (const auto& c : rec.consents) {
          const Member* m = e ? e->Match(c.scopes) : nullptr;
          if (e && !m) continue;
          add(FactKind::kConsent, &c, m, true);
        }
        break;
      default:
        break;
    }
    queries.emplace(key, list);
    return list;
  }

  // ---- facts ----

  // Ordering key of a fact for latest/earliest: (has date, date, time).
  struct Key {
    bool dated = false;
    TimePoint time;
    friend bool operator==(const Key&, const Key&) = default;
    friend bool operator<(const Key& a, const Key& b) {
      if (a.dated != b.dated) return !a.dated;
      if (!a.dated) return false;
      return (a.time <=> b.time) < 0;
    }
  };
  static Key KeyOf(const FactRef& f) {
    auto from_date = [](const std::optional<Date>& d) {
      Key k;
      if (d) {
        k.dated = true;
        k.time.date = *d;
      }
      return k;
    };
    switch (f.kind) {
      case FactKind::kObservation:
        return Key{true, f.obs().time};
      case FactKind::kCondition:
        return from_date(f.cond().onset);
      case FactKind::kExposure:
        return from_date(f.exposure().start);
      case FactKind::kRequest:
        return from_date(f.request().authored);
      case FactKind::kStay:
        return from_date(f.stay().start);
      case FactKind::kConsent:
        return from_date(f.consent().date);
      default:
        return Key{};
    }
  }

  std::optional<bool> IsCurrent(const record::Condition& c) const {
    switch (c.clinical) {
      case record::ClinicalStatus::kCurrent:
        return true;
      case record::ClinicalStatus::kPast:
        return c.abatement && *c.abatement > s;
      case record::ClinicalStatus::kNone:
        return !c.abatement || *c.abatement > s;
    }
    return std::nullopt;
  }

  // The days [start, end] a fact covers, when it has a period; nullopt start when unknown.
  struct Period {
    std::optional<Date> start;
    Date end;
  };
  Period PeriodOf(const FactRef& f) const {
    switch (f.kind) {
      case FactKind::kExposure:
        return {f.exposure().start, f.exposure().end};
      case FactKind::kStay: {
        const auto& st = f.stay();
        Date end = st.end ? *st.end : std::max(s, st.start.value_or(s));
        return {st.start, end};
      }
      case FactKind::kObservation:
        return {f.obs().time.date, f.obs().time.date};
      case FactKind::kCondition:
        return {f.cond().onset, f.cond().onset.value_or(Date())};
      case FactKind::kConsent:
        return {f.consent().date, f.consent().date.value_or(Date())};
      default:
        return {std::nullopt, Date()};
    }
  }

  Value ObservationValue(const FactRef& f, bool uln) {
    const record::Observation& o = f.obs();
    const Element* e = f.element;
    Value v;
    switch (e->value) {
      case ValueKind::kQuantity: {
        const std::optional<Quantity>& q = uln ? o.reference_high : o.quantity;
        if (!q) {
          if (uln)
            Missing("upper limit of normal (referenceRange.high) of " + Describe(Value::Fact(f)));
          else
            Missing("a value for " + Describe(Value::Fact(f)));
          return Value::Unknown();
        }
        if (!e->unit) {
          v = Value::Qty(*q);
          break;
        }
        auto c = Convert(*q, *e->unit, e->molar_mass_g_per_mol);
        if (!c) {
          Missing(e->Describe() + " in a unit convertible to '" + e->unit->code() + "' (" +
                  o.source.ToString() + " gives '" + q->unit.code() + "')");
          return Value::Unknown();
        }
        v = Value::Qty(*c);
        break;
      }
      case ValueKind::kBoolean:
        if (!o.boolean) {
          Missing("a true/false value for " + Describe(Value::Fact(f)));
          return Value::Unknown();
        }
        v = Value::Bool(*o.boolean);
        if (Tracing()) {
          Step((e->label.empty() ? e->name : e->label) + " = " + (v.b ? "true" : "false") + " [" +
               o.source.ToString() + " " + o.time.date.ToString() + "]");
        }
        break;
      case ValueKind::kDate:
        if (!o.date_value) return Value::Unknown();
        v = Value::DateV(o.date_value->date);
        break;
      case ValueKind::kQualitative:
        v = Value::Codes(&o.value_codes);
        break;
      case ValueKind::kNone:
        return Value::Unknown();
    }
    v.origin = f;
    return v;
  }

  Value FieldOf(const Value& target, Field field) {
    if (target.kind == Kind::kAlternatives) {
      std::vector<Value> out;
      for (const auto& alt : target.list->items) out.push_back(FieldOf(alt, field));
      return Collapse(std::move(out));
    }
    if (target.kind != Kind::kFact) return Value::Unknown();
    const FactRef& f = target.fact;
    auto date = [&](const std::optional<Date>& d) {
      if (!d) return Value::Unknown();
      Value v = Value::DateV(*d);
      v.origin = f;
      return v;
    };
    auto str = [&](const std::string& s) {
      if (s.empty()) return Value::Unknown();
      return Value::String(s);
    };
    switch (f.kind) {
      case FactKind::kObservation:
        switch (field) {
          case Field::kValue:
            return ObservationValue(f, false);
          case Field::kUln:
            return ObservationValue(f, true);
          case Field::kDate:
            return date(f.obs().time.date);
          case Field::kStatus:
            return str(f.obs().status);
          case Field::kCodes:
            return Value::Codes(&f.obs().codes);
          default:
            break;
        }
        break;
      case FactKind::kCondition:
        switch (field) {
          case Field::kOnset:
            return date(f.cond().onset);
          case Field::kAbatement:
            return date(f.cond().abatement);
          case Field::kCurrent:
            return FromTruth(IsCurrent(f.cond()));
          case Field::kCodes:
            return Value::Codes(&f.cond().codes);
          case Field::kMember:
            return f.member ? Value::String(f.member->name) : Value::Unknown();
          default:
            break;
        }
        break;
      case FactKind::kAllergy:
        if (field == Field::kCodes) return Value::Codes(&f.allergy().codes);
        if (field == Field::kMember && f.member) return Value::String(f.member->name);
        break;
      case FactKind::kExposure: {
        const auto& x = f.exposure();
        switch (field) {
          case Field::kStart:
            return date(x.start);
          case Field::kEnd:
            return date(x.end);
          case Field::kRoute:
            for (const auto& d : x.dosages) {
              if (!d.route.empty()) return Value::Codes(&d.route);
            }
            Missing("the route of " + Describe(target));
            return Value::Unknown();
          case Field::kCodes:
            return Value::Codes(&x.codes);
          case Field::kMember:
            return f.member ? Value::String(f.member->name) : Value::Unknown();
          case Field::kStatus:
            return str(x.status);
          case Field::kOngoing:
            return Value::Bool(x.ongoing);
          default:
            break;
        }
        break;
      }
      case FactKind::kRequest: {
        const auto& q = f.request();
        switch (field) {
          case Field::kStatus:
            return str(q.status);
          case Field::kIntent:
            return str(q.intent);
          case Field::kMember:
            return f.member ? Value::String(f.member->name) : Value::Unknown();
          case Field::kAuthored:
            return date(q.authored);
          case Field::kCodes:
            return Value::Codes(&q.codes);
          case Field::kRoute:
            for (const auto& d : q.dosages) {
              if (!d.route.empty()) return Value::Codes(&d.route);
            }
            return Value::Unknown();
          default:
            break;
        }
        break;
      }
      case FactKind::kStay: {
        const auto& st = f.stay();
        switch (field) {
          case Field::kStart:
            return date(st.start);
          case Field::kEnd:
            return date(PeriodOf(f).end);
          case Field::kReasons:
            return Value::Codes(&st.reasons);
          default:
            break;
        }
        break;
      }
      case FactKind::kConsent:
        switch (field) {
          case Field::kStatus:
            return str(f.consent().status);
          case Field::kDate:
            return date(f.consent().date);
          case Field::kCodes:
            return Value::Codes(&f.consent().scopes);
          default:
            break;
        }
        break;
      case FactKind::kPatient:
        if (field == Field::kSex) {
          switch (rec.patient.sex) {
            case record::Sex::kFemale:
              return Value::String("female");
            case record::Sex::kMale:
              return Value::String("male");
            case record::Sex::kOther:
              return Value::String("other");
            case record::Sex::kUnknown:
              Missing("the patient's sex (Patient.gender)");
              return Value::Unknown();
          }
        }
        if (field == Field::kBirthDate) {
          if (!rec.patient.birth_date) Missing("the patient's birth date (Patient.birthDate)");
          return date(rec.patient.birth_date);
        }
        break;
      default:
        break;
    }
    return Value::Unknown();
  }

  // ---- doses ----

  // A record's daily dose as written: dose x frequency / period, in dose-unit per day.
  std::optional<Quantity> DailyDose(const std::vector<record::Dosage>& dosages, bool per_event) {
    if (dosages.empty()) return std::nullopt;
    std::optional<Quantity> total;
    for (const auto& d : dosages) {
      if (!d.dose) return std::nullopt;
      double per_day;
      if (per_event && !d.has_repeat) {
        per_day = d.dose->value;  // an administration counts once on its day
      } else {
        if (!d.has_repeat || !d.period_days || *d.period_days <= 0) return std::nullopt;
        per_day = d.dose->value * d.frequency.value_or(1.0) / *d.period_days;
      }
      Quantity q{per_day, d.dose->unit.Over(Day()), Comparator::kEq};
      if (!total) {
        total = q;
      } else {
        auto c = Convert(q, total->unit);
        if (!c) return std::nullopt;
        total->value += c->value;
      }
    }
    return total;
  }

  std::optional<Quantity> DailyDoseOf(const FactRef& f) {
    if (f.kind == FactKind::kExposure) {
      const auto& x = f.exposure();
      return DailyDose(x.dosages, x.kind == record::ExposureKind::kAdministration);
    }
    if (f.kind == FactKind::kRequest) return DailyDose(f.request().dosages, false);
    return std::nullopt;
  }

  static double Attribute(const FactRef& f, const char* name, double fallback) {
    if (!f.member) return fallback;
    auto it = f.member->attributes.find(name);
    if (it == f.member->attributes.end()) return fallback;
    return it->second.value * it->second.unit.factor();
  }

  // The days at which the set of active exposures can change, within [from, to].
  static std::vector<Date> Breakpoints(const List& l, Date from, Date to) {
    std::vector<Date> pts{from};
    for (const auto& item : l.items) {
      const auto& x = item.fact.exposure();
      if (x.start && *x.start > from && *x.start <= to) pts.push_back(*x.start);
      if (x.end < to && x.end >= from) pts.push_back(x.end.AddDays(1));
    }
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
    return pts;
  }

  // Active on day d: 1 = certainly, 0 = no, -1 = unknown (no start date or uncertain membership).
  static int ActiveOn(const Value& item, Date d) {
    const auto& x = item.fact.exposure();
    if (!x.start) return d <= x.end ? -1 : 0;
    if (d < *x.start || d > x.end) return 0;
    return item.fact.certain ? 1 : -1;
  }

  Value CoversEveryDay(const List& l, Date from, Date to) {
    if (to < from) return Value::Bool(true);
    std::optional<bool> result = true;
    for (Date d : Breakpoints(l, from, to)) {
      int best = 0;
      for (const auto& item : l.items)
        best = std::max(best, ActiveOn(item, d) == 1 ? 2 : ActiveOn(item, d) == -1 ? 1 : 0);
      if (best == 0) {
        Step("no " + ListLabel(l) + " on " + d.ToString());
        return Value::Bool(false);
      }
      if (best == 1) result = std::nullopt;
    }
    if (!result)
      Missing("whether " + ListLabel(l) + " was taken on every day " + from.ToString() + " to " +
              to.ToString());
    return FromTruth(result);
  }

  Value MaxDailyDose(const List& l, Date from, Date to) {
    double max_known = 0;
    bool any_unknown = false;
    std::string max_day;
    if (to < from) return Value::Qty(Quantity{0, MgPerDay(), Comparator::kEq});
    for (Date d : Breakpoints(l, from, to)) {
      double total = 0;
      for (const auto& item : l.items) {
        int active = ActiveOn(item, d);
        if (active == 0) continue;
        if (active == -1) {
          any_unknown = true;
          continue;
        }
        auto dose = DailyDoseOf(item.fact);
        std::optional<double> mg = dose ? ToBase(*dose, MgPerDay()) : std::nullopt;
        if (!mg) {
          any_unknown = true;
          Missing("the daily dose of " + Describe(item) +
                  " (dose, timing.repeat frequency and "
                  "period)");
          continue;
        }
        total += *mg * Attribute(item.fact, "factor", 1.0);
      }
      if (total > max_known) {
        max_known = total;
        max_day = d.ToString();
      }
    }
    Value v = Value::Qty(
        Quantity{max_known, MgPerDay(), any_unknown ? Comparator::kGe : Comparator::kEq});
    if (Tracing() && max_known > 0) {
      Step("highest daily dose of " + ListLabel(l) + " " + from.ToString() + ".." + to.ToString() +
           ": " + v.quantity.ToString() + " (from " + max_day + ")");
    }
    return v;
  }

  Value StableDailyDose(const List& l, Date from, Date to) {
    std::optional<std::pair<const Member*, double>> first;
    bool unknown = false;
    for (Date d : Breakpoints(l, from, to)) {
      std::map<const Member*, double> per_member;
      bool day_unknown = false;
      for (const auto& item : l.items) {
        int active = ActiveOn(item, d);
        if (active == 0) continue;
        if (active == -1) {
          day_unknown = true;
          continue;
        }
        auto dose = DailyDoseOf(item.fact);
        std::optional<double> mg = dose ? ToBase(*dose, MgPerDay()) : std::nullopt;
        if (!mg) {
          day_unknown = true;
          Missing("the daily dose of " + Describe(item));
          continue;
        }
        per_member[item.fact.member] += *mg;
      }
      if (per_member.size() > 1) {
        Step("two different drugs of " + ListLabel(l) + " on " + d.ToString());
        return Value::Bool(false);
      }
      if (per_member.empty()) {
        if (day_unknown) {
          unknown = true;
          continue;
        }
        Step("no " + ListLabel(l) + " on " + d.ToString());
        return Value::Bool(false);
      }
      if (day_unknown) unknown = true;
      auto cur = *per_member.begin();
      if (!first) {
        first = cur;
      } else if (first->first != cur.first ||
                 std::fabs(first->second - cur.second) > 1e-9 * std::max(1.0, first->second)) {
        Step("daily dose of " + ListLabel(l) + " changes on " + d.ToString() + " (" +
             Quantity{first->second, MgPerDay(), Comparator::kEq}.ToString() + " -> " +
             Quantity{cur.second, MgPerDay(), Comparator::kEq}.ToString() + ")");
        return Value::Bool(false);
      }
    }
    if (unknown) return Value::Unknown();
    if (first) {
      Step("same daily dose of " + ListLabel(l) + " " + from.ToString() + ".." + to.ToString() +
           ": " + first->first->name + " " +
           Quantity{first->second, MgPerDay(), Comparator::kEq}.ToString());
    }
    return Value::Bool(true);
  }

  // ---- evaluation ----

  Value Eval(const BoundNode& n) {
    switch (n.kind) {
      case BoundKind::kConst:
        return n.constant;
      case BoundKind::kScreening:
        return Value::DateV(s);
      case BoundKind::kRandom:
        return Value::DateV(r);
      case BoundKind::kPatient:
        return Value::Fact(FactRef{FactKind::kPatient, &rec.patient});
      case BoundKind::kDefRef: {
        auto& cached = defs[static_cast<size_t>(n.slot)];
        if (!cached) {
          Mark m = Here();
          ++quiet;
          cached = Eval(*impl.definition_roots[static_cast<size_t>(n.slot)]);
          --quiet;
          if (trace) trace->steps.resize(m.steps);
        } else if (!cached->known() && trace) {
          // Re-run quietly to collect what is missing for this criterion too.
          ++quiet;
          Eval(*impl.definition_roots[static_cast<size_t>(n.slot)]);
          --quiet;
        }
        if (Tracing() && cached->kind != Kind::kList) {  // identical steps are merged later
          Step(impl.definition_names[static_cast<size_t>(n.slot)] + " = " + Describe(*cached));
        }
        return *cached;
      }
      case BoundKind::kLocal: {
        auto slot = static_cast<size_t>(n.slot);
        // A let name is computed on first use, so an unused one neither costs nor explains.
        if (!n.children.empty() && !local_ready[slot]) {
          locals[slot] = Eval(*n.children[0]);
          local_ready[slot] = 1;
        }
        return locals[slot];
      }
      case BoundKind::kLet:
        local_ready[static_cast<size_t>(n.slot)] = 0;
        return Eval(*n.children[1]);
      case BoundKind::kList: {
        auto list = std::make_shared<List>();
        for (const auto* c : n.children) list->items.push_back(Eval(*c));
        return Value::ListV(std::move(list));
      }
      case BoundKind::kLambda:
        return Eval(*n.children[0]);
      case BoundKind::kExpansion: {
        ++quiet;
        Value v = Eval(*n.children[0]);
        --quiet;
        if (Tracing() && n.type.kind != TypeKind::kList && n.type.kind != TypeKind::kFact) {
          Step(n.text + " -> " + Describe(v));
        }
        return v;
      }
      case BoundKind::kField: {
        Value t = Eval(*n.children[0]);
        return FieldOf(t, n.field);
      }
      case BoundKind::kUnary: {
        Value a = Eval(*n.children[0]);
        if (n.op == Op::kNot) {
          auto t = Truth(a);
          return t ? Value::Bool(!*t) : Value::Unknown();
        }
        if (a.kind == Kind::kNumber) return Value::Number(-a.number);
        if (a.kind == Kind::kQuantity) {
          Value v = a;
          v.quantity.value = -v.quantity.value;
          switch (v.quantity.comparator) {  // -(<20) is >-20
            case Comparator::kLt:
              v.quantity.comparator = Comparator::kGt;
              break;
            case Comparator::kLe:
              v.quantity.comparator = Comparator::kGe;
              break;
            case Comparator::kGt:
              v.quantity.comparator = Comparator::kLt;
              break;
            case Comparator::kGe:
              v.quantity.comparator = Comparator::kLe;
              break;
            case Comparator::kEq:
              break;
          }
          return v;
        }
        return Value::Unknown();
      }
      case BoundKind::kBinary:
        return EvalBinary(n);
      case BoundKind::kIf: {
        auto c = Truth(Eval(*n.children[0]));
        if (!c) return Value::Unknown();
        return Eval(*n.children[*c ? 1 : 2]);
      }
      case BoundKind::kCase: {
        for (size_t i = 0; i + 1 < n.children.size(); i += 2) {
          auto c = Truth(Eval(*n.children[i]));
          if (!c) return Value::Unknown();
          if (*c) return Eval(*n.children[i + 1]);
        }
        return Eval(*n.children.back());
      }
      case BoundKind::kWithin: {
        Value t = Eval(*n.children[0]);
        Value d = Eval(*n.children[1]);
        Value x = Eval(*n.children[2]);
        Value out = Lift2(t, x, [&](const Value& tv, const Value& xv) {
          if (tv.kind != Kind::kDate || d.kind != Kind::kDuration || xv.kind != Kind::kDate) {
            return Value::Unknown();
          }
          Date lo = n.op == Op::kBefore ? Shift(xv.date, d.duration, -1) : xv.date;
          Date hi = n.op == Op::kBefore ? xv.date : Shift(xv.date, d.duration, +1);
          return Value::Bool(lo <= tv.date && tv.date <= hi);
        });
        if (Tracing()) Step(n.text + " -> " + Describe(out) + " (" + Describe(t) + ")");
        return out;
      }
      case BoundKind::kBetween: {
        Value a = Eval(*n.children[0]);
        Value lo = Eval(*n.children[1]);
        Value hi = Eval(*n.children[2]);
        auto t1 = Truth(Compare(Op::kGe, a, lo));
        auto t2 = Truth(Compare(Op::kLe, a, hi));
        Value out;
        if (t1 == false || t2 == false)
          out = Value::Bool(false);
        else if (t1 && t2)
          out = Value::Bool(true);
        if (Tracing()) Step(n.text + " -> " + Describe(out) + " (" + Describe(a) + ")");
        return out;
      }
      case BoundKind::kIsUnknown: {
        Mark m = Here();
        Value a = Eval(*n.children[0]);
        bool unknown = !a.known();
        Drop(m, Here());
        return Value::Bool(n.op == Op::kIs ? unknown : !unknown);
      }
      case BoundKind::kCall:
        return EvalCall(n);
    }
    return Value::Unknown();
  }

  template <class F>
  Value Lift1(const Value& a, F f) {
    if (a.kind == Kind::kAlternatives) {
      std::vector<Value> out;
      for (const auto& alt : a.list->items) out.push_back(f(alt));
      return Collapse(std::move(out));
    }
    return f(a);
  }
  template <class F>
  Value Lift2(const Value& a, const Value& b, F f) {
    if (a.kind == Kind::kAlternatives) {
      return Lift1(a, [&](const Value& x) { return Lift2(x, b, f); });
    }
    if (b.kind == Kind::kAlternatives) {
      return Lift1(b, [&](const Value& y) { return f(a, y); });
    }
    return f(a, b);
  }

  // Applies `f` to every combination of the alternatives among `args` (facts tied for latest)
  // and collapses the results: agreeing ties decide, disagreeing ones give unknown.
  template <class F>
  Value LiftArgs(std::vector<Value> args, F f, size_t from = 0) {
    size_t i = from;
    while (i < args.size() && args[i].kind != Kind::kAlternatives) ++i;
    if (i == args.size()) return f(args);
    std::shared_ptr<const List> alts = args[i].list;
    std::vector<Value> out;
    for (const auto& alt : alts->items) {
      args[i] = alt;
      out.push_back(LiftArgs(args, f, i + 1));
    }
    return Collapse(std::move(out));
  }

  // FACTS.md §5.1: CrCl = (140 - age) x weight(kg) / (72 x SCr(mg/dL)), x 0.85 if female.
  Value CockcroftGault(const Value& age, const Value& w, const Value& scr, const Value& female) {
    static const Unit kKg = *Unit::Parse("kg");
    static const Unit kMgDl = *Unit::Parse("mg/dL");
    static const Unit kMlMin = *Unit::Parse("mL/min");
    if (age.kind != Kind::kNumber || w.kind != Kind::kQuantity || scr.kind != Kind::kQuantity ||
        female.kind != Kind::kBool) {
      return Value::Unknown();
    }
    auto kg = Convert(w.quantity, kKg);
    auto mgdl = Convert(scr.quantity, kMgDl);
    if (!kg || !mgdl || mgdl->value <= 0 || kg->comparator != Comparator::kEq ||
        mgdl->comparator != Comparator::kEq) {
      return Value::Unknown();
    }
    double crcl = (140.0 - age.number) * kg->value / (72.0 * mgdl->value);
    if (female.b) crcl *= 0.85;
    Value out = Value::Qty(Quantity{crcl, kMlMin, Comparator::kEq});
    if (Tracing()) {
      Step("Cockcroft-Gault creatinine clearance = " + out.quantity.ToString() + " (age " +
           Describe(age) + ", weight " + kg->ToString() + ", creatinine " + mgdl->ToString() +
           (female.b ? ", x 0.85 female)" : ", male)"));
    }
    return out;
  }

  Value Compare(Op op, const Value& a, const Value& b) {
    return Lift2(a, b, [&](const Value& x, const Value& y) { return Compare1(op, x, y); });
  }

  Value Compare1(Op op, const Value& x, const Value& y) {
    if (!x.known() || !y.known()) return Value::Unknown();
    if (x.kind == Kind::kQuantity || y.kind == Kind::kQuantity) {
      Interval a, b;
      if (x.kind == Kind::kQuantity && y.kind == Kind::kQuantity) {
        auto c = Convert(y.quantity, x.quantity.unit);
        if (!c) {
          Missing("a value comparable with " + y.quantity.ToString() + " (found " +
                  x.quantity.ToString() + ")");
          return Value::Unknown();
        }
        a = ToInterval(x.quantity.value, x.quantity.comparator);
        b = ToInterval(c->value, c->comparator);
      } else if (x.kind == Kind::kQuantity && y.kind == Kind::kNumber) {
        // A number is a quantity of unit 1 (UCUM): 50 '%' = 0.5, 1 'mg/dL' / 1 'mg/L' = 10.
        if (!x.quantity.unit.dim().IsDimensionless()) return Value::Unknown();
        a = ToInterval(x.quantity.value * x.quantity.unit.factor(), x.quantity.comparator);
        b = ToInterval(y.number, Comparator::kEq);
      } else if (x.kind == Kind::kNumber && y.kind == Kind::kQuantity) {
        if (!y.quantity.unit.dim().IsDimensionless()) return Value::Unknown();
        a = ToInterval(x.number, Comparator::kEq);
        b = ToInterval(y.quantity.value * y.quantity.unit.factor(), y.quantity.comparator);
      } else {
        return Value::Unknown();
      }
      return FromTruth(CompareIntervals(op, a, b));
    }
    if (x.kind != y.kind) return Value::Unknown();
    switch (x.kind) {
      case Kind::kNumber:
        return FromTruth(CompareIntervals(op, ToInterval(x.number, Comparator::kEq),
                                          ToInterval(y.number, Comparator::kEq)));
      case Kind::kDate: {
        double a = x.date.days(), b = y.date.days();
        return FromTruth(
            CompareIntervals(op, ToInterval(a, Comparator::kEq), ToInterval(b, Comparator::kEq)));
      }
      case Kind::kDuration: {
        // Days and weeks compare in days, months and years in months; a day count against a
        // calendar month count has no fixed answer.
        auto in = [](const Duration& d, bool* calendar) {
          *calendar = d.unit == Duration::Unit::kMonths || d.unit == Duration::Unit::kYears;
          switch (d.unit) {
            case Duration::Unit::kDays:
              return static_cast<double>(d.amount);
            case Duration::Unit::kWeeks:
              return 7.0 * d.amount;
            case Duration::Unit::kMonths:
              return static_cast<double>(d.amount);
            case Duration::Unit::kYears:
              return 12.0 * d.amount;
          }
          return 0.0;
        };
        bool cx = false, cy = false;
        double a = in(x.duration, &cx), b = in(y.duration, &cy);
        if (cx != cy) return Value::Unknown();
        return FromTruth(
            CompareIntervals(op, ToInterval(a, Comparator::kEq), ToInterval(b, Comparator::kEq)));
      }
      case Kind::kString:
      case Kind::kBool: {
        bool eq = SameValue(x, y);
        if (op == Op::kEq) return Value::Bool(eq);
        if (op == Op::kNe) return Value::Bool(!eq);
        return Value::Unknown();
      }
      default:
        return Value::Unknown();
    }
  }

  Value Arith(Op op, const Value& x, const Value& y) {
    if (!x.known() || !y.known()) return Value::Unknown();
    if (x.kind == Kind::kDate && y.kind == Kind::kDuration) {
      return Value::DateV(Shift(x.date, y.duration, op == Op::kAdd ? +1 : -1));
    }
    if (x.kind == Kind::kDate && y.kind == Kind::kDate && op == Op::kSub) {
      return Value::Number(x.date.days() - y.date.days());
    }
    if (x.kind == Kind::kNumber && y.kind == Kind::kNumber) {
      switch (op) {
        case Op::kAdd:
          return Value::Number(x.number + y.number);
        case Op::kSub:
          return Value::Number(x.number - y.number);
        case Op::kMul:
          return Value::Number(x.number * y.number);
        case Op::kDiv:
          if (y.number == 0) return Value::Unknown();
          return Value::Number(x.number / y.number);
        default:
          return Value::Unknown();
      }
    }
    Quantity a =
        x.kind == Kind::kQuantity ? x.quantity : Quantity{x.number, Unit(), Comparator::kEq};
    Quantity b =
        y.kind == Kind::kQuantity ? y.quantity : Quantity{y.number, Unit(), Comparator::kEq};
    if (op == Op::kAdd || op == Op::kSub) {
      auto c = Convert(b, a.unit);
      if (!c) return Value::Unknown();
      if (a.comparator != Comparator::kEq && c->comparator != Comparator::kEq)
        return Value::Unknown();
      Comparator cmp = a.comparator != Comparator::kEq ? a.comparator : c->comparator;
      if (op == Op::kSub && c->comparator != Comparator::kEq) return Value::Unknown();
      Quantity out{op == Op::kAdd ? a.value + c->value : a.value - c->value, a.unit, cmp};
      return Value::Qty(out);
    }
    // Multiplication and division keep a bound only when the other side is an exact positive.
    Comparator cmp = Comparator::kEq;
    if (a.comparator != Comparator::kEq) {
      if (b.comparator != Comparator::kEq || b.value <= 0) return Value::Unknown();
      cmp = a.comparator;
    } else if (b.comparator != Comparator::kEq) {
      if (a.value <= 0 || b.value <= 0) return Value::Unknown();
      if (op == Op::kMul) {
        cmp = b.comparator;
      } else {
        switch (b.comparator) {
          case Comparator::kLt:
            cmp = Comparator::kGt;
            break;
          case Comparator::kLe:
            cmp = Comparator::kGe;
            break;
          case Comparator::kGt:
            cmp = Comparator::kLt;
            break;
          case Comparator::kGe:
            cmp = Comparator::kLe;
            break;
          default:
            break;
        }
      }
    }
    if (op == Op::kMul) return Value::Qty(Quantity{a.value * b.value, a.unit.Times(b.unit), cmp});
    if (b.value == 0) return Value::Unknown();
    return Value::Qty(Quantity{a.value / b.value, a.unit.Over(b.unit), cmp});
  }

  static bool InValueSet(const Value& v, const Element& e) {
    if (v.kind == Kind::kFact) {
      switch (v.fact.kind) {
        case FactKind::kObservation:
          return e.Match(v.fact.obs().codes) != nullptr;
        case FactKind::kCondition:
          return e.Match(v.fact.cond().codes) != nullptr;
        case FactKind::kExposure:
          return e.Match(v.fact.exposure().codes) != nullptr;
        case FactKind::kRequest:
          return e.Match(v.fact.request().codes) != nullptr;
        case FactKind::kAllergy:
          return e.Match(v.fact.allergy().codes) != nullptr;
        case FactKind::kStay:
          return e.Match(v.fact.stay().reasons) != nullptr;
        default:
          return false;
      }
    }
    return v.codes && e.Match(*v.codes) != nullptr;
  }

  Value EvalBinary(const BoundNode& n) {
    switch (n.op) {
      case Op::kAnd:
      case Op::kOr:
      case Op::kImplies: {
        // Kleene logic; the trace keeps only the operand(s) that decided the result.
        bool is_and = n.op == Op::kAnd;
        Mark m0 = Here();
        auto a = Truth(Eval(*n.children[0]));
        if (n.op == Op::kImplies && a) a = !*a;
        bool dominant = !is_and;  // the value that decides alone: false for and, true for or
        if (a && *a == dominant) return Value::Bool(dominant);
        Mark m1 = Here();
        auto b = Truth(Eval(*n.children[1]));
        if (b && *b == dominant) {
          Drop(m0, m1);
          return Value::Bool(dominant);
        }
        if (a && b) return Value::Bool(!dominant);
        return Value::Unknown();
      }
      case Op::kIn: {
        Value a = Eval(*n.children[0]);
        Value out;
        if (n.element) {
          out = Lift1(a, [&](const Value& v) {
            if (!v.known()) return Value::Unknown();
            return Value::Bool(InValueSet(v, *n.element));
          });
        } else {
          Value list = Eval(*n.children[1]);
          out = Lift1(a, [&](const Value& v) {
            if (!v.known() || list.kind != Kind::kList) return Value::Unknown();
            for (const auto& item : list.list->items) {
              if (SameValue(v, item)) return Value::Bool(true);
            }
            return Value::Bool(false);
          });
        }
        if (Tracing()) Step(n.text + " -> " + Describe(out) + " (" + Describe(a) + ")");
        return out;
      }
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        Value a = Eval(*n.children[0]);
        Value b = Eval(*n.children[1]);
        Value out = Compare(n.op, a, b);
        if (Tracing()) {
          std::string step = n.text + " -> " + Describe(out);
          const BoundNode& l = *n.children[0];
          const BoundNode& r = *n.children[1];
          std::string details;
          if (l.kind != BoundKind::kConst && l.kind != BoundKind::kDefRef) details = Describe(a);
          if (r.kind != BoundKind::kConst && r.kind != BoundKind::kDefRef) {
            details += (details.empty() ? "" : " vs ") + Describe(b);
          } else if (r.kind == BoundKind::kConst && r.text != Describe(b) &&
                     b.kind != Kind::kQuantity) {
            details += (details.empty() ? "" : " vs ") + Describe(b);
          }
          if (!details.empty()) step += " (" + details + ")";
          Step(std::move(step));
        }
        return out;
      }
      default: {
        Value a = Eval(*n.children[0]);
        Value b = Eval(*n.children[1]);
        return Lift2(a, b, [&](const Value& x, const Value& y) { return Arith(n.op, x, y); });
      }
    }
  }

  // item() and previous(): the stored text read as the item's type (docs/rules.md §5). Missing
  // or unreadable text gives unknown with a missing entry naming the item.
  Value ItemValueOf(const ItemDecl& item, bool previous) {
    const std::string* text = visit ? visit->ItemText(item.name, previous) : nullptr;
    const std::string where = previous ? " at an earlier visit" : " at this visit";
    if (text == nullptr || text->empty()) {
      Missing("eCRF item " + item.name + where);
      return Value::Unknown();
    }
    auto unreadable = [&] {
      Missing("a readable value of eCRF item " + item.name + where + " (found '" + *text + "')");
      return Value::Unknown();
    };
    auto number = [](std::string_view t) -> std::optional<double> {
      double v = 0;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v)) return std::nullopt;
      return v;
    };
    switch (item.value) {
      case ItemValue::kNumber: {
        auto v = number(*text);
        return v ? Value::Number(*v) : unreadable();
      }
      case ItemValue::kQuantity: {
        size_t space = text->find(' ');
        if (space == std::string::npos) return unreadable();
        auto v = number(std::string_view(*text).substr(0, space));
        auto unit = Unit::Parse(std::string_view(*text).substr(space + 1));
        if (!v || !unit) return unreadable();
        Quantity q{*v, *unit, Comparator::kEq};
        if (!item.unit) return Value::Qty(q);
        auto converted = Convert(q, *item.unit, item.molar_mass_g_per_mol);
        return converted ? Value::Qty(*converted) : unreadable();
      }
      case ItemValue::kString:
        return Value::String(*text);
      case ItemValue::kDate: {
        auto d = Date::Parse(*text);
        return d ? Value::DateV(*d) : unreadable();
      }
      case ItemValue::kBool:
        if (*text == "yes" || *text == "true") return Value::Bool(true);
        if (*text == "no" || *text == "false") return Value::Bool(false);
        return unreadable();
    }
    return Value::Unknown();
  }

  Value EvalCall(const BoundNode& n) {
    const auto& args = n.children;
    switch (n.builtin) {
      case Builtin::kObservations:
      case Builtin::kConditions:
      case Builtin::kAllergies:
      case Builtin::kExposures:
      case Builtin::kRequests:
      case Builtin::kStays:
      case Builtin::kConsents:
        return Value::ListV(Query(n.builtin, n.element));
      case Builtin::kExists: {
        Value l = Eval(*args[0]);
        if (l.kind != Kind::kList) return Value::Unknown();
        bool uncertain = false;
        for (const auto& item : l.list->items) {
          if (item.kind != Kind::kFact || item.fact.certain) {
            if (Tracing()) Step(n.text + " -> true (" + Describe(item) + ")");
            return Value::Bool(true);
          }
          uncertain = true;
        }
        if (uncertain) {
          Missing("confirmation of " + Describe(l.list->items.front()));
          if (Tracing()) Step(n.text + " -> unknown (" + Describe(l) + ")");
          return Value::Unknown();
        }
        if (Tracing()) Step(n.text + " -> false (no " + ListLabel(*l.list) + ")");
        return Value::Bool(false);
      }
      case Builtin::kCount:
      case Builtin::kDistinctCount: {
        Value l = Eval(*args[0]);
        if (l.kind != Kind::kList) return Value::Unknown();
        std::set<const void*> certain, all;
        bool by_member = n.builtin == Builtin::kDistinctCount;
        for (const auto& item : l.list->items) {
          const void* key = by_member && item.kind == Kind::kFact
                                ? static_cast<const void*>(item.fact.member)
                                : static_cast<const void*>(&item);
          all.insert(key);
          if (item.kind != Kind::kFact || item.fact.certain) certain.insert(key);
        }
        if (certain.size() != all.size()) {
          // Uncertain members: at least the certain count (decides `>= 2` when 2 are certain).
          return Value::Qty(Quantity{static_cast<double>(certain.size()), Unit(), Comparator::kGe});
        }
        Value out = Value::Number(static_cast<double>(certain.size()));
        if (Tracing())
          Step(n.text + " = " + Describe(out) +
               (l.list->items.empty() ? "" : " (" + Describe(l) + ")"));
        return out;
      }
      case Builtin::kLatest:
      case Builtin::kEarliest: {
        Value l = Eval(*args[0]);
        if (l.kind != Kind::kList) return Value::Unknown();
        if (l.list->items.empty()) {
          Missing(MissingLabel(*l.list));
          return Value::Unknown();
        }
        bool latest = n.builtin == Builtin::kLatest;
        std::vector<Value> best;
        Key best_key;
        for (const auto& item : l.list->items) {
          Key k = KeyOf(item.fact);
          // Undated facts are the oldest for `latest` and are never `earliest` over a dated one.
          bool before = k.dated != best_key.dated ? k.dated : k < best_key;
          if (best.empty() || (latest ? best_key < k : before)) {
            best.clear();
            best.push_back(item);
            best_key = k;
          } else if (k == best_key) {
            best.push_back(item);
          }
        }
        if (best.size() == 1) return best[0];
        auto alts = std::make_shared<List>();
        alts->items = std::move(best);
        Value v;
        v.kind = Kind::kAlternatives;
        v.list = std::move(alts);
        return v;
      }
      case Builtin::kFilter:
      case Builtin::kAny:
      case Builtin::kAll: {
        Value l = Eval(*args[0]);
        if (l.kind != Kind::kList) return Value::Unknown();
        const BoundNode& fn = *args[1];
        auto out = std::make_shared<List>();
        out->element = l.list->element;
        if (trace) out->note = l.list->note + " where " + fn.text;
        std::optional<bool> acc = n.builtin == Builtin::kAll;
        std::vector<std::string> deciding;
        for (const auto& item : l.list->items) {
          locals[static_cast<size_t>(fn.slot)] = item;
          ++quiet;
          auto t = Truth(Eval(*fn.children[0]));
          --quiet;
          bool certain = item.kind != Kind::kFact || item.fact.certain;
          if (n.builtin == Builtin::kFilter) {
            if (t == false) continue;
            Value kept = item;
            if (!t || !certain) kept.fact.certain = false;
            out->items.push_back(kept);
            continue;
          }
          if (!certain) {
            if (n.builtin == Builtin::kAny && t == true) t = std::nullopt;
            if (n.builtin == Builtin::kAll && t == false) t = std::nullopt;
          }
          if (n.builtin == Builtin::kAny) {
            if (t == true) {
              if (Tracing()) Step(n.text + " -> true (" + Describe(item) + ")");
              return Value::Bool(true);
            }
            if (!t) {
              acc = std::nullopt;
              if (trace) deciding.push_back(Describe(item));
            }
          } else {
            if (t == false) {
              if (Tracing()) Step(n.text + " -> false (" + Describe(item) + ")");
              return Value::Bool(false);
            }
            if (!t) {
              acc = std::nullopt;
              if (trace) deciding.push_back(Describe(item));
            }
          }
        }
        if (n.builtin == Builtin::kFilter) return Value::ListV(std::move(out));
        if (Tracing()) {
          std::string step = n.text + " -> " + Describe(FromTruth(acc));
          if (!deciding.empty()) {
            step += " (undecided for ";
            for (size_t i = 0; i < deciding.size(); ++i) step += (i ? ", " : "") + deciding[i];
            step += ")";
          } else if (l.list->items.empty()) {
            step += " (no " + ListLabel(*l.list) + ")";
          }
          Step(std::move(step));
        }
        if (!acc) {
          for (const auto& d : deciding) Missing("what decides " + fn.text + " for " + d);
        }
        return FromTruth(acc);
      }
      case Builtin::kDuring: {
        Value l = Eval(*args[0]);
        Value from = Eval(*args[1]);
        Value to = Eval(*args[2]);
        if (l.kind != Kind::kList || from.kind != Kind::kDate || to.kind != Kind::kDate) {
          return Value::Unknown();
        }
        auto out = std::make_shared<List>();
        out->element = l.list->element;
        if (trace) {
          out->note = l.list->note + " dated " + from.date.ToString() + " to " + to.date.ToString();
        }
        for (const auto& item : l.list->items) {
          Period p = PeriodOf(item.fact);
          if (!p.start) {
            Value kept = item;
            kept.fact.certain = false;
            out->items.push_back(kept);
            continue;
          }
          if (*p.start <= to.date && p.end >= from.date) out->items.push_back(item);
        }
        return Value::ListV(std::move(out));
      }
      case Builtin::kIsPositive:
      case Builtin::kIsNegative: {
        Value f = Eval(*args[0]);
        bool want_pos = n.builtin == Builtin::kIsPositive;
        Value out = Lift1(f, [&](const Value& v) {
          if (v.kind != Kind::kFact) return Value::Unknown();
          switch (v.fact.obs().qualitative) {
            case record::Qualitative::kPositive:
              return Value::Bool(want_pos);
            case record::Qualitative::kNegative:
              return Value::Bool(!want_pos);
            default:
              Missing("a positive or negative result for " + Describe(v));
              return Value::Unknown();
          }
        });
        if (Tracing()) {
          Step(n.text + " -> " + Describe(out) + (f.known() ? " (" + Describe(f) + ")" : ""));
        }
        return out;
      }
      case Builtin::kTimesUln: {
        Value f = Eval(*args[0]);
        return Lift1(f, [&](const Value& v) {
          if (v.kind != Kind::kFact) return Value::Unknown();
          Value val = ObservationValue(v.fact, false);
          Value uln = ObservationValue(v.fact, true);
          if (val.kind != Kind::kQuantity || uln.kind != Kind::kQuantity) return Value::Unknown();
          auto c = Convert(uln.quantity, val.quantity.unit);
          if (!c || c->value <= 0) return Value::Unknown();
          Value out = Value::Number(val.quantity.value / c->value);
          if (Tracing()) {
            Step(n.text + " = " + Describe(out) + " (" + val.quantity.ToString() + " / ULN " +
                 c->ToString() + ", " + v.fact.source()->ToString() + " " +
                 v.fact.obs().time.date.ToString() + ")");
          }
          return out;
        });
      }
      case Builtin::kIsCurrent: {
        Value f = Eval(*args[0]);
        return Lift1(f, [&](const Value& v) {
          if (v.kind != Kind::kFact) return Value::Unknown();
          return FromTruth(IsCurrent(v.fact.cond()));
        });
      }
      case Builtin::kOverlaps:
        return LiftArgs(
            {Eval(*args[0]), Eval(*args[1]), Eval(*args[2])}, [&](const std::vector<Value>& a) {
              const Value& f = a[0];
              if (f.kind != Kind::kFact || a[1].kind != Kind::kDate || a[2].kind != Kind::kDate) {
                return Value::Unknown();
              }
              Period p = PeriodOf(f.fact);
              if (!p.start) return Value::Unknown();
              return Value::Bool(*p.start <= a[2].date && p.end >= a[1].date);
            });
      case Builtin::kDailyDose: {
        Value f = Eval(*args[0]);
        return Lift1(f, [&](const Value& v) {
          if (v.kind != Kind::kFact) return Value::Unknown();
          auto q = DailyDoseOf(v.fact);
          if (!q) {
            Missing("the daily dose of " + Describe(v));
            return Value::Unknown();
          }
          Value out = Value::Qty(*q);
          out.origin = v.fact;
          return out;
        });
      }
      case Builtin::kWashoutEnd:
        return LiftArgs({Eval(*args[0]), Eval(*args[1])}, [&](const std::vector<Value>& a) {
          const Value& f = a[0];
          const Value& times = a[1];
          if (f.kind != Kind::kFact || times.kind != Kind::kNumber) return Value::Unknown();
          const auto& x = f.fact.exposure();
          if (x.ongoing) return Value::DateV(Date::Max());
          double half_life_s = Attribute(f.fact, "half_life", -1);
          if (half_life_s <= 0) {
            Missing("the half-life of " + Describe(f));
            return Value::Unknown();
          }
          double days = std::ceil(times.number * half_life_s / 86400.0 - 1e-9);
          Value out = Value::DateV(x.end.AddDays(static_cast<int32_t>(days)));
          if (Tracing()) {
            Step("washout of " + Describe(f) + " (" + (f.fact.member ? f.fact.member->name : "") +
                 ") ends " + out.date.ToString() + " (last dose " + x.end.ToString() + " + " +
                 std::to_string(static_cast<int>(days)) + " days)");
          }
          return out;
        });
      case Builtin::kCoversEveryDay:
      case Builtin::kMaxDailyDose:
      case Builtin::kStableDailyDose: {
        Value l = Eval(*args[0]);
        Value from = Eval(*args[1]);
        Value to = Eval(*args[2]);
        if (l.kind != Kind::kList || from.kind != Kind::kDate || to.kind != Kind::kDate) {
          return Value::Unknown();
        }
        if (n.builtin == Builtin::kCoversEveryDay)
          return CoversEveryDay(*l.list, from.date, to.date);
        if (n.builtin == Builtin::kMaxDailyDose) return MaxDailyDose(*l.list, from.date, to.date);
        return StableDailyDose(*l.list, from.date, to.date);
      }
      case Builtin::kAgeOn:
        return LiftArgs({Eval(*args[0])}, [&](const std::vector<Value>& a) {
          if (a[0].kind != Kind::kDate) return Value::Unknown();
          if (!rec.patient.birth_date) {
            Missing("the patient's birth date (Patient.birthDate)");
            return Value::Unknown();
          }
          Value out = Value::Number(rec.patient.birth_date->CompletedYearsOn(a[0].date));
          if (Tracing()) {
            Step("age on " + a[0].date.ToString() + " = " + Describe(out) + " (born " +
                 rec.patient.birth_date->ToString() + ")");
          }
          return out;
        });
      case Builtin::kCockcroftGault:
        return LiftArgs(
            {Eval(*args[0]), Eval(*args[1]), Eval(*args[2]), Eval(*args[3])},
            [&](const std::vector<Value>& a) { return CockcroftGault(a[0], a[1], a[2], a[3]); });
      case Builtin::kMaxOf:
      case Builtin::kMinOf: {
        Value l = Eval(*args[0]);
        if (l.kind != Kind::kList || l.list->items.empty()) return Value::Unknown();
        const BoundNode& fn = *args[1];
        bool want_max = n.builtin == Builtin::kMaxOf;
        Value best;
        for (const auto& item : l.list->items) {
          locals[static_cast<size_t>(fn.slot)] = item;
          ++quiet;
          Value v = Eval(*fn.children[0]);
          --quiet;
          if (!v.known()) return Value::Unknown();
          if (!best.known()) {
            best = v;
            continue;
          }
          auto better = Truth(Compare(want_max ? Op::kGt : Op::kLt, v, best));
          if (!better) return Value::Unknown();
          if (*better) best = v;
        }
        return best;
      }
      case Builtin::kItem:
      case Builtin::kPrevious:
        return ItemValueOf(*n.item, n.builtin == Builtin::kPrevious);
      case Builtin::kVisitDate: {
        std::optional<Date> d = visit ? visit->VisitDate() : std::nullopt;
        if (!d) {
          Missing("the visit date");
          return Value::Unknown();
        }
        return Value::DateV(*d);
      }
      case Builtin::kCoalesce: {
        Mark m = Here();
        for (const auto* a : args) {
          Mark before = Here();
          Value v = Eval(*a);
          if (v.known()) {
            Drop(m, before);  // the unknown arguments before it did not matter
            return v;
          }
        }
        return Value::Unknown();
      }
    }
    return Value::Unknown();
  }
};

Session::Session(const Program& program, const record::PatientRecord& record, Date screening,
                 Date randomization, const VisitData* visit)
    : state_(std::make_unique<State>(program, record, screening, randomization, visit)) {}
Session::~Session() = default;

Value Session::Evaluate(int id, Trace* trace) {
  State& st = *state_;
  if (id < 0 || static_cast<size_t>(id) >= st.impl.rules.size()) return Value::Unknown();
  st.trace = trace;
  Value v = st.Eval(*st.impl.rules[static_cast<size_t>(id)]);
  st.trace = nullptr;
  return v;
}

}  // namespace trial::rules
