#include "service/safety.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "service/access.h"
#include "service/derived.h"

namespace trial::service {

namespace {

using store::AdverseEvent;

Result<void> Bad(const std::string& what) { return Fail(ErrorCode::kInvalidArgument, what); }

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string Listed(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& v : list) out += (out.empty() ? "" : ", ") + v;
  return out;
}

Result<void> RequireCodeIn(const std::vector<std::string>& list, const std::string& value,
                           const std::string& what) {
  if (Contains(list, value)) return {};
  return Bad(what + " '" + value + "' is not one of the protocol's codes (" + Listed(list) + ")");
}

// The latest value of `form`.`item` for the subject at any visit ("" when none).
Result<std::string> LatestValue(store::TrialStore& store, int64_t subject, const std::string& form,
                                const std::string& item) {
  auto items = store.FormItems(subject, form);
  if (!items) return std::unexpected(items.error());
  std::string value;
  std::string at;
  for (const auto& v : *items) {
    if (v.key.item == item && v.at >= at) {
      value = v.value;
      at = v.at;
    }
  }
  return value;
}

// Onset on or after consent (which must be recorded), on or before the end of study.
Result<void> CheckDates(store::TrialStore& store, const AdverseEvent& ae) {
  const std::string subject = std::to_string(ae.subject_id);
  auto found = store.FindSubject(ae.subject_id);
  if (!found) return std::unexpected(found.error());
  if (!*found) return Fail(ErrorCode::kNotFound, "unknown subject " + subject);
  auto consent = LatestValue(store, ae.subject_id, "consent", "consent_date");
  if (!consent) return std::unexpected(consent.error());
  if (consent->empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "subject " + subject +
                    " has no consent date recorded (form consent, item consent_date): an "
                    "adverse event needs the consent date to check its onset; record it first");
  }
  auto consent_date = Date::Parse(*consent);
  if (!consent_date) {
    return Fail(ErrorCode::kInvalidInput, "subject " + subject + ": the recorded consent date '" +
                                              *consent + "' is not a date");
  }
  if (ae.onset < *consent_date) {
    return Fail(ErrorCode::kInvalidInput, "the onset date " + ae.onset.ToString() +
                                              " is before subject " + subject + "'s consent date " +
                                              consent_date->ToString() +
                                              ": events before consent are medical history");
  }
  auto last = LatestValue(store, ae.subject_id, "end_of_study", "last_date");
  if (!last) return std::unexpected(last.error());
  if (auto end = Date::Parse(*last); !last->empty() && end && ae.onset > *end) {
    return Fail(ErrorCode::kInvalidInput, "the onset date " + ae.onset.ToString() +
                                              " is after subject " + subject + "'s end of study " +
                                              end->ToString());
  }
  return {};
}

}  // namespace

Result<const protocol::Safety*> SafetyOf(const protocol::Protocol& protocol) {
  if (!protocol.safety) {
    return Fail(ErrorCode::kInvalidInput,
                "the protocol in " + protocol.dir + " has no safety.yaml (docs/safety.md)");
  }
  return &*protocol.safety;
}

Result<std::vector<std::string>> ParseSeriousness(const protocol::Safety& safety,
                                                  const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ',');) {
    part.erase(0, part.find_first_not_of(" \t"));
    part.erase(part.find_last_not_of(" \t") + 1);
    if (!part.empty()) parts.push_back(part);
  }
  const std::string known = Listed(safety.seriousness);
  if (parts.size() == 1 && parts[0] == "no") return std::vector<std::string>{};
  if (parts.empty() || Contains(parts, "yes")) {
    return Fail(ErrorCode::kInvalidArgument,
                "a serious adverse event needs at least one seriousness criterion (" + known +
                    "), not '" + text + "'");
  }
  if (Contains(parts, "no")) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + text + "': a non-serious adverse event has no seriousness criterion");
  }
  for (const auto& p : parts) {
    if (!Contains(safety.seriousness, p)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "unknown seriousness criterion '" + p + "' (expected " + known + ")");
    }
  }
  return parts;
}

Result<std::string> ParseAwareness(const std::string& text, const std::string& what) {
  auto at = store::ParseInstant(text);
  if (!at) {
    return Fail(ErrorCode::kInvalidArgument,
                what + " '" + text + "' is not a UTC date and time YYYY-MM-DDTHH:MM");
  }
  return store::FormatInstant(*at);
}

