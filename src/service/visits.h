// Visits and dosing of randomized subjects (docs/schedule.md), and the reading of queries
// (docs/queries.md): the use cases that join the protocol's schedule (schedule/ engine) with what
// the store holds. The store (store.h, "visits, doses ...") does the writing, the role checks and
// the auditing; deviations the schedule engine finds are written in the same transaction as the
// visit or dose that reveals them.
//
// Data conventions shared with the eCRF (item values are text, RecordItem):
//   quantities "<number> <UCUM unit>" ("62.5 kg", "0.9 10*9/L", "45 U/L"), dates YYYY-MM-DD;
//   the dosing weight: DosingWeightItem() (form `weight`, item `weight`);
//   safety labs: form `safety_labs`, items anc, platelets, alt, ast, alt_uln, ast_uln and
//   collected_on (the visit's date when absent).
// Nothing here reads a clock: "today" is passed in. Nothing returns an arm: the dose plan is the
// same for placebo, and kits are named by number only.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "core/quantity.h"
#include "protocol/protocol.h"
#include "schedule/dose.h"
#include "schedule/holds.h"
#include "schedule/visits.h"
#include "store/store.h"

namespace trial::service {

// Where an eCRF value lives.
struct ItemRef {
  std::string form;
  std::string item;
};
// The weight used for dosing. The one place that names it: a later merge may move it to
// vital_signs.weight.
ItemRef DosingWeightItem();

// A stored quantity: "<number> <UCUM unit>", the number optionally after <, <=, > or >=
// ("<0.5 10*9/L"). kInvalidArgument naming the text otherwise.
Result<Quantity> ParseQuantityText(const std::string& text);

// The visits of one subject as of `as_of`.
struct VisitOverview {
  int64_t subject_id = 0;
  Date day0;  // the allocation date
  Date as_of;
  schedule::VisitReport report;  // planned visits from day 0 on, with statuses and deviations
  std::vector<store::VisitEntry> recorded;
  std::vector<store::DoseEntry> doses;
  std::vector<store::DeviationRecord> deviations;  // as recorded in the store
};
// kNotFound for an unknown user or subject; kInvalidArgument when a site-scoped user does not work
// at the subject's site; kInvalidInput when the subject is not randomized or the protocol has no
// schedule.
Result<VisitOverview> ListVisits(store::TrialStore& store, const protocol::Protocol& protocol,
                                 const std::string& actor, int64_t subject_id, Date as_of);

struct VisitRequest {
  int64_t subject_id = 0;
  std::string visit;  // a planned visit after day 0, or the unscheduled id (UNS)
  std::optional<Date> date;
  bool missed = false;
  std::string reason;  // for a missed visit
};
// Records a visit and, in the same transaction, every deviation the schedule engine finds as of
// `today` that is not yet recorded (out of window, missed visits and their doses). Errors: the
// engine's (unknown visit, twice, a date after today) as kInvalidArgument, then the store's.
Result<store::WithDeviations<store::VisitEntry>> RecordVisit(store::TrialStore& store,
                                                             const protocol::Protocol& protocol,
                                                             const std::string& actor,
                                                             const VisitRequest& request,
                                                             Date today);

// What to give at a dosing visit on `date`, and why.
struct DoseAdvice {
  int64_t subject_id = 0;
  std::string visit;
  Date date;
  int dose_number = 0;
  schedule::DoseVerdict verdict;  // the hold rules on the labs and the earlier decisions
  // proceed -> the full dose, reduce -> the reduced dose; hold -> the dose an override would give
  // (the reduced dose); unknown and discontinue -> none.
  std::optional<schedule::DosePlan> plan;
  std::optional<schedule::WeightMeasurement> weight;  // the weight the plan uses
  std::string kit_number;  // the kit to use ("" when none is available at the site)
  std::optional<store::DoseEntry> recorded;  // when the dose of this visit is already recorded
  std::vector<std::string> notes;  // data that could not be used (a value without a date, ...)
};
// kInvalidArgument when `visit` is not a dosing visit of the protocol (dose_count applies);
// kNotFound when no weight is recorded on or before the date the dosing basis needs; as
// ListVisits otherwise.
Result<DoseAdvice> PlanDose(store::TrialStore& store, const protocol::Protocol& protocol,
                            const std::string& actor, int64_t subject_id, const std::string& visit,
                            Date date);

// Records the dose PlanDose advises (store.RecordDose): the full or reduced dose, or against a
// hold with `override_reason` (the reduced dose, and a `dose_against_hold` deviation in the same
// transaction). Refused: after a discontinue verdict, while labs are unknown, against a hold
// without a reason.
Result<store::WithDeviations<store::DoseEntry>> RecordDose(
    store::TrialStore& store, const protocol::Protocol& protocol, const std::string& actor,
    int64_t subject_id, const std::string& visit, Date date, const std::string& override_reason,
    Date today);
// Records that the dose of a visit was withheld as the hold rules say (hold or discontinue), so
// that later decisions know it (resumption at the reduced dose, a final discontinuation).
Result<store::WithDeviations<store::DoseEntry>> WithholdDose(
    store::TrialStore& store, const protocol::Protocol& protocol, const std::string& actor,
    int64_t subject_id, const std::string& visit, Date date, Date today);

// The recorded deviations of a subject, of a site, or of every site `actor` may see, by id.
// Errors as ListQueries.
Result<std::vector<store::DeviationRecord>> ListDeviations(store::TrialStore& store,
                                                           const std::string& actor,
                                                           std::optional<int64_t> subject_id,
                                                           std::optional<std::string> site);

// Queries as `actor` may see them (site-scoped roles: their sites), with counts of the open ones.
struct QueryListing {
  std::vector<store::QueryRecord> queries;  // those the filter selects, by id
  // Open queries (status open) over every query the actor may see, whatever the status filter.
  std::map<int64_t, int> open_by_subject;
  std::map<std::string, int> open_by_site;
  std::map<std::string, int> open_by_form;
};
// kNotFound for an unknown user; kInvalidArgument for a status other than open, answered or
// closed, or a site (or subject's site) the user may not see.
Result<QueryListing> ListQueries(store::TrialStore& store, const std::string& actor,
                                 const store::QueryFilter& filter);

}  // namespace trial::service
