// Loads a protocol folder (protocol.h) and compiles its rules, collecting every error.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "protocol/forms_loader.h"
#include "protocol/outcomes_loader.h"
#include "protocol/protocol.h"
#include "protocol/safety_loader.h"
#include "protocol/schedule_loader.h"

namespace trial::protocol {

namespace {

namespace fs = std::filesystem;

class Loader {
 public:
  explicit Loader(std::string dir)
      : dir_(std::move(dir)),
        schedule_(dir_, &errors_),
        outcomes_(dir_, &errors_),
        safety_(dir_, &errors_),
        forms_(dir_, &errors_) {}

  CheckResult Run() {
    auto p = std::make_unique<Protocol>();
    p->dir = dir_;
    YAML::Node proto = ReadYaml("protocol.yaml");
    YAML::Node elements = ReadYaml("elements.yaml");
    YAML::Node definitions = ReadYaml("definitions.yaml");
    YAML::Node criteria = ReadYaml("criteria.yaml");
    schedule_.ReadFile();
    outcomes_.ReadFile();
    safety_.ReadFile();
    forms_.ReadFiles();
    if (!errors_.empty()) return Finish(nullptr);

    file_ = "protocol.yaml";
    ReadStudy(proto, *p);
    ReadSystems(proto["systems"]);
    ReadParameters(proto["parameters"], *p);
    schedule_.ReadParameters(*p);  // schedule.yaml's parameters, before the questions name them
    outcomes_.ReadParameters(*p);  // outcomes.yaml's too
    safety_.ReadParameters(*p);    // and safety.yaml's
    file_ = "elements.yaml";
    ReadElements(elements, *p);
    forms_.Read(*p);  // forms.yaml's items and editchecks.yaml's parameters join the catalog
    file_ = "definitions.yaml";
    ReadDefinitions(definitions, *p);
    file_ = "criteria.yaml";
    ReadCriteria(criteria, *p);
    file_ = "protocol.yaml";
    ReadQuestions(proto["questions"], *p);
    CrossCheck(*p);
    ReadRandomization(*p);
    ReadKitSupply(*p);

    // Compile: parameters and definitions, then every criterion's rule. This runs even after
    // errors above so that one check reports them all (a broken element may then also show up
    // as an unknown name in the rules that use it).
    auto program = rules::Program::Create(p->catalog);
    if (!program) {
      errors_.push_back(Located("", program.error()));
      return Finish(nullptr);
    }
    p->program = std::move(*program);
    schedule_.Build(*p);
    outcomes_.Build(*p);
    safety_.Build(*p);
    LinkKitsToSchedule(*p);
    for (auto& c : p->criteria) {
      if (c.rule.empty()) continue;  // already reported as missing
      auto id = p->program->AddRule(c.rule, Path("criteria.yaml"), rules::RuleType::kBool,
                                    rule_starts_[c.id]);
      if (!id) {
        Error e = id.error();
        e.message += " (rule of " + c.id + ")";
        errors_.push_back(std::move(e));
        continue;
      }
      c.rule_id = *id;
    }
    forms_.Build(*p);            // edit checks and derived values, once the schedule is built
    outcomes_.BuildSources(*p);  // outcomes.yaml's eCRF sources, checked against the forms
    if (!errors_.empty()) return Finish(nullptr);
    return Finish(std::move(p));
  }

 private:
  CheckResult Finish(std::unique_ptr<Protocol> p) {
    CheckResult r;
    r.protocol = std::move(p);
    r.errors = std::move(errors_);
    return r;
  }

  std::string Path(const std::string& file) const { return (fs::path(dir_) / file).string(); }

  Error Located(const std::string&, Error e) { return e; }

  void Fail(const YAML::Node& at, const std::string& what) {
    std::string where = Path(file_);
    if (at.IsDefined()) {
      const YAML::Mark m = at.Mark();
      if (!m.is_null()) {
        where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
      }
    }
    errors_.push_back(Error{ErrorCode::kInvalidInput, where + ": " + what});
  }
  void FailFile(const std::string& file, const std::string& what) {
    errors_.push_back(Error{ErrorCode::kInvalidInput, Path(file) + ": " + what});
  }

