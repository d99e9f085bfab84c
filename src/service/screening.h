// Use cases that span the engines and the store (ARCHITECTURE.md §4: service/). Each runs the
// domain engine, then stores its result in one audited store transaction.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <string>

#include "core/date.h"
#include "core/error.h"
#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "store/store.h"

namespace trial::service {

struct ScreeningOutcome {
  eligibility::Screening screening;  // the 26 results and the verdict
  std::string json;                  // the profile's JSON of it (what is stored)
  store::ScreeningRecord saved;      // set when saved
  store::SubjectStatus status_after = store::SubjectStatus::kScreening;
};

// Reads `bundle_json` (named `source` in messages), evaluates every criterion for
// S = `screening`, R = `randomization` and, when `store` is given, stores the evaluation for
// `subject_id` as `actor` (moving its status: eligible or screen_failed). Errors: the reader's and
// the engine's ("SOURCE: what is wrong"), then the store's (unknown subject, forbidden status,
// database); nothing is stored on any error.
Result<ScreeningOutcome> ScreenSubject(const protocol::Protocol& protocol, store::TrialStore* store,
                                       const std::string& actor, int64_t subject_id,
                                       const std::string& source, const std::string& bundle_json,
                                       Date screening, Date randomization);

}  // namespace trial::service
