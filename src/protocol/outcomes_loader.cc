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
                    {"tis", "imacs_improvement", "worsening", "ctcae", "respiratory", "sources"},
                    errors) {}

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

// ---- step 4: sources ----

std::optional<OutcomesLoader::Resolved> OutcomesLoader::Resolve(const Protocol& p,
                                                                const YAML::Node& n,
                                                                const std::string& what, Want want,
                                                                const std::string& unit) {
  if (!n.IsDefined() || !n.IsScalar()) {
    Fail(n, what + " must name an eCRF value: form.item or derived.ID");
    return std::nullopt;
  }
  const std::string text = n.Scalar();
  const size_t dot = text.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
    Fail(n, what + ": '" + text + "' must be form.item or derived.ID");
    return std::nullopt;
  }
  Resolved r;
  r.ref.form = text.substr(0, dot);
  r.ref.item = text.substr(dot + 1);
  std::string derived_unit;
  bool numeric_derived = false;
  if (r.ref.form == "derived") {
    r.ref.derived = true;
    const DerivedValue* d = nullptr;
    for (const auto& x : p.forms->derived) {
      if (x.id == r.ref.item) d = &x;
    }
    if (d != nullptr) {
      r.ref.form = d->form;
      derived_unit = d->unit;
      numeric_derived = true;
    } else if (p.forms->haq && r.ref.item == "haq_di") {
      r.ref.form = p.forms->haq->form;
      numeric_derived = true;
    } else {
      Fail(n, what + ": '" + r.ref.item + "' is not a derived value of forms.yaml");
      return std::nullopt;
    }
  } else {
    const FormDefinition* f = p.forms->FindForm(r.ref.form);
    if (f == nullptr) {
      Fail(n, what + ": '" + r.ref.form + "' is not a form of forms.yaml");
      return std::nullopt;
    }
    r.item = f->FindItem(r.ref.item);
    if (r.item == nullptr) {
      Fail(n, what + ": '" + r.ref.item + "' is not an item of form " + r.ref.form);
      return std::nullopt;
    }
  }
  std::string problem;
  if (r.item != nullptr && r.item->type == ItemType::kQuantity) r.unit = r.item->canonical;
  if (numeric_derived && !derived_unit.empty()) {
    auto u = Unit::Parse(derived_unit);
    if (u) r.unit = *u;
  }
  const std::string type = r.item != nullptr ? ItemTypeName(r.item->type)
                           : r.unit          ? "a quantity in " + r.unit->code()
                                             : std::string("a number");
  switch (want) {
    case Want::kQuantity:
      if (!r.unit) {
        problem = "must be a quantity";
      } else if (!unit.empty() && r.unit->dim() != Unit::Parse(unit)->dim()) {
        problem = "must be a quantity convertible to '" + unit + "', not '" + r.unit->code() + "'";
      }
      break;
    case Want::kNumber:
      if (r.unit || (r.item != nullptr && r.item->type != ItemType::kInteger &&
                     r.item->type != ItemType::kDecimal)) {
        problem = "must be a number (integer, decimal or a derived number)";
      }
      break;
    case Want::kDate:
      if (r.item == nullptr || r.item->type != ItemType::kDate) problem = "must be a date item";
      break;
    case Want::kCode:
      if (r.item == nullptr ||
          (r.item->type != ItemType::kCode && r.item->type != ItemType::kYesNo)) {
        problem = "must be a code or yes/no item";
      }
      break;
  }
  if (!problem.empty()) {
    Fail(n, what + ": '" + text + "' (" + type + ") " + problem);
    return std::nullopt;
  }
  return r;
}

