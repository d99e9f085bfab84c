// Reads safety.yaml into protocol::Safety (safety_loader.h, docs/safety.md).
#include "protocol/safety_loader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace trial::protocol {

bool AeTerm::Defines(int grade) const {
  return std::find(grades.begin(), grades.end(), grade) != grades.end();
}

const AeTerm* Safety::FindTerm(const std::string& id) const {
  for (const auto& t : terms) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

namespace internal {
namespace {
const char* const kFile = "safety.yaml";
}  // namespace

SafetyLoader::SafetyLoader(std::string dir, std::vector<Error>* errors)
    : ParameterFile(std::move(dir), kFile, "docs/safety.md",
                    {"ctcae_version", "categories", "terms", "seriousness", "relatedness",
                     "counted_as_related", "actions", "outcomes", "sae"},
                    errors) {}

std::vector<std::string> SafetyLoader::Codes(const char* key) {
  std::vector<std::string> out;
  const YAML::Node n = root_[key];
  if (!n.IsSequence() || n.size() == 0) {
    Fail(n.IsDefined() ? n : root_, std::string("'") + key + "' must be a non-empty list of codes");
    return out;
  }
  std::set<std::string> seen;
  for (const auto& c : n) {
    if (!c.IsScalar() || !IsParameterName(c.Scalar())) {
      Fail(c, std::string("a code of '") + key + "' must be a name (letters, digits, '_')");
      continue;
    }
    if (!seen.insert(c.Scalar()).second) {
      Fail(c, std::string("duplicate code '") + c.Scalar() + "' in '" + key + "'");
      continue;
    }
    out.push_back(c.Scalar());
  }
  return out;
}

std::optional<AeTerm> SafetyLoader::Term(const YAML::Node& n,
                                         const std::vector<std::string>& categories) {
  if (!n.IsMap()) {
    Fail(n, "a term must be a mapping {id, name, grades, category[, other]}");
    return std::nullopt;
  }
  CheckKeys(n, {"id", "name", "grades", "category", "other"}, "a term");
  AeTerm t;
  t.id = Text(n, "id", true);
  t.name = Text(n, "name", true);
  if (!t.id.empty() && !IsParameterName(t.id)) Fail(n["id"], "'" + t.id + "' is not a valid id");
  t.category = Text(n, "category", true);
  if (!t.category.empty() &&
      std::find(categories.begin(), categories.end(), t.category) == categories.end()) {
    std::string known;
    for (const auto& c : categories) known += (known.empty() ? "" : ", ") + c;
    Fail(n["category"], "term '" + t.id + "': unknown category '" + t.category +
                            "' (the 'categories' are: " + known + ")");
    return std::nullopt;
  }
  const YAML::Node g = n["grades"];
  if (!g.IsSequence() || g.size() == 0) {
    Fail(g.IsDefined() ? g : n, "term '" + t.id + "': 'grades' must be a list of grades 1 to 5");
    return std::nullopt;
  }
  for (const auto& v : g) {
    int grade = 0;
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), grade);
    if (ec != std::errc() || ptr != text.data() + text.size() || grade < 1 || grade > 5) {
      Fail(v, "term '" + t.id + "': grade '" + text + "' is not a CTCAE grade (1 to 5)");
      return std::nullopt;
    }
    if (!t.grades.empty() && grade <= t.grades.back()) {
      Fail(v, "term '" + t.id + "': grades must be listed in ascending order, once each");
      return std::nullopt;
    }
    t.grades.push_back(grade);
  }
  const std::string other = Text(n, "other", false);
  if (!other.empty() && other != "true" && other != "false") {
    Fail(n["other"], "term '" + t.id + "': 'other' must be true or false");
  }
  t.needs_text = other == "true";
  if (t.id.empty() || t.name.empty() || t.category.empty()) return std::nullopt;
  return t;
}

std::optional<int> SafetyLoader::WholeParameter(const Protocol& p, const std::string& name, int min,
                                                int max) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  if (v->kind != rules::Value::Kind::kNumber || v->number != std::floor(v->number) ||
      v->number < min || v->number > max) {
    FailParameter(
        name, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return static_cast<int>(v->number);
}

std::optional<int> SafetyLoader::DaysParameter(const Protocol& p, const std::string& name) {
  auto v = Param(p, name);
  if (!v) return std::nullopt;
  std::optional<long long> days;
  if (v->kind == rules::Value::Kind::kDuration) {
    if (v->duration.unit == Duration::Unit::kDays) days = v->duration.amount;
    if (v->duration.unit == Duration::Unit::kWeeks) days = 7LL * v->duration.amount;
  }
  if (!days || *days < 1 || *days > 365) {
    FailParameter(name, "must be a duration from 1 to 365 days (in days or weeks)");
    return std::nullopt;
  }
  return static_cast<int>(*days);
}

void SafetyLoader::Build(Protocol& p) {
  if (!root_.IsDefined() || !root_.IsMap()) return;
  const size_t before = errors_->size();
  Safety s;
  s.ctcae_version = Text(root_, "ctcae_version", true);
  s.categories = Codes("categories");
  const YAML::Node terms = root_["terms"];
  if (!terms.IsSequence() || terms.size() == 0) {
    Fail(terms.IsDefined() ? terms : root_, "'terms' must be a non-empty list of terms");
  } else {
    std::set<std::string> ids;
    for (const auto& n : terms) {
      auto t = Term(n, s.categories);
      if (!t) continue;
      if (!ids.insert(t->id).second) {
        Fail(n, "duplicate term '" + t->id + "'");
        continue;
      }
      s.terms.push_back(std::move(*t));
    }
    if (std::none_of(s.terms.begin(), s.terms.end(),
                     [](const AeTerm& t) { return t.needs_text; })) {
      Fail(terms, "no term has 'other: true': an \"other, specify\" term is required");
    }
  }
  s.seriousness = Codes("seriousness");
  s.relatedness = Codes("relatedness");
  s.counted_as_related = Codes("counted_as_related");
  if (!s.counted_as_related.empty()) {
    for (const auto& c : root_["counted_as_related"]) {
      if (std::find(s.relatedness.begin(), s.relatedness.end(), c.Scalar()) ==
          s.relatedness.end()) {
        Fail(c, "'counted_as_related': '" + c.Scalar() + "' is not a code of 'relatedness'");
      }
    }
  }
  s.actions = Codes("actions");
  s.outcomes = Codes("outcomes");
  const YAML::Node sae = root_["sae"];
  if (!sae.IsMap()) {
    Fail(sae.IsDefined() ? sae : root_, "missing 'sae' (a mapping: recipients)");
  } else {
    CheckKeys(sae, {"recipients"}, "'sae'");
    const YAML::Node r = sae["recipients"];
    if (!r.IsSequence() || r.size() == 0) {
      Fail(r.IsDefined() ? r : sae, "'sae.recipients' must be a non-empty list");
    } else {
      for (const auto& c : r) {
        if (!c.IsScalar() || !IsParameterName(c.Scalar())) {
          Fail(c, "a recipient must be a name (letters, digits, '_')");
          continue;
        }
        s.recipients.push_back(c.Scalar());
      }
    }
  }
  if (auto h = WholeParameter(p, "sae_initial_report_hours", 1, 720)) s.initial_report_hours = *h;
  if (auto d = DaysParameter(p, "sae_follow_up")) s.follow_up_days = *d;
  if (errors_->size() == before) p.safety = std::move(s);
}

}  // namespace internal
}  // namespace trial::protocol
