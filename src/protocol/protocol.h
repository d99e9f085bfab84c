// The protocol: a trial described as data and rules in a folder (protocols/promis-mda5/), loaded
// and compiled once at start. Files (formats in docs/protocol.md):
//   protocol.yaml     study identity, arms, code-system aliases, parameters, protocol questions
//   elements.yaml     data elements: value sets of codes with value type and unit
//   definitions.yaml  shared rule definitions
//   criteria.yaml     the eligibility criteria with registry text, reading and rule
//   randomization.yaml  the randomization design (optional: defaults below when absent)
//   kits.yaml         drug kit supply: numbering, dosing days, resupply horizon (optional too)
//   schedule.yaml     visits, dosing and lab-based dose modification (optional; docs/schedule.md)
//   outcomes.yaml     TIS, IMACS improvement and worsening, CTCAE lab grading, respiratory
//                     definitions (optional; docs/outcomes.md)
//   forms.yaml        eCRF forms, items, derived values, HAQ-DI scoring (optional; docs/ecrf.md)
//   editchecks.yaml   edit checks in the rules language (with forms.yaml; docs/ecrf.md)
//   safety.yaml       adverse-event terms and codes, SAE clocks and recipients (optional;
//                     docs/safety.md)
// Thread-safety: a loaded Protocol is immutable and may be shared between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/quantity.h"
#include "core/rational.h"
#include "rules/catalog.h"
#include "rules/program.h"

