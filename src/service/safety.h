// Adverse events, SAE clocks and safety alerts (docs/safety.md): the use cases that join the
// protocol's safety.yaml (protocol::Safety) with what the store holds. The store (store.h,
// "adverse events, SAE reports, alerts, outbox") does the writing, the role checks and the
// auditing; this layer checks an AE against the protocol (term, grade, codes, seriousness) and
// against the subject's recorded consent date (form `consent`, item `consent_date`) and end of
// study (form `end_of_study`, item `last_date`), computes the SAE clocks, decides who may
// read what (service/access.h), and summarizes a subject's safety (SafetySummary: AEs, labs and
// prednisone from service/derived.h, alerts; read-only).
//
// Errors: kInvalidArgument for bad input (the message names the value and what is wrong),
// kInvalidInput for a request the data refuses (onset before consent, consent not recorded),
// kNotFound for an unknown subject, AE, alert or user; kIo from the store. On any error nothing
// is stored. kInvalidInput too when the protocol has no safety.yaml.
// No clock is read here: `now` is passed in. Nothing returns an arm.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/protocol.h"
#include "service/derived.h"
#include "store/store.h"

namespace trial::service {

// The protocol's safety data, or kInvalidInput "the protocol has no safety.yaml".
Result<const protocol::Safety*> SafetyOf(const protocol::Protocol& protocol);

// The seriousness answer as written ("no", or criteria "hospitalization,life_threatening"):
// the criteria (empty for "no"). kInvalidArgument for "yes" or an empty list (a serious AE
// needs a criterion), "no" with criteria, or an unknown criterion.
Result<std::vector<std::string>> ParseSeriousness(const protocol::Safety& safety,
                                                  const std::string& text);

// "YYYY-MM-DDTHH:MM" (UTC; seconds optional) as the store's instant form; kInvalidArgument
// naming `what` otherwise.
Result<std::string> ParseAwareness(const std::string& text, const std::string& what);

// Checks an AE version against the protocol: known term with the grade defined, free text
// exactly for "other, specify" terms, known relatedness, action and outcome codes, known
// criteria, awareness not before the onset day, and a grade 5 or a fatal outcome serious with
// the criterion "death" (and "death" only for those).
Result<void> CheckAdverseEvent(const protocol::Safety& safety, const store::AdverseEvent& ae);

// Records a new AE (ae.id 0) or a follow-up version (ae.id set, ae.reason given) after
// CheckAdverseEvent and the date checks: onset on or after the consent date (refused when no
// consent date is recorded) and on or before the end-of-study date when one is recorded.
Result<store::AdverseEvent> RecordAdverseEvent(store::TrialStore& store,
                                               const protocol::Protocol& protocol,
                                               const std::string& actor, store::AdverseEvent ae);
// Confirms a possible-AE alert, recording `ae` (checked as above) for the alert's subject.
Result<std::pair<store::AlertRecord, store::AdverseEvent>> ConfirmAlert(
    store::TrialStore& store, const protocol::Protocol& protocol, const std::string& actor,
    int64_t alert_id, store::AdverseEvent ae);

// Submits the initial or follow-up report ("initial" | "follow_up") of a serious AE, with its
// due time: initial = awareness + sae_initial_report_hours; follow-up = the initial report's
// submission + sae_follow_up.
Result<store::SaeReport> SubmitSaeReport(store::TrialStore& store,
                                         const protocol::Protocol& protocol,
                                         const std::string& actor, int64_t ae_id,
                                         const std::string& kind);

// One SAE clock: a report due for a serious AE.
struct SaeClock {
  int64_t ae_id = 0;
  int64_t subject_id = 0;
  std::string site;
  std::string kind;  // initial | follow_up
  std::string due_at;
  std::string submitted_at;  // "" while not submitted
  bool overdue = false;      // not submitted and now > due_at, or submitted after due_at
};
// Pure: the clocks of the serious AEs in `events` (current versions) given their `reports`, as
// of `now` (an instant). A report is on time up to and including its due instant.
std::vector<SaeClock> SaeClocks(const protocol::Safety& safety,
                                const std::vector<store::AdverseEvent>& events,
                                const std::vector<store::SaeReport>& reports,
                                const std::string& now);

// What `trial alerts` shows: open (and acknowledged) alerts and the SAE reports not yet
// submitted, of `site` or every site the reader may see.
struct SafetyBoard {
  std::vector<store::AlertRecord> alerts;  // by id
  std::vector<SaeClock> pending;           // reports not yet submitted, overdue first, by due
};
Result<SafetyBoard> SafetyAlerts(store::TrialStore& store, const protocol::Protocol& protocol,
                                 const std::string& actor, const std::optional<std::string>& site,
                                 const std::string& now);

// The current version of the AEs of a subject or site (or every site the reader may see).
// Site-scoped roles read their sites only.
Result<std::vector<store::AdverseEvent>> ListAdverseEvents(store::TrialStore& store,
                                                           const std::string& actor,
                                                           const std::optional<int64_t>& subject_id,
                                                           const std::optional<std::string>& site);
// Every version of one AE (oldest first) with its SAE reports.
struct AdverseEventDetail {
  std::vector<store::AdverseEvent> versions;
  std::vector<store::SaeReport> reports;
};
Result<AdverseEventDetail> ShowAdverseEvent(store::TrialStore& store, const std::string& actor,
                                            int64_t id);

// Turns the safety signals of the subject's stored eCRF data (service::SafetySignals: a lab at
// or above the possible-AE grade, a respiratory-failure sample, on-study RP-ILD) into alerts
// (TrialStore::RaiseAlerts, as `actor`): those of `visit`, or of every visit when nullopt. A
// signal whose key the subject already has raises nothing, so running it again is harmless
// (data entry runs it after each save; `trial alert scan` re-runs it). Returns the alerts
// raised. Errors: those of LoadOutcomeData, SafetySignals and RaiseAlerts; a visit without data
// raises nothing.
Result<std::vector<store::AlertRecord>> RaiseSignalAlerts(store::TrialStore& store,
                                                          const protocol::Protocol& protocol,
                                                          const std::string& actor,
                                                          int64_t subject_id,
                                                          const std::optional<std::string>& visit);

// True for a subject that has been randomized (randomized, completed, withdrawn, lost to
// follow-up): the subjects `trial alert scan --site` and `trial ae summary --site` cover.
bool HasBeenRandomized(store::SubjectStatus status);

// ---- safety summaries per subject (issue 6 item 5, docs/safety.md "Safety summaries") ----

// An AE of an infection term (safety.yaml category `infection`), as its current version says.
struct InfectionEvent {
  int64_t ae_id = 0;
  std::string term;        // term id
  std::string name;        // term name
  std::string other_text;  // "other, specify" terms
  int grade = 0;
  Date onset;
  std::vector<std::string> seriousness;  // empty: not serious
};

// The counts a summary and a site total share.
struct SafetyCounts {
  int adverse_events = 0;         // current versions
  std::array<int, 5> by_grade{};  // AEs by the grade of their current version (index grade - 1)
  int serious = 0;
  // Serious AEs by criterion, every criterion of safety.yaml in its order (an AE with two
  // criteria counts under both).
  std::vector<std::pair<std::string, int>> by_seriousness;
  int related = 0;     // relatedness in safety.yaml counted_as_related
  int infections = 0;  // AEs of category infection
  // Lab terms by their worst CTCAE grade after day 0 (index grade - 1; grade 0 is not counted).
  std::array<int, 5> labs_by_worst_grade{};
  int open_alerts = 0;
  int sae_reports_due = 0;
  int sae_reports_overdue = 0;
};

// One subject's safety summary. Blinded: nothing here names an arm.
struct SubjectSafetySummary {
  int64_t subject_id = 0;
  std::string site;
  std::string screening_number;
  std::string status;  // StatusName
  SafetyCounts counts;
  int worst_grade = 0;                     // of the AEs; 0 when none
  std::vector<InfectionEvent> infections;  // by AE id
  // Lab abnormalities after day 0: each term with a worst grade >= 1 (DeriveOutcomes lab_worst),
  // with the first visit at that grade.
  std::vector<LabWorst> labs;
  std::vector<PrednisoneAtVisit> prednisone;    // DeriveOutcomes, every visit with a glucocorticoid
  std::vector<store::AlertRecord> open_alerts;  // open or acknowledged, by id
  std::vector<SaeClock> sae_reports_due;        // not yet submitted, overdue first
  // What could not be derived: no baseline-visit data, no lab value after day 0, a lab value
  // that could not be graded ("W2 alt_increased: unknown: ...").
  std::vector<std::string> notes;
};

// The summary of one subject as of `now` (an instant; it judges the SAE clocks): AEs as in
// ListAdverseEvents, labs and prednisone from LoadOutcomeData + DeriveOutcomes (nothing derived,
// with a note, while the subject has no data at the baseline visit), alerts and reports as in
// SafetyAlerts. Errors: kNotFound for an unknown subject or user; kInvalidArgument when `actor`
// may not see the subject's site; kInvalidInput when the protocol has no safety.yaml or outcome
// sources; those of DeriveOutcomes. Reads only.
Result<SubjectSafetySummary> SafetySummary(store::TrialStore& store,
                                           const protocol::Protocol& protocol,
                                           const std::string& actor, int64_t subject_id,
                                           const std::string& now);

// The summaries of the subjects of `site` that have been randomized (HasBeenRandomized), by
// subject id, and their totals (counts summed; worst grades of lab terms counted per subject
// and term). Errors: those of SafetySummary; kInvalidArgument when `actor` may not see `site`,
// kNotFound for an unknown site.
struct SiteSafetySummary {
  std::string site;
  std::vector<SubjectSafetySummary> subjects;
  SafetyCounts totals;
};
Result<SiteSafetySummary> SiteSafety(store::TrialStore& store, const protocol::Protocol& protocol,
                                     const std::string& actor, const std::string& site,
                                     const std::string& now);

// The notifications (queued and delivered, oldest first) for an administrator, who runs the
// outbox delivery; kInvalidArgument for any other role.
Result<std::vector<store::Notification>> Outbox(store::TrialStore& store, const std::string& actor);

}  // namespace trial::service
