#include "service/visits.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "service/access.h"

namespace trial::service {

namespace {

const char* kLabForm = "safety_labs";
const char* kLabDate = "collected_on";
// The lab analytes the hold rules name, and the item holding each one's upper limit of normal.
const std::map<std::string, std::string> kLabItems = {
    {"anc", ""}, {"platelets", ""}, {"alt", "alt_uln"}, {"ast", "ast_uln"}};

// Everything about one randomized subject that the visit and dose use cases read.
struct SubjectContext {
  store::Subject subject;
  Reader reader;
  const protocol::Schedule* schedule = nullptr;
  Date day0;
  schedule::VisitPlan plan;  // visits from day 0 on (screening is the screening's business)
  std::vector<store::VisitEntry> visits;
};

Result<SubjectContext> LoadContext(store::TrialStore& store, const protocol::Protocol& protocol,
                                   const std::string& actor, int64_t subject_id) {
  if (!protocol.schedule) {
    return Fail(ErrorCode::kInvalidInput,
                "protocol " + protocol.id + " has no schedule.yaml: it plans no visits");
  }
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  auto reader = ReaderOf(store, actor, (*subject)->site_id, "the subjects");
  if (!reader) return std::unexpected(reader.error());
  auto day0 = store.DayZero(subject_id);
  if (!day0) return std::unexpected(day0.error());
  if (!*day0) {
    return Fail(ErrorCode::kInvalidInput, "subject " + std::to_string(subject_id) +
                                              " is not randomized: it has no visit plan yet");
  }
  auto visits = store.Visits(subject_id);
  if (!visits) return std::unexpected(visits.error());
  SubjectContext c{**subject, std::move(*reader), &*protocol.schedule, **day0,
                   {},        std::move(*visits)};
  c.plan = schedule::PlanVisits(*c.schedule, c.day0);
  std::erase_if(c.plan.visits, [&](const schedule::PlannedVisit& v) { return v.latest < c.day0; });
  return c;
}

// The engine's records for the stored visits (UNS-1, UNS-2, ... are the unscheduled id).
std::vector<schedule::VisitRecord> EngineRecords(const SubjectContext& c) {
  std::vector<schedule::VisitRecord> out;
  const std::string uns = c.schedule->unscheduled_id + "-";
  for (const auto& v : c.visits) {
    const bool unscheduled = !c.schedule->unscheduled_id.empty() && v.visit.rfind(uns, 0) == 0;
    out.push_back(schedule::VisitRecord{unscheduled ? c.schedule->unscheduled_id : v.visit, v.date,
                                        v.missed, v.reason});
  }
  return out;
}

std::vector<store::NewDeviation> ToStore(const std::vector<schedule::Deviation>& list) {
  std::vector<store::NewDeviation> out;
  for (const auto& d : list) {
    out.push_back(store::NewDeviation{schedule::DeviationKindName(d.kind), d.visit_id, d.date,
                                      d.days_outside, d.description});
  }
  return out;
}

// The date of a stored visit, when it was done.
std::optional<Date> VisitDate(const SubjectContext& c, const std::string& visit) {
  for (const auto& v : c.visits) {
    if (v.visit == visit) return v.date;
  }
  return std::nullopt;
}

// The date of values entered at `visit`: the visit's date, or the dose date for the visit being
// dosed when it is not recorded yet; nullopt otherwise.
std::optional<Date> DateOfValuesAt(const SubjectContext& c, const std::string& visit,
                                   const std::string& dosing_visit, Date dose_date) {
  if (auto d = VisitDate(c, visit)) return d;
  if (visit == dosing_visit) return dose_date;
  return std::nullopt;
}

struct DoseInputs {
  schedule::LabHistory labs;
  std::vector<schedule::WeightMeasurement> weights;
  std::vector<schedule::PastDecision> history;
  std::vector<std::string> notes;
};

// Labs, weights and earlier dose decisions from the store, for a dose at `visit` on `date`.
Result<DoseInputs> ReadDoseInputs(store::TrialStore& store, const SubjectContext& c,
                                  const std::string& visit, Date date,
                                  const std::vector<store::DoseEntry>& doses) {
  DoseInputs in;
  const int64_t id = c.subject.id;
  auto labs = store.FormItems(id, kLabForm);
  if (!labs) return std::unexpected(labs.error());
  // One lab panel per visit and repeat.
  std::map<std::pair<std::string, int>, std::map<std::string, std::string>> panels;
  for (const auto& v : *labs) panels[{v.key.visit, v.key.repeat}][v.key.item] = v.value;
  for (const auto& [where, items] : panels) {
    const std::string at = where.first + (where.second ? "#" + std::to_string(where.second) : "");
    std::optional<Date> day = DateOfValuesAt(c, where.first, visit, date);
    if (auto it = items.find(kLabDate); it != items.end() && !it->second.empty()) {
      auto parsed = Date::Parse(it->second);
      if (!parsed) {
        in.notes.push_back(std::string(kLabForm) + " at " + at + ": " + kLabDate + " '" +
                           it->second + "' is not a date: the panel is not used");
        continue;
      }
      day = *parsed;
    }
    if (!day) {
      in.notes.push_back(std::string(kLabForm) + " at " + at +
                         ": no date (the visit is not recorded and " + kLabDate +
                         " is empty): the panel is not used");
      continue;
    }
    for (const auto& [analyte, uln_item] : kLabItems) {
      auto value = items.find(analyte);
      if (value == items.end() || value->second.empty()) continue;
      auto q = ParseQuantityText(value->second);
      if (!q) {
        in.notes.push_back(std::string(kLabForm) + " at " + at + ": " + q.error().message);
        continue;
      }
      schedule::LabValue lab{*day, *q, std::nullopt};
      if (auto uln = items.find(uln_item); !uln_item.empty() && uln != items.end()) {
        auto u = ParseQuantityText(uln->second);
        if (u) {
          lab.uln = *u;
        } else {
          in.notes.push_back(std::string(kLabForm) + " at " + at + ": " + u.error().message);
        }
      }
      in.labs[analyte].push_back(lab);
    }
  }
  const ItemRef weight = DosingWeightItem();
  auto weights = store.FormItems(id, weight.form);
  if (!weights) return std::unexpected(weights.error());
  for (const auto& v : *weights) {
    if (v.key.item != weight.item || v.value.empty()) continue;
    std::optional<Date> day = DateOfValuesAt(c, v.key.visit, visit, date);
    auto q = ParseQuantityText(v.value);
    if (!q || !day) {
      in.notes.push_back(
          weight.form + "." + weight.item + " at " + v.key.visit + ": " +
          (q ? std::string("no date (the visit is not recorded)") : q.error().message) +
          ": not used");
      continue;
    }
    in.weights.push_back(schedule::WeightMeasurement{*day, *q});
  }
  std::sort(in.weights.begin(), in.weights.end(),
            [](const auto& a, const auto& b) { return a.date < b.date; });
  for (const auto& d : doses) {
    schedule::PastDecision past{d.date, schedule::DoseDecision::kProceed, d.causes};
    if (d.given) {
      past.decision =
          d.level == "reduced" ? schedule::DoseDecision::kReduce : schedule::DoseDecision::kProceed;
      past.causes.clear();
    } else {
      past.decision = d.decision == "discontinue" ? schedule::DoseDecision::kDiscontinue
                                                  : schedule::DoseDecision::kHold;
    }
    in.history.push_back(std::move(past));
  }
  return in;
}

// The store's record of a dose from the advice: given (full, reduced, or against a hold) or
// withheld.
store::DoseEntry EntryOf(const DoseAdvice& a, bool given, const std::string& override_reason) {
  store::DoseEntry e;
  e.subject_id = a.subject_id;
  e.visit = a.visit;
  e.date = a.date;
  e.given = given;
  e.decision = schedule::DoseDecisionName(a.verdict.decision);
  e.causes = a.verdict.causes;
  e.explanation = a.verdict.explanation;
  e.override_reason = override_reason;
  if (given && a.plan) {
    e.level = a.plan->level == schedule::DoseLevel::kReduced ? "reduced" : "full";
    e.dose_ug = a.plan->dose_ug;
    e.kit_number = a.kit_number;
  }
  if (given && a.weight) e.weight = a.weight->weight.ToString();
  return e;
}

}  // namespace

ItemRef DosingWeightItem() { return ItemRef{"weight", "weight"}; }

Result<Quantity> ParseQuantityText(const std::string& text) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + text + "' is not a quantity (a number, a space and a UCUM unit: '62.5 kg')");
  };
  std::string_view s = text;
  Quantity q;
  for (auto [prefix, comparator] :
       {std::pair{"<=", Comparator::kLe}, std::pair{">=", Comparator::kGe},
        std::pair{"<", Comparator::kLt}, std::pair{">", Comparator::kGt}}) {
    if (s.starts_with(prefix)) {
      q.comparator = comparator;
      s.remove_prefix(std::string_view(prefix).size());
      break;
    }
  }
  const size_t space = s.find(' ');
  if (space == std::string_view::npos || space == 0) return bad();
  const std::string_view number = s.substr(0, space);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), q.value);
  if (ec != std::errc() || end != number.data() + number.size()) return bad();
  auto unit = Unit::Parse(s.substr(space + 1));
  if (!unit) return bad();
  q.unit = *unit;
  return q;
}

