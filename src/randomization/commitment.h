// The commitment to an allocation list set (docs/randomization.md): SHA-256 of a canonical text
// holding the seed, the design and every entry of every stratum's list. Printed and recorded at
// go-live; after unblinding an auditor recomputes it (Verify) and so proves that no allocation
// was changed, added, dropped or reordered.
//
// Canonical text (UTF-8, '\n' line ends, no trailing spaces):
//   trial-randomization-commitment v1
//   seed <64 lowercase hex digits>
//   design <Describe(design)>
//   stratum|position|block|size|arm        one line per entry, sorted by stratum (bytewise)
//   ...                                    then position (numeric)
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "randomization/blocks.h"
#include "randomization/design.h"
#include "randomization/random.h"

namespace trial::randomization {

// The canonical text. kInvalidInput when a stratum or arm contains '|' or a line break.
Result<std::string> CanonicalText(const std::vector<AllocationList>& lists, const Seed& seed,
                                  const Design& design);

// Lowercase hex SHA-256 of CanonicalText.
Result<std::string> Commitment(const std::vector<AllocationList>& lists, const Seed& seed,
                               const Design& design);

struct Verification {
  bool ok = false;
  std::string detail;  // on failure: the first difference found, one line
};

// Regenerates every list in `lists` from `seed` and `design` (same stratum, same number of
// blocks) and compares it entry by entry with the given one. Each list must be whole: positions
// 1.. and whole blocks. Fails (ok = false with the first difference); never throws.
Verification CheckAgainstSeed(const std::vector<AllocationList>& lists, const Seed& seed,
                              const Design& design);

// CheckAgainstSeed, then compares Commitment(lists) with `commitment`. Fails (ok = false with the
// reason) on any difference; never throws.
Verification Verify(const std::string& commitment, const std::vector<AllocationList>& lists,
                    const Seed& seed, const Design& design);

}  // namespace trial::randomization