namespace trial::protocol {

enum class CriterionKind : uint8_t { kInclusion, kExclusion };

struct Criterion {
  std::string id;  // IN1..IN8, EX1..EX18
  CriterionKind kind = CriterionKind::kInclusion;
  std::string text;                    // the registry's words
  std::string reading;                 // the computable reading the rule implements
  std::string rule;                    // rules-language source
  std::vector<std::string> questions;  // ids of protocol questions this criterion depends on
  int rule_id = -1;                    // in Protocol::program
};

// A reading of ambiguous registry text, applied by default and shown to users.
struct Question {
  std::string id;
  std::string topic;
  std::string registry;  // the registry's words
  std::string reading;   // the reading applied
  std::vector<std::string> criteria;
  std::vector<std::string> parameters;  // where to change it
};

struct Arm {
  std::string id;
  std::string name;
  std::string description;
  int ratio = 1;
};

enum class RandomizationMethod : uint8_t { kPermutedBlocks, kMinimization };
enum class ImbalanceMeasure : uint8_t { kRange, kVariance };

// One stratification (and minimization) factor.
struct StratumFactor {
  std::string name;                 // e.g. site, ild_at_baseline
  bool from_sites = false;          // values are the trial's sites, known at run time
  std::vector<std::string> values;  // the allowed values when !from_sites (at least one)
  double weight = 1.0;              // minimization weight (> 0)
};

// Pocock-Simon minimization options.
struct MinimizationOptions {
  ImbalanceMeasure measure = ImbalanceMeasure::kRange;
  double high_probability = 0.8;     // in (0.5, 1]: probability of the arm minimizing imbalance
  std::string tie_break = "random";  // the only tie-break defined: uniform among tied arms
};

// randomization.yaml (docs/randomization.md). Arms and their ratio come from Protocol::arms.
struct RandomizationDesign {
  RandomizationMethod method = RandomizationMethod::kPermutedBlocks;
  std::vector<int> block_sizes;  // each a positive multiple of the ratio sum; one drawn per block
  std::vector<StratumFactor> factors;
  MinimizationOptions minimization;
};

// kits.yaml (docs/kits.md): how drug kits are numbered and how much stock a site needs.
struct KitSupply {
  std::string first_dose_visit = "D0";  // the visit whose kit randomization hands out
  // Days after the allocation date on which a kit is dispensed, ascending, the first 0 (the kit
  // handed out at randomization): the dosing visits of schedule.yaml when there is one, else
  // kits.yaml's dose_days.
  std::vector<int> dose_days = {0};
  int horizon_days = 28;      // the resupply horizon: doses due within it must be in stock
  int buffer_per_arm = 2;     // kits per arm kept at each site for new randomizations
  int kit_number_digits = 6;  // K-123456: 4 to 9 digits, the first never 0
};

// ---- schedule.yaml (docs/schedule.md) ----
// Amounts are whole numbers in micro-units (ug, uL) so that dose arithmetic is exact; days are
// whole days relative to day 0 (randomization and first dose).

// One planned visit. Its window is [day - window_before, day + window_after].
struct VisitDefinition {
  std::string id;  // SCR, D0, W2, ...
  std::string name;
  int day = 0;  // target day (negative before day 0)
  int window_before = 0;
  int window_after = 0;
  int dose_number = 0;             // k > 0: the k-th dose slot; 0: no dose slot
  bool dose = false;               // a dose is given: 0 < dose_number <= Schedule::dose_count
  std::vector<std::string> forms;  // eCRF form ids the visit collects
};

enum class WeightBasis : uint8_t {
  kLatest,    // the most recent weight on or before the dose date
  kBaseline,  // the most recent weight on or before day 0
};

enum class VialRule : uint8_t {
  kLeastWaste,   // least drug discarded, then fewest vials
  kFewestVials,  // fewest vials, then least drug discarded
};

struct Vial {
  int64_t content_ug = 0;  // 80 mg -> 80000
  int64_t volume_ul = 0;   // 4 mL -> 4000
};

// How a dose is computed and prepared (IV, weight-based).
struct Dosing {
  std::string drug;
  std::string route;                    // "IV"
  int64_t dose_ug_per_kg = 0;           // full dose: 8 mg/kg -> 8000
  int64_t reduced_dose_ug_per_kg = 0;   // 4 mg/kg -> 4000
  int64_t cap_ug = 0;                   // largest dose per infusion: 800 mg -> 800000
  int64_t rounding_ug = 0;              // doses are multiples of this: 1 mg -> 1000
  int64_t concentration_ug_per_ml = 0;  // 20 mg/mL -> 20000
  std::vector<Vial> vials;              // distinct contents, ascending
  VialRule vial_rule = VialRule::kLeastWaste;
  WeightBasis weight_basis = WeightBasis::kLatest;
  std::string diluent;
  int64_t bag_volume_ul = 0;  // the infusion's final volume: 100 mL -> 100000
  int infusion_minutes = 0;
};

// Severity order (the larger wins when several labs disagree). Persisted later: fixed values.
enum class DoseAction : uint8_t { kProceed = 0, kReduce = 1, kHold = 2, kDiscontinue = 3 };

// Which side of the limit a band covers; the key word decides whether the limit itself is in it.
enum class Bound : uint8_t { kNone, kBelow, kAtOrBelow, kAbove, kAtOrAbove };

// One row of a lab rule's table.
struct LabBand {
  Bound bound = Bound::kNone;  // kNone: the last band, for every value the others leave
  double limit = 0;            // in LabRule::unit, or a multiple of the ULN
  DoseAction action = DoseAction::kProceed;
  // > 0: the band applies only when its bound held on this many consecutive assessments (the
  // latest included); otherwise the next band decides.
  int persistent = 0;
  // > 0: when the bound held on this many consecutive assessments, discontinue instead.
  int discontinue_after = 0;
  std::string row;  // the source table's row, for explanations ("ANC 500 to 1000/mm3")
};

enum class LabMeasure : uint8_t {
  kValue,     // the value converted to LabRule::unit
  kTimesUln,  // the value divided by its own upper limit of normal
};

enum class Resume : uint8_t {
  kByValue,      // after a hold, the current value's band decides
  kReducedDose,  // after a hold, the next doses are reduced (Schedule::resume_reduced_doses)
};

struct LabRule {
  std::string id;                     // neutrophils, platelets, transaminases
  std::string name;                   // for people
  std::vector<std::string> analytes;  // ids of the lab values the caller supplies (anc, alt, ...)
  LabMeasure measure = LabMeasure::kValue;
  Unit unit;  // kValue: the limits' unit
  Resume resume_after_hold = Resume::kByValue;
  std::vector<LabBand> bands;  // most severe first; the first whose bound holds decides
};

struct DoseModification {
  std::vector<LabRule> labs;
  // The label's initiation thresholds (schedule.yaml `dose_modification.initiation`, FACTS.md
  // §3.3): checked with `labs` before the first dose only (while no dose has been given); empty
  // when the parameter initiation_thresholds is "ignore".
  std::vector<LabRule> initiation;
  int lab_max_age_days = 0;      // a lab older than this before the dose date is stale
  int resume_reduced_doses = 0;  // reduced doses after a kReducedDose hold
};

struct Schedule {
  std::vector<VisitDefinition> visits;  // in day order, ids unique
  int dose_count = 0;                   // 1 .. the number of dose slots
  int missed_grace_days = 0;  // an overdue visit becomes missed this long after its window
  bool unscheduled_allowed = false;
  std::string unscheduled_id;  // the visit id of unscheduled visits (UNS)
  std::vector<std::string> unscheduled_forms;
  Dosing dosing;
  DoseModification modification;

