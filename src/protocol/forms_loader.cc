// Reads forms.yaml and editchecks.yaml (forms_loader.h, docs/ecrf.md).
#include "protocol/forms_loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace trial::protocol {

namespace {

std::string FormatLimit(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s = ec == std::errc() ? std::string(buf, end) : std::to_string(v);
  if (s.find('e') != std::string::npos) {
    std::ostringstream o;
    o.precision(12);
    o << std::fixed << v;
    s = o.str();
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

}  // namespace

const char* ItemTypeName(ItemType t) {
  switch (t) {
    case ItemType::kQuantity:
      return "quantity";
    case ItemType::kInteger:
      return "integer";
    case ItemType::kDecimal:
      return "decimal";
    case ItemType::kText:
      return "text";
    case ItemType::kDate:
      return "date";
    case ItemType::kCode:
      return "code";
    case ItemType::kYesNo:
      return "yesno";
  }
  return "?";
}

const char* CheckSeverityName(CheckSeverity s) {
  return s == CheckSeverity::kReject ? "reject" : "query";
}

const char* CheckKindName(CheckKind k) {
  switch (k) {
    case CheckKind::kRange:
      return "range";
    case CheckKind::kRequired:
      return "required";
    case CheckKind::kCrossItem:
      return "cross_item";
    case CheckKind::kCrossVisit:
      return "cross_visit";
  }
  return "?";
}

std::string Range::ToString() const {
  if (low && high) return FormatLimit(*low) + " to " + FormatLimit(*high);
  if (low) return "at least " + FormatLimit(*low);
  if (high) return "at most " + FormatLimit(*high);
  return "any value";
}

const ItemDefinition* FormDefinition::FindItem(const std::string& item_id) const {
  for (const auto& i : items) {
    if (i.id == item_id) return &i;
  }
  return nullptr;
}

const FormDefinition* Forms::FindForm(const std::string& form_id) const {
  for (const auto& f : forms) {
    if (f.id == form_id) return &f;
  }
  return nullptr;
}

namespace internal {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormsFile = "forms.yaml";
constexpr const char* kChecksFile = "editchecks.yaml";

bool IsName(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::optional<double> ParseNumber(const std::string& s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<ItemType> ParseType(const std::string& s) {
  for (ItemType t : {ItemType::kQuantity, ItemType::kInteger, ItemType::kDecimal, ItemType::kText,
                     ItemType::kDate, ItemType::kCode, ItemType::kYesNo}) {
    if (s == ItemTypeName(t)) return t;
  }
  return std::nullopt;
}

rules::ItemValue ValueOf(ItemType t) {
  switch (t) {
    case ItemType::kQuantity:
      return rules::ItemValue::kQuantity;
    case ItemType::kInteger:
    case ItemType::kDecimal:
      return rules::ItemValue::kNumber;
    case ItemType::kDate:
      return rules::ItemValue::kDate;
    case ItemType::kYesNo:
      return rules::ItemValue::kBool;
    case ItemType::kText:
    case ItemType::kCode:
      return rules::ItemValue::kString;
  }
  return rules::ItemValue::kString;
}

// The rule text of "outside `r`" for item `name` (quoted UCUM unit for quantities).
std::string OutsideRule(const std::string& name, const Range& r, const std::string& unit) {
  std::string u = unit.empty() ? "" : " '" + unit + "'";
  std::string v = "item(\"" + name + "\")";
  std::string out;
  if (r.low) out = v + " < " + FormatLimit(*r.low) + u;
  if (r.high) out += (out.empty() ? "" : " or ") + v + " > " + FormatLimit(*r.high) + u;
  return out;
}

}  // namespace

FormsLoader::FormsLoader(std::string dir, std::vector<Error>* errors)
    : dir_(std::move(dir)), errors_(errors) {}

std::string FormsLoader::Path(const std::string& file) const {
  return (fs::path(dir_) / file).string();
}

void FormsLoader::Fail(const std::string& file, const YAML::Node& at, const std::string& what) {
  std::string where = Path(file);
  if (at.IsDefined()) {
    const YAML::Mark m = at.Mark();
    if (!m.is_null()) {
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    }
  }
  errors_->push_back(Error{ErrorCode::kInvalidInput, where + ": " + what});
}

std::string FormsLoader::Text(const std::string& file, const YAML::Node& parent, const char* key,
                              bool required) {
  if (!parent.IsMap()) return "";
  YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) Fail(file, parent, std::string("missing '") + key + "'");
    return "";
  }
  if (!n.IsScalar()) {
    Fail(file, n, std::string("'") + key + "' must be a single value");
    return "";
  }
  return n.Scalar();
}

void FormsLoader::CheckKeys(const std::string& file, const YAML::Node& map,
                            const std::vector<std::string>& known, const char* what) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    Fail(file, kv.first, "unknown key '" + key + "' in " + what + " (expected " + list + ")");
  }
}

