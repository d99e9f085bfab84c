// A compiled set of rules: the catalog's parameters and definitions plus any number of rules,
// each parsed, bound (names resolved, types and units checked) and ready to evaluate against a
// patient record. Compile once at start; evaluate per patient through a Session.
//
// Thread-safety: a Program is immutable after its rules are added and may be shared between
// threads; a Session belongs to one thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "record/record.h"
#include "rules/catalog.h"
#include "rules/parser.h"
#include "rules/value.h"

namespace trial::rules {

struct BoundNode;
class Binder;

// What an evaluation explains: the steps that decided the result (comparisons with the values
// they compared, the facts used) and, when the result is unknown, the data that would decide it.
struct Trace {
  std::vector<std::string> steps;
  std::vector<std::string> missing;
};

// The static type a rule must have.
enum class RuleType : uint8_t { kBool, kAny };

class Program {
 public:
  // Binds every parameter and definition of `catalog` (which must outlive the Program).
  // Fails with the first error: kParse or kType, "<origin>:<line>:<column>: <what>".
  static Result<std::unique_ptr<Program>> Create(const Catalog& catalog);
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Compiles `text` as a rule of type `type`; returns its id. On failure nothing is added.
  // `start` is where the text begins in its file (for error positions).
  Result<int> AddRule(std::string_view text, const std::string& origin, RuleType type,
                      TextStart start = {});

  // The value of parameter `name` (a constant), or nullopt.
  std::optional<Value> ParameterValue(const std::string& name) const;

  const Catalog& catalog() const { return catalog_; }

 private:
  friend class Session;
  friend class Binder;
  explicit Program(const Catalog& catalog);

  const Catalog& catalog_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One subject's eCRF data as seen from one visit, for the rule functions item(), previous() and
// visit_date() (docs/rules.md §5, docs/ecrf.md). Implemented by the caller (ecrf::SubjectData);
// the returned text must outlive the Session.
class VisitData {
 public:
  virtual ~VisitData() = default;
  // The stored text of item `name` ("form.item") at the current visit (`previous` false), or at
  // the latest earlier visit that has a value for it (`previous` true); nullptr when missing.
  virtual const std::string* ItemText(const std::string& name, bool previous) const = 0;
  // The date of the current visit, when known.
  virtual std::optional<Date> VisitDate() const = 0;
};

// Per-patient evaluation state (query and definition caches). Cheap to create.
class Session {
 public:
  // S = screening date, R = randomization date. `record` and `program` must outlive the session.
  // `visit` (optional, must outlive the session) answers item(), previous() and visit_date();
  // without it they are unknown.
  Session(const Program& program, const record::PatientRecord& record, Date screening,
          Date randomization, const VisitData* visit = nullptr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Evaluates rule `id`. When `trace` is given, fills it with the deciding steps and the
  // missing data. Never fails: missing or unconvertible data gives `unknown`.
  Value Evaluate(int id, Trace* trace);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace trial::rules