Result<VisitOverview> ListVisits(store::TrialStore& store, const protocol::Protocol& protocol,
                                 const std::string& actor, int64_t subject_id, Date as_of) {
  auto c = LoadContext(store, protocol, actor, subject_id);
  if (!c) return std::unexpected(c.error());
  VisitOverview out;
  out.subject_id = subject_id;
  out.day0 = c->day0;
  out.as_of = as_of;
  // Visits recorded after `as_of` are not known yet on that date.
  auto records = EngineRecords(*c);
  std::erase_if(records, [&](const schedule::VisitRecord& r) { return r.date && *r.date > as_of; });
  auto report = schedule::EvaluateVisits(*c->schedule, c->plan, records, as_of);
  if (!report) return std::unexpected(report.error());
  out.report = std::move(*report);
  out.recorded = std::move(c->visits);
  auto doses = store.Doses(subject_id);
  if (!doses) return std::unexpected(doses.error());
  out.doses = std::move(*doses);
  auto deviations = store.Deviations(subject_id, std::nullopt);
  if (!deviations) return std::unexpected(deviations.error());
  out.deviations = std::move(*deviations);
  return out;
}

Result<store::WithDeviations<store::VisitEntry>> RecordVisit(store::TrialStore& store,
                                                             const protocol::Protocol& protocol,
                                                             const std::string& actor,
                                                             const VisitRequest& request,
                                                             Date today) {
  auto c = LoadContext(store, protocol, actor, request.subject_id);
  if (!c) return std::unexpected(c.error());
  auto records = EngineRecords(*c);
  records.push_back(
      schedule::VisitRecord{request.visit, request.date, request.missed, request.reason});
  auto report = schedule::EvaluateVisits(*c->schedule, c->plan, records, today);
  if (!report) return std::unexpected(report.error());
  const bool unscheduled =
      c->schedule->unscheduled_allowed && request.visit == c->schedule->unscheduled_id;
  store::VisitEntry entry{
      request.subject_id, request.visit, request.date, request.missed, request.reason, "", ""};
  return store.RecordVisit(actor, entry, unscheduled, today, ToStore(report->deviations));
}