  YAML::Node ReadYaml(const std::string& file) {
    std::string path = Path(file);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      errors_.push_back(Error{ErrorCode::kNotFound, path + ": cannot read the file"});
      return YAML::Node();
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    auto& lines = raw_[file];
    std::stringstream split(text);
    for (std::string line; std::getline(split, line);) lines.push_back(line);
    try {
      YAML::Node n = YAML::Load(text);
      if (!n.IsMap()) {
        errors_.push_back(Error{ErrorCode::kParse, path + ": expected a mapping at the top level"});
        return YAML::Node();
      }
      return n;
    } catch (const YAML::Exception& e) {
      errors_.push_back(Error{ErrorCode::kParse, path + ":" + std::to_string(e.mark.line + 1) +
                                                     ":" + std::to_string(e.mark.column + 1) +
                                                     ": " + e.msg});
    } catch (const std::exception& e) {
      errors_.push_back(Error{ErrorCode::kParse, path + ": " + e.what()});
    }
    return YAML::Node();
  }

  // A scalar as text; records an error when missing (if required) or not a scalar.
  std::string Text(const YAML::Node& parent, const char* key, bool required) {
    if (!parent.IsMap()) return "";
    YAML::Node n = parent[key];
    if (!n.IsDefined() || n.IsNull()) {
      if (required) Fail(parent, std::string("missing '") + key + "'");
      return "";
    }
    if (!n.IsScalar()) {
      Fail(n, std::string("'") + key + "' must be a single value");
      return "";
    }
    return n.Scalar();
  }

  std::vector<std::string> TextList(const YAML::Node& parent, const char* key) {
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

  void ReadStudy(const YAML::Node& root, Protocol& p) {
    YAML::Node study = root["study"];
    if (!study.IsMap()) {
      Fail(root, "missing 'study' (the trial's identity)");
      return;
    }
    p.id = Text(study, "id", true);
    p.title = Text(study, "title", true);
    p.version = Text(study, "protocol_version", true);
    p.registry_ids = TextList(study, "registry_ids");
    std::string target = Text(study, "target_enrollment", false);
    if (!target.empty()) {
      int v = 0;
      auto [ptr, ec] = std::from_chars(target.data(), target.data() + target.size(), v);
      if (ec != std::errc() || ptr != target.data() + target.size() || v <= 0) {
        Fail(study["target_enrollment"], "target_enrollment must be a positive whole number");
      }
      p.target_enrollment = v;
    }
    YAML::Node arms = root["arms"];
    if (!arms.IsSequence() || arms.size() < 2) {
      Fail(root, "'arms' must list at least two arms");
      return;
    }
    std::set<std::string> ids;
    for (const auto& a : arms) {
      Arm arm;
      arm.id = Text(a, "id", true);
      arm.name = Text(a, "name", true);
      arm.description = Text(a, "description", false);
      std::string ratio = Text(a, "ratio", false);
      if (!ratio.empty()) {
        auto [ptr, ec] = std::from_chars(ratio.data(), ratio.data() + ratio.size(), arm.ratio);
        if (ec != std::errc() || ptr != ratio.data() + ratio.size() || arm.ratio <= 0) {
          Fail(a["ratio"], "an arm's ratio must be a positive whole number");
        }
      }
      if (!arm.id.empty() && !ids.insert(arm.id).second)
        Fail(a, "duplicate arm id '" + arm.id + "'");
      p.arms.push_back(arm);
    }
  }

  void ReadSystems(const YAML::Node& n) {
    if (!n.IsMap()) {
      Fail(n, "missing 'systems' (code-system aliases)");
      return;
    }
    for (const auto& kv : n) {
      if (!kv.second.IsScalar()) {
        Fail(kv.second, "a code-system alias must map to a URI");
        continue;
      }
      systems_[kv.first.Scalar()] = kv.second.Scalar();
    }
  }

  void ReadParameters(const YAML::Node& n, Protocol& p) {
    if (!n.IsDefined()) return;
    if (!n.IsMap()) {
      Fail(n, "'parameters' must be a mapping of name to {value, description}");
      return;
    }
    for (const auto& kv : n) {
      rules::Parameter param;
      param.name = kv.first.Scalar();
      param.origin = Path(file_);
      if (kv.second.IsScalar()) {
        param.text = kv.second.Scalar();
      } else if (kv.second.IsMap()) {
        param.text = Text(kv.second, "value", true);
        param.description = Text(kv.second, "description", false);
      } else {
        Fail(kv.second, "parameter '" + param.name + "' needs a value");
        continue;
      }
      if (!IsName(param.name)) Fail(kv.first, "'" + param.name + "' is not a valid name");
      p.catalog.parameters.push_back(std::move(param));
    }
  }

  static bool IsName(const std::string& s) {
    if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
    }
    return true;
  }

