// Respiratory safety detection (respiratory.h).
#include "safety/respiratory.h"

#include <algorithm>
#include <stdexcept>

namespace trial::safety {

namespace {

const Unit& Percent() {
  static const Unit u = *Unit::Parse("%");
  return u;
}
const Unit& MmHg() {
  static const Unit u = *Unit::Parse("mm[Hg]");
  return u;
}

Result<Rational> In(const ExactQuantity& q, const Unit& unit, const std::string& what,
                    const Rational& min, const std::optional<Rational>& max) {
  auto c = ConvertExact(q, unit);
  if (!c) return Fail(c.error().code, what + ": " + c.error().message);
  if (c->value < min || (max && c->value > *max)) {
    return Fail(ErrorCode::kInvalidInput,
                what + " " + q.ToString(2) + " is out of range (" + min.ToString() + " to " +
                    (max ? max->ToString() : std::string("any")) + " " + unit.code() + ")");
  }
  return c->value;
}

// FiO2 as a fraction: 21 % room air up to 100 %.
Result<Rational> Fio2(const ExactQuantity& q) {
  return In(q, Unit(), "FiO2", Rational(21, 100), Rational(1));
}

template <class F>
auto Exactly(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("a value is too large for exact arithmetic: ") + e.what());
  }
}

std::string Pct(const Rational& fraction) { return (fraction * Rational(100)).ToString() + " %"; }

}  // namespace

Result<std::vector<RespiratoryFailureEvent>> DetectRespiratoryFailure(
    const protocol::Outcomes& o, Date day0, const std::vector<OxygenationSample>& samples) {
  return Exactly([&]() -> Result<std::vector<RespiratoryFailureEvent>> {
    const auto& d = o.respiratory;
    std::vector<RespiratoryFailureEvent> events;
    for (const auto& s : samples) {
      Rational fio2 = d.stated_fio2;
      std::string fio2_note = " (no FiO2 recorded: taken as " + Pct(d.stated_fio2) + ")";
      if (s.fio2) {
        auto f = Fio2(*s.fio2);
        if (!f) return Fail(f.error().code, s.date.ToString() + ": " + f.error().message);
        fio2 = *f;
        fio2_note = "";
      }
      std::optional<Rational> spo2, pao2;
      if (s.spo2) {
        auto v = In(*s.spo2, Percent(), "SpO2", Rational(0), Rational(100));
        if (!v) return Fail(v.error().code, s.date.ToString() + ": " + v.error().message);
        spo2 = *v;
      }
      if (s.pao2) {
        auto v = In(*s.pao2, MmHg(), "PaO2", Rational(0), std::nullopt);
        if (!v) return Fail(v.error().code, s.date.ToString() + ": " + v.error().message);
        pao2 = *v;
      }
      if (s.date <= day0 || fio2 < d.stated_fio2) continue;
      std::string reason;
      if (pao2 && *pao2 < d.pao2_below_mmhg) {
        reason =
            "PaO2 " + pao2->ToDecimal(1) + " mm[Hg] < " + d.pao2_below_mmhg.ToString() + " mm[Hg]";
      } else if (spo2 && *spo2 < d.spo2_below_percent) {
        reason = "SpO2 " + spo2->ToDecimal(1) + " % < " + d.spo2_below_percent.ToString() + " %";
      } else {
        continue;
      }
      reason += " on FiO2 " + Pct(fio2) + fio2_note;
      events.push_back({s.date, s.date.days() - day0.days(), reason});
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.date < b.date; });
    return events;
  });
}

Result<Rational> PfRatio(const ExactQuantity& pao2, const ExactQuantity& fio2) {
  return Exactly([&]() -> Result<Rational> {
    auto p = In(pao2, MmHg(), "PaO2", Rational(0), std::nullopt);
    if (!p) return std::unexpected(p.error());
    auto f = Fio2(fio2);
    if (!f) return std::unexpected(f.error());
    return *p / *f;
  });
}

Result<PfSeries> TrackPf(Date day0, const std::vector<OxygenationSample>& samples) {
  return Exactly([&]() -> Result<PfSeries> {
    std::vector<PfPoint> all;
    for (const auto& s : samples) {
      if (!s.pao2 || !s.fio2) continue;
      auto pf = PfRatio(*s.pao2, *s.fio2);
      if (!pf) return Fail(pf.error().code, s.date.ToString() + ": " + pf.error().message);
      all.push_back({s.date, s.date.days() - day0.days(), *pf, std::nullopt});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.date < b.date; });
    PfSeries out;
    for (const auto& p : all) {
      if (p.date <= day0) {
        out.baseline = p;  // the latest on or before day 0 wins
      } else {
        out.points.push_back(p);
      }
    }
    if (out.baseline) {
      for (auto& p : out.points) p.change = p.pf - out.baseline->pf;
    }
    return out;
  });
}

