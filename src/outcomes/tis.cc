// TIS, IMACS improvement and worsening (tis.h, docs/outcomes.md).
#include "outcomes/tis.h"

#include <array>
#include <stdexcept>

namespace trial::outcomes {

using protocol::CoreSetMeasure;
using protocol::EnzymeNormalBaseline;
using protocol::Outcomes;
using protocol::PercentReading;
using protocol::TisBand;
using protocol::TisMeasure;

namespace {

constexpr int kCount = protocol::kCoreSetMeasureCount;

const std::optional<ExactQuantity>& Field(const CoreSet& c, CoreSetMeasure m) {
  static const std::optional<ExactQuantity> kNone;
  switch (m) {
    case CoreSetMeasure::kPhysicianGlobal:
      return c.physician_global;
    case CoreSetMeasure::kPatientGlobal:
      return c.patient_global;
    case CoreSetMeasure::kMmt:
      return c.mmt;
    case CoreSetMeasure::kHaq:
      return c.haq;
    case CoreSetMeasure::kExtramuscular:
      return c.extramuscular;
    case CoreSetMeasure::kEnzyme:
      break;
  }
  return kNone;  // the enzyme has its own list
}

std::string RangeText(const TisMeasure& m) {
  ExactQuantity zero{Rational(0), m.unit};
  if (!m.range) return ">= " + zero.ToString(0);
  return zero.value.ToString() + " to " + ExactQuantity{*m.range, m.unit}.ToString(0);
}

// `q` in the measure's unit, checked against the measure's scale.
Result<ExactQuantity> InUnit(const TisMeasure& m, const ExactQuantity& q, const std::string& where,
                             const std::string& what) {
  auto c = ConvertExact(q, m.unit);
  if (!c) return Fail(c.error().code, where + " " + what + ": " + c.error().message);
  if (c->value.Sign() < 0 || (m.range && c->value > *m.range)) {
    return Fail(ErrorCode::kInvalidInput, where + " " + what + " " + q.ToString(2) +
                                              " is out of range (" + RangeText(m) + ")");
  }
  return c;
}

// The enzymes of one assessment, checked and converted to U/L, in the protocol's order.
struct Enzyme {
  std::string id;
  ExactQuantity value;  // U/L
  Rational multiple;    // value / ULN
};

Result<std::vector<Enzyme>> ReadEnzymes(const Outcomes& o, const CoreSet& c,
                                        const std::string& where) {
  const TisMeasure& m = o.Measure(CoreSetMeasure::kEnzyme);
  std::vector<std::optional<Enzyme>> slots(o.enzymes.size());
  for (const auto& e : c.enzymes) {
    size_t k = 0;
    while (k < o.enzymes.size() && o.enzymes[k].id != e.id) ++k;
    if (k == o.enzymes.size()) {
      return Fail(ErrorCode::kInvalidInput,
                  where + " enzyme '" + e.id + "' is not one of the protocol's TIS enzymes");
    }
    if (slots[k]) return Fail(ErrorCode::kInvalidInput, where + " enzyme '" + e.id + "' twice");
    auto value = InUnit(m, e.value, where, e.id);
    if (!value) return std::unexpected(value.error());
    auto uln = InUnit(m, e.uln, where, e.id + " ULN");
    if (!uln) return std::unexpected(uln.error());
    if (uln->value.Sign() <= 0) {
      return Fail(ErrorCode::kInvalidInput, where + " " + e.id + " ULN must be positive");
    }
    slots[k] = Enzyme{e.id, *value, value->value / uln->value};
  }
  std::vector<Enzyme> out;
  for (auto& s : slots) {
    if (s) out.push_back(std::move(*s));
  }
  return out;
}

// One measure at baseline and at the visit, in the measure's unit.
struct Pair {
  bool known = false;
  ExactQuantity baseline, value;
  std::string enzyme;          // the enzyme item's enzyme
  Rational baseline_multiple;  // the enzyme's baseline x ULN
  std::string missing;         // the name to report when !known
};

Result<std::array<Pair, kCount>> ReadPairs(const Outcomes& o, const CoreSet& baseline,
                                           const CoreSet& visit) {
  std::array<Pair, kCount> pairs;
  for (int i = 0; i < kCount; ++i) {
    const auto measure = static_cast<CoreSetMeasure>(i);
    const TisMeasure& m = o.Measure(measure);
    Pair& p = pairs[i];
    p.missing = m.id;
    if (measure == CoreSetMeasure::kEnzyme) continue;
    const auto& b = Field(baseline, measure);
    const auto& v = Field(visit, measure);
    std::optional<ExactQuantity> bq, vq;
    if (b) {
      auto q = InUnit(m, *b, "baseline", m.id);
      if (!q) return std::unexpected(q.error());
      bq = *q;
    }
    if (v) {
      auto q = InUnit(m, *v, "visit", m.id);
      if (!q) return std::unexpected(q.error());
      vq = *q;
    }
    if (bq && vq) {
      p.known = true;
      p.baseline = *bq;
      p.value = *vq;
    } else if (!bq && vq) {
      p.missing = m.id + " (baseline)";
    }
  }
  // The enzyme: the most abnormal at baseline (highest multiple of its ULN; ties to the first
  // listed in the protocol), followed at the visit.
  auto base_enzymes = ReadEnzymes(o, baseline, "baseline");
  if (!base_enzymes) return std::unexpected(base_enzymes.error());
  auto visit_enzymes = ReadEnzymes(o, visit, "visit");
  if (!visit_enzymes) return std::unexpected(visit_enzymes.error());
  Pair& e = pairs[static_cast<int>(CoreSetMeasure::kEnzyme)];
  const Enzyme* chosen = nullptr;
  for (const auto& b : *base_enzymes) {
    if (chosen == nullptr || b.multiple > chosen->multiple) chosen = &b;
  }
  if (chosen == nullptr) {
    e.missing = "enzyme (baseline)";
  } else {
    e.enzyme = chosen->id;
    e.missing = "enzyme (" + chosen->id + ")";
    for (const auto& v : *visit_enzymes) {
      if (v.id != chosen->id) continue;
      e.known = true;
      e.baseline = chosen->value;
      e.value = v.value;
      e.baseline_multiple = chosen->multiple;
    }
  }
  return pairs;
}

// Improvement in the measure's unit: positive is better.
Rational Improvement(const TisMeasure& m, const Pair& p) {
  return m.higher_is_better ? p.value.value - p.baseline.value : p.baseline.value - p.value.value;
}

Percent PercentChange(const TisMeasure& m, PercentReading reading, const Pair& p) {
  const Rational change = Improvement(m, p);
  const Rational denominator =
      reading == PercentReading::kScaleRange && m.range ? *m.range : p.baseline.value;
  Percent out;
  if (change.IsZero()) return out;  // no change is 0 %, whatever the denominator
  if (denominator.IsZero()) {
    out.finite = false;
    out.sign = change.Sign();
    return out;
  }
  out.value = change / denominator * Rational(100);
  return out;
}

bool InBand(const TisBand& b, const Rational& p) {
  if (b.lower && (b.lower_inclusive ? p < *b.lower : p <= *b.lower)) return false;
  if (b.upper && (b.upper_inclusive ? p > *b.upper : p >= *b.upper)) return false;
  return true;
}

const TisBand& FindBand(const TisMeasure& m, const Percent& p) {
  if (!p.finite) return p.sign > 0 ? m.bands.back() : m.bands.front();
  for (const auto& b : m.bands) {
    if (InBand(b, p.value)) return b;
  }
  // Unreachable: the loader checks that the bands tile the whole line (first unbounded below,
  // last unbounded above, each edge in exactly one band). Fail towards no points.
  return m.bands.front();
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Runs `f`, turning the exceptions of exact arithmetic into an error (rational.h).
template <class F>
auto Exactly(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("a value is too large or malformed for exact arithmetic: ") + e.what());
  }
}

Result<TisScore> Score(const Outcomes& o, const CoreSet& baseline, const CoreSet& visit) {
  auto pairs = ReadPairs(o, baseline, visit);
  if (!pairs) return std::unexpected(pairs.error());
  TisScore s;
  for (int i = 0; i < kCount; ++i) {
    const TisMeasure& m = o.measures[i];
    const Pair& p = (*pairs)[i];
    TisItem item;
    item.measure = m.measure;
    item.id = m.id;
    item.enzyme = p.enzyme;
    if (!p.known) {
      s.missing.push_back(p.missing);
      s.items.push_back(std::move(item));
      continue;
    }
    item.known = true;
    item.baseline = p.baseline;
    item.value = p.value;
    item.change = Improvement(m, p);
    item.percent = PercentChange(m, o.tis_reading, p);
    const TisBand& band = FindBand(m, item.percent);
    item.band = band.label;
    item.points = band.points;
    if (m.measure == CoreSetMeasure::kEnzyme && p.baseline_multiple <= Rational(1) &&
        o.enzyme_normal_baseline == EnzymeNormalBaseline::kZeroPoints) {
      item.points = Rational(0);
      item.band = "normal at baseline";
      item.note = p.enzyme + " was not above its ULN at baseline (" +
                  p.baseline_multiple.ToDecimal(2) +
                  " x ULN): 0 points (tis_enzyme_normal_baseline)";
    } else if (p.baseline.value.IsZero() && !item.percent.finite) {
      item.note = "zero baseline: the change is unbounded relative to it";
    }
    s.items.push_back(std::move(item));
  }
  if (!s.missing.empty()) {
    s.category = "unknown";
    return s;
  }
  s.known = true;
  for (const auto& item : s.items) s.total = s.total + item.points;
  s.category = "none";
  for (const auto& c : o.categories) {
    if (s.total >= c.min_total) s.category = c.name;
  }
  return s;
}

}  // namespace

