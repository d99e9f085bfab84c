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

// Builds the design from protocol.randomization and `sites`, generates one list per stratum
// (site x the other factors' values) of at least protocol.target_enrollment entries, computes
// the commitment and records everything with store.GoLive as `actor`. Returns the commitment.
Result<std::string> GoLive(store::TrialStore& store, const protocol::Protocol& protocol,
                           const std::vector<std::string>& sites, const std::string& actor,
                           const randomization::Seed& seed);

struct RandomizationCheck {
  bool ok = false;
  int64_t slots = 0;
  std::string detail;  // when !ok: the first mismatch, one line
};

// Recomputes the stored lists from the stored seed and the protocol's design (over the sites the
// lists were generated for) and checks them and the commitment (randomization::Verify).
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
