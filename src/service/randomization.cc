#include "service/randomization.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "randomization/blocks.h"
#include "randomization/commitment.h"

namespace trial::service {

namespace {

namespace rnd = trial::randomization;

// The value of factor `name` in stratum key "a=x,b=y"; "" when absent.
std::string ValueIn(const std::string& key, const std::string& name) {
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, ',');) {
    size_t eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return "";
}

const protocol::StratumFactor* SiteFactor(const protocol::Protocol& p) {
  for (const auto& f : p.randomization.factors) {
    if (f.from_sites) return &f;
  }
  return nullptr;
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
  if (design->method != rnd::RandomizationMethod::kPermutedBlocks) {
    return Fail(ErrorCode::kInvalidInput,
                "go-live with allocation lists needs method permuted_blocks (minimization is "
                "allocated at run time and not built yet)");
  }
  const int length = std::max(protocol.target_enrollment, 1);
  std::vector<rnd::AllocationList> lists = rnd::GenerateAll(*design, seed, length);
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
  auto seed = rnd::SeedFromHex(s.seed_hex);
  if (!seed) {
    check.detail = "the stored seed is not 64 hex digits";
    return check;
  }
  // The sites the lists were made for: the store's sites (ordered by id, as at go-live) that
  // appear in a stratum key.
  std::vector<std::string> sites;
  if (const auto* f = SiteFactor(protocol)) {
    std::set<std::string> in_lists;
    for (const auto& slot : s.slots) in_lists.insert(ValueIn(slot.stratum, f->name));
    auto all = store.Sites();
    if (!all) return std::unexpected(all.error());
    for (const auto& site : *all) {
      if (in_lists.count(site.id)) sites.push_back(site.id);
    }
  }
  auto design = rnd::FromProtocol(protocol, sites);
  if (!design) return std::unexpected(design.error());
  if (rnd::Describe(*design) != s.design) {
    check.detail = "the protocol's design (" + rnd::Describe(*design) +
                   ") differs from the one committed at go-live (" + s.design + ")";
    return check;
  }
  std::map<std::string, rnd::AllocationList> by_stratum;
  for (const auto& slot : s.slots) {
    auto& list = by_stratum[slot.stratum];
    list.stratum = slot.stratum;
    list.entries.push_back(
        rnd::Entry{slot.stratum, slot.position, slot.block, slot.block_size, slot.arm});
    list.blocks = std::max(list.blocks, slot.block);
  }
  std::vector<rnd::AllocationList> lists;
  for (auto& [key, list] : by_stratum) lists.push_back(std::move(list));
  rnd::Verification v = rnd::Verify(s.commitment, lists, *seed, *design);
  check.ok = v.ok;
  check.detail = v.detail;
  return check;
}

Result<store::Allocation> Randomize(store::TrialStore& store, const protocol::Protocol& protocol,
                                    const std::string& actor, int64_t subject_id,
                                    const std::string& ild_at_baseline,
                                    const std::string& request_id) {
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  auto sites = store.Sites();
  if (!sites) return std::unexpected(sites.error());
  std::vector<std::string> site_ids;
  for (const auto& s : *sites) site_ids.push_back(s.id);
  auto design = rnd::FromProtocol(protocol, site_ids);
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
  return store.Randomize(actor, subject_id, *key, request_id, protocol.version,
                         protocol.kits.first_dose_visit);
}

}  // namespace trial::service