Result<DoseAdvice> PlanDose(store::TrialStore& store, const protocol::Protocol& protocol,
                            const std::string& actor, int64_t subject_id, const std::string& visit,
                            Date date) {
  auto c = LoadContext(store, protocol, actor, subject_id);
  if (!c) return std::unexpected(c.error());
  const schedule::PlannedVisit* planned = c->plan.Find(visit);
  if (planned == nullptr || !planned->dose) {
    return Fail(ErrorCode::kInvalidArgument, "visit '" + visit + "' is not a dosing visit of " +
                                                 protocol.id + " (dose_count " +
                                                 std::to_string(c->schedule->dose_count) + ")");
  }
  auto doses = store.Doses(subject_id);
  if (!doses) return std::unexpected(doses.error());
  DoseAdvice a;
  a.subject_id = subject_id;
  a.visit = visit;
  a.date = date;
  a.dose_number = planned->dose_number;
  for (const auto& d : *doses) {
    if (d.visit == visit) a.recorded = d;
  }
  // Earlier decisions only: a dose already recorded at this visit is not its own history.
  std::erase_if(*doses, [&](const store::DoseEntry& d) { return d.visit == visit; });
  auto in = ReadDoseInputs(store, *c, visit, date, *doses);
  if (!in) return std::unexpected(in.error());
  a.notes = std::move(in->notes);
  a.verdict = schedule::DecideDose(c->schedule->modification, in->labs, in->history, date);
  using D = schedule::DoseDecision;
  if (a.verdict.decision == D::kProceed || a.verdict.decision == D::kReduce ||
      a.verdict.decision == D::kHold) {
    const auto& dosing = c->schedule->dosing;
    auto weight = schedule::SelectDosingWeight(dosing, in->weights, c->day0, date);
    if (!weight && a.verdict.decision == D::kHold) {
      a.notes.push_back(weight.error().message + ": no dose could be planned for an override");
      return a;
    }
    if (!weight) return std::unexpected(weight.error());
    const auto level = a.verdict.decision == D::kProceed ? schedule::DoseLevel::kFull
                                                         : schedule::DoseLevel::kReduced;
    auto plan = schedule::PlanDose(dosing, weight->weight, level);
    if (!plan) return std::unexpected(plan.error());
    a.weight = *weight;
    a.plan = std::move(*plan);
    auto kit = store.KitForDose(subject_id, visit, date);
    if (!kit) return std::unexpected(kit.error());
    a.kit_number = *kit;
  }
  return a;
}

