// Simulation of whole trials under a design (docs/randomization.md): subjects arrive one by one
// at K sites (uniformly), with ILD at baseline present with a given probability, and are
// allocated by the design's method. Reports, per run, the overall imbalance, the largest
// within-stratum imbalance, and the predictability of the allocations under the convergence
// guessing strategy; then their distribution over all runs.
// Thread-safety: pure; Simulate calls `progress` on the calling thread.
#pragma once

#include <functional>
#include <vector>

#include "core/error.h"
#include "randomization/design.h"
#include "randomization/random.h"

namespace trial::randomization {

struct SimulationOptions {
  int subjects = 110;
  int sites = 5;
  int runs = 1000;
  // The probability of a two-valued factor's first value (ild_at_baseline: present). Factors
  // whose values are the sites are drawn uniformly over the K simulated sites ("S1".."SK"), any
  // other factor uniformly over its values.
  double first_level_probability = 0.5;
};

// One simulated trial. Imbalance is max minus min over arms of count / ratio (|n_A - n_B| for
// 1:1); within-stratum is the largest such value over strata at the end of the trial.
// Predictability is the fraction of allocations guessed right by a guesser who picks the arm
// with the fewest (ratio-adjusted) allocations so far, in the subject's stratum for permuted
// blocks and overall for minimization, at random among ties.
struct RunResult {
  double overall_imbalance = 0;
  double stratum_imbalance = 0;
  double predictability = 0;
};

struct Distribution {
  double mean = 0, median = 0, p95 = 0, max = 0;
};

struct SimulationReport {
  int runs = 0;
  Distribution overall_imbalance, stratum_imbalance, predictability;
};

// The design with every from-sites factor's values set to "S1".."SK". `design` as from the
// protocol (FromProtocol with any site list); `site_factor` names the factor to replace
// ("site"); factors of that name get the K simulated sites.
Design WithSimulatedSites(Design design, const std::string& site_factor, int sites);

// One trial, drawing everything from `rng`. The design must be valid.
RunResult SimulateTrial(const Design& design, const SimulationOptions& options, Random& rng);

// `options.runs` trials; run r uses Random(DeriveSeed(seed, "run:" + r)), so a report is
// reproducible from its seed. `progress(percent)` is called each time another whole percent of
// the runs is done (may be empty). kInvalidArgument for non-positive counts or a probability
// outside [0, 1]; kInvalidInput for an invalid design.
Result<SimulationReport> Simulate(const Design& design, const SimulationOptions& options,
                                  const Seed& seed, const std::function<void(int)>& progress);

// Mean, median, 95th percentile (nearest rank) and maximum of `values` (zeros when empty).
Distribution Summarize(std::vector<double> values);

}  // namespace trial::randomization