  const VisitDefinition* FindVisit(const std::string& id) const;
};

// ---- outcomes.yaml (docs/outcomes.md) ----
// Every number is exact (Rational) so that a value on a published edge lands on the right side.

// The six IMACS core set measures (FACTS.md §2.1), in the order of the TIS table.
enum class CoreSetMeasure : uint8_t {
  kPhysicianGlobal = 0,
  kPatientGlobal = 1,
  kMmt = 2,
  kHaq = 3,
  kEnzyme = 4,
  kExtramuscular = 5,
};
inline constexpr int kCoreSetMeasureCount = 6;

// What a percent change is a percentage of (FACTS.md §2.2 "absolute percent change").
enum class PercentReading : uint8_t {
  kScaleRange,  // of the scale's range (VAS 10 cm, HAQ 3, MMT maximum); the enzyme of its baseline
  kBaseline,    // of the measure's baseline value, for every measure
};

// How the TIS scores the enzyme when the chosen enzyme is not above its ULN at baseline.
enum class EnzymeNormalBaseline : uint8_t {
  kZeroPoints,  // 0 points: a normal enzyme has nothing to improve
  kRelative,    // scored by its change relative to baseline like an abnormal one
};

// One row of a TIS points table: the percent change p is in the band when it is above `lower`
// (at or above when lower_inclusive) and below `upper` (at or below when upper_inclusive). A
// missing edge is unbounded.
struct TisBand {
  std::optional<Rational> lower;
  bool lower_inclusive = false;
  std::optional<Rational> upper;
  bool upper_inclusive = true;
  Rational points;
  std::string label;  // "> 5 % to <= 15 %"
};

struct TisMeasure {
  CoreSetMeasure measure = CoreSetMeasure::kPhysicianGlobal;
  std::string id;    // physician_global, patient_global, mmt, haq, enzyme, extramuscular
  std::string name;  // for people
  Unit unit;         // values are converted to this unit (cm, 1, U/L) before any arithmetic
  bool higher_is_better = false;  // only the MMT
  // The scale's range (its maximum; every scale starts at 0) in `unit`, used by kScaleRange and
  // as the largest valid value; nullopt for the enzyme (no maximum: relative to its baseline).
  std::optional<Rational> range;
  std::vector<TisBand> bands;  // contiguous, ascending, covering every percent change
};

struct ResponseCategory {
  std::string name;  // minimal, moderate, major
  Rational min_total;
};

// Enzymes the TIS may use, each in U/L (FACTS.md §2.2 footnote, §7.6).
struct EnzymeDefinition {
  std::string id;  // ck, aldolase, ldh, alt, ast
  std::string name;
};

// The older IMACS preliminary definition of improvement (FACTS.md §2.3).
struct ImacsImprovement {
  Rational improved_percent;  // a measure is improved when its percent change is >= this
  int min_improved = 0;       // at least this many improved measures
  Rational worse_percent;     // a measure is worse when it worsened by >= this percent
  int max_worse = 0;          // at most this many worse measures
  bool mmt_may_not_worsen = true;
};

// IMACS-style worsening (FACTS.md §2.5).
struct WorseningDefinition {
  Rational physician_cm;       // physician global worse by >= this (cm) ...
  Rational mmt_percent;        // ... and MMT worse by >= this percent
  Rational extramuscular_cm;   // or extramuscular global worse by >= this (cm)
  int any_count = 0;           // or this many of the non-enzyme measures ...
  Rational any_percent;        // ... each worse by >= this percent
  int consecutive_visits = 0;  // confirmed when it holds at this many consecutive visits
};

// CTCAE grading (FACTS.md §4). A criterion holds when the value compares with limit x reference.
enum class CtcaeComparison : uint8_t { kAbove, kAtLeast, kBelow, kAtMost };
enum class CtcaeReference : uint8_t {
  kAbsolute,  // `limits`: one quantity per kind of unit (g/L and mmol/L), the value's kind used
  kUln,       // factor x the upper limit of normal
  kLln,       // factor x the lower limit of normal
  kBaseline,  // factor x the subject's baseline value
};
enum class CtcaeBranch : uint8_t {
  kAlways,
  kBaselineNormal,    // only when the baseline is within normal limits (or unknown)
  kBaselineAbnormal,  // only when the baseline is outside normal limits
};

struct CtcaeCriterion {
  int grade = 0;  // 1..5
  CtcaeComparison comparison = CtcaeComparison::kAbove;
  CtcaeReference reference = CtcaeReference::kUln;
  CtcaeBranch branch = CtcaeBranch::kAlways;
  Rational factor;                    // for kUln, kLln, kBaseline
  std::vector<ExactQuantity> limits;  // for kAbsolute
  std::string text;                   // "> 3.0 x ULN (baseline normal)"
};

struct CtcaeTerm {
  std::string id;         // alt_increased, neutrophil_count_decreased, ...
  std::string term;       // the CTCAE term: "Alanine aminotransferase increased"
  std::string source;     // "FACTS.md §4.2"
  bool increased = true;  // direction of abnormality; decides what "baseline abnormal" means
  std::vector<CtcaeCriterion> criteria;
};

struct RespiratoryDefinitions {
  Rational pao2_below_mmhg;     // respiratory failure: PaO2 below this (mm[Hg]) ...
  Rational spo2_below_percent;  // ... or SpO2 below this (%)
  Rational stated_fio2;         // ... on this FiO2 (a fraction: 21 % is 21/100)
  int rpild_window_days = 0;    // RP-ILD signs count within [T, T + this] after symptom onset T
  Rational rpild_fvc_drop;      // FVC % predicted more than this many points below baseline
  Rational rpild_hrct_rise;     // HRCT extent more than this many points above baseline
  Rational rpild_pao2_drop;     // PaO2 more than this (mm[Hg]) below baseline
  int follow_up_days = 0;       // time to respiratory failure or death is censored at this day
};

// Where the derivations (service/derived.h) read an engine input from in the eCRF: outcomes.yaml
// `sources`, checked by the loader against forms.yaml (item exists, type and unit fit).
struct SourceRef {
  std::string form;      // the form the value is collected on (a derived value: its form)
  std::string item;      // the item id, or the derived value's id
  bool derived = false;  // a derived value of forms.yaml (mmt8_total_150, haq_di, ...)
  bool Empty() const { return item.empty(); }
  // "physician_global.vas", "derived.mmt8_total_150": what outcomes.yaml wrote.
  std::string Name() const { return (derived ? std::string("derived") : form) + "." + item; }
};

// One input: its value and the items that go with it (each optional, per input).
struct ItemSource {
  SourceRef value;
  std::optional<SourceRef> uln, lln;  // a lab's reference range
  std::optional<SourceRef> fio2;      // the FiO2 an oxygenation value was taken on
  std::optional<SourceRef> date;      // the sample's date (else the visit date)
  std::optional<SourceRef> end;       // a period's last day (a stay's discharge; else ongoing)
  std::string equals;                 // a code or yes/no item: the fact holds when equal
  std::optional<SourceRef> when;      // only instances where `when` equals `when_equals`
  std::string when_equals;
};

// What a measure missing at the baseline visit is taken from (Q-OUTCOME-BASELINE).
enum class BaselineFallback : uint8_t {
  kNone,              // missing at the baseline visit: the baseline is missing
  kLatestBeforeDay0,  // the latest value at a visit before the baseline visit (screening)
};

struct OutcomeSources {
  std::string baseline_visit;  // D0
  std::string week8_visit;     // W8: the week-8 respiratory changes
  BaselineFallback fallback = BaselineFallback::kLatestBeforeDay0;
  ItemSource physician_global, patient_global, mmt, haq, extramuscular;  // mmt: by tis_mmt_max
  std::vector<std::pair<std::string, ItemSource>> enzymes;  // enzyme id -> value and ULN
  std::optional<SourceRef> lab_date;                        // the lab sample's date
  std::vector<std::pair<std::string, ItemSource>> labs;     // CTCAE term id -> value, ULN/LLN
  std::vector<std::string> labs_not_collected;              // terms the eCRF does not collect
  ItemSource pao2, spo2, fvc_percent, dlco_percent, hrct_extent;
  ItemSource symptom_onset, supplemental_oxygen, death;
  ItemSource respiratory_stay;  // a stay for a respiratory cause: `equals`, `date` start, `end`
  ItemSource rp_ild_diagnosis;  // the investigator's RP-ILD diagnosis: `equals`, `date`
  ItemSource prednisone_equivalent;
};

struct Outcomes {
  PercentReading tis_reading = PercentReading::kScaleRange;
  EnzymeNormalBaseline enzyme_normal_baseline = EnzymeNormalBaseline::kZeroPoints;
  std::vector<TisMeasure> measures;                          // indexed by CoreSetMeasure
  std::vector<EnzymeDefinition> enzymes;                     // tie order for "most abnormal"
  std::vector<ResponseCategory> categories;                  // ascending min_total
  PercentReading imacs_reading = PercentReading::kBaseline;  // improvement and worsening
  ImacsImprovement improvement;
  WorseningDefinition worsening;
  std::string ctcae_version;
  std::vector<CtcaeTerm> ctcae;
  int possible_ae_grade = 0;  // a lab graded at or above this is flagged as a possible AE
  RespiratoryDefinitions respiratory;
  // outcomes.yaml `sources` (optional in the file; the derivations need it).
  std::optional<OutcomeSources> sources;

