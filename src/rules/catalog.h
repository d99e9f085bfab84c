// What rule names can refer to: the protocol's data elements (named value sets with an optional
// value type and unit), parameters and shared definitions. The protocol loader fills a Catalog;
// the binder resolves every name in a rule against it.
// Thread-safety: immutable once built; safe to share.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/quantity.h"
#include "record/record.h"
#include "rules/ast.h"

namespace trial::rules {

// One code pattern of a value set. ICD-style codes match by prefix (`M33.1*`), by a range of
// categories (`I60..I69`, covering every code that starts with I60 ... I69), or by a pattern with
// `?` for any one character (`C44.?1*`); other codes match exactly.
struct CodePattern {
  enum class Kind : uint8_t { kExact, kPrefix, kRange, kGlob };
  std::string system;
  Kind kind = Kind::kExact;
  std::string code;  // exact code, prefix, range low end, or glob pattern
  std::string high;  // range high end

  bool Matches(const record::Coding& c) const;
  std::string ToString() const;  // "http://loinc.org|29463-7", "...|M33.1*"
};

// A member of a value set: matched when any coding matches one of `any_of`, or when every
// pattern of `all_of` matches some coding of the same concept (TMP-SMZ: both ingredients).
struct Member {
  std::string name;
  std::vector<CodePattern> any_of;
  std::vector<CodePattern> all_of;
  std::map<std::string, Quantity> attributes;  // e.g. factor (1), half_life (8.7 h)

  bool Matches(const std::vector<record::Coding>& codes) const;
};

enum class ValueKind : uint8_t {
  kNone,         // codes only (conditions, drugs, routes, reasons)
  kQuantity,     // valueQuantity, compared in `unit`
  kQualitative,  // positive / negative
  kBoolean,      // valueBoolean (trial flags)
  kDate,         // valueDateTime
};

struct Element {
  std::string name;
  std::string label;  // for people: "body weight"
  std::vector<Member> members;
  ValueKind value = ValueKind::kNone;
  std::optional<Unit> unit;                    // canonical unit of a quantity element
  std::optional<double> molar_mass_g_per_mol;  // allows mass <-> substance concentration
  int index = 0;                               // dense index, for per-evaluation caches

  // The first member matching `codes`, or nullptr.
  const Member* Match(const std::vector<record::Coding>& codes) const;
  std::string Describe() const;  // "body weight (http://loinc.org|29463-7)"
};

struct Parameter {
  std::string name;
  std::string text;  // the value as written (a constant rule expression: `28 days`, `45 'kg'`)
  std::string description;
  std::string origin = {};  // where it was written ("protocols/x/protocol.yaml"), for errors
};

// A named expression shared by rules; with parameters it is expanded at each call like a macro
// (its body bound with the arguments), without parameters it is computed once per evaluation.
struct Definition {
  std::string name;
  std::vector<std::string> params;
  std::string text;
  std::string origin;  // where it was written, for error messages
  int line = 1;        // where `text` starts in that file
  int column = 1;
  int indent = 0;  // the indentation stripped from its later lines
};

// An eCRF item a rule may read with item("form.item") or previous("form.item") (docs/ecrf.md):
// its name and how its stored text reads as a value.
enum class ItemValue : uint8_t {
  kNumber,    // integer or decimal: "12", "0.5"
  kQuantity,  // "<number> <UCUM unit>", converted to `unit`
  kString,    // free text or a code
  kDate,      // YYYY-MM-DD
  kBool,      // yes / no
};

struct ItemDecl {
  std::string name;  // "vital_signs.weight"
  ItemValue value = ItemValue::kString;
  std::optional<Unit> unit;                    // kQuantity: the canonical unit
  std::optional<double> molar_mass_g_per_mol;  // kQuantity: mass <-> substance concentration
};

struct Catalog {
  std::vector<std::unique_ptr<Element>> elements;  // index == Element::index
  std::vector<Parameter> parameters;
  std::vector<Definition> definitions;
  std::vector<ItemDecl> items;  // eCRF items (forms.yaml); empty without forms

  const Element* FindElement(const std::string& name) const;
  const ItemDecl* FindItem(const std::string& name) const;
};

}  // namespace trial::rules
