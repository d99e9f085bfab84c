#include "service/randomization.h"

#include <algorithm>
#include <map>

#include "randomization/blocks.h"
#include "randomization/commitment.h"
#include "randomization/minimization.h"

namespace trial::service {

namespace {

namespace rnd = trial::randomization;

// The design of the protocol over the store's sites now (ordered by id).
Result<rnd::Design> CurrentDesign(store::TrialStore& store, const protocol::Protocol& protocol) {
  auto sites = store.Sites();
  if (!sites) return std::unexpected(sites.error());
  std::vector<std::string> ids;
  for (const auto& s : *sites) ids.push_back(s.id);
  return rnd::FromProtocol(protocol, ids);
}

// The slots `keep` accepts, as one AllocationList per stratum (entries in position order).
template <typename Pred>
std::vector<rnd::AllocationList> ListsOf(const std::vector<store::RandSlot>& slots, Pred keep) {
  std::map<std::string, rnd::AllocationList> by_stratum;
  for (const auto& slot : slots) {  // sorted by stratum, then position
    if (!keep(slot)) continue;
    auto& list = by_stratum[slot.stratum];
    list.stratum = slot.stratum;
    list.entries.push_back(
        rnd::Entry{slot.stratum, slot.position, slot.block, slot.block_size, slot.arm});
    list.blocks = std::max(list.blocks, slot.block);
  }
  std::vector<rnd::AllocationList> lists;
  for (auto& [key, list] : by_stratum) lists.push_back(std::move(list));
  return lists;
}

int ArmIndex(const rnd::Design& d, const std::string& arm) {
  for (size_t i = 0; i < d.arms.size(); ++i) {
    if (d.arms[i].id == arm) return static_cast<int>(i);
  }
  return -1;
}

// The minimization arm of allocation `ordinal` given the earlier ones (store::ArmChooser).
Result<std::string> ChooseByMinimization(const rnd::Design& design, const std::string& seed_hex,
                                         const std::vector<store::PriorArm>& prior, int64_t ordinal,
                                         const std::string& stratum) {
  auto seed = rnd::SeedFromHex(seed_hex);
  if (!seed) return std::unexpected(seed.error());
  std::vector<rnd::PriorAllocation> earlier;
  for (const auto& p : prior) {
    auto levels = rnd::ParseStratumKey(design, p.stratum);
    if (!levels) return std::unexpected(levels.error());
    const int arm = ArmIndex(design, p.arm);
    if (arm < 0) return Fail(ErrorCode::kInvalidInput, "an earlier allocation has arm " + p.arm);
    earlier.push_back(rnd::PriorAllocation{*levels, arm});
  }
  auto levels = rnd::ParseStratumKey(design, stratum);
  if (!levels) return Fail(ErrorCode::kInvalidArgument, levels.error().message);
  rnd::Random rng = rnd::AllocationRandom(*seed, ordinal);
  auto arm = rnd::Minimize(design, earlier, *levels, rng);
  if (!arm) return std::unexpected(arm.error());
  return design.arms[static_cast<size_t>(*arm)].id;
}

}  // namespace

Result<std::string> GoLive(store::TrialStore& store, const protocol::Protocol& protocol,
                           const std::vector<std::string>& sites, const std::string& actor,
                           const rnd::Seed& seed) {
  if (sites.empty()) {
    return Fail(ErrorCode::kInvalidInput, "no sites: add the trial's sites before go-live");
  }
  auto design = rnd::FromProtocol(protocol, sites);
  if (!design) return std::unexpected(design.error());
  std::vector<rnd::AllocationList> lists;
  if (design->method == rnd::RandomizationMethod::kPermutedBlocks) {
    lists = rnd::GenerateAll(*design, seed, std::max(protocol.target_enrollment, 1));
  }
  auto commitment = rnd::Commitment(lists, seed, *design);
  if (!commitment) return std::unexpected(commitment.error());
  std::vector<store::RandSlot> slots;
  for (const auto& list : lists) {
    for (const auto& e : list.entries) {
      slots.push_back(store::RandSlot{e.stratum, e.position, e.block, e.block_size, e.arm});
    }
  }
  auto live = store.GoLive(actor, rnd::SeedToHex(seed), rnd::Describe(*design), *commitment,
                           std::move(slots));
  if (!live) return std::unexpected(live.error());
  return *commitment;
}

Result<int64_t> ExtendLists(store::TrialStore& store, const protocol::Protocol& protocol,
                            const std::string& actor, int min_free, const std::string& stratum) {
  if (min_free < 1 || min_free > 100000) {
    return Fail(ErrorCode::kInvalidArgument, "the number of free slots must be 1 to 100000");
  }
  auto setup = store.RandomizationSetup();
  if (!setup) return std::unexpected(setup.error());
  if (!*setup) {
    return Fail(ErrorCode::kInvalidInput,
                "randomization is not live yet: run 'trial randomization golive'");
  }
  auto design = CurrentDesign(store, protocol);
  if (!design) return std::unexpected(design.error());
  if (rnd::Describe(*design) != (*setup)->design) {
    return Fail(ErrorCode::kInvalidInput,
                "the protocol's randomization design differs from the one committed at go-live");
  }
  if (design->method != rnd::RandomizationMethod::kPermutedBlocks) {
    return Fail(ErrorCode::kInvalidInput,
                "minimization has no lists to extend: each allocation is drawn when it is made");
  }
  auto seed = rnd::SeedFromHex((*setup)->seed_hex);
  if (!seed) return std::unexpected(seed.error());
  std::vector<std::string> strata = rnd::AllStrata(*design);
  if (!stratum.empty()) {
    if (std::find(strata.begin(), strata.end(), stratum) == strata.end()) {
      return Fail(ErrorCode::kInvalidArgument, "'" + stratum + "' is not a stratum of the design");
    }
    strata = {stratum};
  }
  // Used positions per stratum.
  std::map<std::string, int> used;
  auto subjects = store.Subjects(std::nullopt);
  if (!subjects) return std::unexpected(subjects.error());
  for (const auto& subject : *subjects) {
    auto a = store.AllocationOf(subject.id);
    if (!a) return std::unexpected(a.error());
    if (*a) used[(*a)->stratum] = std::max(used[(*a)->stratum], (*a)->position);
  }
  std::vector<rnd::AllocationList> existing =
      ListsOf((*setup)->slots, [](const auto&) { return true; });
  std::vector<rnd::AllocationList> additions;
  for (const auto& key : strata) {
    auto it = std::find_if(existing.begin(), existing.end(),
                           [&](const rnd::AllocationList& l) { return l.stratum == key; });
    rnd::AllocationList list =
        rnd::Regenerate(*design, *seed, key, it == existing.end() ? 0 : it->blocks);
    if (it != existing.end() && list.entries.size() != it->entries.size()) {
      return Fail(ErrorCode::kInvalidInput, "the stored list of stratum " + key +
                                                " does not match the seed: run 'trial "
                                                "randomization verify'");
    }
    const size_t before = it == existing.end() ? 0 : list.entries.size();
    const int free = static_cast<int>(before) - used[key];
    if (free >= min_free) continue;
    if (it == existing.end()) {
      list.entries.clear();
      list.blocks = 0;
      list.next_counter = 0;
    }
    rnd::Random rng = rnd::StratumRandom(*seed, key, list.next_counter);
    if (auto ok = rnd::Extend(*design, list, rng, min_free - free); !ok) {
      return std::unexpected(ok.error());
    }
    rnd::AllocationList added{key, {}, 0, 0};
    added.entries.assign(list.entries.begin() + static_cast<std::ptrdiff_t>(before),
                         list.entries.end());
    additions.push_back(std::move(added));
  }
  std::vector<store::RandSlot> slots;
  for (const auto& list : additions) {
    for (const auto& e : list.entries) {
      slots.push_back(store::RandSlot{e.stratum, e.position, e.block, e.block_size, e.arm});
    }
  }
  if (slots.empty()) return int64_t{0};
  auto commitment = rnd::Commitment(additions, *seed, *design);
  if (!commitment) return std::unexpected(commitment.error());
  const auto added = static_cast<int64_t>(slots.size());
  auto x = store.ExtendLists(actor, *commitment, std::move(slots));
  if (!x) return std::unexpected(x.error());
  return added;
}

Result<RandomizationCheck> VerifyRandomization(store::TrialStore& store,
                                               const protocol::Protocol& protocol) {
  auto setup = store.RandomizationSetup();
  if (!setup) return std::unexpected(setup.error());
  if (!*setup) {
    return Fail(ErrorCode::kInvalidInput,
                "randomization is not live yet: nothing to verify ('trial randomization golive')");
  }
  const store::RandSetup& s = **setup;
  RandomizationCheck check;
  check.slots = static_cast<int64_t>(s.slots.size());
  check.extensions = static_cast<int64_t>(s.extensions.size());
  auto seed = rnd::SeedFromHex(s.seed_hex);
  if (!seed) {
    check.detail = "the stored seed is not 64 hex digits";
    return check;
  }
  auto design = CurrentDesign(store, protocol);
  if (!design) return std::unexpected(design.error());
  if (rnd::Describe(*design) != s.design) {
    check.detail = "the protocol's design (" + rnd::Describe(*design) +
                   ") differs from the one committed at go-live (" + s.design + ")";
    return check;
  }
  // The go-live commitment over the go-live slots (none under minimization).
  auto golive = rnd::Commitment(
      ListsOf(s.slots, [&](const store::RandSlot& x) { return x.audit_seq == s.audit_seq; }), *seed,
      *design);
  if (!golive) return std::unexpected(golive.error());
  if (*golive != s.commitment) {
    check.detail =
        "go-live commitment mismatch: recorded " + s.commitment + ", recomputed " + *golive;
    return check;
  }
  if (design->method == rnd::RandomizationMethod::kMinimization) {
    std::vector<store::RandSlot> drawn = s.slots;
    std::sort(drawn.begin(), drawn.end(),
              [](const auto& a, const auto& b) { return a.audit_seq < b.audit_seq; });
    std::vector<rnd::PriorAllocation> allocations;
    for (const auto& slot : drawn) {
      auto levels = rnd::ParseStratumKey(*design, slot.stratum);
      if (!levels) {
        check.detail = levels.error().message;
        return check;
      }
      allocations.push_back(rnd::PriorAllocation{*levels, ArmIndex(*design, slot.arm)});
    }
    rnd::Replay r = rnd::ReplayMinimization(*design, *seed, allocations);
    check.ok = r.ok;
    check.detail = r.detail;
    return check;
  }
  // Permuted blocks: every whole list against the seed, then each extension's commitment.
  rnd::Verification v =
      rnd::CheckAgainstSeed(ListsOf(s.slots, [](const auto&) { return true; }), *seed, *design);
  if (!v.ok) {
    check.detail = v.detail;
    return check;
  }
  for (const auto& x : s.extensions) {
    auto c = rnd::Commitment(
        ListsOf(s.slots,
                [&](const store::RandSlot& slot) { return slot.audit_seq == x.audit_seq; }),
        *seed, *design);
    if (!c) return std::unexpected(c.error());
    if (*c != x.commitment) {
      check.detail = "extension " + std::to_string(x.id) + " commitment mismatch: recorded " +
                     x.commitment + ", recomputed " + *c;
      return check;
    }
  }
  check.ok = true;
  return check;
}

Result<store::Allocation> Randomize(store::TrialStore& store, const protocol::Protocol& protocol,
                                    const std::string& actor, int64_t subject_id,
                                    const std::string& ild_at_baseline,
                                    const std::string& request_id) {
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  auto design = CurrentDesign(store, protocol);
  if (!design) return std::unexpected(design.error());
  rnd::Levels levels;
  for (const auto& f : protocol.randomization.factors) {
    if (f.from_sites) {
      levels.push_back((*subject)->site_id);
    } else if (f.name == "ild_at_baseline") {
      levels.push_back(ild_at_baseline);
    } else {
      return Fail(ErrorCode::kInvalidArgument, "stratum factor '" + f.name +
                                                   "' has no value here (only site and "
                                                   "ild_at_baseline are supported)");
    }
  }
  auto key = rnd::StratumKey(*design, levels);
  if (!key) return Fail(ErrorCode::kInvalidArgument, key.error().message);
  store::ArmChooser choose;
  if (design->method == rnd::RandomizationMethod::kMinimization) {
    choose = [d = *design, stratum = *key](const std::string& seed_hex,
                                           const std::vector<store::PriorArm>& prior,
                                           int64_t ordinal) {
      return ChooseByMinimization(d, seed_hex, prior, ordinal, stratum);
    };
  }
  return store.Randomize(actor, subject_id, *key, request_id, protocol.version,
                         protocol.kits.first_dose_visit, choose);
}

}  // namespace trial::service
