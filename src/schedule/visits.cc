// Visit plan and visit status (visits.h).
#include "schedule/visits.h"

#include <algorithm>
#include <map>

namespace trial::schedule {

const PlannedVisit* VisitPlan::Find(std::string_view id) const {
  for (const auto& v : visits) {
    if (v.visit_id == id) return &v;
  }
  return nullptr;
}

VisitPlan PlanVisits(const protocol::Schedule& schedule, Date day0) {
  VisitPlan plan;
  plan.day0 = day0;
  for (const auto& def : schedule.visits) {
    PlannedVisit v;
    v.visit_id = def.id;
    v.name = def.name;
    v.day = def.day;
    v.target = day0.AddDays(def.day);
    v.earliest = v.target.AddDays(-def.window_before);
    v.latest = v.target.AddDays(def.window_after);
    v.dose = def.dose;
    v.dose_number = def.dose ? def.dose_number : 0;
    plan.visits.push_back(std::move(v));
  }
  return plan;
}

const char* VisitStatusName(VisitStatus s) {
  switch (s) {
    case VisitStatus::kUpcoming:
      return "upcoming";
    case VisitStatus::kDue:
      return "due";
    case VisitStatus::kOverdue:
      return "overdue";
    case VisitStatus::kDoneInWindow:
      return "done in window";
    case VisitStatus::kDoneOutOfWindow:
      return "done out of window";
    case VisitStatus::kMissed:
      return "missed";
  }
  return "?";
}

const char* DeviationKindName(DeviationKind k) {
  switch (k) {
    case DeviationKind::kVisitOutOfWindow:
      return "visit_out_of_window";
    case DeviationKind::kVisitMissed:
      return "visit_missed";
    case DeviationKind::kDoseMissed:
      return "dose_missed";
  }
  return "?";
}

namespace {

std::string Window(const PlannedVisit& v) {
  return v.earliest.ToString() + ".." + v.latest.ToString();
}

std::string Days(int n) { return std::to_string(n) + (n == 1 ? " day" : " days"); }

}  // namespace

Result<VisitReport> EvaluateVisits(const protocol::Schedule& schedule, const VisitPlan& plan,
                                   const std::vector<VisitRecord>& records, Date today) {
  VisitReport report;
  std::map<std::string, const VisitRecord*> by_visit;
  for (const auto& r : records) {
    const std::string what = "visit record '" + r.visit_id + "'";
    if (r.missed == r.date.has_value()) {
      return Fail(ErrorCode::kInvalidArgument,
                  what + ": give either a date (done) or missed, exactly one of them");
    }
    if (r.date && *r.date > today) {
      return Fail(ErrorCode::kInvalidArgument,
                  what + ": dated " + r.date->ToString() + ", after today " + today.ToString());
    }
    if (schedule.unscheduled_allowed && r.visit_id == schedule.unscheduled_id) {
      if (r.missed) {
        return Fail(ErrorCode::kInvalidArgument, what + ": an unscheduled visit cannot be missed");
      }
      if (*r.date < plan.day0) {
        return Fail(ErrorCode::kInvalidArgument, what + ": dated " + r.date->ToString() +
                                                     ", before day 0 " + plan.day0.ToString());
      }
      report.unscheduled.push_back(*r.date);
      continue;
    }
    if (plan.Find(r.visit_id) == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  what + ": no such planned visit" +
                      (schedule.unscheduled_allowed
                           ? " (unscheduled visits use '" + schedule.unscheduled_id + "')"
                           : " (unscheduled visits are not allowed)"));
    }
    if (!by_visit.emplace(r.visit_id, &r).second) {
      return Fail(ErrorCode::kInvalidArgument, what + ": recorded twice");
    }
  }
  std::sort(report.unscheduled.begin(), report.unscheduled.end());

  for (const auto& v : plan.visits) {
    VisitState state;
    state.visit = v;
    auto it = by_visit.find(v.visit_id);
    const VisitRecord* record = it == by_visit.end() ? nullptr : it->second;
    bool missed = false;
    std::string missed_why;
    if (record != nullptr && record->date) {
      const Date d = *record->date;
      state.done_on = d;
      if (d < v.earliest) {
        state.days_outside = d.days() - v.earliest.days();
      } else if (d > v.latest) {
        state.days_outside = d.days() - v.latest.days();
      }
      if (state.days_outside == 0) {
        state.status = VisitStatus::kDoneInWindow;
      } else {
        state.status = VisitStatus::kDoneOutOfWindow;
        const int n = state.days_outside;
        report.deviations.push_back(
            Deviation{DeviationKind::kVisitOutOfWindow, v.visit_id, d, n,
                      v.visit_id + " done on " + d.ToString() + ", " + Days(n < 0 ? -n : n) +
                          (n < 0 ? " before" : " after") + " its window " + Window(v)});
      }
    } else if (record != nullptr) {
      missed = true;
      missed_why = "recorded as missed" + (record->reason.empty() ? "" : ": " + record->reason);
    } else if (today < v.earliest) {
      state.status = VisitStatus::kUpcoming;
    } else if (today <= v.latest) {
      state.status = VisitStatus::kDue;
    } else if (today <= v.latest.AddDays(schedule.missed_grace_days)) {
      state.status = VisitStatus::kOverdue;
    } else {
      missed = true;
      missed_why = "not done by " + v.latest.AddDays(schedule.missed_grace_days).ToString() +
                   " (window " + Window(v) + " + " + Days(schedule.missed_grace_days) + " grace)";
    }
    if (missed) {
      state.status = VisitStatus::kMissed;
      report.deviations.push_back(Deviation{DeviationKind::kVisitMissed, v.visit_id, v.target, 0,
                                            v.visit_id + " missed: " + missed_why});
      if (v.dose) {
        report.deviations.push_back(Deviation{DeviationKind::kDoseMissed, v.visit_id, v.target, 0,
                                              "dose " + std::to_string(v.dose_number) + " (" +
                                                  v.visit_id + ", target " + v.target.ToString() +
                                                  ") missed: the visit was missed"});
      }
    }
    report.visits.push_back(std::move(state));
  }
  return report;
}

}  // namespace trial::schedule
