// Internal: the typed tree the binder produces and the evaluator runs.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/quantity.h"
#include "rules/ast.h"
#include "rules/catalog.h"
#include "rules/program.h"
#include "rules/value.h"

namespace trial::rules {

enum class TypeKind : uint8_t {
  kAny,  // the literal `unknown`: fits everywhere
  kBool,
  kNumber,
  kQuantity,
  kDate,
  kDuration,
  kString,
  kCodes,
  kFact,
  kList,
  kValueSet,
};

struct Type {
  TypeKind kind = TypeKind::kAny;
  // kQuantity: the dimension, when known at compile time (a daily dose's is not).
  bool dim_known = false;
  Dimension dim;
  // kFact and kList of facts: which fact and element; kList of scalars: elem_kind.
  FactKind fact = FactKind::kNone;
  const Element* element = nullptr;
  TypeKind elem_kind = TypeKind::kAny;

  static Type Of(TypeKind k) {
    Type t;
    t.kind = k;
    return t;
  }
  static Type QuantityOf(const Dimension& d) {
    Type t;
    t.kind = TypeKind::kQuantity;
    t.dim_known = true;
    t.dim = d;
    return t;
  }
  static Type FactOf(FactKind f, const Element* e) {
    Type t;
    t.kind = TypeKind::kFact;
    t.fact = f;
    t.element = e;
    return t;
  }
  static Type ListOf(FactKind f, const Element* e) {
    Type t;
    t.kind = TypeKind::kList;
    t.fact = f;
    t.element = e;
    return t;
  }
  std::string ToString() const;
};

enum class Builtin : uint8_t {
  kObservations,
  kConditions,
  kAllergies,
  kExposures,
  kRequests,
  kStays,
  kConsents,
  kExists,
  kCount,
  kLatest,
  kEarliest,
  kFilter,
  kAny,
  kAll,
  kDuring,
  kDistinctCount,
  kIsPositive,
  kIsNegative,
  kTimesUln,
  kIsCurrent,
  kOverlaps,
  kDailyDose,
  kWashoutEnd,
  kCoversEveryDay,
  kMaxDailyDose,
  kStableDailyDose,
  kAgeOn,
  kCockcroftGault,
  kCoalesce,
  kMaxOf,
  kMinOf,
  kItem,       // item("form.item"): the value at the current visit
  kPrevious,   // previous("form.item"): the value at the latest earlier visit that has one
  kVisitDate,  // visit_date()
};

enum class Field : uint8_t {
  kValue,
  kDate,
  kUln,
  kStatus,
  kOnset,
  kAbatement,
  kCurrent,
  kCodes,
  kStart,
  kEnd,
  kRoute,
  kMember,
  kOngoing,
  kIntent,
  kAuthored,
  kReasons,
  kSex,
  kBirthDate,
};

enum class BoundKind : uint8_t {
  kConst,      // constant (literals, parameters)
  kScreening,  // S
  kRandom,     // R
  kPatient,    // patient
  kDefRef,     // a parameterless definition (slot = definition slot), computed once per session
  kLocal,      // a lambda parameter or let name (slot = local slot)
  kLet,        // children: value, body (slot = local slot)
  kCall,
  kField,
  kUnary,
  kBinary,
  kIf,
  kCase,
  kWithin,
  kBetween,
  kIsUnknown,
  kList,
  kLambda,     // slot = the parameter's local slot; children[0] = body
  kExpansion,  // a call of a definition with parameters; children[0] = its expanded body
};

struct BoundNode {
  BoundKind kind = BoundKind::kConst;
  Op op = Op::kNone;
  Type type;
  Value constant;
  int slot = -1;
  Builtin builtin = Builtin::kExists;
  Field field = Field::kValue;
  const Element* element = nullptr;  // query calls and `in VALUESET`
  const ItemDecl* item = nullptr;    // item() and previous()
  std::string text;                  // the source text, for traces
  std::vector<const BoundNode*> children;
};

// Everything the binder made; nodes are owned by the arena and never move.
struct Program::Impl {
  std::deque<BoundNode> arena;
  std::deque<std::string> rule_texts;  // owns text that string_views point into (never moves)
  std::vector<const BoundNode*> definition_roots;  // by definition slot
  std::vector<std::string> definition_names;
  std::vector<const BoundNode*> rules;
  std::vector<std::pair<std::string, const BoundNode*>> parameters;
  int local_slots = 0;
  std::unique_ptr<Binder> binder;  // kept across AddRule calls: definitions are bound once
  ~Impl();
};

}  // namespace trial::rules
