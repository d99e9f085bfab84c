// Respiratory endpoints (respiratory.h).
#include "outcomes/respiratory.h"

#include <algorithm>
#include <stdexcept>

#include "safety/respiratory.h"

namespace trial::outcomes {

Result<TimeToEvent> TimeToRespiratoryFailureOrDeath(const protocol::Outcomes& o, Date day0,
                                                    std::optional<Date> first_failure,
                                                    std::optional<Date> death,
                                                    Date last_assessment) {
  for (auto [date, what] :
       {std::pair{first_failure, "respiratory failure"}, std::pair{death, "death"},
        std::pair{std::optional<Date>(last_assessment), "last assessment"}}) {
    if (date && *date < day0) {
      return Fail(ErrorCode::kInvalidInput, std::string(what) + " on " + date->ToString() +
                                                " is before day 0 (" + day0.ToString() + ")");
    }
  }
  const int horizon = o.respiratory.follow_up_days;
  auto day = [&](Date d) { return d.days() - day0.days(); };
  TimeToEvent t;
  std::optional<int> failure_day, death_day;
  if (first_failure && day(*first_failure) <= horizon) failure_day = day(*first_failure);
  if (death && day(*death) <= horizon) death_day = day(*death);
  if (failure_day || death_day) {
    t.event = true;
    if (failure_day && death_day && *failure_day == *death_day) {
      t.days = *failure_day;
      t.kind = "respiratory failure and death";
    } else if (failure_day && (!death_day || *failure_day < *death_day)) {
      t.days = *failure_day;
      t.kind = "respiratory failure";
    } else {
      t.days = *death_day;
      t.kind = "death";
    }
    t.explanation = t.kind + " on day " + std::to_string(t.days);
    return t;
  }
  t.kind = "censored";
  t.days = std::min(day(last_assessment), horizon);
  t.explanation =
      "no respiratory failure or death by day " + std::to_string(t.days) +
      (day(last_assessment) > horizon ? " (end of follow-up, resp_follow_up)"
                                      : " (last assessment " + last_assessment.ToString() + ")");
  return t;
}

namespace {

Result<std::optional<Rational>> Value(const std::optional<ExactQuantity>& q, const char* unit,
                                      const Rational& max, const std::string& what) {
  if (!q) return std::optional<Rational>();
  auto c = ConvertExact(*q, *Unit::Parse(unit));
  if (!c) return Fail(c.error().code, what + ": " + c.error().message);
  if (c->value.Sign() < 0 || c->value > max) {
    return Fail(ErrorCode::kInvalidInput, what + " " + q->ToString(2) + " is out of range (0 to " +
                                              max.ToString() + " " + unit + ")");
  }
  return std::optional<Rational>(c->value);
}

Result<std::optional<Rational>> Pf(const LungAssessment& a, const std::string& when) {
  if (!a.pao2 || !a.fio2) return std::optional<Rational>();
  auto pf = safety::PfRatio(*a.pao2, *a.fio2);
  if (!pf) return Fail(pf.error().code, when + ": " + pf.error().message);
  return std::optional<Rational>(*pf);
}

ChangeFromBaseline Change(const std::string& measure, std::optional<Rational> b,
                          std::optional<Rational> w) {
  ChangeFromBaseline c{measure, b, w, std::nullopt, ""};
  if (b && w) {
    c.change = *w - *b;
  } else {
    c.missing = !b && !w ? "baseline and week 8" : (!b ? "baseline" : "week 8");
  }
  return c;
}

Result<RespiratoryChanges> Changes(const LungAssessment& b, const LungAssessment& w) {
  RespiratoryChanges r;
  struct Spec {
    const char* id;
    std::optional<ExactQuantity> LungAssessment::*field;
    Rational max;
    ChangeFromBaseline RespiratoryChanges::*out;
  };
  const Spec specs[] = {
      {"fvc_percent", &LungAssessment::fvc_percent, Rational(200), &RespiratoryChanges::fvc},
      {"dlco_percent", &LungAssessment::dlco_percent, Rational(200), &RespiratoryChanges::dlco},
      {"hrct_extent", &LungAssessment::hrct_extent, Rational(100), &RespiratoryChanges::hrct}};
  for (const auto& s : specs) {
    auto bv = Value(b.*s.field, "%", s.max, std::string("baseline ") + s.id);
    if (!bv) return std::unexpected(bv.error());
    auto wv = Value(w.*s.field, "%", s.max, std::string("week 8 ") + s.id);
    if (!wv) return std::unexpected(wv.error());
    r.*s.out = Change(s.id, *bv, *wv);
  }
  auto bpf = Pf(b, "baseline");
  if (!bpf) return std::unexpected(bpf.error());
  auto wpf = Pf(w, "week 8");
  if (!wpf) return std::unexpected(wpf.error());
  r.pf = Change("pf_ratio", *bpf, *wpf);
  return r;
}

}  // namespace

Result<RespiratoryChanges> RespiratoryChangesAtWeek8(const LungAssessment& baseline,
                                                     const LungAssessment& week8) {
  try {
    return Changes(baseline, week8);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("a value is too large for exact arithmetic: ") + e.what());
  }
}

}  // namespace trial::outcomes
