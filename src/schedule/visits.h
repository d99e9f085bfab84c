// The visit plan of one subject and the status of each visit: pure functions of the protocol's
// schedule (protocol::Schedule, from schedule.yaml), the subject's day 0, the recorded visits and
// the date of "today", which the caller passes in (no clock is read). Deviations are returned as
// values; persisting them is the store's job. Rules and examples: docs/schedule.md.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "protocol/protocol.h"

namespace trial::schedule {

// One planned visit on the calendar: its target date and window [earliest, latest], both ends
// included.
struct PlannedVisit {
  std::string visit_id;
  std::string name;
  int day = 0;  // relative to day 0
  Date target;
  Date earliest;
  Date latest;
  bool dose = false;    // a dose is given at this visit
  int dose_number = 0;  // 1.. when `dose`
};

struct VisitPlan {
  Date day0;                         // randomization and first dose
  std::vector<PlannedVisit> visits;  // in the schedule's (day) order

  // The planned visit `id`, or nullptr.
  const PlannedVisit* Find(std::string_view id) const;
};

// The calendar of every planned visit for a subject whose day 0 is `day0`: day d is
// day0 + d days (civil dates, so month ends and 29 February need no special case).
VisitPlan PlanVisits(const protocol::Schedule& schedule, Date day0);

// What was recorded for a visit: done on a date, or explicitly missed.
struct VisitRecord {
  std::string visit_id;      // a planned visit's id, or the schedule's unscheduled id
  std::optional<Date> date;  // the day it was done; empty for a missed record
  bool missed = false;       // an explicit "missed" record (then no date)
  std::string reason = {};   // why it was missed (free text), for the deviation
};

// Persisted later: fixed values.
enum class VisitStatus : uint8_t {
  kUpcoming = 0,         // today is before the window
  kDue = 1,              // today is inside the window, not done
  kOverdue = 2,          // the window has passed, not done, still recordable (grace)
  kDoneInWindow = 3,     // done on a day inside the window
  kDoneOutOfWindow = 4,  // done before or after the window
  kMissed = 5,           // recorded as missed, or not done by window end + grace
};
const char* VisitStatusName(VisitStatus s);  // "upcoming", "due", ..., "missed"

struct VisitState {
  PlannedVisit visit;
  VisitStatus status = VisitStatus::kUpcoming;
  std::optional<Date> done_on;
  int days_outside = 0;  // kDoneOutOfWindow: < 0 days before earliest, > 0 days after latest
};

// Persisted later: fixed values.
enum class DeviationKind : uint8_t {
  kVisitOutOfWindow = 1,  // a visit done outside its window
  kVisitMissed = 2,       // a visit missed
  kDoseMissed = 3,        // a dosing visit missed (reported with kVisitMissed)
};
const char* DeviationKindName(DeviationKind k);  // "visit_out_of_window", ...

struct Deviation {
  DeviationKind kind = DeviationKind::kVisitMissed;
  std::string visit_id;
  Date date;                // the day the visit was done (out of window), else its target date
  int days_outside = 0;     // out of window: as VisitState::days_outside
  std::string description;  // one line for people
};

struct VisitReport {
  std::vector<VisitState> visits;     // one per planned visit, in plan order
  std::vector<Date> unscheduled;      // dates of unscheduled visits, ascending
  std::vector<Deviation> deviations;  // in plan order; a missed dose after its missed visit
};

// The status of every planned visit on `today`, and the deviations so far. A visit becomes
// missed when it has no record and today is after latest + schedule.missed_grace_days.
// Fails with kInvalidArgument (naming the record) when a record names no planned visit (nor the
// unscheduled id while unscheduled visits are allowed), when a planned visit has two records,
// when a record is neither done (date) nor missed or is both, when a date is after `today`, or
// when an unscheduled visit is dated before day 0. Nothing is returned on failure.
Result<VisitReport> EvaluateVisits(const protocol::Schedule& schedule, const VisitPlan& plan,
                                   const std::vector<VisitRecord>& records, Date today);

}  // namespace trial::schedule
