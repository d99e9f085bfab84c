// The safety verbs (docs/safety.md): `ae add|update|list|show|summary`, `sae report|ack`, `alerts`,
// `alert ack|confirm|dismiss` and `outbox list|deliver`. Nothing printed here names an arm.
// `alerts` judges the SAE clocks by the environment's clock (a simulated one in tests).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "service/safety.h"
#include "store/store.h"

namespace trial::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// The options that describe an AE (add, update, alert confirm).
const std::vector<std::string> kAeOptions = {"term",     "other-text", "grade",   "onset",
                                             "resolved", "awareness",  "serious", "related",
                                             "action",   "outcome"};

std::string Now(const Environment& env) { return env.clock ? env.clock() : store::SystemClock(); }

// Applies the AE options given to `ae` (all of them for a new AE: `required`). Prints the
// problem and returns false on a bad value.
bool ApplyAeOptions(Verb& v, const protocol::Safety& safety, store::AdverseEvent& ae,
                    bool required) {
  const Args& a = v.args();
  if (required && !v.Require({"term", "grade", "onset", "awareness", "related", "action"})) {
    return false;
  }
  if (a.Has("term")) ae.term = a.Get("term");
  if (a.Has("other-text")) ae.other_text = a.Get("other-text");
  if (a.Has("grade")) {
    const std::string g = a.Get("grade");
    if (g.size() != 1 || g[0] < '1' || g[0] > '5') {
      v.err() << "trial " << v.name() << ": --grade must be a CTCAE grade 1 to 5, not '" << g
              << "'\n";
      return v.Usage();
    }
    ae.grade = g[0] - '0';
  }
  if (a.Has("onset")) {
    auto d = v.DateOption("onset");
    if (!d) return false;
    ae.onset = *d;
  }
  if (a.Has("resolved")) {
    if (a.Get("resolved").empty()) {
      ae.resolved.reset();
    } else {
      auto d = v.DateOption("resolved");
      if (!d) return false;
      ae.resolved = *d;
    }
  }
  if (a.Has("awareness")) {
    auto at = service::ParseAwareness(a.Get("awareness"), "--awareness");
    if (!at) {
      v.err() << "trial " << v.name() << ": " << at.error().message << "\n";
      return v.Usage();
    }
    ae.awareness = *at;
  }
  if (a.Has("serious")) {
    auto criteria = service::ParseSeriousness(safety, a.Get("serious"));
    if (!criteria) {
      v.Failed(criteria.error());
      return false;
    }
    ae.seriousness = *criteria;
  }
  if (a.Has("related")) ae.related = a.Get("related");
  if (a.Has("action")) ae.action = a.Get("action");
  if (a.Has("outcome")) ae.outcome = a.Get("outcome");
  return true;
}

ordered_json AeJson(const store::AdverseEvent& ae) {
  ordered_json j;
  j["id"] = ae.id;
  j["version"] = ae.version;
  j["subject"] = ae.subject_id;
  j["site"] = ae.site;
  j["term"] = ae.term;
  if (!ae.other_text.empty()) j["other_text"] = ae.other_text;
  j["grade"] = ae.grade;
  j["onset"] = ae.onset.ToString();
  j["resolved"] = ae.resolved ? ordered_json(ae.resolved->ToString()) : ordered_json(nullptr);
  j["awareness"] = ae.awareness;
  j["serious"] = ae.serious();
  j["seriousness"] = ae.seriousness;
  j["related"] = ae.related;
  j["action"] = ae.action;
  j["outcome"] = ae.outcome.empty() ? ordered_json(nullptr) : ordered_json(ae.outcome);
  if (ae.alert_id != 0) j["alert"] = ae.alert_id;
  if (!ae.reason.empty()) j["reason"] = ae.reason;
  j["user"] = ae.user;
  j["at"] = ae.at;
  return j;
}