namespace {

// The most recent value on or before day 0, converted to `unit`.
Result<std::optional<Rational>> Baseline(const std::vector<DatedValue>& values, Date day0,
                                         const Unit& unit, const std::string& what) {
  const DatedValue* best = nullptr;
  for (const auto& v : values) {
    if (v.date <= day0 && (best == nullptr || v.date > best->date)) best = &v;
  }
  if (best == nullptr) return std::optional<Rational>();
  auto c = In(best->value, unit, what + " baseline", Rational(0), std::nullopt);
  if (!c) return std::unexpected(c.error());
  return std::optional<Rational>(*c);
}

struct Finding {
  Date date;
  std::string reason;
};

}  // namespace

Result<RpIldDetection> DetectRpIld(const protocol::Outcomes& o, Date day0,
                                   const RespiratoryTimeline& t) {
  return Exactly([&]() -> Result<RpIldDetection> {
    const auto& d = o.respiratory;
    std::optional<Finding> first;
    auto consider = [&](Date date, std::string reason) {
      if (!first || date < first->date) first = Finding{date, std::move(reason)};
    };
    for (Date dx : t.rp_ild_diagnoses) {
      if (dx > day0) consider(dx, "RP-ILD diagnosed on " + dx.ToString());
    }
    auto fvc0 = Baseline(t.fvc_percent, day0, Percent(), "FVC");
    if (!fvc0) return std::unexpected(fvc0.error());
    auto hrct0 = Baseline(t.hrct_extent, day0, Percent(), "HRCT extent");
    if (!hrct0) return std::unexpected(hrct0.error());
    auto pao20 = Baseline(t.pao2, day0, MmHg(), "PaO2");
    if (!pao20) return std::unexpected(pao20.error());

    // `drop_is_worse`: the measurement signals RP-ILD when it falls (FVC, PaO2) rather than
    // rises (HRCT extent) by more than `limit` from baseline.
    auto measured = [&](const std::vector<DatedValue>& values, const std::optional<Rational>& base,
                        const Unit& unit, const Rational& limit, bool drop_is_worse,
                        const std::string& what, Date from, Date to,
                        const std::string& onset) -> Result<bool> {
      for (const auto& v : values) {
        if (v.date < from || v.date > to) continue;
        auto x = In(v.value, unit, what, Rational(0), std::nullopt);
        if (!x) return std::unexpected(x.error());
        if (!base) continue;  // no baseline: this part cannot hold
        const Rational change = drop_is_worse ? *base - *x : *x - *base;
        if (change > limit) {
          consider(v.date, what + " " + x->ToString() + " " + unit.code() + " on " +
                               v.date.ToString() + " is " + change.ToString() + " " +
                               (drop_is_worse ? "below" : "above") + " baseline " +
                               base->ToString() + " (more than " + limit.ToString() + ")" + onset);
        }
      }
      return true;
    };

    for (Date onset : t.symptom_onsets) {
      if (onset <= day0) continue;
      const Date end = onset.AddDays(d.rpild_window_days);
      const std::string within = ", within " + std::to_string(d.rpild_window_days) +
                                 " days after onset " + onset.ToString();
      for (Date o2 : t.supplemental_oxygen) {
        if (o2 >= onset && o2 <= end)
          consider(o2, "supplemental oxygen on " + o2.ToString() + within);
      }
      for (const auto& stay : t.respiratory_stays) {
        if (stay.start <= end && stay.end >= onset) {
          const Date from = std::max(stay.start, onset);
          consider(from, "respiratory hospital stay from " + stay.start.ToString() + within);
        }
      }
      for (auto r : {measured(t.fvc_percent, *fvc0, Percent(), d.rpild_fvc_drop, true,
                              "FVC % predicted", onset, end, within),
                     measured(t.hrct_extent, *hrct0, Percent(), d.rpild_hrct_rise, false,
                              "HRCT extent", onset, end, within),
                     measured(t.pao2, *pao20, MmHg(), d.rpild_pao2_drop, true, "PaO2", onset, end,
                              within)}) {
        if (!r) return std::unexpected(r.error());
      }
    }
    RpIldDetection out;
    if (first) {
      out.detected = true;
      out.date = first->date;
      out.reason = first->reason;
    } else {
      out.reason = "no RP-ILD condition after day 0";
    }
    return out;
  });
}

}  // namespace trial::safety
