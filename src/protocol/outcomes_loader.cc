// Reads outcomes.yaml (outcomes_loader.h, docs/outcomes.md).
#include "protocol/outcomes_loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace trial::protocol {

const CtcaeTerm* Outcomes::FindTerm(const std::string& id) const {
  for (const auto& t : ctcae) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

namespace internal {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFile = "outcomes.yaml";

// The measures in CoreSetMeasure order, by their ids in the file.
constexpr const char* kMeasureIds[kCoreSetMeasureCount] = {
    "physician_global", "patient_global", "mmt", "haq", "enzyme", "extramuscular"};

std::string Percent(const Rational& r) { return r.ToString() + " %"; }

}  // namespace

OutcomesLoader::OutcomesLoader(std::string dir, std::vector<Error>* errors)
    : ParameterFile(std::move(dir), kFile, "docs/outcomes.md",
                    {"tis", "imacs_improvement", "worsening", "ctcae", "respiratory"}, errors) {}

// ---- steps 1 and 2 ----

// ---- values ----

std::optional<std::string> OutcomesLoader::Choice(const Protocol& p, const std::string& name,
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

std::optional<Rational> OutcomesLoader::Exact(const Protocol& p, const YAML::Node& n,
                                              const std::string& what,
                                              const std::optional<Unit>& unit) {
  if (!n.IsDefined() || !n.IsScalar()) {
    Fail(n, what + " must be a number or a parameter name");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  if (auto r = Rational::Parse(text)) return *r;
  if (!IsParameterName(text)) {
    Fail(n, what + " must be a number (decimal text) or a parameter name, not '" + text + "'");
    return std::nullopt;
  }
  auto v = Param(p, text);
  if (!v) return std::nullopt;
  if (v->kind == rules::Value::Kind::kNumber && !unit) {
    if (auto r = Rational::FromDouble(v->number)) return *r;
  }
  if (v->kind == rules::Value::Kind::kQuantity && unit) {
    auto q = ExactQuantity::From(v->quantity);
    if (q) {
      if (auto c = ConvertExact(*q, *unit)) return c->value;
    }
  }
  Fail(n,
       what + ": parameter '" + text + "' must be " +
           (unit ? "a quantity convertible to '" + unit->code() + "'" : std::string("a number")));
  return std::nullopt;
}

std::optional<int> OutcomesLoader::Days(const Protocol& p, const YAML::Node& n,
                                        const std::string& what) {
  if (!n.IsDefined() || !n.IsScalar()) {
    Fail(n, what + " must be a duration parameter (days or weeks)");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  std::optional<long long> days;
  if (IsParameterName(text)) {
    auto v = Param(p, text);
    if (!v) return std::nullopt;
    if (v->kind == rules::Value::Kind::kDuration) {
      if (v->duration.unit == Duration::Unit::kDays) days = v->duration.amount;
      if (v->duration.unit == Duration::Unit::kWeeks) days = 7LL * v->duration.amount;
    }
  } else {
    long long d = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec == std::errc() && ptr == text.data() + text.size()) days = d;
  }
  if (!days || *days < 1 || *days > 3660) {
    Fail(n, what + " must be from 1 to 3660 days (a duration parameter in days or weeks)");
    return std::nullopt;
  }
  return static_cast<int>(*days);
}

std::optional<int> OutcomesLoader::Count(const YAML::Node& n, const std::string& what, int min,
                                         int max) {
  if (!n.IsDefined() || !n.IsScalar()) {
    Fail(n, what + " must be a whole number");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    Fail(n, what + " must be a whole number from " + std::to_string(min) + " to " +
                std::to_string(max) + ", not '" + text + "'");
    return std::nullopt;
  }
  return v;
}

// ---- step 3 ----

void OutcomesLoader::Build(Protocol& p) {
  if (!root_.IsDefined() || !root_.IsMap()) return;
  const size_t before = errors_->size();
  Outcomes o;
  BuildTis(p, o);
  BuildImprovement(p, o);
  BuildWorsening(p, o);
  BuildCtcae(p, o);
  BuildRespiratory(p, o);
  if (errors_->size() == before) p.outcomes = std::move(o);
}

void OutcomesLoader::BuildTis(const Protocol& p, Outcomes& o) {
  const YAML::Node tis = root_["tis"];
  if (!tis.IsMap()) {
    Fail(tis.IsDefined() ? tis : root_, "missing 'tis' (a mapping: enzymes, measures, categories)");
    return;
  }
  CheckKeys(tis, {"enzymes", "measures", "categories"}, "'tis'");
  if (auto r = Choice(p, "tis_percent_change", {"scale_range", "baseline"})) {
    o.tis_reading = *r == "scale_range" ? PercentReading::kScaleRange : PercentReading::kBaseline;
  }
  if (auto r = Choice(p, "tis_enzyme_normal_baseline", {"zero_points", "relative"})) {
    o.enzyme_normal_baseline =
        *r == "zero_points" ? EnzymeNormalBaseline::kZeroPoints : EnzymeNormalBaseline::kRelative;
  }

  const YAML::Node enzymes = tis["enzymes"];
  if (!enzymes.IsSequence() || enzymes.size() == 0) {
    Fail(enzymes.IsDefined() ? enzymes : tis, "'enzymes' must be a non-empty list of {id, name}");
  } else {
    std::set<std::string> ids;
    for (const auto& e : enzymes) {
      if (!e.IsMap()) {
        Fail(e, "an enzyme must be a mapping {id, name}");
        continue;
      }
      CheckKeys(e, {"id", "name"}, "an enzyme");
      EnzymeDefinition d{Text(e, "id", true), Text(e, "name", true)};
      if (!d.id.empty() && !IsParameterName(d.id))
        Fail(e["id"], "enzyme id '" + d.id + "' is not a name");
      if (!d.id.empty() && !ids.insert(d.id).second) {
        Fail(e["id"], "duplicate enzyme id '" + d.id + "'");
      }
      o.enzymes.push_back(std::move(d));
    }
  }

  const YAML::Node measures = tis["measures"];
  if (!measures.IsSequence()) {
    Fail(measures.IsDefined() ? measures : tis,
         "'measures' must be a list of the six core set "
         "measures");
  } else {
    std::vector<std::optional<TisMeasure>> slots(kCoreSetMeasureCount);
    for (const auto& n : measures) {
      auto m = BuildMeasure(p, n);
      if (!m) continue;
      auto& slot = slots[static_cast<int>(m->measure)];
      if (slot) {
        Fail(n["id"], "duplicate measure '" + m->id + "'");
        continue;
      }
      slot = std::move(m);
    }
    for (int i = 0; i < kCoreSetMeasureCount; ++i) {
      if (!slots[i]) {
        Fail(measures, std::string("measure '") + kMeasureIds[i] + "' is missing (the TIS needs " +
                           "all six core set measures)");
        continue;
      }
      o.measures.push_back(std::move(*slots[i]));
    }
  }

  const YAML::Node categories = tis["categories"];
  if (!categories.IsSequence() || categories.size() == 0) {
    Fail(categories.IsDefined() ? categories : tis,
         "'categories' must be a non-empty list of {name, at_least}");
    return;
  }
  for (const auto& c : categories) {
    if (!c.IsMap()) {
      Fail(c, "a category must be a mapping {name, at_least}");
      continue;
    }
    CheckKeys(c, {"name", "at_least"}, "a category");
    ResponseCategory rc;
    rc.name = Text(c, "name", true);
    auto min = Exact(p, c["at_least"], "category 'at_least'");
    if (!c["at_least"].IsDefined()) continue;
    if (!min) continue;
    if (*min <= Rational(0) || *min > Rational(100)) {
      Fail(c["at_least"], "category 'at_least' must be above 0 and at most 100 (the TIS range)");
      continue;
    }
    if (!o.categories.empty() && *min <= o.categories.back().min_total) {
      Fail(c["at_least"], "categories must be listed with increasing 'at_least'");
      continue;
    }
    rc.min_total = *min;
    o.categories.push_back(std::move(rc));
  }
}

std::optional<TisMeasure> OutcomesLoader::BuildMeasure(const Protocol& p, const YAML::Node& n) {
  if (!n.IsMap()) {
    Fail(n, "a measure must be a mapping {id, name, unit, better, range, bands}");
    return std::nullopt;
  }
  CheckKeys(n, {"id", "name", "unit", "better", "range", "bands"}, "a measure");
  const size_t before = errors_->size();
  TisMeasure m;
  m.id = Text(n, "id", true);
  m.name = Text(n, "name", true);
  bool known = false;
  for (int i = 0; i < kCoreSetMeasureCount; ++i) {
    if (m.id == kMeasureIds[i]) {
      m.measure = static_cast<CoreSetMeasure>(i);
      known = true;
    }
  }
  if (!known && !m.id.empty()) {
    std::string list;
    for (const char* id : kMeasureIds) list += (list.empty() ? "" : ", ") + std::string(id);
    Fail(n["id"], "unknown measure '" + m.id + "' (expected one of " + list + ")");
  }
  const std::string label = "measure " + (m.id.empty() ? std::string("?") : m.id);
  const std::string unit = Text(n, "unit", true);
  if (!unit.empty()) {
    auto u = Unit::Parse(unit);
    if (!u) {
      Fail(n["unit"], label + ": " + u.error().message);
    } else {
      m.unit = *u;
    }
  }
  const std::string better = Text(n, "better", true);
  if (better == "higher" || better == "lower") {
    m.higher_is_better = better == "higher";
  } else if (!better.empty()) {
    Fail(n["better"], label + ": 'better' must be 'higher' or 'lower', not '" + better + "'");
  }
  const YAML::Node range = n["range"];
  if (!range.IsDefined()) {
    Fail(n, label + ": missing 'range' (the scale's maximum, or 'baseline')");
  } else if (range.IsScalar() && range.Scalar() == "baseline") {
    if (known && m.measure != CoreSetMeasure::kEnzyme) {
      Fail(range, label + ": only the enzyme has no scale range ('range: baseline')");
    }
  } else if (auto r = Exact(p, range, label + " 'range'")) {
    if (*r <= Rational(0)) {
      Fail(range, label + ": 'range' must be positive");
    } else {
      m.range = *r;
    }
    if (known && m.measure == CoreSetMeasure::kMmt && *r != Rational(80) && *r != Rational(150) &&
        *r != Rational(260)) {
      Fail(range, label + ": the MMT maximum must be 80, 150 or 260 (FACTS.md §7.1), not " +
                      r->ToString());
    }
  }
  if (known && m.measure == CoreSetMeasure::kEnzyme && m.range) {
    Fail(range, label + ": the enzyme has no scale maximum; write 'range: baseline'");
  }
  BuildBands(p, n["bands"], label, m);
  if (!n["bands"].IsDefined()) Fail(n, label + ": missing 'bands'");
  if (errors_->size() != before) return std::nullopt;
  return m;
}

void OutcomesLoader::BuildBands(const Protocol& p, const YAML::Node& bands,
                                const std::string& label, TisMeasure& m) {
  if (!bands.IsDefined()) return;
  if (!bands.IsSequence() || bands.size() == 0) {
    Fail(bands, label + ": 'bands' must be a non-empty list");
    return;
  }
  for (size_t i = 0; i < bands.size(); ++i) {
    const YAML::Node b = bands[i];
    if (!b.IsMap()) {
      Fail(b, label + ": a band must be a mapping {above|from, up_to|below, points}");
      continue;
    }
    CheckKeys(b, {"above", "from", "up_to", "below", "points"}, "a band");
    TisBand band;
    if (b["above"].IsDefined() && b["from"].IsDefined()) {
      Fail(b, label + ": a band has 'above' or 'from', not both");
    }
    if (b["up_to"].IsDefined() && b["below"].IsDefined()) {
      Fail(b, label + ": a band has 'up_to' or 'below', not both");
    }
    for (const char* key : {"above", "from"}) {
      if (!b[key].IsDefined()) continue;
      band.lower = Exact(p, b[key], label + " '" + key + "'");
      band.lower_inclusive = std::string(key) == "from";
    }
    for (const char* key : {"up_to", "below"}) {
      if (!b[key].IsDefined()) continue;
      band.upper = Exact(p, b[key], label + " '" + key + "'");
      band.upper_inclusive = std::string(key) == "up_to";
    }
    if (auto points = Exact(p, b["points"], label + " 'points'")) {
      if (points->Sign() < 0) Fail(b["points"], label + ": 'points' must not be negative");
      band.points = *points;
    }
    // A readable label: "<= 5 %", "> 5 % to <= 15 %", "> 40 %".
    std::string lo = band.lower ? (band.lower_inclusive ? ">= " : "> ") + Percent(*band.lower) : "";
    std::string hi = band.upper ? (band.upper_inclusive ? "<= " : "< ") + Percent(*band.upper) : "";
    band.label = lo.empty() ? hi : (hi.empty() ? lo : lo + " to " + hi);

    // The bands must tile the line: unbounded below first, unbounded above last, and each band
    // starting exactly where the one before ends, with the edge in exactly one of them.
    const bool first = i == 0, last = i + 1 == bands.size();
    if (first && b["above"].IsDefined() + b["from"].IsDefined() > 0) {
      Fail(b, label + ": the first band has no lower edge (it covers every worsening)");
    }
    if (last && b["up_to"].IsDefined() + b["below"].IsDefined() > 0) {
      Fail(b, label + ": the last band has no upper edge");
    }
    if (!first && !band.lower && !b["above"].IsDefined() && !b["from"].IsDefined()) {
      Fail(b, label + ": every band but the first needs a lower edge ('above' or 'from')");
    }
    if (!last && !band.upper && !b["up_to"].IsDefined() && !b["below"].IsDefined()) {
      Fail(b, label + ": every band but the last needs an upper edge ('up_to' or 'below')");
    }
    if (!first && !m.bands.empty()) {
      const TisBand& prev = m.bands.back();
      if (prev.upper && band.lower) {
        if (*prev.upper != *band.lower) {
          Fail(b, label + ": band starts at " + Percent(*band.lower) +
                      " but the band before ends at " + Percent(*prev.upper) +
                      " (bands must be contiguous)");
        } else if (prev.upper_inclusive == band.lower_inclusive) {
          Fail(b, label + ": the edge " + Percent(*band.lower) +
                      " must belong to exactly one band ('up_to' then 'above', or 'below' then "
                      "'from')");
        }
      }
      if (band.lower && band.upper && *band.upper <= *band.lower) {
        Fail(b, label + ": a band's upper edge must be above its lower edge");
      }
    }
    m.bands.push_back(std::move(band));
  }
}

void OutcomesLoader::BuildImprovement(const Protocol& p, Outcomes& o) {
  if (auto r = Choice(p, "imacs_percent_change", {"baseline", "scale_range"})) {
    o.imacs_reading = *r == "baseline" ? PercentReading::kBaseline : PercentReading::kScaleRange;
  }
  const YAML::Node n = root_["imacs_improvement"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_, "missing 'imacs_improvement' (a mapping)");
    return;
  }
  CheckKeys(
      n, {"improved_percent", "min_improved", "worse_percent", "max_worse", "mmt_may_not_worsen"},
      "'imacs_improvement'");
  ImacsImprovement& d = o.improvement;
  if (auto v = Exact(p, n["improved_percent"], "'improved_percent'")) d.improved_percent = *v;
  if (auto v = Count(n["min_improved"], "'min_improved'", 1, kCoreSetMeasureCount)) {
    d.min_improved = *v;
  }
  if (auto v = Exact(p, n["worse_percent"], "'worse_percent'")) d.worse_percent = *v;
  if (auto v = Count(n["max_worse"], "'max_worse'", 0, kCoreSetMeasureCount)) d.max_worse = *v;
  const std::string mmt = Text(n, "mmt_may_not_worsen", true);
  if (mmt == "true" || mmt == "false") {
    d.mmt_may_not_worsen = mmt == "true";
  } else if (!mmt.empty()) {
    Fail(n["mmt_may_not_worsen"], "'mmt_may_not_worsen' must be true or false");
  }
}

void OutcomesLoader::BuildWorsening(const Protocol& p, Outcomes& o) {
  const YAML::Node n = root_["worsening"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_, "missing 'worsening' (a mapping)");
    return;
  }
  CheckKeys(n,
            {"physician_cm", "mmt_percent", "extramuscular_cm", "any_count", "any_percent",
             "consecutive_visits"},
            "'worsening'");
  WorseningDefinition& d = o.worsening;
  if (auto v = Exact(p, n["physician_cm"], "'physician_cm'")) d.physician_cm = *v;
  if (auto v = Exact(p, n["mmt_percent"], "'mmt_percent'")) d.mmt_percent = *v;
  if (auto v = Exact(p, n["extramuscular_cm"], "'extramuscular_cm'")) d.extramuscular_cm = *v;
  if (auto v = Count(n["any_count"], "'any_count'", 1, 5)) d.any_count = *v;
  if (auto v = Exact(p, n["any_percent"], "'any_percent'")) d.any_percent = *v;
  if (auto v = Count(n["consecutive_visits"], "'consecutive_visits'", 1, 10)) {
    d.consecutive_visits = *v;
  }
}

void OutcomesLoader::BuildCtcae(const Protocol& p, Outcomes& o) {
  const YAML::Node n = root_["ctcae"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_, "missing 'ctcae' (a mapping: version, terms)");
    return;
  }
  CheckKeys(n, {"version", "possible_ae_grade", "terms"}, "'ctcae'");
  o.ctcae_version = Text(n, "version", true);
  if (n["possible_ae_grade"].IsDefined()) {
    if (auto g = Exact(p, n["possible_ae_grade"], "'possible_ae_grade'")) {
      if (g->den() != 1 || g->num() < 1 || g->num() > 5) {
        Fail(n["possible_ae_grade"], "'possible_ae_grade' must be a grade from 1 to 5");
      } else {
        o.possible_ae_grade = static_cast<int>(g->num());
      }
    }
  } else {
    Fail(n, "missing 'possible_ae_grade'");
  }
  const YAML::Node terms = n["terms"];
  if (!terms.IsSequence() || terms.size() == 0) {
    Fail(terms.IsDefined() ? terms : n, "'terms' must be a non-empty list of CTCAE terms");
    return;
  }
  std::set<std::string> ids;
  for (const auto& t : terms) {
    auto term = BuildTerm(t);
    if (!term) continue;
    if (!ids.insert(term->id).second) Fail(t["id"], "duplicate term id '" + term->id + "'");
    o.ctcae.push_back(std::move(*term));
  }
}