YAML::Node FormsLoader::ReadYaml(const std::string& file, bool* present) {
  *present = false;
  std::error_code ec;
  if (!fs::exists(Path(file), ec)) return YAML::Node();
  *present = true;
  std::ifstream in(Path(file), std::ios::binary);
  if (!in) {
    errors_->push_back(Error{ErrorCode::kNotFound, Path(file) + ": cannot read the file"});
    read_failed_ = true;
    return YAML::Node();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto& lines = lines_[file];
  std::stringstream split(text);
  for (std::string line; std::getline(split, line);) lines.push_back(line);
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsMap()) {
      errors_->push_back(
          Error{ErrorCode::kParse, Path(file) + ": expected a mapping at the top level"});
      read_failed_ = true;
      return YAML::Node();
    }
    return n;
  } catch (const YAML::Exception& e) {
    errors_->push_back(Error{ErrorCode::kParse, Path(file) + ":" + std::to_string(e.mark.line + 1) +
                                                    ":" + std::to_string(e.mark.column + 1) + ": " +
                                                    e.msg});
    read_failed_ = true;
    return YAML::Node();
  }
}

rules::TextStart FormsLoader::StartOf(const std::string& file, const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  rules::TextStart t{m.line + 1, m.column + 1, m.column};
  auto it = lines_.find(file);
  if (it == lines_.end() || m.is_null() || m.line < 0 ||
      static_cast<size_t>(m.line) >= it->second.size()) {
    return t;
  }
  const auto& lines = it->second;
  const std::string& l = lines[static_cast<size_t>(m.line)];
  char c = static_cast<size_t>(m.column) < l.size() ? l[static_cast<size_t>(m.column)] : ' ';
  if (c == '"' || c == '\'') return {m.line + 1, m.column + 2, m.column + 1};
  if (c != '|' && c != '>') return t;
  for (size_t k = static_cast<size_t>(m.line) + 1; k < lines.size(); ++k) {
    size_t indent = lines[k].find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    int i = static_cast<int>(indent);
    return {static_cast<int>(k) + 1, i + 1, i};
  }
  return t;
}

// ---- step 1 ----

void FormsLoader::ReadFiles() {
  forms_ = ReadYaml(kFormsFile, &forms_present_);
  checks_ = ReadYaml(kChecksFile, &checks_present_);
  if (checks_present_ && !forms_present_) {
    errors_->push_back(
        Error{ErrorCode::kInvalidInput,
              Path(kChecksFile) + ": edit checks need forms.yaml (the items they read)"});
    read_failed_ = true;
  }
}

// ---- step 2 ----