  const TisMeasure& Measure(CoreSetMeasure m) const { return measures[static_cast<int>(m)]; }
  const CtcaeTerm* FindTerm(const std::string& id) const;
};

// ---- safety.yaml (docs/safety.md) ----

// An adverse-event term of CTCAE v5.0 (FACTS §4.1-4.5) with the grades it defines.
struct AeTerm {
  std::string id;           // e.g. "lung_infection"
  std::string name;         // "Lung infection"
  std::vector<int> grades;  // ascending, each 1..5
  bool needs_text = false;  // "other, specify": the reporter names the event in free text
  std::string category;     // one of Safety::categories: infection, respiratory, laboratory, ...

  bool Defines(int grade) const;
};

// Adverse events and serious-adverse-event reporting (issue 6 items 1, 2).
struct Safety {
  std::string ctcae_version;            // "5.0"
  std::vector<std::string> categories;  // of the terms, for the summaries: infection, ...
  std::vector<AeTerm> terms;
  std::vector<std::string> seriousness;         // death, life_threatening, hospitalization, ...
  std::vector<std::string> relatedness;         // related, possibly_related, ...
  std::vector<std::string> counted_as_related;  // the relatedness codes counted as related
  std::vector<std::string> actions;             // action taken with the study drug
  std::vector<std::string> outcomes;            // outcome of the event
  std::vector<std::string> recipients;          // who an SAE notifies: sponsor, medical_monitor
  int initial_report_hours = 24;                // SAE initial report due after awareness
  int follow_up_days = 0;                       // SAE follow-up report due after the initial report

