// Benchmark of the randomization simulation: BM_SimulateTrial/0 (permuted blocks) and /1
// (minimization) draw one whole trial per iteration (110 subjects, 5 sites, ILD present with
// probability 0.5) under the PROMIS-MDA5 design, and report trials per second.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "protocol/protocol.h"
#include "randomization/design.h"
#include "randomization/random.h"
#include "randomization/simulate.h"

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace {

namespace rnd = trial::randomization;

void BM_SimulateTrial(benchmark::State& state) {
  auto p = trial::protocol::Load(std::string(TRIAL_SOURCE_DIR) + "/protocols/promis-mda5");
  if (!p) {
    state.SkipWithError(p.error().message.c_str());
    return;
  }
  auto design = rnd::FromProtocol(**p, {"S1", "S2", "S3", "S4", "S5"});
  if (!design) {
    state.SkipWithError(design.error().message.c_str());
    return;
  }
  design->method = state.range(0) == 1 ? rnd::RandomizationMethod::kMinimization
                                       : rnd::RandomizationMethod::kPermutedBlocks;
  rnd::SimulationOptions o;
  o.subjects = 110;
  o.sites = 5;
  rnd::Seed seed{};
  rnd::Random rng(seed);
  for (auto _ : state) {
    rnd::RunResult r = rnd::SimulateTrial(*design, o, rng);
    benchmark::DoNotOptimize(r);
  }
  state.counters["trials/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(state.range(0) == 1 ? "minimization" : "permuted_blocks");
}
BENCHMARK(BM_SimulateTrial)->Arg(0)->Arg(1);

}  // namespace