std::string Percent::ToString(int places) const {
  if (!finite) return sign > 0 ? "+unbounded %" : "-unbounded %";
  return value.ToDecimal(places) + " %";
}

Result<TisScore> ScoreTis(const Outcomes& o, const CoreSet& baseline, const CoreSet& visit) {
  return Exactly([&]() { return Score(o, baseline, visit); });
}

Result<std::vector<VisitTis>> ScoreTisByVisit(const Outcomes& o, const CoreSet& baseline,
                                              const std::vector<VisitCoreSet>& visits) {
  std::vector<VisitTis> out;
  for (const auto& v : visits) {
    auto s = ScoreTis(o, baseline, v.values);
    if (!s) return Fail(s.error().code, v.visit + ": " + s.error().message);
    out.push_back(VisitTis{v.visit, std::move(*s)});
  }
  return out;
}

std::string TisToText(const TisScore& s, int places) {
  std::string out;
  for (const auto& item : s.items) {
    std::string name = item.id + (item.enzyme.empty() ? "" : " (" + item.enzyme + ")");
    if (!item.known) {
      out += name + ": missing\n";
      continue;
    }
    out += name + ": baseline " + item.baseline.ToString(places) + ", value " +
           item.value.ToString(places) + ", improvement " +
           ExactQuantity{item.change, item.value.unit}.ToString(places) + ", " +
           item.percent.ToString(places) + ", band " + item.band + ", points " +
           item.points.ToString() + (item.note.empty() ? "" : " [" + item.note + "]") + "\n";
  }
  if (s.known) {
    out += "TIS " + s.total.ToString() + ": " + s.category + "\n";
  } else {
    out += "TIS unknown: missing " + Join(s.missing) + "\n";
  }
  return out;
}

