// The patient record: every piece of clinical information about one person, whatever its source,
// as typed facts on a timeline. The rules language queries these facts; it never knows whether a
// value came from FHIR or a form. Codes are kept as (system, code) pairs: display strings are
// never used for matching.
//
// The record keeps what the source said, with only structural normalisation: statuses that
// make a resource void (`entered-in-error`, refused, cancelled ...) are dropped at import, and
// every other judgement (current or past, confirmed or not, which unit) is left to the query
// layer, which knows the protocol's reading.
// Thread-safety: immutable after construction; safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/quantity.h"

namespace trial::record {

struct Coding {
  std::string system;  // e.g. "http://loinc.org", "urn:promis-mda5"
  std::string code;
  friend bool operator==(const Coding&, const Coding&) = default;
};

// Where a fact came from, for traces and error messages: "Observation/wbc".
struct Source {
  std::string resource_type;
  std::string id;  // resource id, or the fullUrl when the resource has no id
  std::string ToString() const { return resource_type + "/" + id; }
};

enum class Sex : uint8_t { kUnknown, kFemale, kMale, kOther };

struct Patient {
  std::string id;
  std::optional<Date> birth_date;
  Sex sex = Sex::kUnknown;  // FHIR Patient.gender
};

// A qualitative result: from valueCodeableConcept (SNOMED 10828004 / 260385009) or from the
// interpretation POS/NEG. kOther for any other coded result.
enum class Qualitative : uint8_t { kNone, kPositive, kNegative, kOther };

struct Observation {
  Source source;
  std::vector<Coding> codes;  // Observation.code.coding
  TimePoint time;             // effectiveDateTime, effectivePeriod.start, or issued (in that order)
  // Exactly what the value[x] held (several may be empty).
  std::optional<Quantity> quantity;     // valueQuantity (unit from `code` when UCUM, else `unit`)
  bool quantity_unit_missing = false;   // valueQuantity had a value but no unit at all
  std::optional<bool> boolean;          // valueBoolean
  std::optional<TimePoint> date_value;  // valueDateTime
  std::vector<Coding> value_codes;      // valueCodeableConcept.coding
  Qualitative qualitative = Qualitative::kNone;  // derived from value_codes or interpretation
  std::optional<Quantity> reference_high;        // referenceRange[0].high
  std::string status;                            // final | amended | corrected | preliminary
};

enum class Verification : uint8_t {
  kConfirmed,
  kUncertain
};  // unconfirmed/provisional/differential

enum class ClinicalStatus : uint8_t {
  kNone,     // not given
  kCurrent,  // active | recurrence | relapse
  kPast,     // inactive | remission | resolved
};

struct Condition {
  Source source;
  std::vector<Coding> codes;
  Verification verification = Verification::kConfirmed;
  ClinicalStatus clinical = ClinicalStatus::kNone;
  std::optional<Date> onset;      // onsetDateTime (or onsetPeriod.start)
  std::optional<Date> abatement;  // abatementDateTime (or abatementPeriod.end)
};

struct Allergy {
  Source source;
  std::vector<Coding> codes;  // AllergyIntolerance.code.coding
  Verification verification = Verification::kConfirmed;
  bool inactive = false;  // clinicalStatus inactive | resolved
};

// One dosage line: the dose of one administration and how often per period.
struct Dosage {
  std::optional<Quantity> dose;       // doseAndRate[0].doseQuantity (or doseRange.low)
  std::optional<double> frequency;    // timing.repeat.frequency (missing => 1 when repeat exists)
  std::optional<double> period_days;  // timing.repeat.period converted with periodUnit to days
  bool has_repeat = false;            // timing.repeat present
  std::vector<Coding> route;          // route.coding
};

enum class ExposureKind : uint8_t { kStatement, kAdministration };

// A drug the patient actually took (MedicationStatement / MedicationAdministration), over the
// days [start, end]. An `active` statement without an end is open (end == Date::Max()).
struct Exposure {
  Source source;
  ExposureKind kind = ExposureKind::kStatement;
  std::vector<Coding> codes;    // medicationCodeableConcept.coding (or the referenced Medication's)
  std::string status;           // active | completed | stopped | on-hold | unknown (statements)
  bool status_unknown = false;  // status `unknown`: whether it was taken is unknown
  std::optional<Date> start;    // missing only when the source gave no date at all
  Date end;                     // last day; Date::Max() for ongoing
  bool ongoing = false;
  std::vector<Dosage> dosages;  // statement: dosage[]; administration: one line from dosage.dose
                                // with has_repeat=false (its dose counts once on its day)
};

// A MedicationRequest (never an exposure).
struct Request {
  Source source;
  std::vector<Coding> codes;
  std::string status;  // active | draft | on-hold | completed | stopped | ...
  std::string intent;  // proposal | plan | order | ...
  std::optional<Date> authored;
  std::vector<Dosage> dosages;  // dosageInstruction[]
};

// An Encounter with class IMP (inpatient).
struct Stay {
  Source source;
  std::optional<Date> start;
  std::optional<Date> end;      // missing => ongoing
  std::vector<Coding> reasons;  // reasonCode[].coding
};

struct Consent {
  Source source;
  std::string status;  // active | rejected | inactive | draft | proposed
  std::optional<Date> date;
  std::vector<Coding> scopes;  // scope.coding
};

// All facts about one patient, each vector sorted by time ascending (stable for equal times).
struct PatientRecord {
  Patient patient;
  std::vector<Observation> observations;
  std::vector<Condition> conditions;
  std::vector<Allergy> allergies;
  std::vector<Exposure> exposures;
  std::vector<Request> requests;
  std::vector<Stay> stays;
  std::vector<Consent> consents;
  std::vector<std::string> warnings;  // ignored or unusable content worth telling the user
  // Observations the reader could not place on the timeline (no usable date), kept so that the
  // user is told when one of them is data the protocol needs.
  struct Unplaced {
    Source source;
    std::vector<Coding> codes;
  };
  std::vector<Unplaced> unplaced;
};

}  // namespace trial::record
