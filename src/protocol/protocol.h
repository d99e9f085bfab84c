// The protocol: a trial described as data and rules in a folder (protocols/promis-mda5/), loaded
// and compiled once at start. Files (formats in docs/protocol.md):
//   protocol.yaml     study identity, arms, code-system aliases, parameters, protocol questions
//   elements.yaml     data elements: value sets of codes with value type and unit
//   definitions.yaml  shared rule definitions
//   criteria.yaml     the eligibility criteria with registry text, reading and rule
// Thread-safety: a loaded Protocol is immutable and may be shared between threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "rules/catalog.h"
#include "rules/program.h"

namespace trial::protocol {

enum class CriterionKind : uint8_t { kInclusion, kExclusion };

struct Criterion {
  std::string id;  // IN1..IN8, EX1..EX18
  CriterionKind kind = CriterionKind::kInclusion;
  std::string text;                    // the registry's words
  std::string reading;                 // the computable reading the rule implements
  std::string rule;                    // rules-language source
  std::vector<std::string> questions;  // ids of protocol questions this criterion depends on
  int rule_id = -1;                    // in Protocol::program
};

// A reading of ambiguous registry text, applied by default and shown to users.
struct Question {
  std::string id;
  std::string topic;
  std::string registry;  // the registry's words
  std::string reading;   // the reading applied
  std::vector<std::string> criteria;
  std::vector<std::string> parameters;  // where to change it
};

struct Arm {
  std::string id;
  std::string name;
  std::string description;
  int ratio = 1;
};

struct Protocol {
  std::string dir;
  std::string id;
  std::string title;
  std::string version;
  std::vector<std::string> registry_ids;
  int target_enrollment = 0;
  std::vector<Arm> arms;
  std::vector<Question> questions;
  std::vector<Criterion> criteria;
  rules::Catalog catalog;
  std::unique_ptr<rules::Program> program;  // refers to `catalog`: a Protocol never moves
};

// Loads and compiles the protocol in `dir`. Returns the protocol, or every error found (each a
// one-line message naming the file and, for rules, the line and column), never a partial protocol.
struct CheckResult {
  std::unique_ptr<Protocol> protocol;
  std::vector<Error> errors;
};
CheckResult Check(const std::string& dir);

// Like Check, but fails with the first error (and the count of the others).
Result<std::unique_ptr<Protocol>> Load(const std::string& dir);

}  // namespace trial::protocol