  // `alias:code`, with the pattern forms of catalog.h.
  std::optional<rules::CodePattern> Pattern(const YAML::Node& at, const std::string& text) {
    auto colon = text.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
      Fail(at, "code '" + text + "' must be written alias:code (e.g. loinc:29463-7)");
      return std::nullopt;
    }
    std::string alias = text.substr(0, colon);
    auto it = systems_.find(alias);
    if (it == systems_.end()) {
      Fail(at, "code '" + text + "': unknown code-system alias '" + alias + "' (see 'systems')");
      return std::nullopt;
    }
    rules::CodePattern p;
    p.system = it->second;
    std::string code = text.substr(colon + 1);
    if (auto dots = code.find(".."); dots != std::string::npos) {
      p.kind = rules::CodePattern::Kind::kRange;
      p.code = code.substr(0, dots);
      p.high = code.substr(dots + 2);
      if (p.code.empty() || p.high.size() != p.code.size() || p.high < p.code) {
        Fail(at, "code range '" + text + "' must be LOW..HIGH with ends of equal length");
        return std::nullopt;
      }
    } else if (code.find('?') != std::string::npos ||
               (code.find('*') != std::string::npos && code.find('*') + 1 != code.size())) {
      p.kind = rules::CodePattern::Kind::kGlob;
      p.code = code;
    } else if (code.back() == '*') {
      p.kind = rules::CodePattern::Kind::kPrefix;
      p.code = code.substr(0, code.size() - 1);
    } else {
      p.code = code;
    }
    return p;
  }

  std::vector<rules::CodePattern> Patterns(const YAML::Node& parent, const char* key) {
    std::vector<rules::CodePattern> out;
    YAML::Node n = parent[key];
    if (!n.IsDefined()) return out;
    if (!n.IsSequence()) {
      Fail(n, std::string("'") + key + "' must be a list of codes");
      return out;
    }
    for (const auto& item : n) {
      if (!item.IsScalar()) {
        Fail(item, "a code must be written alias:code");
        continue;
      }
      if (auto p = Pattern(item, item.Scalar())) out.push_back(*p);
    }
    return out;
  }