std::string AeLine(const store::AdverseEvent& ae) {
  std::string criteria;
  for (const auto& c : ae.seriousness) criteria += (criteria.empty() ? "" : ",") + c;
  return "AE " + std::to_string(ae.id) + " v" + std::to_string(ae.version) + "  subject " +
         std::to_string(ae.subject_id) + " (" + ae.site + ")  " + ae.term +
         (ae.other_text.empty() ? "" : " (" + ae.other_text + ")") + "  grade " +
         std::to_string(ae.grade) + "  onset " + ae.onset.ToString() +
         (ae.resolved ? "  resolved " + ae.resolved->ToString() : "") +
         (ae.serious() ? "  SERIOUS: " + criteria : "  not serious") + "  related: " + ae.related +
         "  action: " + ae.action + (ae.outcome.empty() ? "" : "  outcome: " + ae.outcome);
}

ordered_json ReportJson(const store::SaeReport& r) {
  ordered_json j;
  j["id"] = r.id;
  j["ae"] = r.ae_id;
  j["subject"] = r.subject_id;
  j["site"] = r.site;
  j["kind"] = r.kind;
  j["due_at"] = r.due_at;
  j["submitted_at"] = r.submitted_at;
  j["submitted_by"] = r.submitted_by;
  j["on_time"] = r.on_time;
  j["acknowledged_at"] =
      r.acknowledged_at.empty() ? ordered_json(nullptr) : ordered_json(r.acknowledged_at);
  return j;
}

std::string ReportLine(const store::SaeReport& r) {
  return "SAE report " + std::to_string(r.id) + " (" + r.kind + ") of AE " +
         std::to_string(r.ae_id) + ": submitted " + r.submitted_at + " by " + r.submitted_by +
         ", due " + r.due_at + (r.on_time ? " (on time)" : " (LATE)") +
         (r.acknowledged_at.empty()
              ? ", not acknowledged"
              : ", acknowledged " + r.acknowledged_at + " by " + r.acknowledged_by);
}

ordered_json AlertJson(const store::AlertRecord& a) {
  ordered_json j;
  j["id"] = a.id;
  j["subject"] = a.subject_id;
  j["site"] = a.site;
  j["kind"] = a.alert.kind;
  j["visit"] = a.alert.visit;
  j["key"] = a.alert.dedup_key;
  j["details"] = a.alert.details;
  j["status"] = a.status;
  if (!a.reason.empty()) j["reason"] = a.reason;
  if (a.ae_id != 0) j["ae"] = a.ae_id;
  j["at"] = a.at;
  return j;
}

// ---- ae ----

int AeAdd(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
          const Environment& env) {
  Verb v("ae add", err, env);
  std::vector<std::string> allowed = kAeOptions;
  allowed.push_back("subject");
  if (!v.Parse(args, allowed) || !v.Require({"subject", "user"})) return v.exit_code();
  auto subject = v.IdOption("subject");
  if (!subject || !v.OpenProtocol()) return v.exit_code();
  auto safety = service::SafetyOf(v.protocol());
  if (!safety) return v.Failed(safety.error());
  store::AdverseEvent ae;
  ae.subject_id = *subject;
  if (!ApplyAeOptions(v, **safety, ae, true) || !v.OpenStore()) return v.exit_code();
  auto recorded = service::RecordAdverseEvent(v.store(), v.protocol(), v.user(), ae);
  if (!recorded) return v.Failed(recorded.error());
  if (v.json()) {
    out << AeJson(*recorded).dump(2) << "\n";
  } else {
    out << "recorded " << AeLine(*recorded) << "\n";
    if (recorded->serious()) {
      out << "serious: initial report due within " << (*safety)->initial_report_hours
          << " hours of awareness (" << recorded->awareness << "); notified: ";
      for (size_t i = 0; i < (*safety)->recipients.size(); ++i) {
        out << (i ? ", " : "") << (*safety)->recipients[i];
      }
      out << "\n";
    }
  }
  return kExitOk;
}

