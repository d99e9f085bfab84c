// The eCRF engine (docs/ecrf.md): checks and normalizes an entered value against its item
// definition (forms.yaml), runs the edit checks (editchecks.yaml and those generated from the
// items) and computes the derived values (MMT-8 totals, P/F ratio, prednisone equivalent,
// HAQ-DI) for one subject. Pure functions: no I/O, no clock; the caller passes the subject's
// data as text (ecrf::SubjectData), the way the store keeps it.
// Thread-safety: plain functions of their arguments; a Protocol may be shared.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "protocol/protocol.h"

namespace trial::ecrf {

// What an edit check (or a soft range) found: a query to open, or the reason for a rejection.
struct Finding {
  std::string check_id;  // "weight.change_since_previous", "weight.weight.soft"
  protocol::CheckKind kind = protocol::CheckKind::kRange;
  protocol::CheckSeverity severity = protocol::CheckSeverity::kQuery;
  std::string visit;               // "" from ValidateValue (no visit known)
  int repeat = 0;                  // the instance of a repeating form
  std::vector<std::string> items;  // "form.item", as the check lists them
  std::string message;             // the check's message and the values that triggered it
};

// A value ready to store: the normalized text and, outside the soft range, a query.
struct Normalized {
  std::string text;  // "62.5 kg", "2026-03-02", "yes", "3", a code
  std::optional<Finding> query;
};

// Parses `text` as a value of `item` of `form` and normalizes it:
//   quantity  "<number> <unit>" with a unit of item.units (a 'µ' is read as UCUM 'u'); converted
//             to the canonical unit ("137 [lb_av]" -> "62.142... kg"); no unit is an error that
//             names the item and the allowed units (a unit is never assumed);
//   integer   whole number; decimal: a number; date: YYYY-MM-DD (a real day);
//   code      one of item.codes; yesno: yes or no (any case; true/false accepted); text: as is.
// Leading and trailing blanks are ignored. Fails with kInvalidArgument naming form.item, the
// value and what is expected, for an empty or unparsable value, a value outside the hard range
// ("vital_signs.heart_rate: 300 /min is outside the hard range 20 to 250 /min"), or a unit not
// allowed or not convertible. Outside the soft range: accepted, with a query (Normalized::query).
Result<Normalized> ValidateValue(const protocol::FormDefinition& form,
                                 const protocol::ItemDefinition& item, std::string_view text);

// Looks up form `form` and its item `item` in the protocol's forms, then ValidateValue. Fails
// with kNotFound for an unknown form or item, kInvalidInput when the protocol has no forms.
Result<Normalized> ValidateEntry(const protocol::Protocol& protocol, const std::string& form,
                                 const std::string& item, std::string_view text);

// One visit of a subject, as stored: the visit id, its date, and the items' texts.
struct VisitRecord {
  std::string visit;  // "SCR", "W2", "UNS"
  // The visit date; when absent, read from the visit-date item (forms.yaml visit_date_item).
  std::optional<Date> date;
  // "form.item" -> repeat -> normalized text (ValidateValue's output).
  std::map<std::string, std::map<int, std::string>> items;

  const std::string* Find(const std::string& name, int repeat) const;
  void Set(const std::string& name, int repeat, std::string text);
};

// One subject's eCRF data: its visits in visit order (schedule order). `previous(...)` reads the
// latest visit before the current one in this order that has a value.
struct SubjectData {
  std::vector<VisitRecord> visits;

  VisitRecord* FindVisit(const std::string& visit);
  const VisitRecord* FindVisit(const std::string& visit) const;
};

// The forms a visit collects (schedule.yaml; the unscheduled visit's forms for its id), or
// nullptr for a visit the schedule does not know.
const std::vector<std::string>* FormsOfVisit(const protocol::Protocol& protocol,
                                             const std::string& visit);

// Runs the edit checks at visit `visit` of `data` (every visit when nullopt). A check runs at a
// visit that collects the form of its first item, once per instance of a repeating form; a
// `required` check only where that form has data (a form not started raises nothing). A check
// fires when its rule is true: unknown (missing data) does not fire. Findings come in visit
// order, then check order (forms.yaml's generated checks first). A protocol without forms gives
// none.
std::vector<Finding> RunEditChecks(const protocol::Protocol& protocol, const SubjectData& data,
                                   const std::optional<std::string>& visit);

// A derived value at a visit (docs/ecrf.md "Derived values").
struct DerivedResult {
  std::string id;  // "mmt8_total_150", "pf_ratio", "prednisone_equivalent", "haq_di"
  std::string visit;
  int repeat = 0;
  std::optional<double> value;  // nullopt when unknown (missing items)
  std::string unit;             // "" for a number
  std::string text;             // "381 mm[Hg]", "1.125", "unknown"
};

// Computes the derived values of forms.yaml (rules) and the HAQ-DI (C++) at every visit of
// `data` that collects their form and has data in it (every instance of a repeating form).
std::vector<DerivedResult> ComputeDerived(const protocol::Protocol& protocol,
                                          const SubjectData& data,
                                          const std::optional<std::string>& visit);

// The HAQ-DI of one HAQ form (item id -> text): category score = highest answered item (0..3),
// raised to `aid_minimum` when an aid or help item of the category is "yes"; the index is the
// mean of the answered categories, or nullopt when fewer than `min_categories` are answered.
std::optional<double> HaqDi(const protocol::HaqScoring& scoring,
                            const std::map<std::string, std::string>& items);

// Formats a number as the eCRF stores it: at most 10 significant digits, no exponent.
std::string FormatNumber(double v);

}  // namespace trial::ecrf