  std::optional<Quantity> ParseQuantity(const YAML::Node& at, const std::string& text) {
    // "8.7 h", "1.25", "1 mg/dL"
    size_t space = text.find(' ');
    std::string num = text.substr(0, space);
    double v = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), v);
    if (ec != std::errc() || ptr != num.data() + num.size()) {
      Fail(at, "'" + text + "' is not a number, optionally followed by a UCUM unit");
      return std::nullopt;
    }
    Unit unit;
    if (space != std::string::npos) {
      auto u = Unit::Parse(text.substr(space + 1));
      if (!u) {
        Fail(at, u.error().message);
        return std::nullopt;
      }
      unit = *u;
    }
    return Quantity{v, unit, Comparator::kEq};
  }

  void ReadMember(const std::string& name, const YAML::Node& n, rules::Member& m) {
    m.name = name;
    m.any_of = Patterns(n, "codes");
    m.all_of = Patterns(n, "all");
    if (m.any_of.empty() && m.all_of.empty())
      Fail(n, "member '" + name + "' needs 'codes' or 'all'");
    for (const auto& kv : n) {
      std::string key = kv.first.Scalar();
      if (key == "codes" || key == "all") continue;
      if (key == "factor" || key == "half_life") {
        if (!kv.second.IsScalar()) {
          Fail(kv.second, "'" + key + "' must be a number or quantity");
          continue;
        }
        auto q = ParseQuantity(kv.second, kv.second.Scalar());
        if (!q) continue;
        if (key == "half_life" && !(q->unit.dim() == Unit::Parse("h")->dim())) {
          Fail(kv.second, "half_life must be a duration such as '8.7 h'");
          continue;
        }
        if (q->value <= 0) {
          Fail(kv.second, "'" + key + "' must be positive");
          continue;
        }
        m.attributes[key] = *q;
      } else {
        Fail(kv.first, "unknown member attribute '" + key +
                           "' (expected codes, all, factor, "
                           "half_life)");
      }
    }
  }

  void ReadElements(const YAML::Node& root, Protocol& p) {
    for (const auto& kv : root) {
      auto e = std::make_unique<rules::Element>();
      e->name = kv.first.Scalar();
      const YAML::Node& n = kv.second;
      if (!IsName(e->name)) Fail(kv.first, "'" + e->name + "' is not a valid element name");
      if (!n.IsMap()) {
        Fail(n, "element '" + e->name + "' must be a mapping");
        continue;
      }
      e->label = Text(n, "label", false);
      std::string value = Text(n, "value", false);
      if (value.empty() || value == "none") {
        e->value = rules::ValueKind::kNone;
      } else if (value == "quantity") {
        e->value = rules::ValueKind::kQuantity;
      } else if (value == "qualitative") {
        e->value = rules::ValueKind::kQualitative;
      } else if (value == "boolean") {
        e->value = rules::ValueKind::kBoolean;
      } else if (value == "date") {
        e->value = rules::ValueKind::kDate;
      } else {
        Fail(n["value"],
             "value must be quantity, qualitative, boolean, date or none, found '" + value + "'");
      }
      std::string unit = Text(n, "unit", e->value == rules::ValueKind::kQuantity);
      if (!unit.empty()) {
        auto u = Unit::Parse(unit);
        if (!u) {
          Fail(n["unit"], u.error().message);
        } else {
          e->unit = *u;
        }
      }
      std::string molar = Text(n, "molar_equivalence", false);
      if (!molar.empty()) ReadMolar(n["molar_equivalence"], molar, *e);
      if (n["codes"].IsDefined()) {
        rules::Member m;
        m.name = e->name;
        m.any_of = Patterns(n, "codes");
        e->members.push_back(std::move(m));
      }
      if (n["members"].IsDefined()) {
        if (!n["members"].IsMap()) {
          Fail(n["members"], "'members' must be a mapping of member name to {codes, ...}");
        } else {
          for (const auto& mk : n["members"]) {
            rules::Member m;
            if (!mk.second.IsMap()) {
              Fail(mk.second, "member '" + mk.first.Scalar() + "' must be a mapping");
              continue;
            }
            ReadMember(mk.first.Scalar(), mk.second, m);
            e->members.push_back(std::move(m));
          }
        }
      }
      if (e->members.empty()) Fail(n, "element '" + e->name + "' needs 'codes' or 'members'");
      for (const auto& kv2 : n) {
        static const std::set<std::string> kKnown = {"label", "value",  "unit", "molar_equivalence",
                                                     "codes", "members"};
        if (!kKnown.count(kv2.first.Scalar())) {
          Fail(kv2.first, "unknown key '" + kv2.first.Scalar() + "' in element '" + e->name + "'");
        }
      }
      if (p.catalog.FindElement(e->name)) Fail(kv.first, "duplicate element '" + e->name + "'");
      e->index = static_cast<int>(p.catalog.elements.size());
      p.catalog.elements.push_back(std::move(e));
    }
  }

  // "1 mg/dL = 88.4 umol/L": the substance's molar mass, for mass <-> molar conversion.
  void ReadMolar(const YAML::Node& at, const std::string& text, rules::Element& e) {
    auto eq = text.find('=');
    if (eq == std::string::npos) {
      Fail(at, "molar_equivalence must read like '1 mg/dL = 88.4 umol/L'");
      return;
    }
    auto trim = [](std::string s) {
      while (!s.empty() && s.front() == ' ') s.erase(s.begin());
      while (!s.empty() && s.back() == ' ') s.pop_back();
      return s;
    };
    auto a = ParseQuantity(at, trim(text.substr(0, eq)));
    auto b = ParseQuantity(at, trim(text.substr(eq + 1)));
    if (!a || !b) return;
    const Dimension mass = Unit::Parse("g/L")->dim();
    const Dimension molar = Unit::Parse("mol/L")->dim();
    const Quantity* m = nullptr;
    const Quantity* n = nullptr;
    if (a->unit.dim() == mass && b->unit.dim() == molar) {
      m = &*a;
      n = &*b;
    } else if (a->unit.dim() == molar && b->unit.dim() == mass) {
      m = &*b;
      n = &*a;
    } else {
      Fail(at, "molar_equivalence must equate a mass concentration and a substance concentration");
      return;
    }
    double grams = m->value * m->unit.factor();
    double moles = n->value * n->unit.factor();
    if (grams <= 0 || moles <= 0) {
      Fail(at, "molar_equivalence values must be positive");
      return;
    }
    e.molar_mass_g_per_mol = grams / moles;
  }

  void ReadDefinitions(const YAML::Node& root, Protocol& p) {
    for (const auto& kv : root) {
      std::string key = kv.first.Scalar();
      rules::Definition d;
      auto open = key.find('(');
      if (open == std::string::npos) {
        d.name = key;
      } else {
        if (key.back() != ')') {
          Fail(kv.first, "definition '" + key + "' must be NAME or NAME(param, ...)");
          continue;
        }
        d.name = key.substr(0, open);
        std::string params = key.substr(open + 1, key.size() - open - 2);
        std::stringstream ss(params);
        std::string item;
        while (std::getline(ss, item, ',')) {
          while (!item.empty() && item.front() == ' ') item.erase(item.begin());
          while (!item.empty() && item.back() == ' ') item.pop_back();
          if (!IsName(item)) {
            Fail(kv.first, "definition '" + key + "': '" + item + "' is not a parameter name");
            continue;
          }
          d.params.push_back(item);
        }
      }
      if (!IsName(d.name)) {
        Fail(kv.first, "'" + d.name + "' is not a valid definition name");
        continue;
      }
      if (!kv.second.IsScalar()) {
        Fail(kv.second, "definition '" + d.name + "' must be a rule (text)");
        continue;
      }
      d.text = kv.second.Scalar();
      d.origin = Path("definitions.yaml");
      rules::TextStart start = StartOf(kv.second, "definitions.yaml");
      d.line = start.line;
      d.column = start.column;
      d.indent = start.indent;
      p.catalog.definitions.push_back(std::move(d));
    }
  }

  void ReadCriteria(const YAML::Node& root, Protocol& p) {
    YAML::Node list = root["criteria"];
    if (!list.IsSequence()) {
      Fail(root, "'criteria' must be a list");
      return;
    }
    std::set<std::string> ids;
    for (const auto& n : list) {
      Criterion c;
      c.id = Text(n, "id", true);
      std::string kind = Text(n, "kind", true);
      if (kind == "inclusion") {
        c.kind = CriterionKind::kInclusion;
      } else if (kind == "exclusion") {
        c.kind = CriterionKind::kExclusion;
      } else if (!kind.empty()) {
        Fail(n["kind"], "kind must be inclusion or exclusion, found '" + kind + "'");
      }
      c.text = Text(n, "text", true);
      c.reading = Text(n, "reading", false);
      c.rule = Text(n, "rule", true);
      if (n.IsMap() && n["rule"].IsDefined())
        rule_starts_[c.id] = StartOf(n["rule"], "criteria.yaml");
      c.questions = TextList(n, "questions");
      if (!c.id.empty() && !ids.insert(c.id).second)
        Fail(n, "duplicate criterion id '" + c.id + "'");
      p.criteria.push_back(std::move(c));
    }
  }

  void ReadQuestions(const YAML::Node& n, Protocol& p) {
    if (!n.IsDefined()) return;
    if (!n.IsSequence()) {
      Fail(n, "'questions' must be a list");
      return;
    }
    for (const auto& q : n) {
      Question question;
      question.id = Text(q, "id", true);
      question.topic = Text(q, "topic", true);
      question.registry = Text(q, "registry", true);
      question.reading = Text(q, "reading", true);
      question.criteria = TextList(q, "criteria");
      question.parameters = TextList(q, "parameters");
      for (const auto& param : question.parameters) {
        bool found = false;
        for (const auto& pp : p.catalog.parameters) found = found || pp.name == param;
        if (!found)
          Fail(q, "question " + question.id + " names an unknown parameter '" + param + "'");
      }
      p.questions.push_back(std::move(question));
    }
  }

  void CrossCheck(Protocol& p) {
    // One namespace for rule names: elements, parameters, definitions, and the reserved names.
    std::map<std::string, std::string> names = {{"S", "a reserved name (the screening date)"},
                                                {"R", "a reserved name (the randomization date)"},
                                                {"patient", "a reserved name"}};
    auto claim = [&](const std::string& name, const std::string& what, const std::string& file) {
      auto [it, fresh] = names.emplace(name, what);
      if (!fresh)
        FailFile(file, what + " '" + name + "' clashes with " + it->second + " of the same name");
    };
    for (const auto& e : p.catalog.elements) claim(e->name, "data element", "elements.yaml");
    for (const auto& param : p.catalog.parameters) {
      claim(param.name, "parameter", fs::path(param.origin).filename().string());
    }
    for (const auto& d : p.catalog.definitions) claim(d.name, "definition", "definitions.yaml");
    std::set<std::string> question_ids, criterion_ids;
    for (const auto& q : p.questions) question_ids.insert(q.id);
    for (const auto& c : p.criteria) criterion_ids.insert(c.id);
    file_ = "criteria.yaml";
    for (const auto& c : p.criteria) {
      for (const auto& q : c.questions) {
        if (!question_ids.count(q)) {
          FailFile("criteria.yaml", c.id + " refers to an unknown question '" + q + "'");
        }
      }
    }
    for (const auto& q : p.questions) {
      for (const auto& c : q.criteria) {
        if (!criterion_ids.count(c)) {
          FailFile("protocol.yaml",
                   "question " + q.id + " refers to an unknown criterion '" + c + "'");
        }
      }
    }
  }

  // randomization.yaml: optional; without it, permuted blocks of {1, 2} x the ratio sum and no
  // strata.
  void ReadRandomization(Protocol& p) {
    file_ = "randomization.yaml";
    RandomizationDesign& d = p.randomization;
    int ratio_sum = 0;
    for (const auto& a : p.arms) ratio_sum += a.ratio > 0 ? a.ratio : 0;
    if (ratio_sum <= 0) ratio_sum = 1;
    d.block_sizes = {ratio_sum, 2 * ratio_sum};
    std::error_code ec;
    if (!fs::exists(Path(file_), ec)) return;
    YAML::Node root = ReadYaml(file_);
    if (!root.IsMap()) return;  // reported by ReadYaml
    static const std::set<std::string> kKeys = {"method", "block_sizes", "strata", "minimization"};
    for (const auto& kv : root) {
      if (!kKeys.count(kv.first.Scalar()))
        Fail(kv.first, "unknown key '" + kv.first.Scalar() + "'");
    }
    std::string method = Text(root, "method", false);
    if (method.empty() || method == "permuted_blocks") {
      d.method = RandomizationMethod::kPermutedBlocks;
    } else if (method == "minimization") {
      d.method = RandomizationMethod::kMinimization;
    } else {
      Fail(root["method"],
           "method must be 'permuted_blocks' or 'minimization', not '" + method + "'");
    }
    YAML::Node sizes = root["block_sizes"];
    if (sizes.IsDefined() && !sizes.IsNull()) {
      if (!sizes.IsSequence() || sizes.size() == 0) {
        Fail(sizes, "'block_sizes' must be a non-empty list of whole numbers");
      } else {
        d.block_sizes.clear();
        for (const auto& s : sizes) {
          int v = 0;
          if (!s.IsScalar() || !WholeNumber(s.Scalar(), &v) || v <= 0 || v % ratio_sum != 0 ||
              v > 1000) {
            Fail(s, "a block size must be a positive multiple of the arms' ratio sum (" +
                        std::to_string(ratio_sum) + "), at most 1000");
            continue;
          }
          d.block_sizes.push_back(v);
        }
      }
    }
    YAML::Node strata = root["strata"];
    std::set<std::string> names;
    if (strata.IsDefined() && !strata.IsNull()) {
      if (!strata.IsSequence()) {
        Fail(strata, "'strata' must be a list of {factor, values}");
      } else {
        for (const auto& f : strata) {
          StratumFactor factor;
          factor.name = Text(f, "factor", true);
          if (!f.IsMap()) {
            Fail(f, "a stratum factor must be a mapping {factor, values}");
            continue;
          }
          if (!factor.name.empty() && !IsName(factor.name))
            Fail(f["factor"], "'" + factor.name + "' is not a valid factor name");
          if (!factor.name.empty() && !names.insert(factor.name).second)
            Fail(f["factor"], "duplicate stratum factor '" + factor.name + "'");
          YAML::Node values = f["values"];
          if (values.IsScalar() && values.Scalar() == "from_sites") {
            factor.from_sites = true;
          } else if (values.IsSequence()) {
            std::set<std::string> seen;
            for (const auto& v : values) {
              if (!v.IsScalar() || v.Scalar().empty() || !IsName(v.Scalar())) {
                Fail(v, "a factor value must be a name (letters, digits, _)");
                continue;
              }
              if (!seen.insert(v.Scalar()).second) {
                Fail(v, "duplicate value '" + v.Scalar() + "' of factor '" + factor.name + "'");
                continue;
              }
              factor.values.push_back(v.Scalar());
            }
            if (factor.values.empty() && values.size() == 0)
              Fail(values, "factor '" + factor.name + "' needs at least one value");
          } else {
            Fail(values.IsDefined() ? values : YAML::Node(f),
                 "factor '" + factor.name + "' needs 'values': a list, or from_sites");
          }
          d.factors.push_back(std::move(factor));
        }
      }
    }
    YAML::Node m = root["minimization"];
    if (m.IsDefined() && !m.IsNull()) {
      if (!m.IsMap()) {
        Fail(m, "'minimization' must be a mapping");
        return;
      }
      std::string measure = Text(m, "measure", false);
      if (measure.empty() || measure == "range") {
        d.minimization.measure = ImbalanceMeasure::kRange;
      } else if (measure == "variance") {
        d.minimization.measure = ImbalanceMeasure::kVariance;
      } else {
        Fail(m["measure"], "measure must be 'range' or 'variance', not '" + measure + "'");
      }
      std::string prob = Text(m, "high_probability", false);
      if (!prob.empty()) {
        double v = 0;
        auto [ptr, pec] = std::from_chars(prob.data(), prob.data() + prob.size(), v);
        if (pec != std::errc() || ptr != prob.data() + prob.size() || !(v > 0.5 && v <= 1.0)) {
          Fail(m["high_probability"], "high_probability must be a number in (0.5, 1]");
        } else {
          d.minimization.high_probability = v;
        }
      }
      std::string tie = Text(m, "tie_break", false);
      if (!tie.empty() && tie != "random") Fail(m["tie_break"], "tie_break must be 'random'");
      YAML::Node weights = m["weights"];
      if (weights.IsDefined() && !weights.IsNull()) {
        if (!weights.IsMap()) {
          Fail(weights, "'weights' must map factor names to positive numbers");
        } else {
          for (const auto& kv : weights) {
            const std::string& name = kv.first.Scalar();
            auto it = std::find_if(d.factors.begin(), d.factors.end(),
                                   [&](const StratumFactor& f) { return f.name == name; });
            if (it == d.factors.end()) {
              Fail(kv.first, "weight for an unknown factor '" + name + "'");
              continue;
            }
            double v = 0;
            const std::string text = kv.second.IsScalar() ? kv.second.Scalar() : "";
            auto [ptr, wec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (text.empty() || wec != std::errc() || ptr != text.data() + text.size() ||
                !(v > 0 && v <= 1000)) {
              Fail(kv.second, "a factor weight must be a positive number (at most 1000)");
              continue;
            }
            it->weight = v;
          }
        }
      }
    }
  }

  // kits.yaml: optional; without it, the KitSupply defaults (protocol.h).
  // With a visit schedule, the kit dose days are its dosing visits' days and the first dose visit
  // must be one of them on day 0; kits.yaml then may not list dose days of its own.
  void LinkKitsToSchedule(Protocol& p) {
    if (!p.schedule) return;
    file_ = "kits.yaml";
    if (kit_dose_days_) {
      Fail(*kit_dose_days_,
           "dose_days come from schedule.yaml's dosing visits when the protocol has a schedule: "
           "remove them here");
      return;
    }
    std::vector<int> days;
    bool first_found = false;
    for (const auto& v : p.schedule->visits) {
      if (!v.dose) continue;
      days.push_back(v.day);
      first_found = first_found || (v.id == p.kits.first_dose_visit && v.day == 0);
    }
    if (!first_found) {
      errors_.push_back(Error{ErrorCode::kInvalidInput,
                              Path(file_) + ": first_dose_visit '" + p.kits.first_dose_visit +
                                  "' is not a dosing visit on day 0 of schedule.yaml"});
      return;
    }
    p.kits.dose_days = std::move(days);
  }

  void ReadKitSupply(Protocol& p) {
    file_ = "kits.yaml";
    std::error_code ec;
    if (!fs::exists(Path(file_), ec)) return;
    YAML::Node root = ReadYaml(file_);
    if (!root.IsMap()) return;  // reported by ReadYaml
    KitSupply& k = p.kits;
    static const std::set<std::string> kKeys = {"first_dose_visit", "dose_days", "horizon_days",
                                                "buffer_per_arm", "kit_number_digits"};
    for (const auto& kv : root) {
      if (!kKeys.count(kv.first.Scalar()))
        Fail(kv.first, "unknown key '" + kv.first.Scalar() + "'");
    }
    std::string visit = Text(root, "first_dose_visit", false);
    if (!visit.empty() && !IsName(visit)) {
      Fail(root["first_dose_visit"], "first_dose_visit must be a visit name (letters, digits, _)");
    } else if (!visit.empty()) {
      k.first_dose_visit = visit;
    }
    // A whole number in [min, max] under `key`, kept in `*out` when valid.
    auto bounded = [&](const char* key, int min, int max, int* out) {
      std::string text = Text(root, key, false);
      int v = 0;
      if (text.empty()) return;
      if (!WholeNumber(text, &v) || v < min || v > max) {
        Fail(root[key], std::string(key) + " must be a whole number from " + std::to_string(min) +
                            " to " + std::to_string(max) + ", not '" + text + "'");
        return;
      }
      *out = v;
    };
    bounded("horizon_days", 1, 365, &k.horizon_days);
    bounded("buffer_per_arm", 0, 1000, &k.buffer_per_arm);
    bounded("kit_number_digits", 4, 9, &k.kit_number_digits);
    YAML::Node days = root["dose_days"];
    if (!days.IsDefined() || days.IsNull()) return;
    kit_dose_days_ = days;
    if (!days.IsSequence() || days.size() == 0) {
      Fail(days, "'dose_days' must be a non-empty list of days after the allocation date");
      return;
    }
    std::vector<int> read;
    for (const auto& d : days) {
      int v = 0;
      if (!d.IsScalar() || !WholeNumber(d.Scalar(), &v) || v < 0 || v > 3650) {
        Fail(d, "a dose day must be a whole number from 0 to 3650");
        return;
      }
      if (read.empty() && v != 0) {
        Fail(d, "the first dose day must be 0: randomization hands out the first kit");
        return;
      }
      if (!read.empty() && v <= read.back()) {
        Fail(d, "dose days must increase (" + std::to_string(v) + " after " +
                    std::to_string(read.back()) + ")");
        return;
      }
      read.push_back(v);
    }
    k.dose_days = std::move(read);
  }

  static bool WholeNumber(const std::string& s, int* v) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc() && ptr == s.data() + s.size();
  }

  // Where a rule scalar's text starts in its file, so rule errors point into the YAML file.
  rules::TextStart StartOf(const YAML::Node& n, const std::string& file) {
    const YAML::Mark m = n.Mark();
    rules::TextStart t{m.line + 1, m.column + 1, m.column};
    const auto& lines = raw_[file];
    if (m.is_null() || m.line < 0 || static_cast<size_t>(m.line) >= lines.size()) return t;
    const std::string& l = lines[static_cast<size_t>(m.line)];
    char c = static_cast<size_t>(m.column) < l.size() ? l[static_cast<size_t>(m.column)] : ' ';
    if (c == '"' || c == '\'') return {m.line + 1, m.column + 2, m.column + 1};
    if (c != '|' && c != '>') return t;
    // A block scalar: its text starts on the next non-blank line, whose indentation YAML strips.
    for (size_t k = static_cast<size_t>(m.line) + 1; k < lines.size(); ++k) {
      size_t indent = lines[k].find_first_not_of(' ');
      if (indent == std::string::npos) continue;
      int i = static_cast<int>(indent);
      return {static_cast<int>(k) + 1, i + 1, i};
    }
    return t;
  }

  std::string dir_;
  std::string file_;
  std::map<std::string, std::vector<std::string>> raw_;  // each file's lines
  std::map<std::string, rules::TextStart> rule_starts_;  // criterion id -> its rule's start
  std::map<std::string, std::string> systems_;
  std::vector<Error> errors_;
  internal::ScheduleLoader schedule_;        // schedule.yaml (schedule_loader.h)
  internal::OutcomesLoader outcomes_;        // outcomes.yaml (outcomes_loader.h)
  internal::SafetyLoader safety_;            // safety.yaml (safety_loader.h)
  internal::FormsLoader forms_;              // forms.yaml, editchecks.yaml (forms_loader.h)
  std::optional<YAML::Node> kit_dose_days_;  // kits.yaml's dose_days, when given
};

}  // namespace

CheckResult Check(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    CheckResult r;
    r.errors.push_back(
        Error{ErrorCode::kNotFound, dir + ": not a protocol folder (no such directory)"});
    return r;
  }
  try {
    return Loader(dir).Run();
  } catch (const std::exception& e) {
    // yaml-cpp throws on some malformed input beyond parsing (e.g. bad conversions).
    CheckResult r;
    r.errors.push_back(Error{ErrorCode::kParse, dir + ": " + e.what()});
    return r;
  }
}

Result<std::unique_ptr<Protocol>> Load(const std::string& dir) {
  CheckResult r = Check(dir);
  if (!r.errors.empty()) {
    Error first = r.errors.front();
    if (r.errors.size() > 1) {
      first.message +=
          " (and " + std::to_string(r.errors.size() - 1) + " more: run 'trial protocol check')";
    }
    return std::unexpected(first);
  }
  return std::move(r.protocol);
}

}  // namespace trial::protocol