int AeUpdate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const Environment& env) {
  Verb v("ae update", err, env);
  std::vector<std::string> allowed = kAeOptions;
  allowed.push_back("reason");
  if (!v.Parse(args, allowed, 1) || !v.Require({"reason", "user"})) return v.exit_code();
  auto id = v.RequirePositionalId("AE");
  if (!id) return v.exit_code();
  if (!v.OpenProtocol()) return v.exit_code();
  auto safety = service::SafetyOf(v.protocol());
  if (!safety) return v.Failed(safety.error());
  if (!v.OpenStore()) return v.exit_code();
  auto history = v.store().AdverseEventHistory(*id);
  if (!history) return v.Failed(history.error());
  if (history->empty()) {
    return v.Failed(Error{ErrorCode::kNotFound, "unknown adverse event " + std::to_string(*id)});
  }
  store::AdverseEvent ae = history->back();
  ae.reason = v.args().Get("reason");
  if (!ApplyAeOptions(v, **safety, ae, false)) return v.exit_code();
  auto recorded = service::RecordAdverseEvent(v.store(), v.protocol(), v.user(), ae);
  if (!recorded) return v.Failed(recorded.error());
  if (v.json()) {
    out << AeJson(*recorded).dump(2) << "\n";
  } else {
    out << "recorded " << AeLine(*recorded) << "\n";
  }
  return kExitOk;
}

int AeList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Verb v("ae list", err, env);
  if (!v.Parse(args, {"subject", "site"}) || !v.Require({"user"})) return v.exit_code();
  std::optional<int64_t> subject;
  if (v.args().Has("subject") && !(subject = v.IdOption("subject"))) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  auto list = service::ListAdverseEvents(v.store(), v.user(), subject, v.site());
  if (!list) return v.Failed(list.error());
  if (v.json()) {
    ordered_json j = ordered_json::array();
    for (const auto& ae : *list) j.push_back(AeJson(ae));
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  int serious = 0;
  for (const auto& ae : *list) {
    out << AeLine(ae) << "\n";
    serious += ae.serious() ? 1 : 0;
  }
  out << list->size() << " adverse events, " << serious << " serious\n";
  return kExitOk;
}

int AeShow(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Verb v("ae show", err, env);
  if (!v.Parse(args, {}, 1) || !v.Require({"user"})) return v.exit_code();
  auto id = v.RequirePositionalId("AE");
  if (!id) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  auto detail = service::ShowAdverseEvent(v.store(), v.user(), *id);
  if (!detail) return v.Failed(detail.error());
  if (v.json()) {
    ordered_json j;
    j["versions"] = ordered_json::array();
    for (const auto& ae : detail->versions) j["versions"].push_back(AeJson(ae));
    j["reports"] = ordered_json::array();
    for (const auto& r : detail->reports) j["reports"].push_back(ReportJson(r));
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& ae : detail->versions) {
    out << AeLine(ae) << "\n    by " << ae.user << " at " << ae.at
        << (ae.reason.empty() ? "" : ", reason: " + ae.reason) << "\n";
  }
  for (const auto& r : detail->reports) out << ReportLine(r) << "\n";
  return kExitOk;
}

// ---- ae summary ----

ordered_json CountsJson(const service::SafetyCounts& c) {
  ordered_json j;
  ordered_json grades, labs, criteria;
  for (int g = 1; g <= 5; ++g) {
    grades[std::to_string(g)] = c.by_grade[g - 1];
    labs[std::to_string(g)] = c.labs_by_worst_grade[g - 1];
  }
  for (const auto& [criterion, n] : c.by_seriousness) criteria[criterion] = n;
  j["adverse_events"] = c.adverse_events;
  j["by_grade"] = grades;
  j["serious"] = c.serious;
  j["serious_by_criterion"] = criteria;
  j["related_to_study_drug"] = c.related;
  j["infections"] = c.infections;
  j["labs_by_worst_grade"] = labs;
  j["open_alerts"] = c.open_alerts;
  j["sae_reports_due"] = c.sae_reports_due;
  j["sae_reports_overdue"] = c.sae_reports_overdue;
  return j;
}

