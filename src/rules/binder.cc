// The binder: resolves names against the catalog, checks types and units, and builds the typed
// tree (bound.h). Errors name the origin, line and column of the offending sub-expression.
#include <map>
#include <set>
#include <string>

#include "core/text.h"
#include "rules/bound.h"
#include "rules/parser.h"

namespace trial::rules {

std::string Type::ToString() const {
  switch (kind) {
    case TypeKind::kAny:
      return "unknown";
    case TypeKind::kBool:
      return "a boolean";
    case TypeKind::kNumber:
      return "a number";
    case TypeKind::kQuantity:
      return dim_known ? "a quantity of dimension " + dim.ToString() : "a quantity";
    case TypeKind::kDate:
      return "a date";
    case TypeKind::kDuration:
      return "a duration";
    case TypeKind::kString:
      return "a string";
    case TypeKind::kCodes:
      return "a list of codes";
    case TypeKind::kFact: {
      std::string name = FactKindName(fact);
      bool vowel = std::string_view("AEIOUaeiou").find(name[0]) != std::string_view::npos;
      return (vowel ? "an " : "a ") + name + (element ? " of " + element->name : "");
    }
    case TypeKind::kList:
      if (fact != FactKind::kNone) {
        return std::string("a list of ") + FactKindName(fact) +
               (element ? " of " + element->name : "");
      }
      if (elem_kind == TypeKind::kNumber) return "a list of numbers";
      if (elem_kind == TypeKind::kString) return "a list of strings";
      if (elem_kind == TypeKind::kQuantity) return "a list of quantities";
      if (elem_kind == TypeKind::kDate) return "a list of dates";
      if (elem_kind == TypeKind::kBool) return "a list of booleans";
      return "a list";
    case TypeKind::kValueSet:
      return "a value set";
  }
  return "?";
}

namespace {

struct BuiltinInfo {
  const char* name;
  Builtin id;
};

constexpr BuiltinInfo kBuiltins[] = {
    {"observations", Builtin::kObservations},
    {"conditions", Builtin::kConditions},
    {"allergies", Builtin::kAllergies},
    {"exposures", Builtin::kExposures},
    {"requests", Builtin::kRequests},
    {"stays", Builtin::kStays},
    {"consents", Builtin::kConsents},
    {"exists", Builtin::kExists},
    {"count", Builtin::kCount},
    {"latest", Builtin::kLatest},
    {"earliest", Builtin::kEarliest},
    {"filter", Builtin::kFilter},
    {"any", Builtin::kAny},
    {"all", Builtin::kAll},
    {"during", Builtin::kDuring},
    {"distinct_count", Builtin::kDistinctCount},
    {"is_positive", Builtin::kIsPositive},
    {"is_negative", Builtin::kIsNegative},
    {"times_uln", Builtin::kTimesUln},
    {"is_current", Builtin::kIsCurrent},
    {"overlaps", Builtin::kOverlaps},
    {"daily_dose", Builtin::kDailyDose},
    {"washout_end", Builtin::kWashoutEnd},
    {"covers_every_day", Builtin::kCoversEveryDay},
    {"max_daily_dose", Builtin::kMaxDailyDose},
    {"stable_daily_dose", Builtin::kStableDailyDose},
    {"age_on", Builtin::kAgeOn},
    {"cockcroft_gault", Builtin::kCockcroftGault},
    {"coalesce", Builtin::kCoalesce},
    {"max_of", Builtin::kMaxOf},
    {"min_of", Builtin::kMinOf},
    {"item", Builtin::kItem},
    {"previous", Builtin::kPrevious},
    {"visit_date", Builtin::kVisitDate},
};

struct FieldInfo {
  const char* name;
  Field id;
};

constexpr FieldInfo kFields[] = {
    {"value", Field::kValue},     {"date", Field::kDate},     {"uln", Field::kUln},
    {"status", Field::kStatus},   {"onset", Field::kOnset},   {"abatement", Field::kAbatement},
    {"current", Field::kCurrent}, {"codes", Field::kCodes},   {"start", Field::kStart},
    {"end", Field::kEnd},         {"route", Field::kRoute},   {"member", Field::kMember},
    {"ongoing", Field::kOngoing}, {"intent", Field::kIntent}, {"authored", Field::kAuthored},
    {"reasons", Field::kReasons}, {"sex", Field::kSex},       {"birth_date", Field::kBirthDate},
};

Dimension DimOf(const char* ucum) {
  auto u = Unit::Parse(ucum);
  return u ? u->dim() : Dimension{};
}

}  // namespace

class Binder {
 public:
  Binder(Program& program, Program::Impl& impl) : program_(program), impl_(impl) {}

  Result<void> BindCatalog() {
    const Catalog& cat = program_.catalog();
    for (const Parameter& p : cat.parameters) {
      std::string origin =
          (p.origin.empty() ? std::string() : p.origin + ": ") + "parameter " + p.name;
      const std::string& text = Keep(p.text);
      auto tree = Parse(text, origin);
      if (!tree) return std::unexpected(tree.error());
      Frame frame{text, origin};
      frames_.push_back(frame);
      auto bound = Bind(**tree);
      frames_.pop_back();
      if (!bound) return std::unexpected(bound.error());
      if ((*bound)->kind != BoundKind::kConst) {
        return Fail(ErrorCode::kType,
                    origin +
                        ":1:1: a parameter must be a constant (a number, quantity, "
                        "duration, date, string, boolean or list), found '" +
                        p.text + "'");
      }
      impl_.parameters.emplace_back(p.name, *bound);
    }
    for (size_t i = 0; i < cat.definitions.size(); ++i) {
      const Definition& d = cat.definitions[i];
      if (d.params.empty()) {
        def_slots_[d.name] = -1;  // bound lazily on first use, in any order
      }
      defs_[d.name] = &d;
    }
    for (const Definition& d : cat.definitions) {
      if (d.params.empty()) {
        auto r = DefinitionSlot(d, Span{});
        if (!r) return std::unexpected(r.error());
      } else {
        auto r = ParsedBody(d);  // check syntax now even if unused
        if (!r) return std::unexpected(r.error());
      }
    }
    return {};
  }