void FormsLoader::Read(Protocol& p) {
  if (!forms_present_ || read_failed_) return;
  errors_before_ = errors_->size();
  CheckKeys(kFormsFile, forms_, {"visit_date_item", "forms", "derived", "haq_di"}, "forms.yaml");
  Forms f;
  YAML::Node list = forms_["forms"];
  if (!list.IsDefined() || !list.IsSequence() || list.size() == 0) {
    Fail(kFormsFile, list.IsDefined() ? list : forms_, "'forms' must be a non-empty list of forms");
  } else {
    for (const auto& n : list) {
      auto form = ReadForm(p, n);
      if (!form) continue;
      if (f.FindForm(form->id)) {
        Fail(kFormsFile, n["id"], "form '" + form->id + "' is defined twice");
        continue;
      }
      f.forms.push_back(std::move(*form));
    }
  }
  for (const auto& form : f.forms) {
    for (const auto& item : form.items) {
      rules::ItemDecl d;
      d.name = form.id + "." + item.id;
      d.value = ValueOf(item.type);
      if (item.type == ItemType::kQuantity) d.unit = item.canonical;
      d.molar_mass_g_per_mol = item.molar_mass_g_per_mol;
      p.catalog.items.push_back(std::move(d));
    }
  }
  // The visit date.
  YAML::Node vd = forms_["visit_date_item"];
  f.visit_date_item = Text(kFormsFile, forms_, "visit_date_item", true);
  if (!f.visit_date_item.empty()) {
    const rules::ItemDecl* d = p.catalog.FindItem(f.visit_date_item);
    if (!d || d->value != rules::ItemValue::kDate) {
      Fail(kFormsFile, vd,
           "visit_date_item '" + f.visit_date_item + "' must name a date item (form.item)");
    }
  }
  ReadDerived(forms_["derived"], f);
  ReadHaq(forms_["haq_di"], f);

  if (checks_present_) {
    CheckKeys(kChecksFile, checks_, {"parameters", "checks"}, "editchecks.yaml");
    YAML::Node params = checks_["parameters"];
    if (params.IsDefined() && !params.IsNull()) {
      if (!params.IsMap()) {
        Fail(kChecksFile, params, "'parameters' must be a mapping of name to {value, description}");
      } else {
        for (const auto& kv : params) {
          rules::Parameter param;
          param.name = kv.first.Scalar();
          param.origin = Path(kChecksFile);
          if (kv.second.IsScalar()) {
            param.text = kv.second.Scalar();
          } else if (kv.second.IsMap()) {
            CheckKeys(kChecksFile, kv.second, {"value", "description"}, "a parameter");
            param.text = Text(kChecksFile, kv.second, "value", true);
            param.description = Text(kChecksFile, kv.second, "description", false);
          } else {
            Fail(kChecksFile, kv.second, "parameter '" + param.name + "' needs a value");
            continue;
          }
          if (!IsName(param.name)) {
            Fail(kChecksFile, kv.first, "'" + param.name + "' is not a valid name");
            continue;
          }
          p.catalog.parameters.push_back(std::move(param));
        }
      }
    }
    ReadChecks(checks_["checks"], f);
  }
  forms_read_ = std::move(f);
}

std::optional<FormDefinition> FormsLoader::ReadForm(const Protocol& p, const YAML::Node& n) {
  if (!n.IsMap()) {
    Fail(kFormsFile, n, "a form must be a mapping with id, label and items");
    return std::nullopt;
  }
  CheckKeys(kFormsFile, n, {"id", "label", "repeating", "items"}, "a form");
  FormDefinition form;
  form.id = Text(kFormsFile, n, "id", true);
  form.label = Text(kFormsFile, n, "label", true);
  if (form.id.empty()) return std::nullopt;
  if (!IsName(form.id)) {
    Fail(kFormsFile, n["id"], "form id '" + form.id + "' must be letters, digits and '_'");
    return std::nullopt;
  }
  std::string rep = Text(kFormsFile, n, "repeating", false);
  if (rep == "true") {
    form.repeating = true;
  } else if (!rep.empty() && rep != "false") {
    Fail(kFormsFile, n["repeating"], "'repeating' must be true or false");
  }
  YAML::Node items = n["items"];
  if (!items.IsDefined() || !items.IsSequence() || items.size() == 0) {
    Fail(kFormsFile, items.IsDefined() ? items : n,
         "form '" + form.id + "' needs 'items', a non-empty list");
    return std::nullopt;
  }
  for (const auto& in : items) {
    auto item = ReadItem(p, form.id, in);
    if (!item) continue;
    if (form.FindItem(item->id)) {
      Fail(kFormsFile, in["id"], "item '" + form.id + "." + item->id + "' is defined twice");
      continue;
    }
    form.items.push_back(std::move(*item));
  }
  return form;
}