ordered_json SummaryJson(const service::SubjectSafetySummary& s) {
  ordered_json j;
  j["subject"] = s.subject_id;
  j["site"] = s.site;
  j["screening_number"] = s.screening_number;
  j["status"] = s.status;
  j["counts"] = CountsJson(s.counts);
  j["worst_grade"] = s.worst_grade == 0 ? ordered_json(nullptr) : ordered_json(s.worst_grade);
  j["infections"] = ordered_json::array();
  for (const auto& i : s.infections) {
    ordered_json x;
    x["ae"] = i.ae_id;
    x["term"] = i.term;
    x["name"] = i.name;
    if (!i.other_text.empty()) x["other_text"] = i.other_text;
    x["grade"] = i.grade;
    x["onset"] = i.onset.ToString();
    x["serious"] = !i.seriousness.empty();
    x["seriousness"] = i.seriousness;
    j["infections"].push_back(x);
  }
  j["lab_abnormalities"] = ordered_json::array();
  for (const auto& l : s.labs) {
    j["lab_abnormalities"].push_back(
        {{"term_id", l.term_id}, {"term", l.term}, {"worst_grade", l.grade}, {"visit", l.visit}});
  }
  j["prednisone_equivalent"] = ordered_json::array();
  for (const auto& p : s.prednisone) {
    j["prednisone_equivalent"].push_back(
        {{"visit", p.visit},
         {"mg_per_day", p.total_mg_per_day ? ordered_json(p.total_mg_per_day->ToDouble())
                                           : ordered_json(nullptr)},
         {"unknown", p.unknown}});
  }
  j["open_alerts"] = ordered_json::array();
  for (const auto& a : s.open_alerts) j["open_alerts"].push_back(AlertJson(a));
  j["sae_reports_due"] = ordered_json::array();
  for (const auto& c : s.sae_reports_due) {
    j["sae_reports_due"].push_back(
        {{"ae", c.ae_id}, {"kind", c.kind}, {"due_at", c.due_at}, {"overdue", c.overdue}});
  }
  j["notes"] = s.notes;
  return j;
}

void CountsText(const service::SafetyCounts& c, std::ostream& out) {
  out << "  adverse events: " << c.adverse_events << " (by grade:";
  for (int g = 1; g <= 5; ++g) out << " " << g << "=" << c.by_grade[g - 1];
  out << ")\n  serious: " << c.serious;
  std::string criteria;
  for (const auto& [criterion, n] : c.by_seriousness) {
    if (n > 0) criteria += (criteria.empty() ? "" : ", ") + criterion + " " + std::to_string(n);
  }
  out << (criteria.empty() ? "" : " (" + criteria + ")")
      << "\n  related to study drug: " << c.related << "\n  infections: " << c.infections
      << "\n  lab abnormalities after day 0 by worst grade:";
  for (int g = 1; g <= 5; ++g) out << " " << g << "=" << c.labs_by_worst_grade[g - 1];
  out << "\n  open alerts: " << c.open_alerts << "; SAE reports due: " << c.sae_reports_due << " ("
      << c.sae_reports_overdue << " overdue)\n";
}

void SummaryText(const service::SubjectSafetySummary& s, std::ostream& out) {
  out << "subject " << s.subject_id << " (" << s.site << ", " << s.screening_number << ", "
      << s.status << ")  worst AE grade: "
      << (s.worst_grade == 0 ? std::string("none") : std::to_string(s.worst_grade)) << "\n";
  CountsText(s.counts, out);
  for (const auto& i : s.infections) {
    std::string criteria;
    for (const auto& c : i.seriousness) criteria += (criteria.empty() ? "" : ",") + c;
    out << "    infection: AE " << i.ae_id << " " << i.name
        << (i.other_text.empty() ? "" : " (" + i.other_text + ")") << " grade " << i.grade
        << " onset " << i.onset.ToString()
        << (criteria.empty() ? "  not serious" : "  SERIOUS: " + criteria) << "\n";
  }
  for (const auto& l : s.labs) {
    out << "    lab: " << l.term << " worst grade " << l.grade << " (first at " << l.visit << ")\n";
  }
  out << "  prednisone-equivalent dose:";
  if (s.prednisone.empty()) out << " none recorded";
  for (const auto& p : s.prednisone) {
    out << " " << p.visit << " "
        << (p.total_mg_per_day ? p.total_mg_per_day->ToDecimal(2) + " mg/d" : "unknown");
    for (const auto& u : p.unknown) out << " (unknown: " << u << ")";
    out << ";";
  }
  out << "\n";
  for (const auto& a : s.open_alerts) out << "    " << AlertLine(a) << "\n";
  for (const auto& c : s.sae_reports_due) {
    out << "    " << (c.overdue ? "OVERDUE " : "due ") << c.kind << " SAE report of AE " << c.ae_id
        << " due " << c.due_at << "\n";
  }
  for (const auto& n : s.notes) out << "  note: " << n << "\n";
}