// ---- IMACS improvement ----

Result<ImacsResult> ImacsImprovement(const Outcomes& o, const CoreSet& baseline,
                                     const CoreSet& visit) {
  return Exactly([&]() -> Result<ImacsResult> {
    auto pairs = ReadPairs(o, baseline, visit);
    if (!pairs) return std::unexpected(pairs.error());
    const auto& d = o.improvement;
    ImacsResult r;
    bool mmt_worse = false;
    for (int i = 0; i < kCount; ++i) {
      const TisMeasure& m = o.measures[i];
      const Pair& p = (*pairs)[i];
      if (!p.known) {
        r.missing.push_back(p.missing);
        continue;
      }
      const Percent pc = PercentChange(m, o.imacs_reading, p);
      if (pc.AtLeast(d.improved_percent)) r.improved.push_back(m.id);
      if (pc.WorseByAtLeast(d.worse_percent)) {
        r.worse.push_back(m.id);
        if (m.measure == CoreSetMeasure::kMmt) mmt_worse = true;
      }
    }
    if (!r.missing.empty()) {
      r.explanation = "unknown: missing " + Join(r.missing);
      return r;
    }
    const int improved = static_cast<int>(r.improved.size());
    const int worse = static_cast<int>(r.worse.size());
    r.met =
        improved >= d.min_improved && worse <= d.max_worse && !(d.mmt_may_not_worsen && mmt_worse);
    r.explanation = std::to_string(improved) + " improved by >= " + d.improved_percent.ToString() +
                    " % (need " + std::to_string(d.min_improved) + "), " + std::to_string(worse) +
                    " worse by >= " + d.worse_percent.ToString() + " % (at most " +
                    std::to_string(d.max_worse) + ")" +
                    (d.mmt_may_not_worsen && mmt_worse ? ", MMT worse" : "");
    return r;
  });
}

