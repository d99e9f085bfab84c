// Myositis response: the 2016 ACR/EULAR Total Improvement Score (TIS) per visit with its
// breakdown, the older IMACS definition of improvement (a secondary endpoint) and IMACS-style
// worsening confirmed on consecutive visits. Definitions come from protocol::Outcomes
// (outcomes.yaml); formulas and readings are in docs/outcomes.md.
//
// All arithmetic is exact (core/rational.h): values are converted to each measure's unit exactly
// (a VAS in mm becomes cm, an enzyme in ukat/L becomes U/L) and percentages are rationals, so a
// change of exactly 5 % is in the "<= 5 %" band. Percentages are printed to a fixed number of
// decimals only for display.
//
// Pure functions: no I/O, no clock. Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rational.h"
#include "protocol/protocol.h"

namespace trial::outcomes {

// One muscle enzyme result with the upper limit of normal of the lab that measured it.
struct EnzymeValue {
  std::string id;       // an id of Outcomes::enzymes: ck, aldolase, ldh, alt, ast
  ExactQuantity value;  // U/L or ukat/L (any catalytic concentration)
  ExactQuantity uln;
};

// The core set measures at one assessment. A measure not assessed is nullopt (or, for enzymes,
// absent from the list).
struct CoreSet {
  std::optional<ExactQuantity> physician_global;  // VAS, cm or mm
  std::optional<ExactQuantity> patient_global;    // VAS, cm or mm
  std::optional<ExactQuantity> mmt;               // total score, unit 1
  std::optional<ExactQuantity> haq;               // HAQ-DI 0-3, unit 1
  std::optional<ExactQuantity> extramuscular;     // MDAAT extramuscular global VAS, cm or mm
  std::vector<EnzymeValue> enzymes;
};

struct VisitCoreSet {
  std::string visit;  // W2, W4, ...
  CoreSet values;
};

// A percent change, positive for improvement. From a zero denominator a non-zero change is
// unbounded (finite false, sign +1 for an improvement, -1 for a worsening).
struct Percent {
  bool finite = true;
  Rational value;  // when finite
  int sign = 0;    // when !finite

  bool AtLeast(const Rational& p) const { return finite ? value >= p : sign > 0; }
  bool WorseByAtLeast(const Rational& p) const { return finite ? value <= -p : sign < 0; }
  std::string ToString(int places) const;  // "12.50 %", "+unbounded %"
};

// One measure's line in the TIS breakdown.
struct TisItem {
  protocol::CoreSetMeasure measure = protocol::CoreSetMeasure::kPhysicianGlobal;
  std::string id;
  bool known = false;      // false: the measure is missing at baseline or at the visit
  std::string enzyme;      // the enzyme item: the enzyme used (ck, ...)
  ExactQuantity baseline;  // in the measure's unit (when known)
  ExactQuantity value;
  Rational change;  // improvement in the measure's unit: positive is better
  Percent percent;
  std::string band;  // the band's label, "> 5 % to <= 15 %"
  Rational points;
  std::string note;  // a rule that decided, e.g. the normal-baseline enzyme rule
};

// The TIS of one visit. When a measure is missing the score is unknown: `known` is false,
// `missing` names the measures, and total and category are not set (never a number from fewer
// than six measures).
struct TisScore {
  bool known = false;
  std::vector<std::string> missing;  // "mmt", "enzyme (ck)", ...
  std::vector<TisItem> items;        // six, in CoreSetMeasure order
  Rational total;                    // 0..100 when known
  std::string category;  // the highest category reached ("minimal", ...), "none", or "unknown"
};

struct VisitTis {
  std::string visit;
  TisScore score;
};

// The TIS of `visit` against `baseline` (day 0). Fails with kInvalidInput for a value out of its
// scale (VAS 0-10 cm, HAQ 0-3, MMT 0-maximum, enzymes >= 0 with ULN > 0), an enzyme id the
// protocol does not list or listed twice, or an unknown unit; with kType for a unit of the wrong
// kind. A missing measure is not an error: the score is unknown.
Result<TisScore> ScoreTis(const protocol::Outcomes& o, const CoreSet& baseline,
                          const CoreSet& visit);
// ScoreTis for each visit in order; fails on the first bad visit, naming it.
Result<std::vector<VisitTis>> ScoreTisByVisit(const protocol::Outcomes& o, const CoreSet& baseline,
                                              const std::vector<VisitCoreSet>& visits);

// The breakdown as text, one line per measure then the total and category; percentages with
// `places` decimals (display only: the band was decided on the exact value).
std::string TisToText(const TisScore& s, int places = 2);

// The IMACS preliminary definition of improvement (FACTS.md §2.3).
struct ImacsResult {
  std::optional<bool> met;            // nullopt: a measure is missing (see `missing`)
  std::vector<std::string> improved;  // measure ids improved by >= improved_percent
  std::vector<std::string> worse;     // measure ids worse by >= worse_percent
  std::vector<std::string> missing;
  std::string explanation;
};
// Same input errors as ScoreTis.
Result<ImacsResult> ImacsImprovement(const protocol::Outcomes& o, const CoreSet& baseline,
                                     const CoreSet& visit);

// IMACS-style worsening (FACTS.md §2.5) at each visit, and its confirmation.
struct WorseningAtVisit {
  std::string visit;
  std::optional<bool> worsened;  // Kleene: nullopt when missing data could decide it
  std::string reason;            // which condition held, or why none did
  std::vector<std::string> missing;
};
struct WorseningResult {
  // true: worsened at `consecutive_visits` consecutive visits; false: no run can exist even with
  // the missing data; nullopt: a run is possible only through visits whose worsening is unknown.
  std::optional<bool> confirmed;
  std::string confirmed_at;  // the visit that confirmed it (the last of the first run)
  std::vector<WorseningAtVisit> visits;
};
// `visits` are the post-baseline visits in order; consecutive means adjacent in this list. Same
// input errors as ScoreTis.
Result<WorseningResult> ConfirmedWorsening(const protocol::Outcomes& o, const CoreSet& baseline,
                                           const std::vector<VisitCoreSet>& visits);

}  // namespace trial::outcomes