std::optional<Range> FormsLoader::ReadRange(const YAML::Node& n, const char* what) {
  Range r;
  if (!n.IsDefined() || n.IsNull()) return r;
  if (!n.IsSequence() || n.size() != 2) {
    Fail(kFormsFile, n, std::string("'") + what + "' must be [low, high] (~ for no limit)");
    return std::nullopt;
  }
  for (size_t i = 0; i < 2; ++i) {
    const YAML::Node& e = n[i];
    if (e.IsNull() || (e.IsScalar() && e.Scalar() == "~")) continue;
    auto v = e.IsScalar() ? ParseNumber(e.Scalar()) : std::nullopt;
    if (!v) {
      Fail(kFormsFile, e, std::string("a limit of '") + what + "' must be a number or ~");
      return std::nullopt;
    }
    (i == 0 ? r.low : r.high) = *v;
  }
  if (r.low && r.high && *r.low > *r.high) {
    Fail(kFormsFile, n, std::string("'") + what + "': the low limit is above the high one");
    return std::nullopt;
  }
  return r;
}

std::optional<ItemDefinition> FormsLoader::ReadItem(const Protocol& p, const std::string& form,
                                                    const YAML::Node& n) {
  if (!n.IsMap()) {
    Fail(kFormsFile, n, "an item must be a mapping with id, label and type");
    return std::nullopt;
  }
  CheckKeys(kFormsFile, n,
            {"id", "label", "type", "units", "element", "codes", "hard", "soft", "required"},
            "an item");
  ItemDefinition item;
  item.line = n.Mark().line + 1;
  item.column = n.Mark().column + 1;
  item.id = Text(kFormsFile, n, "id", true);
  item.label = Text(kFormsFile, n, "label", true);
  std::string type = Text(kFormsFile, n, "type", true);
  if (item.id.empty() || type.empty()) return std::nullopt;
  const std::string name = form + "." + item.id;
  if (!IsName(item.id)) {
    Fail(kFormsFile, n["id"], "item id '" + item.id + "' must be letters, digits and '_'");
    return std::nullopt;
  }
  auto t = ParseType(type);
  if (!t) {
    Fail(kFormsFile, n["type"],
         "item " + name + ": unknown type '" + type +
             "' (expected quantity, integer, decimal, text, date, code or yesno)");
    return std::nullopt;
  }
  item.type = *t;
  std::string req = Text(kFormsFile, n, "required", false);
  if (req == "true") {
    item.required = true;
  } else if (!req.empty() && req != "false") {
    Fail(kFormsFile, n["required"], "item " + name + ": 'required' must be true or false");
  }
  bool ok = true;
  // Units (quantities only).
  YAML::Node units = n["units"];
  if (item.type == ItemType::kQuantity) {
    std::string element = Text(kFormsFile, n, "element", false);
    if (!element.empty()) {
      const rules::Element* e = p.catalog.FindElement(element);
      if (!e || !e->molar_mass_g_per_mol) {
        Fail(kFormsFile, n["element"],
             "item " + name + ": '" + element +
                 "' is not a data element with a molar_equivalence (elements.yaml)");
        ok = false;
      } else {
        item.molar_mass_g_per_mol = e->molar_mass_g_per_mol;
      }
    }
    if (!units.IsDefined() || !units.IsSequence() || units.size() == 0) {
      Fail(kFormsFile, units.IsDefined() ? units : n,
           "item " + name + ": a quantity needs 'units', the canonical unit first");
      return std::nullopt;
    }
    for (const auto& u : units) {
      auto parsed = u.IsScalar()
                        ? Unit::Parse(u.Scalar())
                        : Result<Unit>(trial::Fail(ErrorCode::kParse, "a unit must be text"));
      if (!parsed) {
        Fail(kFormsFile, u, "item " + name + ": " + parsed.error().message);
        ok = false;
        continue;
      }
      if (!item.units.empty()) {
        auto c = Convert(Quantity{1, *parsed, Comparator::kEq}, item.units.front(),
                         item.molar_mass_g_per_mol);
        if (!c) {
          Fail(kFormsFile, u,
               "item " + name + ": unit '" + parsed->code() + "' does not convert to '" +
                   item.units.front().code() + "'");
          ok = false;
          continue;
        }
      }
      item.units.push_back(*parsed);
    }
    if (!item.units.empty()) item.canonical = item.units.front();
  } else if (units.IsDefined()) {
    Fail(kFormsFile, units, "item " + name + ": only a quantity has 'units'");
    ok = false;
  } else if (n["element"].IsDefined()) {
    Fail(kFormsFile, n["element"], "item " + name + ": only a quantity has an 'element'");
    ok = false;
  }
  // Codes.
  YAML::Node codes = n["codes"];
  if (item.type == ItemType::kCode) {
    if (!codes.IsDefined() || !codes.IsSequence() || codes.size() == 0) {
      Fail(kFormsFile, codes.IsDefined() ? codes : n,
           "item " + name + ": a code item needs 'codes', a non-empty list");
      return std::nullopt;
    }
    for (const auto& c : codes) {
      CodeOption o;
      if (c.IsScalar()) {
        o.code = o.label = c.Scalar();
      } else if (c.IsMap()) {
        o.code = Text(kFormsFile, c, "code", true);
        o.label = Text(kFormsFile, c, "label", false);
        if (o.label.empty()) o.label = o.code;
      }
      if (o.code.empty()) {
        Fail(kFormsFile, c, "item " + name + ": a code must be text or {code, label}");
        ok = false;
        continue;
      }
      for (const auto& prev : item.codes) {
        if (prev.code == o.code) {
          Fail(kFormsFile, c, "item " + name + ": code '" + o.code + "' is listed twice");
          ok = false;
        }
      }
      item.codes.push_back(std::move(o));
    }
  } else if (codes.IsDefined()) {
    Fail(kFormsFile, codes, "item " + name + ": only a code item has 'codes'");
    ok = false;
  }
  // Ranges (numbers and quantities only).
  auto hard = ReadRange(n["hard"], "hard");
  auto soft = ReadRange(n["soft"], "soft");
  if (!hard || !soft) return std::nullopt;
  bool numeric = item.type == ItemType::kQuantity || item.type == ItemType::kInteger ||
                 item.type == ItemType::kDecimal;
  if (!numeric && (!hard->Empty() || !soft->Empty())) {
    Fail(kFormsFile, n["hard"].IsDefined() ? n["hard"] : n["soft"],
         "item " + name + ": only numbers and quantities have ranges");
    return std::nullopt;
  }
  if (!hard->Empty() && !soft->Empty()) {
    bool inside = (!soft->low || !hard->low || *soft->low >= *hard->low) &&
                  (!soft->high || !hard->high || *soft->high <= *hard->high);
    if (!inside) {
      Fail(kFormsFile, n["soft"],
           "item " + name + ": the soft range must lie within the hard range");
      return std::nullopt;
    }
  }
  item.hard = *hard;
  item.soft = *soft;
  if (!ok) return std::nullopt;
  return item;
}