Result<store::WithDeviations<store::DoseEntry>> RecordDose(
    store::TrialStore& store, const protocol::Protocol& protocol, const std::string& actor,
    int64_t subject_id, const std::string& visit, Date date, const std::string& override_reason,
    Date today) {
  auto advice = PlanDose(store, protocol, actor, subject_id, visit, date);
  if (!advice) return std::unexpected(advice.error());
  std::vector<store::NewDeviation> deviations;
  if (advice->verdict.decision == schedule::DoseDecision::kHold && !override_reason.empty()) {
    deviations.push_back(store::NewDeviation{"dose_against_hold", visit, date, 0,
                                             "dose " + std::to_string(advice->dose_number) + " (" +
                                                 visit + ") given on " + date.ToString() +
                                                 " against a hold (" + advice->verdict.explanation +
                                                 "); override: " + override_reason});
  }
  return store.RecordDose(actor, EntryOf(*advice, true, override_reason), today, deviations);
}

Result<store::WithDeviations<store::DoseEntry>> WithholdDose(
    store::TrialStore& store, const protocol::Protocol& protocol, const std::string& actor,
    int64_t subject_id, const std::string& visit, Date date, Date today) {
  auto advice = PlanDose(store, protocol, actor, subject_id, visit, date);
  if (!advice) return std::unexpected(advice.error());
  return store.RecordDose(actor, EntryOf(*advice, false, ""), today, {});
}

namespace {

// The reader of a subject's or a site's data (the subject's site when a subject is given).
Result<Reader> ReaderOfSubjectOrSite(store::TrialStore& store, const std::string& actor,
                                     std::optional<int64_t> subject_id,
                                     std::optional<std::string> site, const std::string& what) {
  if (subject_id) {
    auto subject = store.FindSubject(*subject_id);
    if (!subject) return std::unexpected(subject.error());
    if (!*subject) {
      return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(*subject_id));
    }
    if (site && *site != (*subject)->site_id) {
      return Fail(ErrorCode::kInvalidArgument,
                  "subject " + std::to_string(*subject_id) + " is not at site '" + *site + "'");
    }
    site = (*subject)->site_id;
  }
  return ReaderOf(store, actor, site, what);
}

}  // namespace

Result<std::vector<store::DeviationRecord>> ListDeviations(store::TrialStore& store,
                                                           const std::string& actor,
                                                           std::optional<int64_t> subject_id,
                                                           std::optional<std::string> site) {
  auto reader = ReaderOfSubjectOrSite(store, actor, subject_id, site, "the deviations");
  if (!reader) return std::unexpected(reader.error());
  auto list = store.Deviations(subject_id, site);
  if (!list) return std::unexpected(list.error());
  std::erase_if(*list, [&](const store::DeviationRecord& d) { return !reader->Sees(d.site); });
  return list;
}

Result<QueryListing> ListQueries(store::TrialStore& store, const std::string& actor,
                                 const store::QueryFilter& filter) {
  if (filter.status && *filter.status != "open" && *filter.status != "answered" &&
      *filter.status != "closed") {
    return Fail(ErrorCode::kInvalidArgument,
                "a query status is open, answered or closed, not '" + *filter.status + "'");
  }
  auto reader = ReaderOfSubjectOrSite(store, actor, filter.subject_id, filter.site, "the queries");
  if (!reader) return std::unexpected(reader.error());
  store::QueryFilter all = filter;
  all.status.reset();
  auto queries = store.Queries(all);
  if (!queries) return std::unexpected(queries.error());
  QueryListing out;
  for (auto& q : *queries) {
    if (!reader->Sees(q.site)) continue;
    if (q.status == "open") {
      ++out.open_by_subject[q.key.subject_id];
      ++out.open_by_site[q.site];
      ++out.open_by_form[q.key.form];
    }
    if (!filter.status || q.status == *filter.status) out.queries.push_back(std::move(q));
  }
  return out;
}

}  // namespace trial::service