Result<void> CheckAdverseEvent(const protocol::Safety& safety, const AdverseEvent& ae) {
  const protocol::AeTerm* term = safety.FindTerm(ae.term);
  if (term == nullptr) {
    return Bad("unknown adverse event term '" + ae.term +
               "' (a term id of safety.yaml, e.g. lung_infection, or 'other' with --other-text)");
  }
  if (!term->Defines(ae.grade)) {
    std::string grades;
    for (int g : term->grades) grades += (grades.empty() ? "" : ", ") + std::to_string(g);
    return Bad("CTCAE v" + safety.ctcae_version + " term '" + term->name +
               "' does not define grade " + std::to_string(ae.grade) + " (its grades: " + grades +
               ")");
  }
  if (term->needs_text && ae.other_text.empty()) {
    return Bad("term '" + term->name + "' needs the event named in free text (--other-text)");
  }
  if (!term->needs_text && !ae.other_text.empty()) {
    return Bad("term '" + term->name +
               "' is a CTCAE term: free text is only for 'other, specify' terms");
  }
  for (const auto& c : ae.seriousness) {
    if (auto r = RequireCodeIn(safety.seriousness, c, "the seriousness criterion"); !r) return r;
  }
  if (auto r = RequireCodeIn(safety.relatedness, ae.related, "the relatedness"); !r) return r;
  if (auto r = RequireCodeIn(safety.actions, ae.action, "the action taken"); !r) return r;
  if (!ae.outcome.empty()) {
    if (auto r = RequireCodeIn(safety.outcomes, ae.outcome, "the outcome"); !r) return r;
  }
  if (auto aware = store::ParseInstant(ae.awareness);
      aware && Date::FromDays(static_cast<int32_t>(*aware / 86'400'000'000LL)) < ae.onset) {
    return Bad("the awareness time " + ae.awareness + " is before the onset date " +
               ae.onset.ToString());
  }
  const bool fatal = ae.grade == 5 || ae.outcome == "fatal";
  if (fatal && !Contains(ae.seriousness, "death")) {
    return Bad("a fatal adverse event (grade 5 or outcome fatal) is serious: give --serious death");
  }
  if (Contains(ae.seriousness, "death") && !fatal) {
    return Bad("the seriousness criterion death needs grade 5 or the outcome fatal");
  }
  return {};
}

Result<AdverseEvent> RecordAdverseEvent(store::TrialStore& store,
                                        const protocol::Protocol& protocol,
                                        const std::string& actor, AdverseEvent ae) {
  auto safety = SafetyOf(protocol);
  if (!safety) return std::unexpected(safety.error());
  if (auto r = CheckAdverseEvent(**safety, ae); !r) return std::unexpected(r.error());
  if (auto r = CheckDates(store, ae); !r) return std::unexpected(r.error());
  return store.RecordAdverseEvent(actor, std::move(ae), (*safety)->recipients);
}

Result<std::pair<store::AlertRecord, AdverseEvent>> ConfirmAlert(store::TrialStore& store,
                                                                 const protocol::Protocol& protocol,
                                                                 const std::string& actor,
                                                                 int64_t alert_id,
                                                                 AdverseEvent ae) {
  auto safety = SafetyOf(protocol);
  if (!safety) return std::unexpected(safety.error());
  auto alerts = store.Alerts({});
  if (!alerts) return std::unexpected(alerts.error());
  auto it = std::find_if(alerts->begin(), alerts->end(),
                         [&](const store::AlertRecord& a) { return a.id == alert_id; });
  if (it == alerts->end()) {
    return Fail(ErrorCode::kNotFound, "unknown alert " + std::to_string(alert_id));
  }
  ae.subject_id = it->subject_id;
  if (auto r = CheckAdverseEvent(**safety, ae); !r) return std::unexpected(r.error());
  if (auto r = CheckDates(store, ae); !r) return std::unexpected(r.error());
  return store.ConfirmAlert(actor, alert_id, std::move(ae), (*safety)->recipients);
}

Result<store::SaeReport> SubmitSaeReport(store::TrialStore& store,
                                         const protocol::Protocol& protocol,
                                         const std::string& actor, int64_t ae_id,
                                         const std::string& kind) {
  auto safety = SafetyOf(protocol);
  if (!safety) return std::unexpected(safety.error());
  auto history = store.AdverseEventHistory(ae_id);
  if (!history) return std::unexpected(history.error());
  if (history->empty()) {
    return Fail(ErrorCode::kNotFound, "unknown adverse event " + std::to_string(ae_id));
  }
  auto reports = store.SaeReports(history->back().site);
  if (!reports) return std::unexpected(reports.error());
  auto clocks = SaeClocks(**safety, {history->back()}, *reports, "");
  for (const auto& c : clocks) {
    if (c.kind == kind) return store.SubmitSaeReport(actor, ae_id, kind, c.due_at);
  }
  // No clock of that kind (not serious, or a follow-up before the initial): the store says why.
  return store.SubmitSaeReport(actor, ae_id, kind, store::FormatInstant(0));
}

std::vector<SaeClock> SaeClocks(const protocol::Safety& safety,
                                const std::vector<AdverseEvent>& events,
                                const std::vector<store::SaeReport>& reports,
                                const std::string& now) {
  const int64_t kHour = 3'600'000'000LL;
  const auto now_at = store::ParseInstant(now);
  std::vector<SaeClock> out;
  for (const auto& ae : events) {
    if (!ae.serious()) continue;
    const store::SaeReport* initial = nullptr;
    const store::SaeReport* follow_up = nullptr;
    for (const auto& r : reports) {
      if (r.ae_id != ae.id) continue;
      if (r.kind == "initial") initial = &r;
      if (r.kind == "follow_up") follow_up = &r;
    }
    auto clock = [&](const std::string& kind, int64_t due, const store::SaeReport* report) {
      SaeClock c{ae.id, ae.subject_id, ae.site, kind, store::FormatInstant(due), "", false};
      if (report != nullptr) {
        c.submitted_at = report->submitted_at;
        c.overdue = !report->on_time;
      } else {
        c.overdue = now_at && *now_at > due;
      }
      out.push_back(std::move(c));
    };
    auto aware = store::ParseInstant(ae.awareness);
    if (!aware) continue;  // the store only holds valid instants
    clock("initial", *aware + safety.initial_report_hours * kHour, initial);
    if (initial == nullptr) continue;
    auto sent = store::ParseInstant(initial->submitted_at);
    if (!sent) continue;
    clock("follow_up", *sent + int64_t{safety.follow_up_days} * 24 * kHour, follow_up);
  }
  return out;
}

Result<SafetyBoard> SafetyAlerts(store::TrialStore& store, const protocol::Protocol& protocol,
                                 const std::string& actor, const std::optional<std::string>& site,
                                 const std::string& now) {
  auto safety = SafetyOf(protocol);
  if (!safety) return std::unexpected(safety.error());
  auto reader = ReaderOf(store, actor, site, "the safety alerts");
  if (!reader) return std::unexpected(reader.error());
  SafetyBoard board;
  auto alerts = store.Alerts(store::AlertFilter{std::nullopt, site, std::nullopt});
  if (!alerts) return std::unexpected(alerts.error());
  for (auto& a : *alerts) {
    if (reader->Sees(a.site) && (a.status == "open" || a.status == "acknowledged")) {
      board.alerts.push_back(std::move(a));
    }
  }
  auto events = store.AdverseEvents(std::nullopt, site);
  if (!events) return std::unexpected(events.error());
  auto reports = store.SaeReports(site);
  if (!reports) return std::unexpected(reports.error());
  for (const auto& c : SaeClocks(**safety, *events, *reports, now)) {
    if (c.submitted_at.empty() && reader->Sees(c.site)) board.pending.push_back(c);
  }
  std::stable_sort(board.pending.begin(), board.pending.end(),
                   [](const SaeClock& a, const SaeClock& b) {
                     if (a.overdue != b.overdue) return a.overdue;
                     return a.due_at < b.due_at;
                   });
  return board;
}

Result<std::vector<AdverseEvent>> ListAdverseEvents(store::TrialStore& store,
                                                    const std::string& actor,
                                                    const std::optional<int64_t>& subject_id,
                                                    const std::optional<std::string>& site) {
  std::optional<std::string> where = site;
  if (subject_id) {
    auto subject = store.FindSubject(*subject_id);
    if (!subject) return std::unexpected(subject.error());
    if (!*subject) {
      return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(*subject_id));
    }
    where = (*subject)->site_id;
  }
  auto reader = ReaderOf(store, actor, where, "the adverse events");
  if (!reader) return std::unexpected(reader.error());
  auto events = store.AdverseEvents(subject_id, site);
  if (!events) return std::unexpected(events.error());
  std::vector<AdverseEvent> out;
  for (auto& e : *events) {
    if (reader->Sees(e.site)) out.push_back(std::move(e));
  }
  return out;
}

Result<AdverseEventDetail> ShowAdverseEvent(store::TrialStore& store, const std::string& actor,
                                            int64_t id) {
  auto history = store.AdverseEventHistory(id);
  if (!history) return std::unexpected(history.error());
  if (history->empty()) {
    return Fail(ErrorCode::kNotFound, "unknown adverse event " + std::to_string(id));
  }
  const std::string site = history->back().site;
  auto reader = ReaderOf(store, actor, site, "the adverse events");
  if (!reader) return std::unexpected(reader.error());
  auto reports = store.SaeReports(site);
  if (!reports) return std::unexpected(reports.error());
  AdverseEventDetail out;
  out.versions = std::move(*history);
  for (auto& r : *reports) {
    if (r.ae_id == id) out.reports.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<store::Notification>> Outbox(store::TrialStore& store,
                                                const std::string& actor) {
  auto reader = ReaderOf(store, actor, std::nullopt, "the outbox");
  if (!reader) return std::unexpected(reader.error());
  if (reader->user.role != store::Role::kAdministrator) {
    return Fail(ErrorCode::kPermissionDenied, "user '" + actor + "' (" +
                                                  store::RoleName(reader->user.role) +
                                                  ") may not read the outbox: administrators only");
  }
  return store.Notifications();
}

Result<std::vector<store::AlertRecord>> RaiseSignalAlerts(store::TrialStore& store,
                                                          const protocol::Protocol& protocol,
                                                          const std::string& actor,
                                                          int64_t subject_id,
                                                          const std::optional<std::string>& visit) {
  auto data = LoadOutcomeData(store, protocol, actor, subject_id);
  if (!data) return std::unexpected(data.error());
  std::vector<store::NewAlert> alerts;
  for (const auto& v : data->visits) {
    if (visit && v.visit != *visit) continue;
    auto signals = SafetySignals(protocol, *data, std::to_string(subject_id), v.visit);
    if (!signals) return std::unexpected(signals.error());
    for (auto& s : *signals) {
      alerts.push_back({std::move(s.kind), s.visit, std::move(s.key), std::move(s.text)});
    }
  }
  if (alerts.empty()) return std::vector<store::AlertRecord>{};
  return store.RaiseAlerts(actor, subject_id, alerts);
}

bool HasBeenRandomized(store::SubjectStatus status) {
  return status != store::SubjectStatus::kScreening &&
         status != store::SubjectStatus::kScreenFailed && status != store::SubjectStatus::kEligible;
}

namespace {

// Adds the counts of `from` to `to`.
void AddCounts(SafetyCounts& to, const SafetyCounts& from) {
  to.adverse_events += from.adverse_events;
  to.serious += from.serious;
  to.related += from.related;
  to.infections += from.infections;
  to.open_alerts += from.open_alerts;
  to.sae_reports_due += from.sae_reports_due;
  to.sae_reports_overdue += from.sae_reports_overdue;
  for (size_t g = 0; g < 5; ++g) {
    to.by_grade[g] += from.by_grade[g];
    to.labs_by_worst_grade[g] += from.labs_by_worst_grade[g];
  }
  for (size_t i = 0; i < to.by_seriousness.size() && i < from.by_seriousness.size(); ++i) {
    to.by_seriousness[i].second += from.by_seriousness[i].second;
  }
}

SafetyCounts EmptyCounts(const protocol::Safety& safety) {
  SafetyCounts c;
  for (const auto& criterion : safety.seriousness) c.by_seriousness.emplace_back(criterion, 0);
  return c;
}

}  // namespace

Result<SubjectSafetySummary> SafetySummary(store::TrialStore& store,
                                           const protocol::Protocol& protocol,
                                           const std::string& actor, int64_t subject_id,
                                           const std::string& now) {
  auto safety_of = SafetyOf(protocol);
  if (!safety_of) return std::unexpected(safety_of.error());
  const protocol::Safety& safety = **safety_of;
  // The reader check is ListAdverseEvents' (unknown subject, site scope).
  auto events = ListAdverseEvents(store, actor, subject_id, std::nullopt);
  if (!events) return std::unexpected(events.error());
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  SubjectSafetySummary out;
  out.subject_id = subject_id;
  out.site = (*subject)->site_id;
  out.screening_number = (*subject)->screening_number;
  out.status = store::StatusName((*subject)->status);
  out.counts = EmptyCounts(safety);
  SafetyCounts& c = out.counts;
  for (const auto& ae : *events) {
    ++c.adverse_events;
    if (ae.grade >= 1 && ae.grade <= 5) ++c.by_grade[ae.grade - 1];
    out.worst_grade = std::max(out.worst_grade, ae.grade);
    if (ae.serious()) ++c.serious;
    for (auto& [criterion, n] : c.by_seriousness) n += Contains(ae.seriousness, criterion) ? 1 : 0;
    if (Contains(safety.counted_as_related, ae.related)) ++c.related;
    const protocol::AeTerm* term = safety.FindTerm(ae.term);
    if (term != nullptr && term->category == "infection") {
      ++c.infections;
      out.infections.push_back(
          {ae.id, ae.term, term->name, ae.other_text, ae.grade, ae.onset, ae.seriousness});
    }
  }
  auto data = LoadOutcomeData(store, protocol, actor, subject_id);
  if (!data) return std::unexpected(data.error());
  const std::string& baseline = protocol.outcomes->sources->baseline_visit;
  if (data->FindVisit(baseline) == nullptr) {
    out.notes.push_back("no " + baseline +
                        " data: lab grades after day 0 and prednisone-equivalent doses not "
                        "derived (unknown)");
  } else {
    auto derived = DeriveOutcomes(protocol, *data);
    if (!derived) return std::unexpected(derived.error());
    // The visits after day 0, for the labs that could not be graded there.
    std::set<std::string> after;
    bool seen_baseline = false;
    for (const auto& v : data->visits) {
      if (seen_baseline) after.insert(v.visit);
      seen_baseline = seen_baseline || v.visit == baseline;
    }
    bool any_lab_after = false;
    for (const auto& lab : derived->labs) {
      if (!after.contains(lab.visit)) continue;
      any_lab_after = true;
      if (!lab.grade) out.notes.push_back(lab.visit + " " + lab.term_id + ": " + lab.problem);
    }
    if (!any_lab_after) {
      out.notes.push_back("no lab value after " + baseline +
                          ": lab abnormalities after day 0 unknown");
    }
    for (auto& w : derived->lab_worst) {
      if (w.grade < 1 || w.grade > 5) continue;
      ++c.labs_by_worst_grade[w.grade - 1];
      out.labs.push_back(std::move(w));
    }
    out.prednisone = std::move(derived->prednisone);
  }
  auto board = SafetyAlerts(store, protocol, actor, out.site, now);
  if (!board) return std::unexpected(board.error());
  for (auto& a : board->alerts) {
    if (a.subject_id == subject_id) out.open_alerts.push_back(std::move(a));
  }
  for (auto& r : board->pending) {
    if (r.subject_id != subject_id) continue;
    c.sae_reports_overdue += r.overdue ? 1 : 0;
    out.sae_reports_due.push_back(std::move(r));
  }
  c.open_alerts = static_cast<int>(out.open_alerts.size());
  c.sae_reports_due = static_cast<int>(out.sae_reports_due.size());
  return out;
}

Result<SiteSafetySummary> SiteSafety(store::TrialStore& store, const protocol::Protocol& protocol,
                                     const std::string& actor, const std::string& site,
                                     const std::string& now) {
  auto safety = SafetyOf(protocol);
  if (!safety) return std::unexpected(safety.error());
  auto reader = ReaderOf(store, actor, site, "the safety summaries");
  if (!reader) return std::unexpected(reader.error());
  auto subjects = store.Subjects(site);
  if (!subjects) return std::unexpected(subjects.error());
  SiteSafetySummary out;
  out.site = site;
  out.totals = EmptyCounts(**safety);
  for (const auto& s : *subjects) {
    if (!HasBeenRandomized(s.status)) continue;
    auto one = SafetySummary(store, protocol, actor, s.id, now);
    if (!one) return std::unexpected(one.error());
    AddCounts(out.totals, one->counts);
    out.subjects.push_back(std::move(*one));
  }
  return out;
}

}  // namespace trial::service