void FormsLoader::ReadDerived(const YAML::Node& n, Forms& f) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    Fail(kFormsFile, n, "'derived' must be a list of {id, label, form, rule}");
    return;
  }
  for (const auto& d : n) {
    if (!d.IsMap()) {
      Fail(kFormsFile, d, "a derived value must be a mapping with id, label, form and rule");
      continue;
    }
    CheckKeys(kFormsFile, d, {"id", "label", "form", "unit", "rule"}, "a derived value");
    DerivedValue v;
    v.id = Text(kFormsFile, d, "id", true);
    v.label = Text(kFormsFile, d, "label", true);
    v.form = Text(kFormsFile, d, "form", true);
    v.unit = Text(kFormsFile, d, "unit", false);
    v.rule = Text(kFormsFile, d, "rule", true);
    if (v.id.empty() || v.form.empty() || v.rule.empty()) continue;
    if (!f.FindForm(v.form)) {
      Fail(kFormsFile, d["form"], "derived value " + v.id + ": unknown form '" + v.form + "'");
      continue;
    }
    for (const auto& other : f.derived) {
      if (other.id == v.id)
        Fail(kFormsFile, d["id"], "derived value " + v.id + " is defined twice");
    }
    if (!v.unit.empty()) {
      if (auto u = Unit::Parse(v.unit); !u) {
        Fail(kFormsFile, d["unit"], "derived value " + v.id + ": " + u.error().message);
        continue;
      }
    }
    rule_starts_["derived:" + v.id] = StartOf(kFormsFile, d["rule"]);
    f.derived.push_back(std::move(v));
  }
}