  const AeTerm* FindTerm(const std::string& id) const;
};

// ---- forms.yaml and editchecks.yaml (docs/ecrf.md) ----

enum class ItemType : uint8_t { kQuantity, kInteger, kDecimal, kText, kDate, kCode, kYesNo };
const char* ItemTypeName(ItemType t);  // "quantity", "integer", ..., "yesno"

struct CodeOption {
  std::string code;   // what is stored
  std::string label;  // for people
};

// A closed interval; either end may be absent. Quantities: in the item's canonical unit.
struct Range {
  std::optional<double> low;
  std::optional<double> high;
  bool Empty() const { return !low && !high; }
  bool Contains(double v) const { return (!low || v >= *low) && (!high || v <= *high); }
  std::string ToString() const;  // "0 to 10", "at least 0", "at most 150"
};

struct ItemDefinition {
  std::string id;  // unique in its form
  std::string label;
  ItemType type = ItemType::kText;
  Unit canonical;                              // kQuantity: what values are converted to
  std::vector<Unit> units;                     // kQuantity: the units accepted (canonical first)
  std::optional<double> molar_mass_g_per_mol;  // kQuantity: from `element:` (mg/dL <-> umol/L)
  std::vector<CodeOption> codes;               // kCode
  Range hard;                                  // outside: rejected
  Range soft;                                  // outside: accepted with a query
  bool required = false;
  int line = 0, column = 0;  // where the item is written in forms.yaml (generated checks)
};

struct FormDefinition {
  std::string id;
  std::string label;
  bool repeating = false;  // several instances per visit (ItemKey::repeat)
  std::vector<ItemDefinition> items;

