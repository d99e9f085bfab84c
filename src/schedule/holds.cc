// Lab-based dose modification (holds.h).
#include "schedule/holds.h"

#include <algorithm>
#include <cmath>

namespace trial::schedule {

const char* DoseDecisionName(DoseDecision d) {
  switch (d) {
    case DoseDecision::kProceed:
      return "proceed";
    case DoseDecision::kReduce:
      return "reduce";
    case DoseDecision::kUnknown:
      return "unknown";
    case DoseDecision::kHold:
      return "hold";
    case DoseDecision::kDiscontinue:
      return "discontinue";
  }
  return "?";
}

namespace {

using protocol::Bound;
using protocol::LabBand;
using protocol::LabMeasure;
using protocol::LabRule;

// Values and limits are compared as whole millionths of the rule's unit (or of the ULN), so
// that 1.0 10*9/L converted to /mm3 (1000.0000000000001 in binary) equals the limit 1000, and
// 120 U/L over a ULN of 40 U/L is exactly 3 x ULN. No lab is reported more finely than that.
int64_t Fixed(double x) {
  constexpr double kMax = 1e12;  // far above any count or multiple of the ULN
  return std::llround(std::clamp(x, -kMax, kMax) * 1e6);
}

bool Holds(const LabBand& band, int64_t value) {
  const int64_t limit = Fixed(band.limit);
  switch (band.bound) {
    case Bound::kBelow:
      return value < limit;
    case Bound::kAtOrBelow:
      return value <= limit;
    case Bound::kAbove:
      return value > limit;
    case Bound::kAtOrAbove:
      return value >= limit;
    case Bound::kNone:
      return true;
  }
  return false;
}

// Whether larger values are worse (its bands bound from above: ALT) or smaller (ANC).
bool HighIsBad(const LabRule& rule) {
  for (const auto& b : rule.bands) {
    if (b.bound == Bound::kAbove || b.bound == Bound::kAtOrAbove) return true;
    if (b.bound == Bound::kBelow || b.bound == Bound::kAtOrBelow) return false;
  }
  return true;
}

DoseDecision FromAction(protocol::DoseAction a) {
  switch (a) {
    case protocol::DoseAction::kProceed:
      return DoseDecision::kProceed;
    case protocol::DoseAction::kReduce:
      return DoseDecision::kReduce;
    case protocol::DoseAction::kHold:
      return DoseDecision::kHold;
    case protocol::DoseAction::kDiscontinue:
      return DoseDecision::kDiscontinue;
  }
  return DoseDecision::kUnknown;
}

std::string Number(double x) { return Quantity{x, Unit(), Comparator::kEq}.ToString(); }

// A value in the rule's terms: fixed-point for comparison, text for people, or why it cannot be
// used.
struct Measured {
  std::optional<int64_t> fixed;
  std::string text;
  std::string problem;
};

Measured Measure(const LabRule& rule, const LabValue& v) {
  Measured m;
  m.text = v.value.ToString();
  // A censored value ('<5 U/L') stands for its bound only when the truth cannot be worse.
  const Comparator c = v.value.comparator;
  const bool upper_bound = c == Comparator::kLt || c == Comparator::kLe;
  const bool lower_bound = c == Comparator::kGt || c == Comparator::kGe;
  if ((upper_bound && !HighIsBad(rule)) || (lower_bound && HighIsBad(rule))) {
    m.problem = "the true value may be worse than its bound; an exact value is needed";
    return m;
  }
  if (rule.measure == LabMeasure::kValue) {
    auto q = Convert(v.value, rule.unit);
    if (!q) {
      m.problem = "cannot be converted to " + rule.unit.code();
      return m;
    }
    if (v.value.unit.code() != rule.unit.code()) {
      m.text += " = " + Quantity{q->value, rule.unit, c}.ToString();
    }
    m.fixed = Fixed(q->value);
    return m;
  }
  if (!v.uln) {
    m.problem = "no upper limit of normal (ULN) given";
    return m;
  }
  auto q = Convert(v.value, v.uln->unit);
  if (!q || !(v.uln->value > 0)) {
    m.problem = "cannot be compared with its ULN " + v.uln->ToString();
    return m;
  }
  const double ratio = q->value / v.uln->value;
  m.text += " = " + Number(ratio) + " x ULN (ULN " + v.uln->ToString() + ")";
  m.fixed = Fixed(ratio);
  return m;
}

// How many values, from the latest backwards, satisfy `band`'s bound without a break.
int ConsecutiveRun(const LabRule& rule, const LabBand& band,
                   const std::vector<const LabValue*>& values) {
  int n = 0;
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    Measured m = Measure(rule, **it);
    if (!m.fixed || !Holds(band, *m.fixed)) break;
    ++n;
  }
  return n;
}

LabFinding Assess(const protocol::DoseModification& table, const LabRule& rule,
                  const std::string& analyte, const LabHistory& labs, Date dose_date) {
  LabFinding f{rule.id, analyte, DoseDecision::kUnknown, ""};
  std::vector<const LabValue*> values;
  if (auto it = labs.find(analyte); it != labs.end()) {
    for (const auto& v : it->second) {
      if (v.date <= dose_date) values.push_back(&v);
    }
  }
  std::stable_sort(values.begin(), values.end(),
                   [](const LabValue* a, const LabValue* b) { return a->date < b->date; });
  if (values.empty()) {
    f.explanation = analyte + ": no value on or before " + dose_date.ToString() + ": lab needed";
    return f;
  }
  const LabValue& latest = *values.back();
  const std::string head =
      analyte + " " + latest.value.ToString() + " on " + latest.date.ToString();
  const int age = dose_date.days() - latest.date.days();
  if (age > table.lab_max_age_days) {
    f.explanation = head + " is " + std::to_string(age) + " days before the dose (more than " +
                    std::to_string(table.lab_max_age_days) + "): lab needed";
    return f;
  }
  Measured m = Measure(rule, latest);
  if (!m.fixed) {
    f.explanation = head + ": " + m.problem + ": lab needed";
    return f;
  }
  std::string notes;
  for (const LabBand& band : rule.bands) {
    if (!Holds(band, *m.fixed)) continue;
    if (band.persistent > 0) {
      const int run = ConsecutiveRun(rule, band, values);
      if (run < band.persistent) {
        notes += " [" + band.row + ": not yet persistent, " + std::to_string(run) + " of " +
                 std::to_string(band.persistent) + " consecutive assessments]";
        continue;
      }
    }
    f.decision = FromAction(band.action);
    std::string row = band.row;
    if (band.discontinue_after > 0) {
      const int run = ConsecutiveRun(rule, band, values);
      if (run >= band.discontinue_after) {
        f.decision = DoseDecision::kDiscontinue;
        row += "; persistent on " + std::to_string(run) + " consecutive assessments (" +
               std::to_string(band.discontinue_after) + " discontinue)";
      }
    }
    f.explanation = analyte + " " + m.text + " on " + latest.date.ToString() + ": " + row + notes +
                    " -> " + DoseDecisionName(f.decision);
    return f;
  }
  // The loader makes the last band unbounded, so a band always applies; fail closed if not.
  f.explanation = head + ": no band of lab rule " + rule.id + " applies: lab rule incomplete";
  return f;
}

}  // namespace

