// Respiratory safety detection (FACTS.md §6): respiratory-failure events on a timeline of
// oxygenation samples, the P/F ratio series, and on-study RP-ILD with the trial's own definition
// (the exclusion-8 reading, SCREENING-PROFILE.md §5 EX8) applied after day 0 against baseline
// values. Thresholds come from protocol::Outcomes::respiratory (outcomes.yaml).
//
// Day numbers count from day 0 (randomization, first dose). "After day 0" means day >= 1.
// Comparisons are exact (core/rational.h). Pure functions: dates are passed in.
// Thread-safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "core/rational.h"
#include "protocol/protocol.h"

namespace trial::safety {

// One oxygenation assessment. Any part may be missing.
struct OxygenationSample {
  Date date;
  std::optional<ExactQuantity> spo2;  // %
  std::optional<ExactQuantity> pao2;  // mm[Hg] or kPa
  std::optional<ExactQuantity> fio2;  // % (21 % room air) or a fraction (unit 1)
};

struct RespiratoryFailureEvent {
  Date date;
  int day = 0;
  std::string reason;  // "PaO2 55 mm[Hg] < 60 mm[Hg] on FiO2 21 %"
};

// Every sample after day 0 that meets the respiratory-failure definition: PaO2 below the
// threshold or SpO2 below its threshold, on the stated FiO2 or more (a sample without FiO2 is
// taken as on the stated FiO2, i.e. room air). In date order; the first is the event for time to
// respiratory failure. Fails with kInvalidInput for a value out of range (SpO2 0-100 %, FiO2
// 21-100 %, PaO2 >= 0) and kType for a unit of the wrong kind.
Result<std::vector<RespiratoryFailureEvent>> DetectRespiratoryFailure(
    const protocol::Outcomes& o, Date day0, const std::vector<OxygenationSample>& samples);

// PaO2 (mm[Hg]) / FiO2 (fraction), exactly. Fails like DetectRespiratoryFailure.
Result<Rational> PfRatio(const ExactQuantity& pao2, const ExactQuantity& fio2);

struct PfPoint {
  Date date;
  int day = 0;
  Rational pf;
  std::optional<Rational> change;  // from the baseline P/F, when there is one
};
struct PfSeries {
  std::optional<PfPoint> baseline;  // the latest sample with PaO2 and FiO2 on or before day 0
  std::vector<PfPoint> points;      // every sample with PaO2 and FiO2 after day 0, date order
};
Result<PfSeries> TrackPf(Date day0, const std::vector<OxygenationSample>& samples);

// What on-study RP-ILD detection reads (dated facts; the caller extracts them from the record).
struct DatedValue {
  Date date;
  ExactQuantity value;
};
struct DateRange {
  Date start;
  Date end;  // inclusive
};
struct RespiratoryTimeline {
  std::vector<Date> symptom_onsets;          // respiratory-symptom onsets
  std::vector<Date> supplemental_oxygen;     // dates supplemental oxygen was recorded as required
  std::vector<DateRange> respiratory_stays;  // hospital stays for a respiratory reason
  std::vector<DatedValue> fvc_percent;       // FVC % predicted
  std::vector<DatedValue> hrct_extent;       // HRCT extent of interstitial lesions, %
  std::vector<DatedValue> pao2;              // mm[Hg] or kPa
  std::vector<Date> rp_ild_diagnoses;        // investigator-diagnosed RP-ILD
};

struct RpIldDetection {
  bool detected = false;
  std::optional<Date> date;  // the earliest date a condition held
  std::string reason;        // the condition, with its values and the onset it belongs to
};

// On-study RP-ILD: an RP-ILD diagnosis after day 0, or, for a respiratory-symptom onset T after
// day 0, within [T, T + rpild_window]: supplemental oxygen, a respiratory stay overlapping the
// window, FVC % predicted more than rpild_fvc_drop points below baseline, HRCT extent more than
// rpild_hrct_rise points above baseline, or PaO2 more than rpild_pao2_drop below baseline.
// Baseline is the most recent value on or before day 0; a measurement part without a baseline
// does not hold. Returns the earliest such finding. Fails with kType/kInvalidInput on bad units
// or values.
Result<RpIldDetection> DetectRpIld(const protocol::Outcomes& o, Date day0,
                                   const RespiratoryTimeline& t);

}  // namespace trial::safety
