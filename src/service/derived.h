// Outcome and safety derivations from a subject's eCRF data (docs/outcomes.md "Derivations"):
// the eCRF items named by outcomes.yaml `sources` are read from ecrf::SubjectData, turned into the
// inputs of the pure engines (outcomes/tis.h, outcomes/respiratory.h, safety/ctcae.h,
// safety/respiratory.h) and the results are returned with every input used (visit, item,
// value, unit). Baseline is the baseline visit (D0); a measure missing there is taken from the
// latest visit before it when the parameter baseline_missing_d0 says "latest_before"
// (Q-OUTCOME-BASELINE).
//
// DeriveOutcomes and SafetySignals are pure functions of the protocol and the data (no I/O, no
// clock). LoadOutcomeData reads the store (one subject, as `actor`, blinded: no arm is read or
// returned); ParseOutcomeInput builds the same SubjectData from a JSON file, validating each
// value exactly as data entry does. Thread-safety: plain functions of their arguments; a
// Protocol may be shared; a TrialStore is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "core/rational.h"
#include "ecrf/ecrf.h"
#include "outcomes/respiratory.h"
#include "outcomes/tis.h"
#include "protocol/protocol.h"
#include "safety/ctcae.h"
#include "safety/respiratory.h"
#include "store/store.h"

