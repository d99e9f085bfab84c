// The audit trail as a user may read it (docs/audit.md, ARCHITECTURE.md §6). Events hold arm ids
// where the system records an unblinding, a minimization draw or a kit's content; for every role
// not unblinded by design (store::SeesArms) those values are replaced by "<blinded>" before the
// events leave the service layer. The stored events and their hashes are never changed: an
// unblinded role, or `trial audit verify`, sees and checks the originals.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "store/store.h"

namespace trial::service {

// The JSON keys whose values reveal an arm or name the arms, wherever they appear in an event's
// old or new value.
bool IsArmKey(std::string_view key);

// `event` with every arm-revealing value of its old and new value replaced by "<blinded>".
store::AuditEvent Redact(store::AuditEvent event);

// The events `filter` selects, as `actor` may see them. kNotFound for an unknown actor.
Result<std::vector<store::AuditEvent>> AuditTrail(store::TrialStore& store,
                                                  const std::string& actor,
                                                  const store::AuditFilter& filter);

}  // namespace trial::service
