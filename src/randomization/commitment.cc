// The list commitment (commitment.h).
#include "randomization/commitment.h"

#include <algorithm>

namespace trial::randomization {

namespace {

bool Plain(const std::string& s) { return s.find_first_of("|\n\r") == std::string::npos; }

std::string Hex(const Seed& h) { return SeedToHex(h); }

}  // namespace

Result<std::string> CanonicalText(const std::vector<AllocationList>& lists, const Seed& seed,
                                  const Design& design) {
  std::vector<const Entry*> entries;
  for (const auto& l : lists) {
    for (const auto& e : l.entries) {
      if (!Plain(e.stratum) || !Plain(e.arm)) {
        return Fail(ErrorCode::kInvalidInput,
                    "a stratum or arm contains '|' or a line break: " + e.stratum);
      }
      entries.push_back(&e);
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const Entry* a, const Entry* b) {
    if (a->stratum != b->stratum) return a->stratum < b->stratum;
    return a->position < b->position;
  });
  std::string text = "trial-randomization-commitment v1\nseed " + SeedToHex(seed) + "\ndesign " +
                     Describe(design) + "\n";
  for (const Entry* e : entries) {
    text += e->stratum + "|" + std::to_string(e->position) + "|" + std::to_string(e->block) + "|" +
            std::to_string(e->block_size) + "|" + e->arm + "\n";
  }
  return text;
}

Result<std::string> Commitment(const std::vector<AllocationList>& lists, const Seed& seed,
                               const Design& design) {
  auto text = CanonicalText(lists, seed, design);
  if (!text) return std::unexpected(text.error());
  return Hex(Sha256(*text));
}

Verification CheckAgainstSeed(const std::vector<AllocationList>& lists, const Seed& seed,
                              const Design& design) {
  if (auto ok = Validate(design); !ok) return {false, "invalid design: " + ok.error().message};
  for (const auto& list : lists) {
    if (list.blocks < 0 || list.blocks > 1000000 ||
        list.entries.size() > static_cast<size_t>(list.blocks) * 1000) {
      return {false, "stratum " + list.stratum + ": implausible list size"};
    }
    AllocationList expected = Regenerate(design, seed, list.stratum, list.blocks);
    if (expected.entries.size() != list.entries.size()) {
      return {false, "stratum " + list.stratum + ": " + std::to_string(list.entries.size()) +
                         " entries, the seed gives " + std::to_string(expected.entries.size())};
    }
    for (size_t i = 0; i < list.entries.size(); ++i) {
      const Entry& a = list.entries[i];
      const Entry& b = expected.entries[i];
      if (a.stratum != b.stratum || a.position != b.position || a.block != b.block ||
          a.block_size != b.block_size || a.arm != b.arm) {
        return {false, "stratum " + list.stratum + ", entry " + std::to_string(i + 1) +
                           ": the list says position " + std::to_string(a.position) + " arm " +
                           a.arm + ", the seed gives position " + std::to_string(b.position) +
                           " arm " + b.arm};
      }
    }
  }
  return {true, ""};
}

Verification Verify(const std::string& commitment, const std::vector<AllocationList>& lists,
                    const Seed& seed, const Design& design) {
  if (Verification v = CheckAgainstSeed(lists, seed, design); !v.ok) return v;
  auto c = Commitment(lists, seed, design);
  if (!c) return {false, c.error().message};
  if (*c != commitment) {
    return {false, "commitment mismatch: recorded " + commitment + ", recomputed " + *c};
  }
  return {true, ""};
}

}  // namespace trial::randomization