namespace trial::service {

// One eCRF value a derivation used.
struct DerivationInput {
  std::string visit;  // the visit it was recorded at ("D0", "SCR" for a screening fallback)
  std::string item;   // "physician_global.vas", "derived.mmt8_total_150"
  int repeat = 0;     // the instance of a repeating form
  std::string value;  // as stored (normalized): "3 cm", "130", "2026-07-13"
  std::string unit;   // "cm"; "" for a number, date or code
};

// The TIS, the IMACS improvement and the worsening of one post-baseline visit that has a core
// set assessment (a value of at least one of the five non-enzyme measures).
struct TisAtVisit {
  std::string visit;
  outcomes::TisScore tis;
  outcomes::ImacsResult imacs;
  std::vector<DerivationInput> inputs;  // baseline's and the visit's
};

// One lab value graded with CTCAE. `grade` is nullopt when it cannot be graded (a reference
// range the criteria need is missing): `problem` says why.
struct LabAtVisit {
  std::string visit;
  std::optional<Date> date;  // the sample's date, else the visit date
  std::string term_id;
  std::optional<safety::LabGrade> grade;
  std::string problem;
  std::vector<DerivationInput> inputs;  // value, ULN/LLN, baseline
};

// The worst grade of a term over the post-baseline visits.
struct LabWorst {
  std::string term_id;
  std::string term;
  int grade = 0;
  std::string visit;  // the first visit with that grade
};

// One oxygenation sample (PaO2 with its FiO2, or SpO2 with its FiO2).
struct OxygenationAtVisit {
  std::string visit;
  safety::OxygenationSample sample;
  std::string source;  // "abg.pao2", "vital_signs.spo2"
  std::vector<DerivationInput> inputs;
};

struct PfAtVisit {
  std::string visit;
  safety::PfPoint point;
  std::vector<DerivationInput> inputs;
};

struct FailureAtVisit {
  std::string visit;
  std::string source;  // "abg.pao2", "vital_signs.spo2"
  safety::RespiratoryFailureEvent event;
  std::vector<DerivationInput> inputs;
};

// The prednisone-equivalent daily dose at one visit: the sum over the glucocorticoids recorded.
// `total` is nullopt (unknown) when a glucocorticoid's equivalent is unknown (`unknown` names it).
struct PrednisoneAtVisit {
  std::string visit;
  std::optional<Rational> total_mg_per_day;
  std::vector<std::string> unknown;  // "medications #1"
  std::vector<DerivationInput> inputs;
};

struct Derivations {
  std::string baseline_visit;  // D0
  std::optional<Date> day0;    // the baseline visit's date
  std::string baseline_rule;   // the rule for a measure missing at D0, in words
  std::vector<TisAtVisit> tis;
  outcomes::WorseningResult worsening;
  std::vector<LabAtVisit> labs;  // every lab value at every visit, in visit then term order
  std::vector<LabWorst> lab_worst;
  std::vector<PfAtVisit> pf;  // after day 0
  std::optional<PfAtVisit> pf_baseline;
  std::vector<FailureAtVisit> respiratory_failures;
  std::optional<safety::RpIldDetection> rp_ild;  // nullopt without a day-0 date
  std::vector<DerivationInput> rp_ild_inputs;    // onsets, oxygen, stays, diagnoses, FVC, HRCT
  std::optional<outcomes::TimeToEvent> time_to_failure_or_death;
  std::vector<DerivationInput> time_inputs;
  std::string week8_visit;
  std::optional<outcomes::RespiratoryChanges> week8;  // nullopt without a day-0 date
  std::vector<DerivationInput> week8_inputs;
  std::vector<PrednisoneAtVisit> prednisone;
  // What could not be derived and why ("no date for D0: respiratory derivations unknown").
  std::vector<std::string> notes;
};

// Derives everything of `data`. Fails with kInvalidInput when the protocol has no outcomes,
// forms or `sources`, when the baseline visit is absent from `data`, and with the engines'
// errors (a value out of an engine's range) prefixed with the visit. Missing data is not an
// error: the derivation is unknown and names what is missing.
Result<Derivations> DeriveOutcomes(const protocol::Protocol& p, const ecrf::SubjectData& data);

// A safety signal of one visit, for the caller to turn into an alert. `key` is stable across
// runs: "SUBJECT/VISIT/KIND/TERM".
struct SafetySignal {
  std::string key;
  std::string subject;
  std::string visit;
  std::string kind;  // "possible_ae", "respiratory_failure", "rp_ild"
  std::string term;  // the CTCAE term id; the sample's item (abg.pao2); "rp_ild"
  std::string text;  // what triggered it, with the values
};

// The signals of visit `visit` of `data`: a lab graded at or above ae_grade_min (possible AE),
// a respiratory-failure sample recorded at the visit, and on-study RP-ILD first detected with
// the data up to this visit. None for a visit before the baseline visit (D0): screening values
// are baseline data, not on-study signals. Same errors as DeriveOutcomes; kNotFound when `visit`
// is not in `data`.
Result<std::vector<SafetySignal>> SafetySignals(const protocol::Protocol& p,
                                                const ecrf::SubjectData& data,
                                                const std::string& subject,
                                                const std::string& visit);

// The subject's stored eCRF data, every visit (service::LoadSubjectData), with the baseline
// visit's date taken from day 0 of the store when the eCRF has none. Fails with kNotFound for an
// unknown subject or user, kInvalidArgument when `actor` may not see the subject's site.
Result<ecrf::SubjectData> LoadOutcomeData(store::TrialStore& store, const protocol::Protocol& p,
                                          const std::string& actor, int64_t subject_id);

// Parses an --input file (docs/outcomes.md "Input file"):
//   {"visits": [{"visit": "D0", "date": "2026-07-13",
//                "items": [{"form": "physician_global", "item": "vas", "value": "3 cm"}, ...]}]}
// `date` is optional (else the visit-date item). Each value is validated as data entry does
// (ecrf::ValidateEntry: type, unit, hard range; the visit must collect the form, repeats only
// for repeating forms) and the reject edit checks run on the result. Visits are put in schedule
// order. Fails with kParse for malformed JSON, kInvalidArgument for a bad entry, naming it
// ("visits[1] (W8) items[2] safety_labs.alt: ...").
Result<ecrf::SubjectData> ParseOutcomeInput(const protocol::Protocol& p,
                                            const std::string& json_text);

}  // namespace trial::service
