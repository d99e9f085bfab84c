// The protocol: a trial described as data and rules in a folder (protocols/promis-mda5/), loaded
// and compiled once at start. Files (formats in docs/protocol.md):
//   protocol.yaml     study identity, arms, code-system aliases, parameters, protocol questions
//   elements.yaml     data elements: value sets of codes with value type and unit
//   definitions.yaml  shared rule definitions
//   criteria.yaml     the eligibility criteria with registry text, reading and rule
//   randomization.yaml  the randomization design (optional: defaults below when absent)
//   kits.yaml         drug kit supply: numbering, dosing days, resupply horizon (optional too)
// Thread-safety: a loaded Protocol is immutable and may be shared between threads.
#pragma once

#include <cstdint>
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

enum class RandomizationMethod : uint8_t { kPermutedBlocks, kMinimization };
enum class ImbalanceMeasure : uint8_t { kRange, kVariance };

// One stratification (and minimization) factor.
struct StratumFactor {
  std::string name;                 // e.g. site, ild_at_baseline
  bool from_sites = false;          // values are the trial's sites, known at run time
  std::vector<std::string> values;  // the allowed values when !from_sites (at least one)
  double weight = 1.0;              // minimization weight (> 0)
};

// Pocock-Simon minimization options.
struct MinimizationOptions {
  ImbalanceMeasure measure = ImbalanceMeasure::kRange;
  double high_probability = 0.8;     // in (0.5, 1]: probability of the arm minimizing imbalance
  std::string tie_break = "random";  // the only tie-break defined: uniform among tied arms
};

// randomization.yaml (docs/randomization.md). Arms and their ratio come from Protocol::arms.
struct RandomizationDesign {
  RandomizationMethod method = RandomizationMethod::kPermutedBlocks;
  std::vector<int> block_sizes;  // each a positive multiple of the ratio sum; one drawn per block
  std::vector<StratumFactor> factors;
  MinimizationOptions minimization;
};

// kits.yaml (docs/kits.md): how drug kits are numbered and how much stock a site needs.
struct KitSupply {
  std::string first_dose_visit = "D0";  // the visit whose kit randomization hands out
  // Days after the allocation date on which a kit is dispensed, ascending, the first 0 (the kit
  // handed out at randomization). The visit schedule of issue 5 will own these days; until then
  // they live here.
  std::vector<int> dose_days = {0};
  int horizon_days = 28;      // the resupply horizon: doses due within it must be in stock
  int buffer_per_arm = 2;     // kits per arm kept at each site for new randomizations
  int kit_number_digits = 6;  // K-123456: 4 to 9 digits, the first never 0
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
  RandomizationDesign randomization;
  KitSupply kits;
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