DoseVerdict DecideDose(const protocol::DoseModification& table, const LabHistory& labs,
                       const std::vector<PastDecision>& history, Date dose_date) {
  DoseVerdict verdict;
  std::vector<const PastDecision*> past;
  for (const auto& d : history) {
    if (d.date <= dose_date) past.push_back(&d);
  }
  std::stable_sort(past.begin(), past.end(),
                   [](const PastDecision* a, const PastDecision* b) { return a->date < b->date; });
  // The initiation thresholds join the table while treatment has not started (no dose given).
  const bool initiating = std::none_of(past.begin(), past.end(), [](const PastDecision* d) {
    return d->decision == DoseDecision::kProceed || d->decision == DoseDecision::kReduce;
  });
  DoseDecision from_labs = DoseDecision::kProceed;
  auto assess_all = [&](const std::vector<LabRule>& rules) {
    for (const auto& rule : rules) {
      for (const auto& analyte : rule.analytes) {
        verdict.findings.push_back(Assess(table, rule, analyte, labs, dose_date));
        from_labs = std::max(from_labs, verdict.findings.back().decision);
      }
    }
  };
  assess_all(table.labs);
  if (initiating) assess_all(table.initiation);
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  for (const PastDecision* d : past) {
    if (d->decision != DoseDecision::kDiscontinue) continue;
    verdict.decision = DoseDecision::kDiscontinue;
    verdict.causes = d->causes;
    verdict.explanation = "discontinue: treatment was discontinued on " + d->date.ToString() +
                          (d->causes.empty() ? "" : " (" + join(d->causes) + ")");
    return verdict;
  }

  // Resuming after a hold: walk back over the reduced doses given since the latest hold.
  DoseDecision floor = DoseDecision::kProceed;
  std::vector<std::string> floor_causes;
  std::string floor_text;
  int reduced_given = 0;
  for (auto it = past.rbegin(); it != past.rend(); ++it) {
    const PastDecision& d = **it;
    if (d.decision == DoseDecision::kReduce) {
      ++reduced_given;
      continue;
    }
    if (d.decision == DoseDecision::kUnknown) continue;  // no dose was given
    if (d.decision != DoseDecision::kHold) break;        // a full dose: nothing to resume
    for (const auto& cause : d.causes) {
      for (const auto& rule : table.labs) {
        if (rule.id == cause && rule.resume_after_hold == protocol::Resume::kReducedDose) {
          floor_causes.push_back(cause);
        }
      }
    }
    if (!floor_causes.empty() && reduced_given < table.resume_reduced_doses) {
      floor = DoseDecision::kReduce;
      floor_text = "resuming at the reduced dose after the hold of " + d.date.ToString() + " (" +
                   join(floor_causes) + "): reduced dose " + std::to_string(reduced_given + 1) +
                   " of " + std::to_string(table.resume_reduced_doses);
    }
    break;
  }

  verdict.decision = std::max(from_labs, floor);
  std::vector<std::string> reasons;
  for (const auto& f : verdict.findings) {
    if (verdict.decision == DoseDecision::kProceed || f.decision == verdict.decision) {
      reasons.push_back(f.explanation);
      if (verdict.decision != DoseDecision::kProceed &&
          std::find(verdict.causes.begin(), verdict.causes.end(), f.rule_id) ==
              verdict.causes.end()) {
        verdict.causes.push_back(f.rule_id);
      }
    }
  }
  if (floor == verdict.decision && floor == DoseDecision::kReduce) {
    reasons.push_back(floor_text);
    for (const auto& c : floor_causes) {
      if (std::find(verdict.causes.begin(), verdict.causes.end(), c) == verdict.causes.end()) {
        verdict.causes.push_back(c);
      }
    }
  }
  std::string text;
  for (const auto& r : reasons) text += (text.empty() ? "" : "; ") + r;
  verdict.explanation = std::string(DoseDecisionName(verdict.decision)) +
                        (verdict.decision == DoseDecision::kUnknown ? " (lab needed)" : "") + ": " +
                        text;
  return verdict;
}

}  // namespace trial::schedule
