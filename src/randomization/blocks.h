// Stratified permuted blocks (docs/randomization.md): one allocation list per stratum, made of
// blocks whose size is drawn uniformly from the design's block sizes; each block holds every arm
// ratio x (size / ratio sum) times, in an order shuffled by Fisher-Yates.
//
// Each stratum has its own generator, StratumRandom(seed, key) = Random(SHA256(seed || key)).
// Every block starts on a fresh hash block of that generator (Random::Realign), and the list
// records where the next block starts (next_counter), so a list of n blocks is always the first
// n blocks of the same sequence: extending a list later gives exactly what generating the longer
// list at once would have given, and used entries never change.
// Thread-safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "randomization/design.h"
#include "randomization/random.h"

namespace trial::randomization {

struct Entry {
  std::string stratum;
  int position = 0;    // 1-based within the stratum's list
  int block = 0;       // 1-based block number within the stratum
  int block_size = 0;  // the size of that block
  std::string arm;     // arm id
};

struct AllocationList {
  std::string stratum;
  std::vector<Entry> entries;
  int blocks = 0;             // whole blocks in `entries`
  uint64_t next_counter = 0;  // the stratum generator's counter where the next block starts
};

// The generator of stratum `key`: Random(SHA256(seed || key), counter).
Random StratumRandom(const Seed& seed, const std::string& key, uint64_t counter = 0);

// A list for `stratum` of whole blocks with at least `min_length` entries (at least one block),
// drawn from `rng`, which should be StratumRandom(seed, stratum). The design must be valid
// (Validate); an invalid design gives an empty list.
AllocationList GenerateList(const Design& design, const std::string& stratum, Random& rng,
                            int min_length);

// Appends whole blocks to `list` until at least `min_new` entries were added (at least one
// block), leaving existing entries unchanged. `rng` must be the stratum's generator positioned
// at list.next_counter (StratumRandom(seed, list.stratum, list.next_counter), or the generator
// that made the list); otherwise kInvalidArgument and `list` is unchanged.
Result<void> Extend(const Design& design, AllocationList& list, Random& rng, int min_new);

// The list of every stratum of the design (AllStrata), each with at least `min_length` entries.
std::vector<AllocationList> GenerateAll(const Design& design, const Seed& seed, int min_length);

// Regenerates a list with the same number of blocks as `list` from the seed: what Verify uses.
AllocationList Regenerate(const Design& design, const Seed& seed, const std::string& stratum,
                          int blocks);

}  // namespace trial::randomization
