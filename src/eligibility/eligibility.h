// The eligibility engine: every criterion of the protocol evaluated on one patient record, with
// three-valued results, an explanation a clinician can check and, for unknown results, the data
// that would decide them. Output shapes follow SCREENING-PROFILE.md §1 exactly.
// Pure: no I/O, no clock. Thread-safety: Screen may run concurrently on a shared Protocol.
#pragma once

#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "protocol/protocol.h"
#include "record/record.h"

namespace trial::eligibility {

enum class Outcome : uint8_t { kMet, kNotMet, kUnknown };
enum class Verdict : uint8_t { kEligible, kIneligible, kIncomplete };

const char* OutcomeName(Outcome o);  // met | not_met | unknown
const char* VerdictName(Verdict v);  // eligible | ineligible | incomplete

struct CriterionResult {
  const protocol::Criterion* criterion = nullptr;
  Outcome outcome = Outcome::kUnknown;
  std::string explanation;           // filled when explaining
  std::vector<std::string> missing;  // data needed to decide (only when unknown)
};

struct Screening {
  Date screening_date;
  Date randomization_date;
  Verdict verdict = Verdict::kIncomplete;
  std::vector<CriterionResult> criteria;  // protocol order
  // Reader warnings about resources the protocol uses (a value in an unknown unit, a date
  // without a day): data that was present but could not be used.
  std::vector<std::string> warnings;
};

struct Options {
  bool explain = true;  // build explanations and missing-data lists (slower)
};

// Evaluates every criterion. Fails with kInvalidArgument when `randomization` is before
// `screening`, and with kInvalidInput when the record holds a measurement the protocol needs
// whose quantity has no unit ("Observation/weight: body weight has a value but no unit").
Result<Screening> Screen(const protocol::Protocol& protocol, const record::PatientRecord& record,
                         Date screening, Date randomization, const Options& options = {});

// The JSON object of SCREENING-PROFILE.md §1 (pretty-printed, 2 spaces).
std::string ToJson(const protocol::Protocol& protocol, const Screening& s);

// A readable table: criterion, result, explanation (and missing data), then the verdict.
std::string ToText(const protocol::Protocol& protocol, const Screening& s);

}  // namespace trial::eligibility