std::optional<CtcaeTerm> OutcomesLoader::BuildTerm(const YAML::Node& n) {
  if (!n.IsMap()) {
    Fail(n, "a term must be a mapping {id, term, source, direction, criteria}");
    return std::nullopt;
  }
  CheckKeys(n, {"id", "term", "source", "direction", "criteria"}, "a term");
  const size_t before = errors_->size();
  CtcaeTerm t;
  t.id = Text(n, "id", true);
  t.term = Text(n, "term", true);
  t.source = Text(n, "source", true);
  if (!t.id.empty() && !IsParameterName(t.id))
    Fail(n["id"], "term id '" + t.id + "' is not a name");
  const std::string label = "term " + (t.id.empty() ? std::string("?") : t.id);
  const std::string direction = Text(n, "direction", true);
  if (direction == "increased" || direction == "decreased") {
    t.increased = direction == "increased";
  } else if (!direction.empty()) {
    Fail(n["direction"], label + ": 'direction' must be 'increased' or 'decreased'");
  }
  const YAML::Node criteria = n["criteria"];
  if (!criteria.IsSequence() || criteria.size() == 0) {
    Fail(criteria.IsDefined() ? criteria : n, label + ": 'criteria' must be a non-empty list");
    return std::nullopt;
  }
  const std::vector<std::pair<const char*, CtcaeComparison>> kComparisons = {
      {"above", CtcaeComparison::kAbove},
      {"at_least", CtcaeComparison::kAtLeast},
      {"below", CtcaeComparison::kBelow},
      {"at_most", CtcaeComparison::kAtMost}};
  for (const auto& c : criteria) {
    if (!c.IsMap()) {
      Fail(c, label + ": a criterion must be a mapping {grade, above|at_least|below|at_most, of}");
      continue;
    }
    CheckKeys(c, {"grade", "above", "at_least", "below", "at_most", "of", "when"}, "a criterion");
    CtcaeCriterion k;
    if (auto g = Count(c["grade"], label + " 'grade'", 1, 5)) k.grade = *g;
    YAML::Node limit;
    const char* word = nullptr;
    for (const auto& [key, cmp] : kComparisons) {
      if (!c[key].IsDefined()) continue;
      if (word != nullptr) {
        Fail(c[key], label + ": a criterion has one comparison (above, at_least, below, at_most)");
        continue;
      }
      word = key;
      k.comparison = cmp;
      limit.reset(c[key]);
    }
    if (word == nullptr) {
      Fail(c, label + ": a criterion needs a comparison (above, at_least, below or at_most)");
      continue;
    }
    const bool up =
        k.comparison == CtcaeComparison::kAbove || k.comparison == CtcaeComparison::kAtLeast;
    if (up != t.increased) {
      Fail(limit, label + ": '" + word + "' does not fit a term whose direction is " + direction);
    }
    const std::string of = Text(c, "of", false);
    std::string what;
    if (of.empty()) {
      k.reference = CtcaeReference::kAbsolute;
      std::vector<YAML::Node> items;
      if (limit.IsSequence()) {
        for (const auto& item : limit) items.push_back(item);
      } else {
        items.push_back(limit);
      }
      for (const auto& item : items) {
        if (!item.IsScalar()) {
          Fail(item, label + ": a limit must be a quantity such as '1.5 10*9/L'");
          continue;
        }
        auto q = ExactQuantity::Parse(item.Scalar());
        if (!q) {
          Fail(item, label + ": " + q.error().message);
          continue;
        }
        if (q->unit.dim().IsDimensionless() && q->unit.code().empty()) {
          Fail(item, label + ": an absolute limit needs a unit ('1.5 10*9/L'), or write 'of: uln'");
          continue;
        }
        for (const auto& other : k.limits) {
          if (other.unit.dim() == q->unit.dim()) {
            Fail(item, label + ": two limits of the same kind of unit");
          }
        }
        k.limits.push_back(*q);
        what += (what.empty() ? "" : " or ") + item.Scalar();
      }
    } else {
      if (of == "uln") {
        k.reference = CtcaeReference::kUln;
      } else if (of == "lln") {
        k.reference = CtcaeReference::kLln;
      } else if (of == "baseline") {
        k.reference = CtcaeReference::kBaseline;
      } else {
        Fail(c["of"], label + ": 'of' must be uln, lln or baseline, not '" + of + "'");
        continue;
      }
      auto f = limit.IsScalar() ? Rational::Parse(limit.Scalar())
                                : Result<Rational>(std::unexpected(Error{}));
      if (!f || f->Sign() <= 0) {
        Fail(limit, label + ": a factor of " + of + " must be a positive number");
        continue;
      }
      k.factor = *f;
      const char* ref = of == "uln" ? "ULN" : (of == "lln" ? "LLN" : "baseline");
      what = f->ToString() + " x " + ref;
    }
    const std::string when = Text(c, "when", false);
    if (when.empty() || when == "always") {
      k.branch = CtcaeBranch::kAlways;
    } else if (when == "baseline_normal") {
      k.branch = CtcaeBranch::kBaselineNormal;
    } else if (when == "baseline_abnormal") {
      k.branch = CtcaeBranch::kBaselineAbnormal;
    } else {
      Fail(c["when"],
           label + ": 'when' must be baseline_normal or baseline_abnormal, not '" + when + "'");
    }
    const char* sign = k.comparison == CtcaeComparison::kAbove     ? "> "
                       : k.comparison == CtcaeComparison::kAtLeast ? ">= "
                       : k.comparison == CtcaeComparison::kBelow   ? "< "
                                                                   : "<= ";
    k.text = "grade " + std::to_string(k.grade) + ": " + sign + what;
    if (k.branch == CtcaeBranch::kBaselineNormal) k.text += " (baseline normal)";
    if (k.branch == CtcaeBranch::kBaselineAbnormal) k.text += " (baseline abnormal)";
    t.criteria.push_back(std::move(k));
  }
  if (errors_->size() != before) return std::nullopt;
  return t;
}

