// Run-time values of the rules language. Every value may be `unknown` (missing data).
// Thread-safety: plain values; a List is immutable once made and may be shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/quantity.h"
#include "record/record.h"
#include "rules/catalog.h"

namespace trial::rules {

enum class FactKind : uint8_t {
  kNone,
  kObservation,
  kCondition,
  kAllergy,
  kExposure,
  kRequest,
  kStay,
  kConsent,
  kPatient,
};

const char* FactKindName(FactKind k);

// A fact of the patient record as a rule sees it: which record entry, which element and member
// of a value set it matched, and whether its membership is certain (an unconfirmed diagnosis, an
// exposure of unknown status or a drug whose route is unknown are uncertain members).
struct FactRef {
  FactKind kind = FactKind::kNone;
  const void* ptr = nullptr;
  const Element* element = nullptr;
  const Member* member = nullptr;
  bool certain = true;

  const record::Observation& obs() const { return *static_cast<const record::Observation*>(ptr); }
  const record::Condition& cond() const { return *static_cast<const record::Condition*>(ptr); }
  const record::Allergy& allergy() const { return *static_cast<const record::Allergy*>(ptr); }
  const record::Exposure& exposure() const { return *static_cast<const record::Exposure*>(ptr); }
  const record::Request& request() const { return *static_cast<const record::Request*>(ptr); }
  const record::Stay& stay() const { return *static_cast<const record::Stay*>(ptr); }
  const record::Consent& consent() const { return *static_cast<const record::Consent*>(ptr); }
  const record::Source* source() const;
};

struct Value;

// A list of values (usually facts), with what it is a list of, for "missing data" messages.
struct List {
  std::vector<Value> items;
  const Element* element = nullptr;  // the element queried, when a query made it
  std::string note;                  // the filters applied, for people ("dated 2026-06-08..")
};

struct Value {
  enum class Kind : uint8_t {
    kUnknown,
    kBool,
    kNumber,
    kQuantity,
    kDate,
    kDuration,
    kString,
    kCodes,
    kFact,
    kList,
    kAlternatives,  // several facts tied for `latest`: each operation applies to all of them
  };

  Kind kind = Kind::kUnknown;
  bool b = false;
  double number = 0;
  Quantity quantity;
  Date date;
  Duration duration;
  std::string_view str;  // points into the record or the rule text, which outlive the value
  const std::vector<record::Coding>* codes = nullptr;
  FactRef fact;
  std::shared_ptr<const List> list;  // kList and kAlternatives
  // The fact a scalar was read from, for explanations ("Observation/wbc 2026-07-02");
  // kind kNone when the value was not read from a fact.
  FactRef origin;

  static Value Unknown() { return {}; }
  static Value Bool(bool v) {
    Value r;
    r.kind = Kind::kBool;
    r.b = v;
    return r;
  }
  static Value Number(double v) {
    Value r;
    r.kind = Kind::kNumber;
    r.number = v;
    return r;
  }
  static Value Qty(Quantity q) {
    Value r;
    r.kind = Kind::kQuantity;
    r.quantity = std::move(q);
    return r;
  }
  static Value DateV(Date d) {
    Value r;
    r.kind = Kind::kDate;
    r.date = d;
    return r;
  }
  static Value DurationV(Duration d) {
    Value r;
    r.kind = Kind::kDuration;
    r.duration = d;
    return r;
  }
  static Value String(std::string_view s) {
    Value r;
    r.kind = Kind::kString;
    r.str = s;
    return r;
  }
  static Value Codes(const std::vector<record::Coding>* c) {
    Value r;
    r.kind = Kind::kCodes;
    r.codes = c;
    return r;
  }
  static Value Fact(FactRef f) {
    Value r;
    r.kind = Kind::kFact;
    r.fact = f;
    return r;
  }
  static Value ListV(std::shared_ptr<const List> l) {
    Value r;
    r.kind = Kind::kList;
    r.list = std::move(l);
    return r;
  }

  bool known() const { return kind != Kind::kUnknown; }
};

// Three-valued truth of a value: true, false, or unknown (nullopt) for anything but a known bool.
std::optional<bool> Truth(const Value& v);

// For people: "60 kg", "2026-07-02", "true", "unknown", "Observation/wbc (2026-07-02)".
std::string Describe(const Value& v);

}  // namespace trial::rules
