// Lab-based dose modification before each dose: proceed, reduce, hold or discontinue, from the
// protocol's table (protocol::DoseModification, schedule.yaml `dose_modification`), the
// subject's lab values and the decisions taken at earlier doses, and before the first dose the
// label's initiation thresholds (schedule.yaml `dose_modification.initiation`). A pure function:
// the dose date is passed in. The table as shipped (FACTS.md §3.2) and its boundaries:
// docs/schedule.md. Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/quantity.h"
#include "protocol/protocol.h"

namespace trial::schedule {

// One lab result. Counts in any unit convertible to the rule's unit (10*9/L, /mm3, /uL);
// enzymes with the upper limit of normal of the reporting lab's reference range.
struct LabValue {
  Date date;
  Quantity value;
  std::optional<Quantity> uln;  // needed by times-ULN rules (ALT, AST)
};

// Lab values by analyte id (the ids the table's rules name: anc, platelets, alt, ast), any
// order.
using LabHistory = std::map<std::string, std::vector<LabValue>>;

// The decision for a dose, in severity order: when labs disagree, the larger value wins.
// kUnknown ("lab needed") ranks above reduce and below hold: the dose is not given until the lab
// is done, but a hold or discontinuation that is already certain is reported as such.
// Persisted later: fixed values.
enum class DoseDecision : uint8_t {
  kProceed = 0,      // full dose
  kReduce = 1,       // reduced dose (Dosing::reduced_dose_ug_per_kg)
  kUnknown = 2,      // a lab is missing, stale or unusable: no dose until it is done
  kHold = 3,         // no dose this time
  kDiscontinue = 4,  // no further doses
};
const char* DoseDecisionName(DoseDecision d);  // "proceed", "reduce", "unknown", ...

// A decision taken at an earlier dose, as recorded: kProceed / kReduce when a full / reduced dose
// was given, kHold or kDiscontinue with the lab rule ids that caused it.
struct PastDecision {
  Date date;
  DoseDecision decision = DoseDecision::kProceed;
  std::vector<std::string> causes;  // lab rule ids (neutrophils, platelets, transaminases)
};

// What one analyte says.
struct LabFinding {
  std::string rule_id;  // the lab rule
  std::string analyte;
  DoseDecision decision = DoseDecision::kUnknown;
  std::string
      explanation;  // "anc 0.8 10*9/L on 2026-03-02 = 800 /mm3: ANC 500 to 1000/mm3 -> hold"
};

struct DoseVerdict {
  DoseDecision decision = DoseDecision::kUnknown;
  std::vector<std::string> causes;  // lab rule ids that decided (to record as PastDecision)
  // One per analyte of every rule, in table order (table.labs, then table.initiation before the
  // first dose).
  std::vector<LabFinding> findings;
  std::string explanation;  // "hold: ..." one line a clinician can check
};

// The decision for a dose on `dose_date`. For each analyte the latest value on or before the
// dose date is used; it must be at most table.lab_max_age_days old, convertible to the rule's
// unit (or, for times-ULN rules, come with a ULN), and exact or bounded on the safe side (a
// '<' value for a rule where high is bad, a '>' value where low is bad); otherwise that analyte
// is kUnknown. The first band whose bound holds decides, with the band's persistence counted on
// consecutive earlier values. Then the history applies: an earlier kDiscontinue stays; after a
// hold by a rule with Resume::kReducedDose, the next table.resume_reduced_doses doses are
// reduced. Before the first dose (no kProceed or kReduce decision in `history` on or before
// `dose_date`), table.initiation's rules (the label's "do not initiate" thresholds, FACTS.md
// §3.3) are assessed the same way after table.labs, their findings after the table's: a value
// past a threshold holds the dose, a missing or unusable value is kUnknown. Values and decisions
// dated after `dose_date` are ignored. Never fails.
DoseVerdict DecideDose(const protocol::DoseModification& table, const LabHistory& labs,
                       const std::vector<PastDecision>& history, Date dose_date);

}  // namespace trial::schedule