void OutcomesLoader::BuildRespiratory(const Protocol& p, Outcomes& o) {
  const YAML::Node n = root_["respiratory"];
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_,
         "missing 'respiratory' (a mapping: failure, rp_ild, follow_up)");
    return;
  }
  CheckKeys(n, {"failure", "rp_ild", "follow_up"}, "'respiratory'");
  RespiratoryDefinitions& d = o.respiratory;
  const YAML::Node failure = n["failure"];
  if (!failure.IsMap()) {
    Fail(failure.IsDefined() ? failure : n, "missing 'failure' (pao2_below, spo2_below, fio2)");
  } else {
    CheckKeys(failure, {"pao2_below", "spo2_below", "fio2"}, "'failure'");
    const Unit mmhg = *Unit::Parse("mm[Hg]"), percent = *Unit::Parse("%"), one;
    if (auto v = Exact(p, failure["pao2_below"], "'pao2_below'", mmhg)) d.pao2_below_mmhg = *v;
    if (auto v = Exact(p, failure["spo2_below"], "'spo2_below'", percent)) {
      d.spo2_below_percent = *v;
    }
    if (auto v = Exact(p, failure["fio2"], "'fio2'", one)) {
      if (*v <= Rational(0) || *v > Rational(1)) {
        Fail(failure["fio2"], "'fio2' must be above 0 % and at most 100 %");
      }
      d.stated_fio2 = *v;
    }
  }
  const YAML::Node rp = n["rp_ild"];
  if (!rp.IsMap()) {
    Fail(rp.IsDefined() ? rp : n, "missing 'rp_ild' (window, fvc_drop, hrct_rise, pao2_drop)");
  } else {
    CheckKeys(rp, {"window", "fvc_drop", "hrct_rise", "pao2_drop"}, "'rp_ild'");
    const Unit mmhg = *Unit::Parse("mm[Hg]"), percent = *Unit::Parse("%");
    if (auto v = Days(p, rp["window"], "'window'")) d.rpild_window_days = *v;
    if (auto v = Exact(p, rp["fvc_drop"], "'fvc_drop'", percent)) d.rpild_fvc_drop = *v;
    if (auto v = Exact(p, rp["hrct_rise"], "'hrct_rise'", percent)) d.rpild_hrct_rise = *v;
    if (auto v = Exact(p, rp["pao2_drop"], "'pao2_drop'", mmhg)) d.rpild_pao2_drop = *v;
  }
  if (auto v = Days(p, n["follow_up"], "'follow_up'")) d.follow_up_days = *v;
}

}  // namespace internal
}  // namespace trial::protocol