  Result<const BoundNode*> BindRule(std::string_view text, const std::string& origin, RuleType want,
                                    TextStart start) {
    expansions_ = 0;  // the expansion limit is per rule
    const std::string& kept = Keep(std::string(text));
    auto tree = Parse(kept, origin, start);
    if (!tree) return std::unexpected(tree.error());
    frames_.push_back(Frame{kept, origin});
    auto bound = Bind(**tree);
    frames_.pop_back();
    if (!bound) return bound;
    if (want == RuleType::kBool && (*bound)->type.kind != TypeKind::kBool &&
        (*bound)->type.kind != TypeKind::kAny) {
      return Fail(ErrorCode::kType, origin + ":" + std::to_string(start.line) + ":" +
                                        std::to_string(start.column) +
                                        ": a criterion must be a condition (true, false "
                                        "or unknown), but this rule gives " +
                                        (*bound)->type.ToString());
    }
    return bound;
  }

 private:
  struct Frame {
    std::string_view text;
    std::string origin;
  };
  struct Scope {
    std::string name;
    const BoundNode* node = nullptr;  // a macro argument
    int slot = -1;                    // a local
    Type type;
    bool barrier = false;                  // names below are not visible (a definition body)
    const BoundNode* let_value = nullptr;  // a let name: its value, computed on first use
  };

  const std::string& Keep(std::string text) {
    impl_.rule_texts.push_back(std::move(text));
    return impl_.rule_texts.back();
  }

  std::unexpected<Error> Err(const Span& s, const std::string& what,
                             ErrorCode code = ErrorCode::kType) {
    const Frame& f = frames_.back();
    return Fail(code, f.origin + ":" + std::to_string(s.line) + ":" + std::to_string(s.column) +
                          ": " + what);
  }

  BoundNode* New(BoundKind kind, const Node& n, Type type) {
    impl_.arena.emplace_back();
    BoundNode* b = &impl_.arena.back();
    b->kind = kind;
    b->type = type;
    b->op = n.op;
    const Frame& f = frames_.back();
    if (n.span.end <= f.text.size() && n.span.begin <= n.span.end) {
      b->text = FoldWhitespace(f.text.substr(n.span.begin, n.span.end - n.span.begin));
    }
    return b;
  }

  Result<const std::vector<NodePtr>*> ParsedBody(const Definition& d) {
    auto it = parsed_.find(d.name);
    if (it != parsed_.end()) return &it->second;
    const std::string& text = Keep(d.text);
    auto tree = Parse(text, d.origin, TextStart{d.line, d.column, d.indent});
    if (!tree) return std::unexpected(tree.error());
    auto& slot = parsed_[d.name];
    slot.push_back(std::move(*tree));
    parsed_text_[d.name] = text;
    return &slot;
  }

  // The slot of a parameterless definition, binding it on first use.
  Result<int> DefinitionSlot(const Definition& d, const Span& at) {
    int& slot = def_slots_[d.name];
    if (slot >= 0) return slot;
    if (in_progress_.count(d.name)) {
      return Err(at, "definition '" + d.name + "' refers to itself", ErrorCode::kType);
    }
    in_progress_.insert(d.name);
    auto body = ParsedBody(d);
    if (!body) return std::unexpected(body.error());
    frames_.push_back(Frame{parsed_text_[d.name], d.origin});
    std::vector<Scope> saved;
    saved.swap(scopes_);
    auto bound = Bind(*(**body)[0]);
    scopes_.swap(saved);
    frames_.pop_back();
    in_progress_.erase(d.name);
    if (!bound) return std::unexpected(bound.error());
    int s = static_cast<int>(impl_.definition_roots.size());
    impl_.definition_roots.push_back(*bound);
    impl_.definition_names.push_back(d.name);
    def_slots_[d.name] = s;
    def_types_[d.name] = (*bound)->type;
    return s;
  }

  Result<const BoundNode*> Bind(const Node& n) {
    if (++depth_ > 400) {
      --depth_;
      return Err(n.span, "rule nested too deeply (definitions expanding into each other?)");
    }
    auto r = BindInner(n);
    --depth_;
    return r;
  }