void FormsLoader::ReadHaq(const YAML::Node& n, Forms& f) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsMap()) {
    Fail(kFormsFile, n, "'haq_di' must be a mapping with form, categories, aid_minimum");
    return;
  }
  CheckKeys(kFormsFile, n, {"form", "aid_minimum", "min_categories", "categories"}, "haq_di");
  HaqScoring h;
  h.form = Text(kFormsFile, n, "form", true);
  const FormDefinition* form = f.FindForm(h.form);
  if (!form) {
    Fail(kFormsFile, n["form"], "haq_di: unknown form '" + h.form + "'");
    return;
  }
  auto whole = [&](const char* key, int lo, int hi, int* out) {
    std::string t = Text(kFormsFile, n, key, true);
    int v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty()) return false;
    if (ec != std::errc() || ptr != t.data() + t.size() || v < lo || v > hi) {
      Fail(kFormsFile, n[key],
           std::string("haq_di: '") + key + "' must be a whole number from " + std::to_string(lo) +
               " to " + std::to_string(hi));
      return false;
    }
    *out = v;
    return true;
  };
  bool ok = whole("aid_minimum", 0, 3, &h.aid_minimum);
  YAML::Node cats = n["categories"];
  if (!cats.IsDefined() || !cats.IsSequence() || cats.size() == 0) {
    Fail(kFormsFile, cats.IsDefined() ? cats : YAML::Node(n),
         "haq_di: 'categories' must be a non-empty list");
    return;
  }
  for (const auto& c : cats) {
    CheckKeys(kFormsFile, c, {"id", "items", "aids"}, "a HAQ-DI category");
    HaqCategory cat;
    cat.id = Text(kFormsFile, c, "id", true);
    auto names = [&](const char* key, ItemType want, std::vector<std::string>* out) {
      YAML::Node l = c[key];
      if (!l.IsDefined() || !l.IsSequence()) {
        Fail(kFormsFile, l.IsDefined() ? l : YAML::Node(c),
             "haq_di category " + cat.id + ": '" + key + "' must be a list of item ids");
        ok = false;
        return;
      }
      for (const auto& i : l) {
        const ItemDefinition* item = i.IsScalar() ? form->FindItem(i.Scalar()) : nullptr;
        if (!item || item->type != want) {
          Fail(kFormsFile, i,
               "haq_di category " + cat.id + ": '" + (i.IsScalar() ? i.Scalar() : "?") +
                   "' is not a " + ItemTypeName(want) + " item of form " + h.form);
          ok = false;
          continue;
        }
        out->push_back(item->id);
      }
    };
    names("items", ItemType::kInteger, &cat.items);
    names("aids", ItemType::kYesNo, &cat.aids);
    if (cat.items.empty()) ok = false;
    h.categories.push_back(std::move(cat));
  }
  int n_cats = static_cast<int>(h.categories.size());
  if (!whole("min_categories", 1, std::max(1, n_cats), &h.min_categories)) ok = false;
  if (ok) f.haq = std::move(h);
}