std::optional<ItemSource> OutcomesLoader::ReadSource(const Protocol& p, const YAML::Node& n,
                                                     const std::string& what, Want want,
                                                     const std::string& unit,
                                                     const std::vector<std::string>& keys) {
  ItemSource s;
  const size_t before = errors_->size();
  if (n.IsScalar()) {
    if (auto r = Resolve(p, n, what, want, unit)) s.value = r->ref;
    if (errors_->size() != before) return std::nullopt;
    return s;
  }
  if (!n.IsMap()) {
    Fail(n.IsDefined() ? n : root_["sources"], what + " is missing (form.item or a mapping)");
    return std::nullopt;
  }
  std::vector<std::string> known = keys;
  known.insert(known.begin(), "value");
  CheckKeys(n, known, ("sources " + what).c_str());
  auto value = Resolve(p, n["value"], what + " 'value'", want, unit);
  if (!value) return std::nullopt;
  s.value = value->ref;
  const std::string value_unit = value->unit ? value->unit->code() : unit;
  auto part = [&](const char* key, Want w, const std::string& u) -> std::optional<SourceRef> {
    if (!n[key].IsDefined()) return std::nullopt;
    auto r = Resolve(p, n[key], what + " '" + key + "'", w, u);
    if (!r) return std::nullopt;
    return r->ref;
  };
  s.uln = part("uln", Want::kQuantity, value_unit);
  s.lln = part("lln", Want::kQuantity, value_unit);
  s.fio2 = part("fio2", Want::kQuantity, "%");
  s.date = part("date", Want::kDate, "");
  s.end = part("end", Want::kDate, "");
  // A code (or yes/no) the value or `when` must equal: one of the item's codes.
  auto code = [&](const char* key, const std::optional<Resolved>& item) -> std::string {
    std::string text = Text(n, key, false);
    if (text.empty() || !item || item->item == nullptr) return text;
    const ItemDefinition& d = *item->item;
    bool ok = d.type == ItemType::kYesNo && (text == "yes" || text == "no");
    for (const auto& c : d.codes) ok = ok || c.code == text;
    if (!ok) Fail(n[key], what + ": '" + text + "' is not a value of " + item->ref.Name());
    return text;
  };
  if (n["equals"].IsDefined()) {
    if (want != Want::kCode) Fail(n["equals"], what + ": 'equals' needs a code or yes/no value");
    s.equals = code("equals", value);
  }
  if (n["when"].IsDefined()) {
    auto when = Resolve(p, n["when"], what + " 'when'", Want::kCode, "");
    if (when) {
      s.when = when->ref;
      if (when->ref.form != s.value.form) {
        Fail(n["when"], what + ": 'when' must be an item of form " + s.value.form);
      }
    }
    s.when_equals = code("when_equals", when);
    if (s.when_equals.empty()) Fail(n, what + ": 'when' needs 'when_equals'");
  }
  if (errors_->size() != before) return std::nullopt;
  return s;
}