// `trial ae summary (--subject ID | --site S) --user U [--format text|json]`.
int AeSummary(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env) {
  Verb v("ae summary", err, env);
  if (!v.Parse(args, {"subject", "site"}) || !v.Require({"user"})) return v.exit_code();
  if (v.args().Has("subject") == v.args().Has("site")) {
    err << "trial ae summary: give --subject ID or --site S\n";
    return kExitUsage;
  }
  std::optional<int64_t> subject;
  if (v.args().Has("subject") && !(subject = v.IdOption("subject"))) return v.exit_code();
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  const std::string now = Now(env);
  if (subject) {
    auto one = service::SafetySummary(v.store(), v.protocol(), v.user(), *subject, now);
    if (!one) return v.Failed(one.error());
    if (v.json()) {
      ordered_json j = SummaryJson(*one);
      j["now"] = now;
      out << j.dump(2) << "\n";
    } else {
      SummaryText(*one, out);
      out << "as of " << now << "\n";
    }
    return kExitOk;
  }
  auto site = service::SiteSafety(v.store(), v.protocol(), v.user(), *v.site(), now);
  if (!site) return v.Failed(site.error());
  if (v.json()) {
    ordered_json j;
    j["site"] = site->site;
    j["now"] = now;
    j["subjects"] = ordered_json::array();
    for (const auto& s : site->subjects) j["subjects"].push_back(SummaryJson(s));
    j["totals"] = CountsJson(site->totals);
    j["totals"]["subjects"] = site->subjects.size();
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  for (const auto& s : site->subjects) SummaryText(s, out);
  out << "site " << site->site << " totals (" << site->subjects.size()
      << " randomized subjects):\n";
  CountsText(site->totals, out);
  out << "as of " << now << "\n";
  return kExitOk;
}

// ---- sae ----

int SaeReportVerb(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  Verb v("sae report", err, env);
  if (!v.Parse(args, {"kind"}, 1) || !v.Require({"kind", "user"})) return v.exit_code();
  auto id = v.PositionalId();
  std::string kind = v.args().Get("kind");
  if (kind == "follow-up") kind = "follow_up";
  if (!id || (kind != "initial" && kind != "follow_up")) {
    err << "trial sae report: give the AE id and --kind initial|follow-up\n";
    return kExitUsage;
  }
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto report = service::SubmitSaeReport(v.store(), v.protocol(), v.user(), *id, kind);
  if (!report) return v.Failed(report.error());
  if (v.json()) {
    out << ReportJson(*report).dump(2) << "\n";
  } else {
    out << ReportLine(*report) << "\n";
  }
  return kExitOk;
}

int SaeAck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Verb v("sae ack", err, env);
  if (!v.Parse(args, {}, 1) || !v.Require({"user"})) return v.exit_code();
  auto id = v.RequirePositionalId("SAE report");
  if (!id) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  auto report = v.store().AcknowledgeSaeReport(v.user(), *id);
  if (!report) return v.Failed(report.error());
  out << ReportLine(*report) << "\n";
  return kExitOk;
}

// ---- alerts ----

