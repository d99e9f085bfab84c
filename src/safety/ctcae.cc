// CTCAE lab grading (ctcae.h).
#include "safety/ctcae.h"

#include <stdexcept>

namespace trial::safety {

using protocol::CtcaeBranch;
using protocol::CtcaeComparison;
using protocol::CtcaeCriterion;
using protocol::CtcaeReference;
using protocol::CtcaeTerm;

namespace {

bool Compare(CtcaeComparison c, const Rational& value, const Rational& limit) {
  switch (c) {
    case CtcaeComparison::kAbove:
      return value > limit;
    case CtcaeComparison::kAtLeast:
      return value >= limit;
    case CtcaeComparison::kBelow:
      return value < limit;
    case CtcaeComparison::kAtMost:
      return value <= limit;
  }
  return false;
}

Result<Rational> In(const ExactQuantity& q, const Unit& unit, const std::string& what) {
  auto c = ConvertExact(q, unit);
  if (!c) return Fail(c.error().code, what + ": " + c.error().message);
  return c->value;
}

Result<LabGrade> Grade(const protocol::Outcomes& o, const LabValue& lab) {
  const CtcaeTerm* term = o.FindTerm(lab.term);
  if (term == nullptr) {
    return Fail(ErrorCode::kNotFound, "no CTCAE term '" + lab.term + "' in outcomes.yaml");
  }
  const Unit& unit = lab.value.unit;
  const Rational value = lab.value.value;
  if (value.Sign() < 0) {
    return Fail(ErrorCode::kInvalidInput,
                term->id + ": a negative value (" + lab.value.ToString(2) + ") is not a result");
  }
  std::optional<Rational> uln, lln, baseline;
  if (lab.uln) {
    auto r = In(*lab.uln, unit, term->id + " ULN");
    if (!r) return std::unexpected(r.error());
    if (r->Sign() <= 0) return Fail(ErrorCode::kInvalidInput, term->id + ": ULN must be positive");
    uln = *r;
  }
  if (lab.lln) {
    auto r = In(*lab.lln, unit, term->id + " LLN");
    if (!r) return std::unexpected(r.error());
    lln = *r;
  }
  if (lab.baseline) {
    auto r = In(*lab.baseline, unit, term->id + " baseline");
    if (!r) return std::unexpected(r.error());
    baseline = *r;
  }

  LabGrade g;
  g.term_id = term->id;
  g.term = term->term;
  bool branched = false;
  for (const auto& c : term->criteria) branched = branched || c.branch != CtcaeBranch::kAlways;
  bool baseline_normal = true;
  if (branched) {
    if (!baseline) {
      g.branch = "no baseline: baseline normal";
    } else {
      const auto& ref = term->increased ? uln : lln;
      if (!ref) {
        return Fail(ErrorCode::kInvalidInput,
                    term->id + ": the " + std::string(term->increased ? "ULN" : "LLN") +
                        " is needed to tell a normal from an abnormal baseline");
      }
      baseline_normal = term->increased ? *baseline <= *ref : *baseline >= *ref;
      g.branch = baseline_normal ? "baseline normal" : "baseline abnormal";
    }
  }

  const CtcaeCriterion* decided = nullptr;
  std::string decided_detail;
  const CtcaeCriterion* unevaluable = nullptr;  // the highest criterion lacking its ULN/LLN
  std::string unevaluable_ref;
  for (const auto& c : term->criteria) {
    if (c.branch == CtcaeBranch::kBaselineNormal && !baseline_normal) continue;
    if (c.branch == CtcaeBranch::kBaselineAbnormal && baseline_normal) continue;
    Rational limit;
    switch (c.reference) {
      case CtcaeReference::kAbsolute: {
        const ExactQuantity* match = nullptr;
        std::string kinds;
        for (const auto& l : c.limits) {
          kinds += (kinds.empty() ? "" : " or ") + l.unit.code();
          if (l.unit.dim() == unit.dim() && match == nullptr) match = &l;
        }
        if (match == nullptr) {
          return Fail(ErrorCode::kInvalidInput, term->id + ": a value in '" + unit.code() +
                                                    "' cannot be graded against limits in " +
                                                    kinds);
        }
        auto r = In(*match, unit, term->id + " limit");
        if (!r) return std::unexpected(r.error());
        limit = *r;
        break;
      }
      case CtcaeReference::kUln:
      case CtcaeReference::kLln: {
        const bool is_uln = c.reference == CtcaeReference::kUln;
        const auto& ref = is_uln ? uln : lln;
        if (!ref) {  // matters only if no higher grade holds (checked after the loop)
          if (unevaluable == nullptr || c.grade > unevaluable->grade) {
            unevaluable = &c;
            unevaluable_ref = is_uln ? "ULN" : "LLN";
          }
          continue;
        }
        limit = c.factor * *ref;
        break;
      }
      case CtcaeReference::kBaseline:
        if (!baseline) continue;  // no baseline: this criterion does not apply
        limit = c.factor * *baseline;
        break;
    }
    if (!Compare(c.comparison, value, limit)) continue;
    if (decided == nullptr || c.grade > decided->grade) {
      decided = &c;
      decided_detail = ExactQuantity{limit, unit}.ToString(3);
    }
  }
  if (unevaluable != nullptr && (decided == nullptr || unevaluable->grade > decided->grade)) {
    return Fail(ErrorCode::kInvalidInput,
                term->id + ": the " + unevaluable_ref + " is needed (" + unevaluable->text + ")");
  }
  if (decided == nullptr) {
    g.grade = 0;
    g.rule = "grade 0: no criterion met (value " + lab.value.ToString(3) + ")";
  } else {
    g.grade = decided->grade;
    g.rule = decided->text + " (value " + lab.value.ToString(3) + ", limit " + decided_detail + ")";
  }
  g.possible_ae = o.possible_ae_grade > 0 && g.grade >= o.possible_ae_grade;
  return g;
}

}  // namespace

Result<LabGrade> GradeLab(const protocol::Outcomes& o, const LabValue& lab) {
  try {
    return Grade(o, lab);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput,
                lab.term + ": a value is too large for exact arithmetic (" + e.what() + ")");
  }
}

}  // namespace trial::safety