void OutcomesLoader::BuildSources(Protocol& p) {
  if (!root_.IsDefined() || !root_.IsMap() || !p.outcomes) return;
  const YAML::Node n = root_["sources"];
  if (!n.IsDefined()) return;
  if (!n.IsMap()) {
    Fail(n, "'sources' must be a mapping (docs/outcomes.md)");
    return;
  }
  // Without forms (no forms.yaml, or one with errors, reported by its loader) there is nothing
  // to check the sources against: they are left out, and the derivations say so when asked.
  if (!p.forms) return;
  const size_t before = errors_->size();
  Outcomes& o = *p.outcomes;
  CheckKeys(n,
            {"baseline_visit", "week8_visit", "baseline_missing_d0", "tis", "enzymes", "labs",
             "respiratory", "prednisone_equivalent"},
            "'sources'");
  OutcomeSources s;
  for (auto [key, out] :
       {std::pair{"baseline_visit", &s.baseline_visit}, std::pair{"week8_visit", &s.week8_visit}}) {
    *out = Text(n, key, true);
    if (!out->empty() && (!p.schedule || !p.schedule->FindVisit(*out))) {
      Fail(n[key], std::string("'") + key + "': visit '" + *out + "' is not in schedule.yaml");
    }
  }
  const std::string fallback = Text(n, "baseline_missing_d0", true);
  if (!fallback.empty()) {
    if (!IsParameterName(fallback)) {
      Fail(n["baseline_missing_d0"], "'baseline_missing_d0' must name a parameter");
    } else if (auto r = Choice(p, fallback, {"latest_before", "none"})) {
      s.fallback = *r == "none" ? BaselineFallback::kNone : BaselineFallback::kLatestBeforeDay0;
    }
  }

  // The TIS's five eCRF measures (the enzyme is `enzymes`).
  const YAML::Node tis = n["tis"];
  if (!tis.IsMap()) {
    Fail(tis.IsDefined() ? tis : n, "missing 'sources: tis' (a mapping of the core set measures)");
  } else {
    CheckKeys(tis, {"physician_global", "patient_global", "mmt", "haq", "extramuscular"},
              "'sources: tis'");
    for (auto [key, out] : {std::pair{"physician_global", &s.physician_global},
                            std::pair{"patient_global", &s.patient_global},
                            std::pair{"extramuscular", &s.extramuscular}}) {
      if (auto r = ReadSource(p, tis[key], std::string("tis.") + key, Want::kQuantity, "cm", {})) {
        *out = *r;
      }
    }
    if (auto r = ReadSource(p, tis["haq"], "tis.haq", Want::kNumber, "", {})) s.haq = *r;
    const YAML::Node mmt = tis["mmt"];
    const auto& max = o.Measure(CoreSetMeasure::kMmt).range;
    if (!mmt.IsMap()) {
      Fail(mmt.IsDefined() ? mmt : tis,
           "'tis.mmt' must map each MMT maximum (tis_mmt_max) to its total: {\"150\": "
           "derived.mmt8_total_150}");
    } else {
      bool found = false;
      for (const auto& kv : mmt) {
        auto m = Rational::Parse(kv.first.Scalar());
        if (!m) {
          Fail(kv.first, "'tis.mmt': '" + kv.first.Scalar() + "' is not an MMT maximum");
          continue;
        }
        auto r = ReadSource(p, kv.second, "tis.mmt." + kv.first.Scalar(), Want::kNumber, "", {});
        if (r && max && *m == *max) {
          s.mmt = *r;
          found = true;
        }
      }
      if (!found && max) {
        Fail(mmt,
             "'tis.mmt' has no total for the MMT maximum " + max->ToString() + " (tis_mmt_max)");
      }
    }
  }

  const YAML::Node enzymes = n["enzymes"];
  if (!enzymes.IsMap()) {
    Fail(enzymes.IsDefined() ? enzymes : n,
         "missing 'sources: enzymes' (enzyme id -> {value, uln})");
  } else {
    for (const auto& e : o.enzymes) {
      if (!enzymes[e.id].IsDefined()) {
        Fail(enzymes, "'sources: enzymes' has no source for TIS enzyme '" + e.id + "'");
      }
    }
    for (const auto& kv : enzymes) {
      const std::string id = kv.first.Scalar();
      if (std::none_of(o.enzymes.begin(), o.enzymes.end(),
                       [&](const EnzymeDefinition& e) { return e.id == id; })) {
        Fail(kv.first, "'sources: enzymes': '" + id + "' is not a TIS enzyme of 'tis'");
        continue;
      }
      auto r = ReadSource(p, kv.second, "enzymes." + id, Want::kQuantity, "U/L", {"uln"});
      if (!r) continue;
      if (!r->uln) Fail(kv.second, "enzymes." + id + " needs its 'uln'");
      s.enzymes.emplace_back(id, *r);
    }
  }

  const YAML::Node labs = n["labs"];
  if (!labs.IsMap()) {
    Fail(labs.IsDefined() ? labs : n,
         "missing 'sources: labs' (CTCAE term id -> {value, uln|lln})");
  } else {
    if (labs["date"].IsDefined()) {
      if (auto r = Resolve(p, labs["date"], "labs.date", Want::kDate, "")) s.lab_date = r->ref;
    }
    for (const auto& t : o.ctcae) {
      if (!labs[t.id].IsDefined()) {
        Fail(labs, "'sources: labs' says nothing of CTCAE term '" + t.id +
                       "' (give its items or write 'not_collected')");
      }
    }
    for (const auto& kv : labs) {
      const std::string id = kv.first.Scalar();
      if (id == "date") continue;
      const CtcaeTerm* term = o.FindTerm(id);
      if (term == nullptr) {
        Fail(kv.first, "'sources: labs': '" + id + "' is not a CTCAE term of 'ctcae'");
        continue;
      }
      if (kv.second.IsScalar() && kv.second.Scalar() == "not_collected") {
        s.labs_not_collected.push_back(id);
        continue;
      }
      auto r = ReadSource(p, kv.second, "labs." + id, Want::kQuantity, "", {"uln", "lln"});
      if (!r) continue;
      // The value's kind must be one the criteria can grade, with the limits they need.
      const ItemDefinition* item = p.forms->FindForm(r->value.form)->FindItem(r->value.item);
      for (const auto& c : term->criteria) {
        if (c.reference == CtcaeReference::kUln && !r->uln) {
          Fail(kv.second, "labs." + id + " needs 'uln' (" + c.text + ")");
          break;
        }
        if (c.reference == CtcaeReference::kLln && !r->lln) {
          Fail(kv.second, "labs." + id + " needs 'lln' (" + c.text + ")");
          break;
        }
        if (c.reference == CtcaeReference::kAbsolute && item != nullptr &&
            std::none_of(c.limits.begin(), c.limits.end(), [&](const ExactQuantity& l) {
              return l.unit.dim() == item->canonical.dim();
            })) {
          Fail(kv.second, "labs." + id + ": " + r->value.Name() + " in '" + item->canonical.code() +
                              "' cannot be graded against " + c.text);
          break;
        }
      }
      s.labs.emplace_back(id, *r);
    }
  }

  const YAML::Node resp = n["respiratory"];
  if (!resp.IsMap()) {
    Fail(resp.IsDefined() ? resp : n, "missing 'sources: respiratory' (a mapping)");
  } else {
    CheckKeys(resp,
              {"pao2", "spo2", "fvc_percent", "dlco_percent", "hrct_extent", "symptom_onset",
               "supplemental_oxygen", "respiratory_stay", "rp_ild_diagnosis", "death"},
              "'sources: respiratory'");
    struct Spec {
      const char* key;
      ItemSource* out;
      Want want;
      const char* unit;
      std::vector<std::string> keys;
    };
    const Spec specs[] = {
        {"pao2", &s.pao2, Want::kQuantity, "mm[Hg]", {"fio2", "date"}},
        {"spo2", &s.spo2, Want::kQuantity, "%", {"fio2", "date"}},
        {"fvc_percent", &s.fvc_percent, Want::kQuantity, "%", {"date"}},
        {"dlco_percent", &s.dlco_percent, Want::kQuantity, "%", {"date"}},
        {"hrct_extent", &s.hrct_extent, Want::kQuantity, "%", {"date"}},
        {"symptom_onset", &s.symptom_onset, Want::kDate, "", {}},
        {"supplemental_oxygen", &s.supplemental_oxygen, Want::kCode, "", {"equals", "date"}},
        {"respiratory_stay", &s.respiratory_stay, Want::kCode, "", {"equals", "date", "end"}},
        {"rp_ild_diagnosis", &s.rp_ild_diagnosis, Want::kCode, "", {"equals", "date"}},
        {"death", &s.death, Want::kCode, "", {"equals", "date"}},
    };
    for (const auto& spec : specs) {
      auto r = ReadSource(p, resp[spec.key], std::string("respiratory.") + spec.key, spec.want,
                          spec.unit, spec.keys);
      if (!r) continue;
      if (spec.want == Want::kCode && r->equals.empty()) {
        Fail(resp[spec.key], std::string("respiratory.") + spec.key + " needs 'equals'");
      }
      *spec.out = *r;
    }
  }
  if (auto r = ReadSource(p, n["prednisone_equivalent"], "prednisone_equivalent", Want::kQuantity,
                          "mg/d", {"when", "when_equals"})) {
    s.prednisone_equivalent = *r;
  }
  if (errors_->size() == before) o.sources = std::move(s);
}

}  // namespace internal
}  // namespace trial::protocol