int Alerts(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Verb v("alerts", err, env);
  if (!v.Parse(args, {"site"}, 0, {}, 1) || !v.Require({"user"})) return v.exit_code();
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  const std::string now = Now(env);
  auto board = service::SafetyAlerts(v.store(), v.protocol(), v.user(), v.site(), now);
  if (!board) return v.Failed(board.error());
  if (v.json()) {
    ordered_json j;
    j["now"] = now;
    j["alerts"] = ordered_json::array();
    for (const auto& a : board->alerts) j["alerts"].push_back(AlertJson(a));
    j["sae_reports_due"] = ordered_json::array();
    for (const auto& c : board->pending) {
      ordered_json r;
      r["ae"] = c.ae_id;
      r["subject"] = c.subject_id;
      r["site"] = c.site;
      r["kind"] = c.kind;
      r["due_at"] = c.due_at;
      r["overdue"] = c.overdue;
      j["sae_reports_due"].push_back(r);
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  int overdue = 0;
  for (const auto& c : board->pending) {
    overdue += c.overdue ? 1 : 0;
    out << (c.overdue ? "OVERDUE " : "due     ") << c.kind << " SAE report of AE " << c.ae_id
        << "  subject " << c.subject_id << " (" << c.site << ")  due " << c.due_at << "\n";
  }
  for (const auto& a : board->alerts) out << AlertLine(a) << "\n";
  out << board->alerts.size() << " open alerts, " << board->pending.size() << " SAE reports due ("
      << overdue << " overdue) as of " << now << "\n";
  return kExitOk;
}

// `trial alert scan (--subject ID | --site S) --user U`: evaluates the safety signals of every
// visit again (service::RaiseSignalAlerts) and raises the alerts not raised yet.
int AlertScan(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env) {
  Verb v("alert scan", err, env);
  if (!v.Parse(args, {"subject", "site"}) || !v.Require({"user"})) return v.exit_code();
  if (v.args().Has("subject") == v.args().Has("site")) {
    err << "trial alert scan: give --subject ID or --site S\n";
    return kExitUsage;
  }
  std::optional<int64_t> subject;
  if (v.args().Has("subject") && !(subject = v.IdOption("subject"))) return v.exit_code();
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  std::vector<int64_t> ids;
  if (subject) {
    ids.push_back(*subject);
  } else {
    auto subjects = v.store().Subjects(v.site());
    if (!subjects) return v.Failed(subjects.error());
    for (const auto& s : *subjects) {
      if (service::HasBeenRandomized(s.status)) ids.push_back(s.id);
    }
  }
  size_t raised = 0;
  for (int64_t id : ids) {
    auto alerts = service::RaiseSignalAlerts(v.store(), v.protocol(), v.user(), id, std::nullopt);
    if (!alerts) return v.Failed(alerts.error());
    for (const auto& a : *alerts) out << AlertLine(a) << "\n";
    raised += alerts->size();
  }
  out << raised << " alert(s) raised for " << ids.size() << " subject(s)\n";
  return kExitOk;
}

int AlertStepVerb(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  const std::string step = args[1];
  Verb v("alert " + step, err, env);
  std::vector<std::string> allowed = {"reason"};
  if (step == "confirm") allowed = kAeOptions;
  if (!v.Parse(args, allowed, 1) || !v.Require({"user"})) return v.exit_code();
  auto id = v.RequirePositionalId("alert");
  if (!id) return v.exit_code();
  if (step == "dismiss" && !v.Require({"reason"})) return v.exit_code();
  if (step == "confirm") {
    if (!v.OpenProtocol()) return v.exit_code();
    auto safety = service::SafetyOf(v.protocol());
    if (!safety) return v.Failed(safety.error());
    store::AdverseEvent ae;
    if (!ApplyAeOptions(v, **safety, ae, true) || !v.OpenStore()) return v.exit_code();
    auto done = service::ConfirmAlert(v.store(), v.protocol(), v.user(), *id, ae);
    if (!done) return v.Failed(done.error());
    out << AlertLine(done->first) << "\nrecorded " << AeLine(done->second) << "\n";
    return kExitOk;
  }
  if (!v.OpenStore()) return v.exit_code();
  auto done = step == "ack" ? v.store().AcknowledgeAlert(v.user(), *id)
                            : v.store().DismissAlert(v.user(), *id, v.args().Get("reason"));
  if (!done) return v.Failed(done.error());
  out << AlertLine(*done) << "\n";
  return kExitOk;
}

// ---- outbox ----

int OutboxList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const Environment& env) {
  Verb v("outbox list", err, env);
  if (!v.Parse(args, {}) || !v.Require({"user"}) || !v.OpenStore()) return v.exit_code();
  auto notes = service::Outbox(v.store(), v.user());
  if (!notes) return v.Failed(notes.error());
  if (v.json()) {
    ordered_json j = ordered_json::array();
    for (const auto& n : *notes) {
      j.push_back({{"id", n.id},
                   {"kind", n.kind},
                   {"recipient", n.recipient},
                   {"body", n.body},
                   {"created_at", n.created_at},
                   {"delivered_at", n.delivered_at.empty() ? ordered_json(nullptr)
                                                           : ordered_json(n.delivered_at)}});
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  int queued = 0;
  for (const auto& n : *notes) {
    queued += n.delivered_at.empty() ? 1 : 0;
    out << "notification " << n.id << "  " << n.kind << "  to " << n.recipient << "  "
        << (n.delivered_at.empty() ? "queued" : "delivered " + n.delivered_at) << "  " << n.body
        << "\n";
  }
  out << notes->size() << " notifications, " << queued << " queued\n";
  return kExitOk;
}

// Writes `text` to `path` atomically: a temporary file in the same folder, then a rename.
Result<void> WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Fail(ErrorCode::kIo, "cannot create " + tmp.string());
    f << text;
    f.flush();
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Fail(ErrorCode::kIo, "cannot write " + tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Fail(ErrorCode::kIo,
                "cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  }
  return {};
}

int OutboxDeliver(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  Verb v("outbox deliver", err, env);
  if (!v.Parse(args, {"to"}) || !v.Require({"to", "user"}) || !v.OpenStore()) {
    return v.exit_code();
  }
  auto notes = service::Outbox(v.store(), v.user());
  if (!notes) return v.Failed(notes.error());
  const fs::path dir = v.args().Get("to");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    err << "trial outbox deliver: " << dir.string()
        << " is not a folder: nothing delivered, every notification stays queued\n";
    return kExitInput;
  }
  int delivered = 0, failed = 0;
  for (const auto& n : *notes) {
    if (!n.delivered_at.empty()) continue;
    const fs::path file = dir / ("notification-" + std::to_string(n.id) + ".json");
    ordered_json j = {{"id", n.id},
                      {"kind", n.kind},
                      {"recipient", n.recipient},
                      {"body", n.body},
                      {"created_at", n.created_at}};
    if (auto w = WriteAtomically(file, j.dump(2) + "\n"); !w) {
      err << "trial outbox deliver: notification " << n.id << " stays queued: " << w.error().message
          << "\n";
      ++failed;
      continue;
    }
    auto marked = v.store().MarkDelivered(v.user(), n.id, file.string());
    if (!marked) {
      fs::remove(file, ec);  // not recorded as delivered: it will be written again
      err << "trial outbox deliver: notification " << n.id
          << " stays queued: " << marked.error().message << "\n";
      ++failed;
      continue;
    }
    out << "delivered notification " << n.id << " to " << n.recipient << ": " << file.string()
        << "\n";
    ++delivered;
  }
  out << delivered << " delivered, " << failed << " failed\n";
  return failed == 0 ? kExitOk : kExitInput;
}

}  // namespace

int RunSafetyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const Environment& env) {
  const std::string& verb = args[0];
  const std::string sub = args.size() >= 2 ? args[1] : "";
  if (verb == "alerts") return Alerts(args, out, err, env);
  if (verb == "ae") {
    if (sub == "add") return AeAdd(args, out, err, env);
    if (sub == "update") return AeUpdate(args, out, err, env);
    if (sub == "list") return AeList(args, out, err, env);
    if (sub == "show") return AeShow(args, out, err, env);
    if (sub == "summary") return AeSummary(args, out, err, env);
    err << "trial ae: expected add, update, list, show or summary\n";
    return kExitUsage;
  }
  if (verb == "sae") {
    if (sub == "report") return SaeReportVerb(args, out, err, env);
    if (sub == "ack") return SaeAck(args, out, err, env);
    err << "trial sae: expected report or ack\n";
    return kExitUsage;
  }
  if (verb == "alert") {
    if (sub == "scan") return AlertScan(args, out, err, env);
    if (sub == "ack" || sub == "confirm" || sub == "dismiss") {
      return AlertStepVerb(args, out, err, env);
    }
    err << "trial alert: expected ack, confirm, dismiss or scan\n";
    return kExitUsage;
  }
  if (verb == "outbox") {
    if (sub == "list") return OutboxList(args, out, err, env);
    if (sub == "deliver") return OutboxDeliver(args, out, err, env);
    err << "trial outbox: expected list or deliver\n";
    return kExitUsage;
  }
  return -1;
}

std::string AlertLine(const store::AlertRecord& a) {
  return "alert " + std::to_string(a.id) + "  " + a.status + "  " + a.alert.kind + "  subject " +
         std::to_string(a.subject_id) + " (" + a.site + ")" +
         (a.alert.visit.empty() ? "" : " at " + a.alert.visit) + "  " + a.alert.details;
}

}  // namespace trial::cli