  Result<const BoundNode*> BindInner(const Node& n) {
    switch (n.kind) {
      case NodeKind::kBool: {
        auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kBool));
        b->constant = Value::Bool(n.text == "true");
        return b;
      }
      case NodeKind::kUnknown:
        return New(BoundKind::kConst, n, Type::Of(TypeKind::kAny));
      case NodeKind::kNumber: {
        auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kNumber));
        b->constant = Value::Number(n.number);
        return b;
      }
      case NodeKind::kQuantity: {
        auto unit = Unit::Parse(n.text);
        if (!unit) return Err(n.span, unit.error().message, ErrorCode::kParse);
        auto* b = New(BoundKind::kConst, n, Type::QuantityOf(unit->dim()));
        b->constant = Value::Qty(Quantity{n.number, *unit, Comparator::kEq});
        return b;
      }
      case NodeKind::kDuration: {
        auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kDuration));
        b->constant = Value::DurationV(n.duration);
        return b;
      }
      case NodeKind::kDate: {
        auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kDate));
        b->constant = Value::DateV(n.date);
        return b;
      }
      case NodeKind::kString: {
        auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kString));
        b->text = n.text;
        b->constant = Value::String(b->text);
        return b;
      }
      case NodeKind::kName:
        return BindName(n);
      case NodeKind::kList:
        return BindList(n);
      case NodeKind::kCall:
        return BindCall(n);
      case NodeKind::kLambda:
        return Err(n.span,
                   "a function 'x -> ...' is only allowed as an argument of filter, any, all, "
                   "max_of or min_of");
      case NodeKind::kField:
        return BindField(n);
      case NodeKind::kUnary:
        return BindUnary(n);
      case NodeKind::kBinary:
        return BindBinary(n);
      case NodeKind::kIf: {
        auto c = BindBool(*n.children[0], "the 'if' condition");
        if (!c) return c;
        auto a = Bind(*n.children[1]);
        if (!a) return a;
        auto e = Bind(*n.children[2]);
        if (!e) return e;
        auto t = Unify((*a)->type, (*e)->type);
        if (!t) {
          return Err(n.span, "'then' gives " + (*a)->type.ToString() + " but 'else' gives " +
                                 (*e)->type.ToString());
        }
        auto* b = New(BoundKind::kIf, n, *t);
        b->children = {*c, *a, *e};
        return b;
      }
      case NodeKind::kCase: {
        auto* b = New(BoundKind::kCase, n, Type::Of(TypeKind::kAny));
        Type t = Type::Of(TypeKind::kAny);
        for (size_t i = 0; i + 1 < n.children.size(); i += 2) {
          auto c = BindBool(*n.children[i], "a 'when' condition");
          if (!c) return c;
          auto v = Bind(*n.children[i + 1]);
          if (!v) return v;
          auto u = Unify(t, (*v)->type);
          if (!u) return Err(n.children[i + 1]->span, "the branches of 'case' differ in type");
          t = *u;
          b->children.push_back(*c);
          b->children.push_back(*v);
        }
        auto e = Bind(*n.children.back());
        if (!e) return e;
        auto u = Unify(t, (*e)->type);
        if (!u) return Err(n.children.back()->span, "the branches of 'case' differ in type");
        b->children.push_back(*e);
        b->type = *u;
        return b;
      }
      case NodeKind::kWithin: {
        auto t = Bind(*n.children[0]);
        if (!t) return t;
        auto d = Bind(*n.children[1]);
        if (!d) return d;
        auto x = Bind(*n.children[2]);
        if (!x) return x;
        if (auto r = Want(*n.children[0], **t, TypeKind::kDate, "'within'"); !r) return r;
        if (auto r = Want(*n.children[1], **d, TypeKind::kDuration, "'within'"); !r) return r;
        if (auto r = Want(*n.children[2], **x, TypeKind::kDate, "'within'"); !r) return r;
        auto* b = New(BoundKind::kWithin, n, Type::Of(TypeKind::kBool));
        b->children = {*t, *d, *x};
        return b;
      }
      case NodeKind::kBetween: {
        auto a = Bind(*n.children[0]);
        if (!a) return a;
        auto lo = Bind(*n.children[1]);
        if (!lo) return lo;
        auto hi = Bind(*n.children[2]);
        if (!hi) return hi;
        if (auto r = Comparable(n, **a, **lo); !r) return std::unexpected(r.error());
        if (auto r = Comparable(n, **a, **hi); !r) return std::unexpected(r.error());
        auto* b = New(BoundKind::kBetween, n, Type::Of(TypeKind::kBool));
        b->children = {*a, *lo, *hi};
        return b;
      }
      case NodeKind::kIsUnknown: {
        auto a = Bind(*n.children[0]);
        if (!a) return a;
        auto* b = New(BoundKind::kIsUnknown, n, Type::Of(TypeKind::kBool));
        b->children = {*a};
        return b;
      }
      case NodeKind::kLet: {
        auto v = Bind(*n.children[0]);
        if (!v) return v;
        int slot = impl_.local_slots++;
        scopes_.push_back(Scope{n.text, nullptr, slot, (*v)->type, false, *v});
        auto body = Bind(*n.children[1]);
        scopes_.pop_back();
        if (!body) return body;
        auto* b = New(BoundKind::kLet, n, (*body)->type);
        b->slot = slot;
        b->text = n.text;
        b->children = {*v, *body};
        return b;
      }
    }
    return Err(n.span, "unsupported expression");
  }

  Result<const BoundNode*> BindBool(const Node& n, const char* what) {
    auto b = Bind(n);
    if (!b) return b;
    if ((*b)->type.kind != TypeKind::kBool && (*b)->type.kind != TypeKind::kAny) {
      return Err(n.span,
                 std::string(what) + " must be a condition, found " + (*b)->type.ToString());
    }
    return b;
  }

  Result<const BoundNode*> Want(const Node& n, const BoundNode& b, TypeKind k, const char* where) {
    if (b.type.kind == k || b.type.kind == TypeKind::kAny) return &b;
    return Err(n.span, std::string(where) + " needs " + Type::Of(k).ToString() + ", found " +
                           b.type.ToString());
  }

  static std::optional<Type> Unify(const Type& a, const Type& b) {
    if (a.kind == TypeKind::kAny) return b;
    if (b.kind == TypeKind::kAny) return a;
    if (a.kind != b.kind) {
      if ((a.kind == TypeKind::kNumber && b.kind == TypeKind::kQuantity) ||
          (a.kind == TypeKind::kQuantity && b.kind == TypeKind::kNumber)) {
        return a.kind == TypeKind::kQuantity ? a : b;
      }
      return std::nullopt;
    }
    if (a.kind == TypeKind::kQuantity && a.dim_known && b.dim_known && !(a.dim == b.dim)) {
      return std::nullopt;
    }
    if (a.kind == TypeKind::kQuantity && !b.dim_known) return b;
    return a;
  }

  Result<void> Comparable(const Node& n, const BoundNode& a, const BoundNode& b) {
    const Type& x = a.type;
    const Type& y = b.type;
    if (x.kind == TypeKind::kAny || y.kind == TypeKind::kAny) return {};
    auto numeric = [](const Type& t) {
      return t.kind == TypeKind::kNumber || t.kind == TypeKind::kQuantity;
    };
    if (numeric(x) && numeric(y)) {
      if (x.kind == TypeKind::kQuantity && y.kind == TypeKind::kQuantity) {
        if (x.dim_known && y.dim_known && !(x.dim == y.dim)) {
          return Err(n.span, "cannot compare " + Units(a) + " with " + Units(b) +
                                 ": the units measure different things (" + x.dim.ToString() +
                                 " vs " + y.dim.ToString() + ")");
        }
        return {};
      }
      const Type& q = x.kind == TypeKind::kQuantity ? x : y;
      if (q.kind == TypeKind::kQuantity && q.dim_known && !q.dim.IsDimensionless()) {
        return Err(n.span, "cannot compare a number with a quantity in " +
                               Units(x.kind == TypeKind::kQuantity ? a : b) +
                               ": write the unit, e.g. 45 'kg'");
      }
      return {};
    }
    if (x.kind == y.kind && (x.kind == TypeKind::kDate || x.kind == TypeKind::kString ||
                             x.kind == TypeKind::kBool || x.kind == TypeKind::kDuration)) {
      return {};
    }
    return Err(n.span, "cannot compare " + x.ToString() + " with " + y.ToString());
  }

  static std::string Units(const BoundNode& b) {
    if (b.kind == BoundKind::kConst && b.constant.kind == Value::Kind::kQuantity) {
      return "'" + b.constant.quantity.unit.code() + "'";
    }
    if (b.type.kind == TypeKind::kQuantity && b.type.dim_known) {
      return "'" + b.text + "' (" + b.type.dim.ToString() + ")";
    }
    return "'" + b.text + "'";
  }

  Result<const BoundNode*> BindName(const Node& n) {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      if (it->barrier) break;
      if (it->name != n.text) continue;
      if (it->node) return it->node;
      auto* b = New(BoundKind::kLocal, n, it->type);
      b->slot = it->slot;
      if (it->let_value) b->children = {it->let_value};
      return b;
    }
    if (n.text == "S") return New(BoundKind::kScreening, n, Type::Of(TypeKind::kDate));
    if (n.text == "R") return New(BoundKind::kRandom, n, Type::Of(TypeKind::kDate));
    if (n.text == "patient") {
      return New(BoundKind::kPatient, n, Type::FactOf(FactKind::kPatient, nullptr));
    }
    for (auto& [name, node] : impl_.parameters) {
      if (name == n.text) {
        auto* b = New(BoundKind::kConst, n, node->type);
        b->constant = node->constant;
        b->text = n.text;
        return b;
      }
    }
    if (auto it = defs_.find(n.text); it != defs_.end()) {
      if (!it->second->params.empty()) {
        return Err(n.span, "'" + n.text + "' needs " + std::to_string(it->second->params.size()) +
                               " argument(s): write " + n.text + "(...)");
      }
      auto slot = DefinitionSlot(*it->second, n.span);
      if (!slot) return std::unexpected(slot.error());
      auto* b = New(BoundKind::kDefRef, n, impl_.definition_roots[*slot]->type);
      b->slot = *slot;
      return b;
    }
    if (const Element* e = program_.catalog().FindElement(n.text)) {
      auto* b = New(BoundKind::kConst, n, Type::Of(TypeKind::kValueSet));
      b->element = e;
      return b;
    }
    for (const auto& f : kBuiltins) {
      if (n.text == f.name)
        return Err(n.span, "'" + n.text + "' is a function: call it with (...)");
    }
    return Err(n.span, "unknown name '" + n.text + "'", ErrorCode::kNotFound);
  }

  Result<const BoundNode*> BindList(const Node& n) {
    auto* b = New(BoundKind::kList, n, Type::Of(TypeKind::kList));
    bool all_const = true;
    TypeKind elem = TypeKind::kAny;
    auto list = std::make_shared<List>();
    for (const auto& c : n.children) {
      auto item = Bind(*c);
      if (!item) return item;
      TypeKind k = (*item)->type.kind;
      if (k == TypeKind::kList || k == TypeKind::kValueSet || k == TypeKind::kFact) {
        return Err(c->span,
                   "a list literal holds numbers, quantities, dates, strings or "
                   "booleans, found " +
                       (*item)->type.ToString());
      }
      if (elem != TypeKind::kAny && k != elem && k != TypeKind::kAny) {
        return Err(c->span, "list items differ in type");
      }
      if (k != TypeKind::kAny) elem = k;
      if ((*item)->kind != BoundKind::kConst) all_const = false;
      list->items.push_back((*item)->constant);
      b->children.push_back(*item);
    }
    b->type.elem_kind = elem;
    if (all_const) {
      b->kind = BoundKind::kConst;
      b->constant = Value::ListV(std::move(list));
    }
    return b;
  }

  Result<const BoundNode*> BindField(const Node& n) {
    auto target = Bind(*n.children[0]);
    if (!target) return target;
    const Type& t = (*target)->type;
    std::optional<Field> field;
    for (const auto& f : kFields) {
      if (n.text == f.name) field = f.id;
    }
    auto bad = [&]() { return Err(n.span, "'" + n.text + "' is not a field of " + t.ToString()); };
    if (!field || t.kind != TypeKind::kFact) {
      if (t.kind != TypeKind::kFact) {
        return Err(n.span,
                   "'." + n.text + "' needs a fact (e.g. latest(...)), found " + t.ToString());
      }
      return bad();
    }
    Type out;
    switch (t.fact) {
      case FactKind::kObservation:
        switch (*field) {
          case Field::kValue:
          case Field::kUln: {
            const Element* e = t.element;
            if (*field == Field::kUln && e->value != ValueKind::kQuantity) return bad();
            switch (e->value) {
              case ValueKind::kQuantity:
                out = e->unit ? Type::QuantityOf(e->unit->dim()) : Type::Of(TypeKind::kQuantity);
                break;
              case ValueKind::kBoolean:
                out = Type::Of(TypeKind::kBool);
                break;
              case ValueKind::kDate:
                out = Type::Of(TypeKind::kDate);
                break;
              case ValueKind::kQualitative:
                out = Type::Of(TypeKind::kCodes);
                break;
              case ValueKind::kNone:
                return bad();
            }
            break;
          }
          case Field::kDate:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kStatus:
            out = Type::Of(TypeKind::kString);
            break;
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kCondition:
        switch (*field) {
          case Field::kOnset:
          case Field::kAbatement:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kCurrent:
            out = Type::Of(TypeKind::kBool);
            break;
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          case Field::kMember:
            out = Type::Of(TypeKind::kString);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kAllergy:
        switch (*field) {
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          case Field::kMember:
            out = Type::Of(TypeKind::kString);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kExposure:
        switch (*field) {
          case Field::kStart:
          case Field::kEnd:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kRoute:
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          case Field::kMember:
          case Field::kStatus:
            out = Type::Of(TypeKind::kString);
            break;
          case Field::kOngoing:
            out = Type::Of(TypeKind::kBool);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kRequest:
        switch (*field) {
          case Field::kStatus:
          case Field::kIntent:
          case Field::kMember:
            out = Type::Of(TypeKind::kString);
            break;
          case Field::kAuthored:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kRoute:
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kStay:
        switch (*field) {
          case Field::kStart:
          case Field::kEnd:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kReasons:
            out = Type::Of(TypeKind::kCodes);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kConsent:
        switch (*field) {
          case Field::kStatus:
            out = Type::Of(TypeKind::kString);
            break;
          case Field::kDate:
            out = Type::Of(TypeKind::kDate);
            break;
          case Field::kCodes:
            out = Type::Of(TypeKind::kCodes);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kPatient:
        switch (*field) {
          case Field::kSex:
            out = Type::Of(TypeKind::kString);
            break;
          case Field::kBirthDate:
            out = Type::Of(TypeKind::kDate);
            break;
          default:
            return bad();
        }
        break;
      case FactKind::kNone:
        return bad();
    }
    auto* b = New(BoundKind::kField, n, out);
    b->field = *field;
    b->children = {*target};
    return b;
  }

  Result<const BoundNode*> BindUnary(const Node& n) {
    auto a = Bind(*n.children[0]);
    if (!a) return a;
    if (n.op == Op::kNot) {
      if ((*a)->type.kind != TypeKind::kBool && (*a)->type.kind != TypeKind::kAny) {
        return Err(n.span, "'not' needs a condition, found " + (*a)->type.ToString());
      }
      auto* b = New(BoundKind::kUnary, n, Type::Of(TypeKind::kBool));
      b->children = {*a};
      return b;
    }
    TypeKind k = (*a)->type.kind;
    if (k != TypeKind::kNumber && k != TypeKind::kQuantity && k != TypeKind::kAny) {
      return Err(n.span, "'-' needs a number or quantity, found " + (*a)->type.ToString());
    }
    auto* b = New(BoundKind::kUnary, n, (*a)->type);
    b->children = {*a};
    return b;
  }

  Result<const BoundNode*> BindBinary(const Node& n) {
    auto a = Bind(*n.children[0]);
    if (!a) return a;
    auto c = Bind(*n.children[1]);
    if (!c) return c;
    const Type& x = (*a)->type;
    const Type& y = (*c)->type;
    auto make = [&](Type t) {
      auto* b = New(BoundKind::kBinary, n, t);
      b->children = {*a, *c};
      return b;
    };
    switch (n.op) {
      case Op::kAnd:
      case Op::kOr:
      case Op::kImplies: {
        for (size_t i = 0; i < 2; ++i) {
          const Type& t = i == 0 ? x : y;
          if (t.kind != TypeKind::kBool && t.kind != TypeKind::kAny) {
            return Err(n.children[i]->span, std::string("'") + OpText(n.op) +
                                                "' needs conditions on both sides, found " +
                                                t.ToString());
          }
        }
        return make(Type::Of(TypeKind::kBool));
      }
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        if (auto r = Comparable(n, **a, **c); !r) return std::unexpected(r.error());
        if ((n.op != Op::kEq && n.op != Op::kNe) &&
            (x.kind == TypeKind::kString || x.kind == TypeKind::kBool)) {
          return Err(n.span, std::string("'") + OpText(n.op) + "' cannot order " + x.ToString());
        }
        return make(Type::Of(TypeKind::kBool));
      }
      case Op::kIn: {
        if (y.kind == TypeKind::kValueSet) {
          if (x.kind != TypeKind::kCodes && x.kind != TypeKind::kFact && x.kind != TypeKind::kAny) {
            return Err(n.span, "'in " + (*c)->text +
                                   "' needs codes on the left (e.g. x.route), "
                                   "found " +
                                   x.ToString());
          }
          auto* b = make(Type::Of(TypeKind::kBool));
          b->element = (*c)->element;
          return b;
        }
        if (y.kind == TypeKind::kList && y.fact == FactKind::kNone) {
          if (y.elem_kind != TypeKind::kAny && x.kind != TypeKind::kAny && x.kind != y.elem_kind) {
            return Err(n.span, "cannot look for " + x.ToString() + " in " + y.ToString());
          }
          return make(Type::Of(TypeKind::kBool));
        }
        return Err(n.children[1]->span,
                   "'in' needs a value set or a list on the right, found " + y.ToString());
      }
      case Op::kAdd:
      case Op::kSub: {
        if (x.kind == TypeKind::kDate && y.kind == TypeKind::kDuration) {
          return make(Type::Of(TypeKind::kDate));
        }
        if (n.op == Op::kSub && x.kind == TypeKind::kDate && y.kind == TypeKind::kDate) {
          return make(Type::Of(TypeKind::kNumber));  // days between
        }
        if (x.kind == TypeKind::kAny || y.kind == TypeKind::kAny) {
          return make(x.kind == TypeKind::kAny ? y : x);
        }
        if (x.kind == TypeKind::kNumber && y.kind == TypeKind::kNumber) {
          return make(Type::Of(TypeKind::kNumber));
        }
        if (x.kind == TypeKind::kQuantity && y.kind == TypeKind::kQuantity) {
          if (x.dim_known && y.dim_known && !(x.dim == y.dim)) {
            return Err(n.span, std::string("cannot ") + (n.op == Op::kAdd ? "add " : "subtract ") +
                                   Units(**a) + " and " + Units(**c) +
                                   ": the units measure different things");
          }
          return make(x.dim_known ? x : y);
        }
        return Err(n.span, std::string("cannot ") + (n.op == Op::kAdd ? "add " : "subtract ") +
                               y.ToString() + (n.op == Op::kAdd ? " to " : " from ") +
                               x.ToString());
      }
      case Op::kMul:
      case Op::kDiv: {
        auto numeric = [](const Type& t) {
          return t.kind == TypeKind::kNumber || t.kind == TypeKind::kQuantity ||
                 t.kind == TypeKind::kAny;
        };
        if (!numeric(x) || !numeric(y)) {
          return Err(n.span, std::string("'") + OpText(n.op) +
                                 "' needs numbers or quantities, "
                                 "found " +
                                 x.ToString() + " and " + y.ToString());
        }
        if (x.kind != TypeKind::kQuantity && y.kind != TypeKind::kQuantity) {
          return make(Type::Of(TypeKind::kNumber));
        }
        Type t = Type::Of(TypeKind::kQuantity);
        bool xq = x.kind == TypeKind::kQuantity, yq = y.kind == TypeKind::kQuantity;
        bool known = (!xq || x.dim_known) && (!yq || y.dim_known) && x.kind != TypeKind::kAny &&
                     y.kind != TypeKind::kAny;
        if (known) {
          t.dim_known = true;
          for (size_t i = 0; i < t.dim.exp.size(); ++i) {
            int a_exp = xq ? x.dim.exp[i] : 0;
            int b_exp = yq ? y.dim.exp[i] : 0;
            t.dim.exp[i] = static_cast<int8_t>(n.op == Op::kMul ? a_exp + b_exp : a_exp - b_exp);
          }
        }
        return make(t);
      }
      default:
        break;
    }
    return Err(n.span, "unsupported operator");
  }

  Result<const BoundNode*> BindCall(const Node& n) {
    // A definition with parameters: expand its body with the arguments.
    if (auto it = defs_.find(n.text); it != defs_.end()) return ExpandDefinition(n, *it->second);
    std::optional<Builtin> id;
    for (const auto& f : kBuiltins) {
      if (n.text == f.name) id = f.id;
    }
    if (!id) return Err(n.span, "unknown function '" + n.text + "'", ErrorCode::kNotFound);
    const auto& args = n.children;
    auto arity = [&](size_t lo, size_t hi) -> Result<void> {
      if (args.size() < lo || args.size() > hi) {
        std::string want =
            lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi);
        return Err(n.span, n.text + "() takes " + want + " argument(s), found " +
                               std::to_string(args.size()));
      }
      return {};
    };
    std::vector<const BoundNode*> bound;
    // Lambdas are bound after the list they range over, so that their parameter has a type.
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i]->kind == NodeKind::kLambda) {
        bound.push_back(nullptr);
        continue;
      }
      auto b = Bind(*args[i]);
      if (!b) return b;
      bound.push_back(*b);
    }
    auto type_of = [&](size_t i) { return bound[i]->type; };
    auto want = [&](size_t i, TypeKind k) -> Result<void> {
      if (!bound[i]) return Err(args[i]->span, n.text + "() does not take a function here");
      if (bound[i]->type.kind == k || bound[i]->type.kind == TypeKind::kAny) return {};
      return Err(args[i]->span, n.text + "() needs " + Type::Of(k).ToString() + " as argument " +
                                    std::to_string(i + 1) + ", found " + bound[i]->type.ToString());
    };
    auto want_facts = [&](size_t i, std::initializer_list<FactKind> kinds,
                          bool list) -> Result<void> {
      if (auto r = want(i, list ? TypeKind::kList : TypeKind::kFact); !r) return r;
      if (bound[i]->type.kind == TypeKind::kAny) return {};
      for (FactKind k : kinds) {
        if (bound[i]->type.fact == k) return {};
      }
      return Err(args[i]->span, n.text + "() cannot use " + bound[i]->type.ToString());
    };
    auto want_element = [&](size_t i) -> Result<const Element*> {
      if (!bound[i] || bound[i]->type.kind != TypeKind::kValueSet) {
        return Err(args[i]->span, n.text + "() needs the name of a data element, found " +
                                      (bound[i] ? bound[i]->type.ToString() : "a function"));
      }
      return bound[i]->element;
    };
    auto* b = New(BoundKind::kCall, n, Type::Of(TypeKind::kAny));
    b->builtin = *id;
    auto query = [&](FactKind kind, bool element_optional) -> Result<const BoundNode*> {
      if (auto r = arity(element_optional ? 0 : 1, 1); !r) return std::unexpected(r.error());
      const Element* e = nullptr;
      if (!args.empty()) {
        auto el = want_element(0);
        if (!el) return std::unexpected(el.error());
        e = *el;
      }
      if (kind == FactKind::kObservation && e->value == ValueKind::kNone) {
        return Err(args[0]->span, "data element '" + e->name +
                                      "' has no value type, so it "
                                      "cannot be read as observations");
      }
      b->element = e;
      b->type = Type::ListOf(kind, e);
      return b;
    };
    auto lambda = [&](size_t list_i, size_t fn_i, bool want_bool) -> Result<void> {
      if (args[fn_i]->kind != NodeKind::kLambda) {
        return Err(args[fn_i]->span, n.text + "() needs a function 'x -> ...' as argument " +
                                         std::to_string(fn_i + 1));
      }
      const Node& lam = *args[fn_i];
      int slot = impl_.local_slots++;
      scopes_.push_back(Scope{lam.text, nullptr, slot,
                              Type::FactOf(type_of(list_i).fact, type_of(list_i).element), false});
      auto body = Bind(*lam.children[0]);
      scopes_.pop_back();
      if (!body) return std::unexpected(body.error());
      if (want_bool && (*body)->type.kind != TypeKind::kBool &&
          (*body)->type.kind != TypeKind::kAny) {
        return Err(lam.children[0]->span,
                   n.text + "() needs a condition after '->', found " + (*body)->type.ToString());
      }
      auto* l = New(BoundKind::kLambda, lam, (*body)->type);
      l->slot = slot;
      l->children = {*body};
      bound[fn_i] = l;
      return {};
    };
    Result<void> ok;
    switch (*id) {
      case Builtin::kObservations:
        return query(FactKind::kObservation, false);
      case Builtin::kConditions:
        return query(FactKind::kCondition, false);
      case Builtin::kAllergies:
        return query(FactKind::kAllergy, false);
      case Builtin::kExposures:
        return query(FactKind::kExposure, false);
      case Builtin::kRequests:
        return query(FactKind::kRequest, false);
      case Builtin::kStays:
        return query(FactKind::kStay, true);
      case Builtin::kConsents:
        return query(FactKind::kConsent, true);
      case Builtin::kExists:
      case Builtin::kCount:
      case Builtin::kDistinctCount:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want(0, TypeKind::kList))) break;
        b->type = Type::Of(*id == Builtin::kExists ? TypeKind::kBool : TypeKind::kNumber);
        break;
      case Builtin::kLatest:
      case Builtin::kEarliest:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want(0, TypeKind::kList))) break;
        if (type_of(0).fact == FactKind::kNone) {
          ok = Err(args[0]->span, n.text + "() needs a list of facts");
          break;
        }
        b->type = Type::FactOf(type_of(0).fact, type_of(0).element);
        break;
      case Builtin::kFilter:
      case Builtin::kAny:
      case Builtin::kAll:
        if (!(ok = arity(2, 2))) break;
        if (!(ok = want(0, TypeKind::kList))) break;
        if (type_of(0).fact == FactKind::kNone) {
          ok = Err(args[0]->span, n.text + "() needs a list of facts");
          break;
        }
        if (!(ok = lambda(0, 1, true))) break;
        b->type = *id == Builtin::kFilter ? type_of(0) : Type::Of(TypeKind::kBool);
        break;
      case Builtin::kDuring:
        if (!(ok = arity(3, 3))) break;
        if (!(ok = want_facts(0,
                              {FactKind::kObservation, FactKind::kExposure, FactKind::kStay,
                               FactKind::kCondition, FactKind::kConsent},
                              true))) {
          break;
        }
        if (!(ok = want(1, TypeKind::kDate)) || !(ok = want(2, TypeKind::kDate))) break;
        b->type = type_of(0);
        break;
      case Builtin::kIsPositive:
      case Builtin::kIsNegative:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want_facts(0, {FactKind::kObservation}, false))) break;
        if (type_of(0).element && type_of(0).element->value != ValueKind::kQualitative) {
          ok = Err(args[0]->span, n.text + "() needs a qualitative result, but '" +
                                      type_of(0).element->name + "' is not qualitative");
          break;
        }
        b->type = Type::Of(TypeKind::kBool);
        break;
      case Builtin::kTimesUln:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want_facts(0, {FactKind::kObservation}, false))) break;
        if (type_of(0).element && type_of(0).element->value != ValueKind::kQuantity) {
          ok = Err(args[0]->span, "times_uln() needs a quantitative result");
          break;
        }
        b->type = Type::Of(TypeKind::kNumber);
        break;
      case Builtin::kIsCurrent:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want_facts(0, {FactKind::kCondition}, false))) break;
        b->type = Type::Of(TypeKind::kBool);
        break;
      case Builtin::kOverlaps:
        if (!(ok = arity(3, 3))) break;
        if (!(ok = want_facts(0, {FactKind::kExposure, FactKind::kStay}, false))) break;
        if (!(ok = want(1, TypeKind::kDate)) || !(ok = want(2, TypeKind::kDate))) break;
        b->type = Type::Of(TypeKind::kBool);
        break;
      case Builtin::kDailyDose:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want_facts(0, {FactKind::kExposure, FactKind::kRequest}, false))) break;
        b->type = Type::Of(TypeKind::kQuantity);  // unit known only at run time
        break;
      case Builtin::kWashoutEnd:
        if (!(ok = arity(2, 2))) break;
        if (!(ok = want_facts(0, {FactKind::kExposure}, false))) break;
        if (!(ok = want(1, TypeKind::kNumber))) break;
        b->type = Type::Of(TypeKind::kDate);
        break;
      case Builtin::kCoversEveryDay:
      case Builtin::kStableDailyDose:
      case Builtin::kMaxDailyDose:
        if (!(ok = arity(3, 3))) break;
        if (!(ok = want_facts(0, {FactKind::kExposure}, true))) break;
        if (!(ok = want(1, TypeKind::kDate)) || !(ok = want(2, TypeKind::kDate))) break;
        b->type = *id == Builtin::kMaxDailyDose ? Type::QuantityOf(DimOf("mg/d"))
                                                : Type::Of(TypeKind::kBool);
        break;
      case Builtin::kAgeOn:
        if (!(ok = arity(1, 1))) break;
        if (!(ok = want(0, TypeKind::kDate))) break;
        b->type = Type::Of(TypeKind::kNumber);
        break;
      case Builtin::kCockcroftGault: {
        if (!(ok = arity(4, 4))) break;
        if (!(ok = want(0, TypeKind::kNumber))) break;
        if (!(ok = want(1, TypeKind::kQuantity)) || !(ok = want(2, TypeKind::kQuantity))) break;
        if (!(ok = want(3, TypeKind::kBool))) break;
        const Type& w = type_of(1);
        const Type& c = type_of(2);
        if (w.dim_known && !(w.dim == DimOf("kg"))) {
          ok = Err(args[1]->span, "cockcroft_gault() needs a body weight (a mass) as argument 2");
          break;
        }
        if (c.dim_known && !(c.dim == DimOf("mg/dL"))) {
          ok = Err(args[2]->span,
                   "cockcroft_gault() needs a serum creatinine as a mass "
                   "concentration (e.g. mg/dL) as argument 3");
          break;
        }
        b->type = Type::QuantityOf(DimOf("mL/min"));
        break;
      }
      case Builtin::kMaxOf:
      case Builtin::kMinOf: {
        if (!(ok = arity(2, 2))) break;
        if (!(ok = want(0, TypeKind::kList))) break;
        if (type_of(0).fact == FactKind::kNone) {
          ok = Err(args[0]->span, n.text + "() needs a list of facts");
          break;
        }
        if (!(ok = lambda(0, 1, false))) break;
        TypeKind k = bound[1]->type.kind;
        if (k != TypeKind::kDate && k != TypeKind::kNumber && k != TypeKind::kQuantity) {
          ok =
              Err(args[1]->span, n.text + "() needs a date, number or quantity after '->', found " +
                                     bound[1]->type.ToString());
          break;
        }
        b->type = bound[1]->type;
        break;
      }
      case Builtin::kItem:
      case Builtin::kPrevious: {
        if (!(ok = arity(1, 1))) break;
        if (!bound[0] || bound[0]->kind != BoundKind::kConst ||
            bound[0]->constant.kind != Value::Kind::kString) {
          ok = Err(args[0]->span,
                   n.text + "() needs the name of an eCRF item in double quotes, \"form.item\"");
          break;
        }
        const std::string name(bound[0]->constant.str);
        const ItemDecl* item = program_.catalog().FindItem(name);
        if (!item) {
          ok = Err(args[0]->span, "unknown eCRF item '" + name + "' (forms.yaml)",
                   ErrorCode::kNotFound);
          break;
        }
        b->item = item;
        switch (item->value) {
          case ItemValue::kNumber:
            b->type = Type::Of(TypeKind::kNumber);
            break;
          case ItemValue::kQuantity:
            b->type =
                item->unit ? Type::QuantityOf(item->unit->dim()) : Type::Of(TypeKind::kQuantity);
            break;
          case ItemValue::kString:
            b->type = Type::Of(TypeKind::kString);
            break;
          case ItemValue::kDate:
            b->type = Type::Of(TypeKind::kDate);
            break;
          case ItemValue::kBool:
            b->type = Type::Of(TypeKind::kBool);
            break;
        }
        break;
      }
      case Builtin::kVisitDate:
        if (!(ok = arity(0, 0))) break;
        b->type = Type::Of(TypeKind::kDate);
        break;
      case Builtin::kCoalesce: {
        if (!(ok = arity(1, 16))) break;
        Type t = Type::Of(TypeKind::kAny);
        for (size_t i = 0; i < bound.size() && ok; ++i) {
          if (!bound[i]) {
            ok = Err(args[i]->span, "coalesce() does not take a function");
            break;
          }
          auto u = Unify(t, bound[i]->type);
          if (!u) {
            ok = Err(args[i]->span, "coalesce() arguments differ in type");
            break;
          }
          t = *u;
        }
        b->type = t;
        break;
      }
    }
    if (!ok) return std::unexpected(ok.error());
    b->children = bound;
    return b;
  }

  Result<const BoundNode*> ExpandDefinition(const Node& n, const Definition& d) {
    if (n.children.size() != d.params.size()) {
      return Err(n.span, "'" + d.name + "' takes " + std::to_string(d.params.size()) +
                             " argument(s), found " + std::to_string(n.children.size()));
    }
    if (d.params.empty())
      return Err(n.span, "'" + d.name + "' takes no arguments: write " + d.name);
    std::vector<const BoundNode*> args;
    for (const auto& a : n.children) {
      if (a->kind == NodeKind::kLambda) {
        return Err(a->span, "a definition's argument cannot be a function");
      }
      auto b = Bind(*a);
      if (!b) return b;
      args.push_back(*b);
    }
    auto body = ParsedBody(d);
    if (!body) return std::unexpected(body.error());
    if (++expansions_ > 100000) return Err(n.span, "too many definition expansions");
    frames_.push_back(Frame{parsed_text_[d.name], d.origin});
    scopes_.push_back(Scope{"", nullptr, -1, Type{}, true});
    size_t barrier = scopes_.size();
    for (size_t i = 0; i < args.size(); ++i) {
      scopes_.push_back(Scope{d.params[i], args[i], -1, args[i]->type, false});
    }
    // Names inside the body see only its parameters and globals: hide the caller's locals.
    std::vector<Scope> saved(scopes_.begin(), scopes_.begin() + static_cast<long>(barrier));
    std::vector<Scope> inner(scopes_.begin() + static_cast<long>(barrier), scopes_.end());
    scopes_ = inner;
    auto bound = Bind(*(**body)[0]);
    scopes_ = saved;
    scopes_.pop_back();  // the barrier
    frames_.pop_back();
    if (!bound) return bound;
    // Traces show the call as written and its value, not the body with its parameter names.
    auto* shown = New(BoundKind::kExpansion, n, (*bound)->type);
    shown->children = {*bound};
    return shown;
  }

  Program& program_;
  Program::Impl& impl_;
  std::vector<Frame> frames_;
  std::vector<Scope> scopes_;
  std::map<std::string, const Definition*> defs_;
  std::map<std::string, int> def_slots_;
  std::map<std::string, Type> def_types_;
  std::map<std::string, std::vector<NodePtr>> parsed_;
  std::map<std::string, std::string_view> parsed_text_;
  std::set<std::string> in_progress_;
  int depth_ = 0;
  int expansions_ = 0;
};

Program::Impl::~Impl() = default;
Program::Program(const Catalog& catalog) : catalog_(catalog), impl_(std::make_unique<Impl>()) {}
Program::~Program() = default;

Result<std::unique_ptr<Program>> Program::Create(const Catalog& catalog) {
  std::unique_ptr<Program> p(new Program(catalog));
  p->impl_->binder = std::make_unique<Binder>(*p, *p->impl_);
  if (auto r = p->impl_->binder->BindCatalog(); !r) return std::unexpected(r.error());
  return p;
}

Result<int> Program::AddRule(std::string_view text, const std::string& origin, RuleType type,
                             TextStart start) {
  size_t before = impl_->arena.size();
  auto bound = impl_->binder->BindRule(text, origin, type, start);
  if (!bound) {
    impl_->arena.resize(before);  // nothing of a failed rule stays behind
    return std::unexpected(bound.error());
  }
  impl_->rules.push_back(*bound);
  return static_cast<int>(impl_->rules.size() - 1);
}

std::optional<Value> Program::ParameterValue(const std::string& name) const {
  for (const auto& [n, node] : impl_->parameters) {
    if (n == name) return node->constant;
  }
  return std::nullopt;
}

}  // namespace trial::rules
