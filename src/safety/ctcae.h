// CTCAE grading of lab values (FACTS.md §4.1-4.2) from the terms of protocol::Outcomes
// (outcomes.yaml `ctcae`), with the rule that decided and the possible-AE flag.
//
// A term's grade is the highest grade whose criterion holds (FACTS.md §4.2 "grade = max over the
// applicable criteria"). Criteria with a baseline branch apply only on their side: the baseline is
// abnormal when it is above the ULN (an "increased" term) or below the LLN (a "decreased" term);
// without a baseline value the baseline-normal branch applies. A "x baseline" criterion without
// a baseline value does not apply (creatinine is then graded on x ULN alone). Comparisons are
// exact (core/rational.h): 120 U/L with ULN 40 is exactly 3.0 x ULN, which is grade 1, not 2.
//
// Pure functions. Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "core/rational.h"
#include "protocol/protocol.h"

namespace trial::safety {

struct LabValue {
  std::string term;  // a term id of outcomes.yaml: alt_increased, neutrophil_count_decreased, ...
  ExactQuantity value;
  std::optional<ExactQuantity> uln;       // the lab's reference range, needed by x ULN criteria
  std::optional<ExactQuantity> lln;       // needed by x LLN criteria
  std::optional<ExactQuantity> baseline;  // the subject's baseline value of the same analyte
};

struct LabGrade {
  std::string term_id;
  std::string term;  // "Alanine aminotransferase increased"
  int grade = 0;     // 0: no criterion holds
  // The criterion that decided with the numbers used: "grade 3: > 5 x ULN (limit 200 U/L)", or
  // "grade 0: no criterion met".
  std::string rule;
  std::string branch;  // "baseline normal", "baseline abnormal", "no baseline: baseline normal",
                       // or "" when the term has no baseline branches
  bool possible_ae = false;  // grade >= Outcomes::possible_ae_grade
};

// Grades `lab`. Fails with kNotFound for an unknown term; kInvalidInput when a criterion needs a
// ULN or LLN that is not given and no higher grade's criterion holds (ANC 0.8 x10^9/L is grade 3
// without an LLN; ANC 1.6 needs the LLN to tell grade 1 from 0), for a negative value, or when the
// value's unit has no absolute limit of its kind ("mmol/L" against limits in g/L only); kType when
// the value, its ULN, LLN and baseline are not of one kind of unit.
Result<LabGrade> GradeLab(const protocol::Outcomes& o, const LabValue& lab);

}  // namespace trial::safety