void FormsLoader::ReadChecks(const YAML::Node& n, Forms& f) {
  if (!n.IsDefined() || n.IsNull()) return;
  if (!n.IsSequence()) {
    Fail(kChecksFile, n, "'checks' must be a list of {id, kind, severity, items, message, rule}");
    return;
  }
  std::set<std::string> ids;
  for (const auto& c : n) {
    if (!c.IsMap()) {
      Fail(kChecksFile, c, "an edit check must be a mapping");
      continue;
    }
    CheckKeys(kChecksFile, c, {"id", "kind", "severity", "items", "message", "rule"},
              "an edit check");
    EditCheck e;
    e.id = Text(kChecksFile, c, "id", true);
    std::string kind = Text(kChecksFile, c, "kind", true);
    std::string severity = Text(kChecksFile, c, "severity", true);
    e.message = Text(kChecksFile, c, "message", true);
    e.rule = Text(kChecksFile, c, "rule", true);
    if (e.id.empty() || kind.empty() || severity.empty() || e.message.empty() || e.rule.empty()) {
      continue;
    }
    if (!ids.insert(e.id).second) {
      Fail(kChecksFile, c["id"], "edit check '" + e.id + "' is defined twice");
      continue;
    }
    bool ok = true;
    if (kind == "range") {
      e.kind = CheckKind::kRange;
    } else if (kind == "required") {
      e.kind = CheckKind::kRequired;
    } else if (kind == "cross_item") {
      e.kind = CheckKind::kCrossItem;
    } else if (kind == "cross_visit") {
      e.kind = CheckKind::kCrossVisit;
    } else {
      Fail(kChecksFile, c["kind"],
           "edit check " + e.id + ": unknown kind '" + kind +
               "' (expected range, required, cross_item or cross_visit)");
      ok = false;
    }
    if (severity == "reject") {
      e.severity = CheckSeverity::kReject;
    } else if (severity == "query") {
      e.severity = CheckSeverity::kQuery;
    } else {
      Fail(kChecksFile, c["severity"],
           "edit check " + e.id + ": unknown severity '" + severity +
               "' (expected reject or query)");
      ok = false;
    }
    YAML::Node items = c["items"];
    if (!items.IsDefined() || !items.IsSequence() || items.size() == 0) {
      Fail(kChecksFile, items.IsDefined() ? items : YAML::Node(c),
           "edit check " + e.id + ": 'items' must be a non-empty list of form.item");
      continue;
    }
    for (const auto& i : items) {
      std::string name = i.IsScalar() ? i.Scalar() : "";
      size_t dot = name.find('.');
      const FormDefinition* form =
          dot == std::string::npos ? nullptr : f.FindForm(name.substr(0, dot));
      if (!form || !form->FindItem(name.substr(dot + 1))) {
        Fail(
            kChecksFile, i,
            "edit check " + e.id + ": unknown item '" + name + "' (write form.item of forms.yaml)");
        ok = false;
        continue;
      }
      e.items.push_back(name);
    }
    if (!ok) continue;
    rule_starts_["check:" + e.id] = StartOf(kChecksFile, c["rule"]);
    f.checks.push_back(std::move(e));
  }
}

// ---- step 3 ----

void FormsLoader::Build(Protocol& p) {
  if (!forms_read_) return;
  Forms f = std::move(*forms_read_);
  forms_read_.reset();
  CheckSchedule(p, f);
  GenerateChecks(f);
  Compile(p, f);
  if (errors_->size() != errors_before_) return;
  p.forms = std::move(f);
}