  const ItemDefinition* FindItem(const std::string& id) const;
};

// A value computed from other items by a rule (kind kAny) at each visit that collects `form`.
struct DerivedValue {
  std::string id;
  std::string label;
  std::string form;  // evaluated where this form is collected (per instance when repeating)
  std::string rule;
  std::string unit;  // the unit it is shown in ("" for numbers)
  int rule_id = -1;  // in Protocol::program
};

// HAQ-DI scoring (FACTS §7.3): category score = highest item score, raised to `aid_minimum` when
// an aid, device or help of the category is used; index = mean of the answered categories, when
// at least `min_categories` are answered.
struct HaqCategory {
  std::string id;
  std::vector<std::string> items;  // items of the HAQ form scored 0..3
  std::vector<std::string> aids;   // yes/no items of the HAQ form
};
struct HaqScoring {
  std::string form;  // "haq_di"
  std::vector<HaqCategory> categories;
  int aid_minimum = 2;
  int min_categories = 6;
};

enum class CheckSeverity : uint8_t { kReject, kQuery };
enum class CheckKind : uint8_t { kRange, kRequired, kCrossItem, kCrossVisit };
const char* CheckSeverityName(CheckSeverity s);  // "reject", "query"
const char* CheckKindName(CheckKind k);          // "range", "required", "cross_item", "cross_visit"

// An edit check: fires when its rule is true; false or unknown (missing data) does not fire.
struct EditCheck {
  std::string id;
  CheckKind kind = CheckKind::kCrossItem;
  CheckSeverity severity = CheckSeverity::kQuery;
  std::vector<std::string> items;  // "form.item" it concerns (the first names the form it runs on)
  std::string message;
  std::string rule;
  bool generated = false;  // made from an item's range or `required` in forms.yaml
  int rule_id = -1;        // in Protocol::program
};

struct Forms {
  std::string visit_date_item;  // "visit.visit_date": the item holding each visit's date
  std::vector<FormDefinition> forms;
  std::vector<DerivedValue> derived;
  std::optional<HaqScoring> haq;
  std::vector<EditCheck> checks;  // generated ones first, then editchecks.yaml's

  const FormDefinition* FindForm(const std::string& id) const;
};

struct Protocol {
  std::string dir;
  std::string id;
  std::string title;
  std::string version;
  std::vector<std::string> registry_ids;
  int target_enrollment = 0;
  std::vector<Arm> arms;
  std::vector<Question> questions;
  std::vector<Criterion> criteria;
  RandomizationDesign randomization;
  KitSupply kits;
  std::optional<Schedule> schedule;  // from schedule.yaml; nullopt when the file is absent
  std::optional<Outcomes> outcomes;  // from outcomes.yaml; nullopt when the file is absent
  std::optional<Forms> forms;        // forms.yaml + editchecks.yaml; nullopt without forms.yaml
  std::optional<Safety> safety;      // from safety.yaml; nullopt when the file is absent
  rules::Catalog catalog;
  std::unique_ptr<rules::Program> program;  // refers to `catalog`: a Protocol never moves
};

// Loads and compiles the protocol in `dir`. Returns the protocol, or every error found (each a
// one-line message naming the file and, for rules, the line and column), never a partial
// protocol.
struct CheckResult {
  std::unique_ptr<Protocol> protocol;
  std::vector<Error> errors;
};
CheckResult Check(const std::string& dir);

// Like Check, but fails with the first error (and the count of the others).
Result<std::unique_ptr<Protocol>> Load(const std::string& dir);

}  // namespace trial::protocol
