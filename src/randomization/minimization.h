// Pocock-Simon minimization (docs/randomization.md). For a new subject with levels l_f of each
// factor f, and each candidate arm k: add the subject to k hypothetically, take for every factor
// the counts n_{f,l_f,j} of prior subjects at that level on each arm j, divided by arm j's ratio,
// and measure their imbalance d_f(k) (range: max - min; variance: population variance). The
// total G(k) = sum_f w_f d_f(k). Arms with the least G are preferred: if several tie, one of them
// is drawn uniformly; otherwise the preferred arm is chosen with probability p and any other arm
// uniformly with probability 1 - p.
// Thread-safety: a Minimizer is a plain value; not shared.
#pragma once

#include <vector>

#include "core/error.h"
#include "randomization/design.h"
#include "randomization/random.h"

namespace trial::randomization {

// A subject's level of each factor, as indexes into Factor::values, in the design's order.
using LevelIndexes = std::vector<int>;

// Running counts per factor, level and arm; Choose picks an arm for a new subject.
class Minimizer {
 public:
  // `design` must outlive the Minimizer.
  explicit Minimizer(const Design& design);

  // Records a prior allocation. kInvalidArgument (and nothing recorded) when a level or the arm
  // is out of range.
  Result<void> Add(const LevelIndexes& levels, int arm);
  // The arm (index into Design::arms) for a new subject with `levels`; does not record it.
  // kInvalidArgument when a level is out of range.
  Result<int> Choose(const LevelIndexes& levels, Random& rng) const;

  // G(k) for every arm (exposed for tests).
  std::vector<double> Scores(const LevelIndexes& levels) const;

 private:
  bool Valid(const LevelIndexes& levels) const;

  const Design& design_;
  // counts_[f][level][arm]
  std::vector<std::vector<std::vector<int>>> counts_;
};

// One prior allocation for Minimize.
struct PriorAllocation {
  LevelIndexes levels;
  int arm = 0;
};

// The generator of the n-th allocation (1-based, in allocation order) of a live minimization:
// Random(SHA256(seed || "minimization/" + n)). Each allocation draws from its own stream, so the
// whole sequence can be replayed from the seed and the allocations' order and levels.
Random AllocationRandom(const Seed& seed, int64_t n);

// Stateless form: the arm for `levels` given every prior allocation.
Result<int> Minimize(const Design& design, const std::vector<PriorAllocation>& prior,
                     const LevelIndexes& levels, Random& rng);

// Replays a live minimization: allocation i (0-based) must be the arm Minimize gives for its
// levels after allocations 0..i-1, drawn from AllocationRandom(seed, i + 1). Fails (ok = false,
// naming the first allocation that differs) otherwise; never throws.
struct Replay {
  bool ok = false;
  std::string detail;
};
Replay ReplayMinimization(const Design& design, const Seed& seed,
                          const std::vector<PriorAllocation>& allocations);

}  // namespace trial::randomization