void FormsLoader::CheckSchedule(const Protocol& p, const Forms& f) {
  const std::string schedule = (fs::path(dir_) / "schedule.yaml").string();
  if (!p.schedule) {
    errors_->push_back(Error{ErrorCode::kInvalidInput,
                             Path(kFormsFile) +
                                 ": forms need schedule.yaml, whose visits list the forms they "
                                 "collect (or schedule.yaml has errors)"});
    return;
  }
  std::set<std::string> used;
  auto check = [&](const std::string& visit, const std::vector<std::string>& forms) {
    for (const auto& id : forms) {
      used.insert(id);
      if (!f.FindForm(id)) {
        errors_->push_back(
            Error{ErrorCode::kInvalidInput, schedule + ": visit " + visit + " collects form '" +
                                                id + "', which forms.yaml does not define"});
      }
    }
  };
  for (const auto& v : p.schedule->visits) check(v.id, v.forms);
  if (p.schedule->unscheduled_allowed) {
    check(p.schedule->unscheduled_id, p.schedule->unscheduled_forms);
  }
  for (const auto& form : f.forms) {
    if (!used.count(form.id)) {
      errors_->push_back(Error{
          ErrorCode::kInvalidInput,
          Path(kFormsFile) + ": form '" + form.id + "' is collected by no visit of schedule.yaml"});
    }
  }
  // Every visit needs its date.
  size_t dot = f.visit_date_item.find('.');
  if (dot != std::string::npos) {
    std::string date_form = f.visit_date_item.substr(0, dot);
    auto need = [&](const std::string& visit, const std::vector<std::string>& forms) {
      if (std::find(forms.begin(), forms.end(), date_form) == forms.end()) {
        errors_->push_back(Error{ErrorCode::kInvalidInput, schedule + ": visit " + visit +
                                                               " must collect form '" + date_form +
                                                               "' (it holds the visit date, " +
                                                               f.visit_date_item + ")"});
      }
    };
    for (const auto& v : p.schedule->visits) need(v.id, v.forms);
    if (p.schedule->unscheduled_allowed) {
      need(p.schedule->unscheduled_id, p.schedule->unscheduled_forms);
    }
  }
}

void FormsLoader::GenerateChecks(Forms& f) {
  std::vector<EditCheck> generated;
  for (const auto& form : f.forms) {
    for (const auto& item : form.items) {
      const std::string name = form.id + "." + item.id;
      const std::string unit = item.type == ItemType::kQuantity ? item.canonical.code() : "";
      const std::string shown = unit.empty() ? "" : " " + unit;
      auto range = [&](const Range& r, CheckSeverity sev, const char* which) {
        if (r.Empty()) return;
        EditCheck e;
        e.id = name + "." + which;
        e.kind = CheckKind::kRange;
        e.severity = sev;
        e.items = {name};
        e.message = item.label + " outside the " + which + " range " + r.ToString() + shown;
        e.rule = OutsideRule(name, r, unit);
        e.generated = true;
        rule_starts_["check:" + e.id] = {item.line, item.column, item.column - 1};
        generated.push_back(std::move(e));
      };
      range(item.hard, CheckSeverity::kReject, "hard");
      range(item.soft, CheckSeverity::kQuery, "soft");
      if (item.required) {
        EditCheck e;
        e.id = name + ".required";
        e.kind = CheckKind::kRequired;
        e.severity = CheckSeverity::kQuery;
        e.items = {name};
        e.message = item.label + " is required";
        e.rule = "item(\"" + name + "\") is unknown";
        e.generated = true;
        rule_starts_["check:" + e.id] = {item.line, item.column, item.column - 1};
        generated.push_back(std::move(e));
      }
    }
  }
  for (const auto& e : f.checks) {
    for (const auto& g : generated) {
      if (g.id == e.id) {
        errors_->push_back(Error{ErrorCode::kInvalidInput,
                                 Path(kChecksFile) + ": edit check '" + e.id +
                                     "' has the id of a check generated from forms.yaml"});
      }
    }
  }
  generated.insert(generated.end(), std::make_move_iterator(f.checks.begin()),
                   std::make_move_iterator(f.checks.end()));
  f.checks = std::move(generated);
}

void FormsLoader::Compile(Protocol& p, Forms& f) {
  if (!p.program) return;
  for (auto& d : f.derived) {
    auto id = p.program->AddRule(d.rule, Path(kFormsFile), rules::RuleType::kAny,
                                 rule_starts_["derived:" + d.id]);
    if (!id) {
      Error e = id.error();
      e.message += " (rule of derived value " + d.id + ")";
      errors_->push_back(std::move(e));
      continue;
    }
    d.rule_id = *id;
  }
  for (auto& c : f.checks) {
    auto id = p.program->AddRule(c.rule, Path(c.generated ? kFormsFile : kChecksFile),
                                 rules::RuleType::kBool, rule_starts_["check:" + c.id]);
    if (!id) {
      Error e = id.error();
      e.message += " (rule of edit check " + c.id + ")";
      errors_->push_back(std::move(e));
      continue;
    }
    c.rule_id = *id;
  }
}

}  // namespace internal
}  // namespace trial::protocol
