// Trial simulation (simulate.h).
#include "randomization/simulate.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "randomization/blocks.h"
#include "randomization/minimization.h"

namespace trial::randomization {

namespace {

// max - min of count / ratio over arms.
double Imbalance(const Design& d, const std::vector<int>& counts) {
  double lo = 1e300, hi = -1e300;
  for (size_t a = 0; a < counts.size(); ++a) {
    double x = counts[a] / static_cast<double>(d.arms[a].ratio);
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  return hi - lo;
}

// The convergence guess: the arm with the fewest ratio-adjusted allocations, random among ties.
int Guess(const Design& d, const std::vector<int>& counts, Random& rng) {
  double best = 1e300;
  int ties = 0, pick = 0;
  for (size_t a = 0; a < counts.size(); ++a) {
    double x = counts[a] / static_cast<double>(d.arms[a].ratio);
    if (x < best - 1e-12) {
      best = x;
      ties = 1;
      pick = static_cast<int>(a);
    } else if (std::fabs(x - best) <= 1e-12) {
      // Reservoir choice: each tied arm ends up picked with probability 1 / ties.
      ++ties;
      if (rng.Uniform(ties) == 0) pick = static_cast<int>(a);
    }
  }
  return pick;
}

}  // namespace

Design WithSimulatedSites(Design design, const std::string& site_factor, int sites) {
  for (auto& f : design.factors) {
    if (f.name != site_factor) continue;
    f.values.clear();
    for (int s = 1; s <= sites; ++s) f.values.push_back("S" + std::to_string(s));
  }
  return design;
}

RunResult SimulateTrial(const Design& d, const SimulationOptions& o, Random& rng) {
  const size_t arms = d.arms.size();
  const size_t nf = d.factors.size();
  // Sub-streams: subjects' characteristics, the guesser, minimization, and one per stratum list.
  Seed base{};
  for (size_t i = 0; i < base.size(); i += 8) {
    uint64_t v = rng.Next();
    for (size_t b = 0; b < 8; ++b) base[i + b] = static_cast<uint8_t>(v >> (56 - 8 * b));
  }
  Random subjects(DeriveSeed(base, "subjects"));
  Random guesser(DeriveSeed(base, "guess"));
  Random chooser(DeriveSeed(base, "minimization"));

  struct Stratum {
    AllocationList list;
    Random rng;
    size_t next = 0;
    std::vector<int> counts;
  };
  std::map<std::vector<int>, Stratum> strata;
  std::vector<int> overall(arms, 0);
  Minimizer minimizer(d);
  const bool blocks = d.method == RandomizationMethod::kPermutedBlocks;
  int correct = 0;
  std::vector<int> levels(nf);
  for (int i = 0; i < o.subjects; ++i) {
    for (size_t f = 0; f < nf; ++f) {
      const int n = static_cast<int>(d.factors[f].values.size());
      if (n == 2 && d.factors[f].name != "site") {
        levels[f] = subjects.UniformReal() < o.first_level_probability ? 0 : 1;
      } else {
        levels[f] = subjects.Uniform(n);
      }
    }
    auto it = strata.find(levels);
    if (it == strata.end()) {
      std::string key;
      for (size_t f = 0; f < nf; ++f) {
        key += (f ? "," : "") + d.factors[f].name + "=" +
               d.factors[f].values[static_cast<size_t>(levels[f])];
      }
      if (nf == 0) key = "all";
      Random r = StratumRandom(base, key);
      AllocationList list = GenerateList(d, key, r, blocks ? 16 : 0);
      it = strata.emplace(levels, Stratum{std::move(list), r, 0, std::vector<int>(arms, 0)}).first;
    }
    Stratum& s = it->second;
    int arm = 0;
    if (blocks) {
      if (s.next >= s.list.entries.size()) {
        if (!Extend(d, s.list, s.rng, 16)) break;  // invariant: rng is where the list stopped
      }
      const std::string& id = s.list.entries[s.next++].arm;
      for (size_t a = 0; a < arms; ++a) {
        if (d.arms[a].id == id) arm = static_cast<int>(a);
      }
    } else {
      auto chosen = minimizer.Choose(levels, chooser);
      if (!chosen) break;  // invariant: levels are in range by construction
      arm = *chosen;
      (void)minimizer.Add(levels, arm);
    }
    const int guess = Guess(d, blocks ? s.counts : overall, guesser);
    if (guess == arm) ++correct;
    ++s.counts[static_cast<size_t>(arm)];
    ++overall[static_cast<size_t>(arm)];
  }
  RunResult r;
  r.overall_imbalance = Imbalance(d, overall);
  for (const auto& [k, s] : strata) {
    r.stratum_imbalance = std::max(r.stratum_imbalance, Imbalance(d, s.counts));
  }
  r.predictability = o.subjects > 0 ? correct / static_cast<double>(o.subjects) : 0;
  return r;
}

Distribution Summarize(std::vector<double> v) {
  Distribution d;
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  const size_t n = v.size();
  d.mean = sum / static_cast<double>(n);
  d.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(n)));
  d.p95 = v[std::clamp<size_t>(rank, 1, n) - 1];
  d.max = v.back();
  return d;
}

Result<SimulationReport> Simulate(const Design& design, const SimulationOptions& o,
                                  const Seed& seed, const std::function<void(int)>& progress) {
  if (o.subjects <= 0 || o.sites <= 0 || o.runs <= 0) {
    return Fail(ErrorCode::kInvalidArgument, "subjects, sites and runs must be positive");
  }
  if (!(o.first_level_probability >= 0 && o.first_level_probability <= 1)) {
    return Fail(ErrorCode::kInvalidArgument, "the probability must be in [0, 1]");
  }
  if (auto ok = Validate(design); !ok) return std::unexpected(ok.error());
  std::vector<double> overall, stratum, predict;
  overall.reserve(static_cast<size_t>(o.runs));
  stratum.reserve(static_cast<size_t>(o.runs));
  predict.reserve(static_cast<size_t>(o.runs));
  int last_percent = 0;
  for (int r = 0; r < o.runs; ++r) {
    Random rng(DeriveSeed(seed, "run:" + std::to_string(r)));
    RunResult one = SimulateTrial(design, o, rng);
    overall.push_back(one.overall_imbalance);
    stratum.push_back(one.stratum_imbalance);
    predict.push_back(one.predictability);
    const int percent = static_cast<int>((static_cast<int64_t>(r) + 1) * 100 / o.runs);
    if (progress && percent > last_percent) {
      last_percent = percent;
      progress(percent);
    }
  }
  SimulationReport rep;
  rep.runs = o.runs;
  rep.overall_imbalance = Summarize(std::move(overall));
  rep.stratum_imbalance = Summarize(std::move(stratum));
  rep.predictability = Summarize(std::move(predict));
  return rep;
}

}  // namespace trial::randomization
