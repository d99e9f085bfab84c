// Pocock-Simon minimization (minimization.h).
#include "randomization/minimization.h"

#include <algorithm>
#include <cmath>

namespace trial::randomization {

Minimizer::Minimizer(const Design& design) : design_(design) {
  counts_.resize(design.factors.size());
  for (size_t f = 0; f < design.factors.size(); ++f) {
    counts_[f].assign(design.factors[f].values.size(), std::vector<int>(design.arms.size(), 0));
  }
}

bool Minimizer::Valid(const LevelIndexes& levels) const {
  if (levels.size() != counts_.size()) return false;
  for (size_t f = 0; f < levels.size(); ++f) {
    if (levels[f] < 0 || static_cast<size_t>(levels[f]) >= counts_[f].size()) return false;
  }
  return true;
}

Result<void> Minimizer::Add(const LevelIndexes& levels, int arm) {
  if (!Valid(levels) || arm < 0 || static_cast<size_t>(arm) >= design_.arms.size()) {
    return Fail(ErrorCode::kInvalidArgument, "minimization: level or arm out of range");
  }
  for (size_t f = 0; f < levels.size(); ++f) ++counts_[f][static_cast<size_t>(levels[f])][arm];
  return {};
}

std::vector<double> Minimizer::Scores(const LevelIndexes& levels) const {
  const size_t arms = design_.arms.size();
  std::vector<double> g(arms, 0.0);
  if (!Valid(levels)) return g;
  std::vector<double> x(arms);
  for (size_t k = 0; k < arms; ++k) {
    for (size_t f = 0; f < levels.size(); ++f) {
      const auto& n = counts_[f][static_cast<size_t>(levels[f])];
      for (size_t j = 0; j < arms; ++j) {
        x[j] = (n[j] + (j == k ? 1 : 0)) / static_cast<double>(design_.arms[j].ratio);
      }
      double d = 0;
      if (design_.measure == ImbalanceMeasure::kVariance) {
        double mean = 0;
        for (double v : x) mean += v;
        mean /= static_cast<double>(arms);
        for (double v : x) d += (v - mean) * (v - mean);
        d /= static_cast<double>(arms);
      } else {
        auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        d = *hi - *lo;
      }
      g[k] += design_.factors[f].weight * d;
    }
  }
  return g;
}

Result<int> Minimizer::Choose(const LevelIndexes& levels, Random& rng) const {
  if (!Valid(levels)) return Fail(ErrorCode::kInvalidArgument, "minimization: level out of range");
  std::vector<double> g = Scores(levels);
  const double best = *std::min_element(g.begin(), g.end());
  const double eps = 1e-9 * std::max(1.0, std::fabs(best));
  std::vector<int> preferred, others;
  for (size_t k = 0; k < g.size(); ++k) {
    (g[k] - best <= eps ? preferred : others).push_back(static_cast<int>(k));
  }
  if (preferred.size() > 1 || others.empty()) {
    return preferred[static_cast<size_t>(rng.Uniform(static_cast<int>(preferred.size())))];
  }
  if (rng.UniformReal() < design_.high_probability) return preferred[0];
  return others[static_cast<size_t>(rng.Uniform(static_cast<int>(others.size())))];
}

Result<int> Minimize(const Design& design, const std::vector<PriorAllocation>& prior,
                     const LevelIndexes& levels, Random& rng) {
  Minimizer m(design);
  for (const auto& p : prior) {
    if (auto ok = m.Add(p.levels, p.arm); !ok) return std::unexpected(ok.error());
  }
  return m.Choose(levels, rng);
}

Random AllocationRandom(const Seed& seed, int64_t n) {
  return Random(DeriveSeed(seed, "minimization/" + std::to_string(n)));
}

Replay ReplayMinimization(const Design& design, const Seed& seed,
                          const std::vector<PriorAllocation>& allocations) {
  Minimizer m(design);
  for (size_t i = 0; i < allocations.size(); ++i) {
    const PriorAllocation& a = allocations[i];
    Random rng = AllocationRandom(seed, static_cast<int64_t>(i) + 1);
    auto arm = m.Choose(a.levels, rng);
    const std::string n = std::to_string(i + 1);
    if (!arm) return {false, "allocation " + n + ": " + arm.error().message};
    if (*arm != a.arm) {
      const auto index = [&](int k) {
        return k >= 0 && static_cast<size_t>(k) < design.arms.size();
      };
      return {false, "allocation " + n + " is arm " +
                         (index(a.arm) ? design.arms[static_cast<size_t>(a.arm)].id : "?") +
                         ", the seed and the earlier allocations give " +
                         design.arms[static_cast<size_t>(*arm)].id};
    }
    if (auto ok = m.Add(a.levels, a.arm); !ok) {
      return {false, "allocation " + n + ": " + ok.error().message};
    }
  }
  return {true, ""};
}

}  // namespace trial::randomization
