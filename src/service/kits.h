// Drug kits (docs/kits.md): the use cases that need the protocol (the arms and their ratio, the
// kit supply parameters of kits.yaml) or that blind what they return by the reader's role. The
// store (store.h, "drug kits") does the writing, the checks and the auditing.
//
// Kit numbers come from the randomization module's generator (randomization/random.h) seeded by
// the caller, so that a test or an audit can reproduce a batch from its seed.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "protocol/protocol.h"
#include "randomization/random.h"
#include "store/store.h"

namespace trial::service {

// Generates `count` kits at the depot with `lot` and `expiry`: the arms in the protocol's ratio
// (`count` must be a positive multiple of the ratio sum, at most 10000), kit numbers of
// protocol.kits.kit_number_digits digits drawn uniformly from Random(seed) and unused so far, and
// the arms shuffled (Fisher-Yates) by the same generator, so that neither a number nor the order
// of numbers says anything about a kit's arm. kInvalidArgument for a bad count, kInvalidInput
// when the numbers are running out (more than half of them in use); the store's errors otherwise.
Result<std::vector<store::Kit>> GenerateKits(store::TrialStore& store,
                                             const protocol::Protocol& protocol,
                                             const std::string& actor, int count,
                                             const std::string& lot, Date expiry,
                                             const randomization::Seed& seed);

// Ships `count` depot kits to `site`, split between the arms in the protocol's ratio (`count` a
// positive multiple of the ratio sum), earliest expiry first (store::TrialStore::ShipKits).
Result<store::Shipment> ShipKitCount(store::TrialStore& store, const protocol::Protocol& protocol,
                                     const std::string& actor, const std::string& site, int count);

// Kits as `actor` may see them: `arms_shown` is store::SeesArms(role); without it every kit's arm
// is empty.
struct KitListing {
  bool arms_shown = false;
  std::vector<store::Kit> kits;  // by number
};
// The kits at `site`, or, without one, every kit the actor may see: all (the depot's too) for
// roles not tied to sites, the kits at their own sites for site-scoped roles. kNotFound for an
// unknown user or site; kInvalidArgument when a site-scoped user asks for another site.
Result<KitListing> ListKits(store::TrialStore& store, const std::string& actor,
                            const std::optional<std::string>& site);

// The low-stock signal (docs/kits.md). For each arm: `needed` = the doses of the site's
// randomized subjects not yet dispensed whose due day (allocation date + a dose day) falls in
// [on, on + horizon_days], plus buffer_per_arm; `available` = the kits at the site that are
// available (received, not quarantined, damaged or dispensed) and expire after on + horizon_days.
struct ArmStock {
  std::string arm;
  int available = 0;
  int needed = 0;
};
struct SiteStock {
  std::string site;
  int available = 0;           // over all arms
  bool low = false;            // some arm has fewer available than needed
  std::vector<ArmStock> arms;  // in the protocol's arm order; empty for blinded readers
};
// Pure: the stock of `site` on `on` from `snapshot` (kits and subjects of any sites), with arms.
SiteStock StockOf(const protocol::Protocol& protocol, const std::string& site, Date on,
                  const store::SupplySnapshot& snapshot);

struct StockReport {
  bool arms_shown = false;
  std::vector<SiteStock> sites;  // by site id
};
// The stock of `site`, or of every site the actor may see (as ListKits), on `on`; per-arm counts
// only for roles that store::SeesArms. Errors as ListKits.
Result<StockReport> KitStock(store::TrialStore& store, const protocol::Protocol& protocol,
                             const std::string& actor, Date on,
                             const std::optional<std::string>& site);

}  // namespace trial::service