// ---- worsening ----

namespace {

// Kleene or.
std::optional<bool> Or(std::optional<bool> a, std::optional<bool> b) {
  if (a == true || b == true) return true;
  if (a == false && b == false) return false;
  return std::nullopt;
}
std::optional<bool> And(std::optional<bool> a, std::optional<bool> b) {
  if (a == false || b == false) return false;
  if (a == true && b == true) return true;
  return std::nullopt;
}

WorseningAtVisit WorseningAt(const Outcomes& o, const std::array<Pair, kCount>& pairs) {
  const auto& d = o.worsening;
  WorseningAtVisit w;
  auto pair = [&](CoreSetMeasure m) -> const Pair& { return pairs[static_cast<int>(m)]; };
  auto cm_worse = [&](CoreSetMeasure m, const Rational& cm) -> std::optional<bool> {
    const Pair& p = pair(m);
    if (!p.known) return std::nullopt;
    return -Improvement(o.Measure(m), p) >= cm;
  };
  auto pct_worse = [&](CoreSetMeasure m, const Rational& pct) -> std::optional<bool> {
    const Pair& p = pair(m);
    if (!p.known) return std::nullopt;
    return PercentChange(o.Measure(m), o.imacs_reading, p).WorseByAtLeast(pct);
  };
  for (int i = 0; i < kCount; ++i) {
    if (i != static_cast<int>(CoreSetMeasure::kEnzyme) && !pairs[i].known) {
      w.missing.push_back(pairs[i].missing);
    }
  }
  const auto a = And(cm_worse(CoreSetMeasure::kPhysicianGlobal, d.physician_cm),
                     pct_worse(CoreSetMeasure::kMmt, d.mmt_percent));
  const auto b = cm_worse(CoreSetMeasure::kExtramuscular, d.extramuscular_cm);
  int worse = 0, unknown = 0;
  std::vector<std::string> worse_ids;
  for (int i = 0; i < kCount; ++i) {
    const auto m = static_cast<CoreSetMeasure>(i);
    if (m == CoreSetMeasure::kEnzyme) continue;  // FACTS.md §2.5: enzymes excluded
    auto x = pct_worse(m, d.any_percent);
    if (!x) ++unknown;
    if (x == true) {
      ++worse;
      worse_ids.push_back(o.Measure(m).id);
    }
  }
  std::optional<bool> c;
  if (worse >= d.any_count) c = true;
  if (worse + unknown < d.any_count) c = false;
  w.worsened = Or(Or(a, b), c);
  std::vector<std::string> reasons;
  if (a == true) {
    reasons.push_back("physician global worse by >= " + d.physician_cm.ToString() +
                      " cm and MMT worse by >= " + d.mmt_percent.ToString() + " %");
  }
  if (b == true) {
    reasons.push_back("extramuscular global worse by >= " + d.extramuscular_cm.ToString() + " cm");
  }
  if (c == true) {
    reasons.push_back(std::to_string(worse) + " measures worse by >= " + d.any_percent.ToString() +
                      " % (" + Join(worse_ids) + ")");
  }
  if (w.worsened == true) {
    w.reason = Join(reasons);
  } else if (w.worsened == false) {
    w.reason = "no worsening condition holds";
  } else {
    w.reason = "unknown: missing " + Join(w.missing);
  }
  return w;
}

}  // namespace

Result<WorseningResult> ConfirmedWorsening(const Outcomes& o, const CoreSet& baseline,
                                           const std::vector<VisitCoreSet>& visits) {
  return Exactly([&]() -> Result<WorseningResult> {
    WorseningResult r;
    for (const auto& v : visits) {
      auto pairs = ReadPairs(o, baseline, v.values);
      if (!pairs) return Fail(pairs.error().code, v.visit + ": " + pairs.error().message);
      WorseningAtVisit w = WorseningAt(o, *pairs);
      w.visit = v.visit;
      r.visits.push_back(std::move(w));
    }
    const int k = o.worsening.consecutive_visits;
    bool possible = false;
    for (size_t start = 0; start + k <= r.visits.size(); ++start) {
      std::optional<bool> run = true;
      for (int j = 0; j < k; ++j) run = And(run, r.visits[start + j].worsened);
      if (run == true) {
        r.confirmed = true;
        r.confirmed_at = r.visits[start + k - 1].visit;
        return r;
      }
      if (!run) possible = true;
    }
    if (!possible) r.confirmed = false;
    return r;
  });
}

}  // namespace trial::outcomes
