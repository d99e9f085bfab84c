// Stratified permuted blocks (blocks.h).
#include "randomization/blocks.h"

#include <utility>

namespace trial::randomization {

namespace {

// Appends one block to `list`, drawing from `rng` from a fresh hash block.
void AppendBlock(const Design& d, AllocationList& list, Random& rng) {
  rng.Realign();
  const int size =
      d.block_sizes[static_cast<size_t>(rng.Uniform(static_cast<int>(d.block_sizes.size())))];
  const int repeats = size / d.RatioSum();
  std::vector<int> arms;
  arms.reserve(static_cast<size_t>(size));
  for (int r = 0; r < repeats; ++r) {
    for (size_t a = 0; a < d.arms.size(); ++a) {
      for (int k = 0; k < d.arms[a].ratio; ++k) arms.push_back(static_cast<int>(a));
    }
  }
  // Fisher-Yates: position i takes a uniform pick among positions 0..i.
  for (int i = static_cast<int>(arms.size()) - 1; i > 0; --i) {
    int j = rng.Uniform(i + 1);
    std::swap(arms[static_cast<size_t>(i)], arms[static_cast<size_t>(j)]);
  }
  ++list.blocks;
  for (int a : arms) {
    Entry e;
    e.stratum = list.stratum;
    e.position = static_cast<int>(list.entries.size()) + 1;
    e.block = list.blocks;
    e.block_size = size;
    e.arm = d.arms[static_cast<size_t>(a)].id;
    list.entries.push_back(std::move(e));
  }
  rng.Realign();
  list.next_counter = rng.counter();
}

}  // namespace

Random StratumRandom(const Seed& seed, const std::string& key, uint64_t counter) {
  return Random(DeriveSeed(seed, key), counter);
}

AllocationList GenerateList(const Design& d, const std::string& stratum, Random& rng,
                            int min_length) {
  AllocationList list;
  list.stratum = stratum;
  list.next_counter = rng.counter();
  if (!Validate(d)) return list;
  do {
    AppendBlock(d, list, rng);
  } while (static_cast<int>(list.entries.size()) < min_length);
  return list;
}

Result<void> Extend(const Design& d, AllocationList& list, Random& rng, int min_new) {
  if (auto ok = Validate(d); !ok) return ok;
  rng.Realign();
  if (rng.counter() != list.next_counter) {
    return Fail(ErrorCode::kInvalidArgument, "the generator is not where stratum " + list.stratum +
                                                 "'s list stopped (block " +
                                                 std::to_string(list.next_counter) + ")");
  }
  const size_t start = list.entries.size();
  do {
    AppendBlock(d, list, rng);
  } while (static_cast<int>(list.entries.size() - start) < min_new);
  return {};
}

std::vector<AllocationList> GenerateAll(const Design& d, const Seed& seed, int min_length) {
  std::vector<AllocationList> out;
  for (const auto& key : AllStrata(d)) {
    Random rng = StratumRandom(seed, key);
    out.push_back(GenerateList(d, key, rng, min_length));
  }
  return out;
}

AllocationList Regenerate(const Design& d, const Seed& seed, const std::string& stratum,
                          int blocks) {
  AllocationList list;
  list.stratum = stratum;
  Random rng = StratumRandom(seed, stratum);
  list.next_counter = rng.counter();
  if (!Validate(d)) return list;
  for (int b = 0; b < blocks; ++b) AppendBlock(d, list, rng);
  return list;
}

}  // namespace trial::randomization
