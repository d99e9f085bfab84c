// Respiratory endpoints (docs/outcomes.md): time to the first respiratory failure or death, and
// the change from baseline at week 8 in FVC % predicted, DLCO % predicted, P/F ratio and HRCT
// extent. Respiratory-failure events come from safety::DetectRespiratoryFailure.
//
// Pure functions: dates are passed in. Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>

#include "core/date.h"
#include "core/error.h"
#include "core/rational.h"
#include "protocol/protocol.h"

namespace trial::outcomes {

struct TimeToEvent {
  int days = 0;        // from day 0
  bool event = false;  // false: censored at `days`
  std::string kind;    // "respiratory failure", "death", "respiratory failure and death",
                       // "censored"
  std::string explanation;
};

// Time from day 0 to the first respiratory failure or death, whichever is first (same day: both).
// An event after Outcomes::respiratory.follow_up_days is not counted. Without an event the time
// is censored at the last assessment, and at follow_up_days at the latest. Fails with
// kInvalidInput when a date is before day 0.
Result<TimeToEvent> TimeToRespiratoryFailureOrDeath(const protocol::Outcomes& o, Date day0,
                                                    std::optional<Date> first_failure,
                                                    std::optional<Date> death,
                                                    Date last_assessment);

// Lung function and imaging at one assessment; any part may be missing.
struct LungAssessment {
  std::optional<ExactQuantity> fvc_percent;   // FVC % predicted
  std::optional<ExactQuantity> dlco_percent;  // DLCO % predicted
  std::optional<ExactQuantity> pao2;          // mm[Hg] or kPa; with fio2 gives the P/F ratio
  std::optional<ExactQuantity> fio2;          // % or a fraction
  std::optional<ExactQuantity> hrct_extent;   // % of lung fields
};

struct ChangeFromBaseline {
  std::string measure;  // fvc_percent, dlco_percent, pf_ratio, hrct_extent
  std::optional<Rational> baseline, week8, change;  // change = week 8 - baseline
  std::string missing;  // "baseline", "week 8" or "baseline and week 8" when change is unset
};

struct RespiratoryChanges {
  ChangeFromBaseline fvc, dlco, pf, hrct;  // % points, % points, mm[Hg], % points
};

// Changes from baseline (day 0) to week 8. Fails with kType/kInvalidInput on bad units or
// out-of-range values (percentages 0-200 % predicted, extent 0-100 %, FiO2 21-100 %).
Result<RespiratoryChanges> RespiratoryChangesAtWeek8(const LungAssessment& baseline,
                                                     const LungAssessment& week8);

}  // namespace trial::outcomes
