// Store-backed randomization (docs/randomization.md): go-live, verification and allocation. The
// engine (randomization/) generates the lists and the commitment; the store persists and
// allocates them in audited transactions. Nothing here ever returns an arm except through the
// store's unblinded paths (EmergencyUnblind, ArmOf).
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/protocol.h"
#include "randomization/design.h"
#include "randomization/random.h"
#include "store/store.h"

namespace trial::service {

// Builds the design from protocol.randomization and `sites` and records the go-live with
// store.GoLive as `actor`. Permuted blocks: one list per stratum (site x the other factors'
// values) of at least protocol.target_enrollment entries, committed. Minimization: no lists; the
// commitment covers the seed and the design, from which every allocation is replayable.
// Returns the commitment.
Result<std::string> GoLive(store::TrialStore& store, const protocol::Protocol& protocol,
                           const std::vector<std::string>& sites, const std::string& actor,
                           const randomization::Seed& seed);

// Extends the lists after go-live (permuted blocks only): every stratum of the current design
// (the store's sites now, so a site added after go-live gets its lists) whose unused slots are
// fewer than `min_free` gets whole new blocks, continuing its sequence from the seed, until it
// has at least `min_free`; or only `stratum` when it is not empty. Records one
// store.ExtendLists. Returns the number of slots added (0: nothing needed, nothing recorded).
Result<int64_t> ExtendLists(store::TrialStore& store, const protocol::Protocol& protocol,
                            const std::string& actor, int min_free, const std::string& stratum);

struct RandomizationCheck {
  bool ok = false;
  int64_t slots = 0;
  int64_t extensions = 0;
  std::string detail;  // when !ok: the first mismatch, one line
};

// Recomputes everything from the stored seed and the protocol's design and checks it: the
// design text; permuted blocks: every stratum's whole list against the seed, the go-live
// commitment over the go-live slots and each extension's commitment over its slots;
// minimization: the go-live commitment and a replay of every allocation in allocation order.
// kInvalidInput when randomization is not live.
Result<RandomizationCheck> VerifyRandomization(store::TrialStore& store,
                                               const protocol::Protocol& protocol);

// Randomizes `subject_id`: the stratum is the subject's site and `ild_at_baseline` (in the
// design's factor order, design.h StratumKey). Returns the allocation (never the arm) with the
// kit of protocol.kits.first_dose_visit when the trial uses kits (store.h Randomize).
Result<store::Allocation> Randomize(store::TrialStore& store, const protocol::Protocol& protocol,
                                    const std::string& actor, int64_t subject_id,
                                    const std::string& ild_at_baseline,
                                    const std::string& request_id);

}  // namespace trial::service
