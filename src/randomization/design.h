// The randomization design the engine works with: the protocol's RandomizationDesign with the
// arms' ratios and every factor's values resolved (site values are the trial's sites, known at
// run time). Built once, then passed to blocks.h, minimization.h, commitment.h and simulate.h.
// Thread-safety: plain values.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "protocol/protocol.h"

namespace trial::randomization {

using protocol::ImbalanceMeasure;
using protocol::RandomizationMethod;

struct ArmSpec {
  std::string id;
  int ratio = 1;
};

struct Factor {
  std::string name;
  std::vector<std::string> values;
  double weight = 1.0;
  // The values are the trial's sites: Describe names the factor without listing them, so sites
  // added after go-live do not change the committed design (their strata are list extensions).
  bool from_sites = false;
};

struct Design {
  RandomizationMethod method = RandomizationMethod::kPermutedBlocks;
  std::vector<ArmSpec> arms;     // at least two, ratios positive
  std::vector<int> block_sizes;  // positive multiples of RatioSum()
  std::vector<Factor> factors;
  ImbalanceMeasure measure = ImbalanceMeasure::kRange;
  double high_probability = 0.8;

  int RatioSum() const;
};

// Checks the invariants above, plus names usable in the canonical text (no '|', ',', '=' or
// control characters) and unique factor names and values. kInvalidInput naming the first problem.
Result<void> Validate(const Design& design);

// The design of `p` with factors marked from_sites given `sites`; validated.
Result<Design> FromProtocol(const protocol::Protocol& p, const std::vector<std::string>& sites);

// One value per factor, in the design's factor order.
using Levels = std::vector<std::string>;

// The stratum key of `levels`: "factor=value,factor=value" in the design's factor order ("all"
// with no factors). kInvalidInput when a value is not one the design defines.
Result<std::string> StratumKey(const Design& design, const Levels& levels);

// The inverse of StratumKey: each factor's value index (into Factor::values) in stratum `key`.
// kInvalidInput when the key does not name every factor once, in order, with a defined value.
Result<std::vector<int>> ParseStratumKey(const Design& design, const std::string& key);

// Every stratum key of the design, in the order of the factors' values (odometer order).
std::vector<std::string> AllStrata(const Design& design);

// A canonical one-line description of the design (method, arms, block sizes, factors, options),
// covered by the commitment. A from_sites factor is written "site(<sites>)", without its values.
std::string Describe(const Design& design);

}  // namespace trial::randomization
