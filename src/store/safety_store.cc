// Adverse events, SAE reports and acknowledgements, safety alerts, SAE notifications and their
// delivery: the store side of safety (store.h, docs/safety.md) and the checks VerifyAudit runs on
// their rows.
//
// Every row here is written by its own audit event whose new_value is the row as canonical JSON
// (detail::TableDef, as visit_store.cc does): an AE version, an SAE report, an acknowledgement,
// an alert step, a notification an SAE queued, a delivery. A serious AE version and the
// notifications it queues are several events of one transaction.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store.h"
#include "store/store_internal.h"

namespace trial::store {

namespace {

using detail::Canonical;
using detail::RowJson;
using detail::TableDef;
using nlohmann::json;

const TableDef kAdverseEvents = {"adverse_events",
                                 "adverse_event",
                                 {{"id", true},
                                  {"version", true},
                                  {"subject_id", true},
                                  {"term", false},
                                  {"other_text", false},
                                  {"grade", true},
                                  {"onset", false},
                                  {"resolved", false},
                                  {"awareness", false},
                                  {"seriousness", false},
                                  {"related", false},
                                  {"action", false},
                                  {"outcome", false},
                                  {"alert_id", true},
                                  {"reason", false},
                                  {"username", false},
                                  {"at", false}}};
const TableDef kSaeReports = {"sae_reports",
                              "sae_report",
                              {{"id", true},
                               {"ae_id", true},
                               {"subject_id", true},
                               {"kind", false},
                               {"due_at", false},
                               {"submitted_at", false},
                               {"on_time", true},
                               {"username", false}}};
const TableDef kSaeAcks = {
    "sae_acks", "sae_ack", {{"report_id", true}, {"username", false}, {"at", false}}};
const TableDef kAlerts = {"alerts",
                          "alert",
                          {{"id", true},
                           {"version", true},
                           {"subject_id", true},
                           {"kind", false},
                           {"visit", false},
                           {"dedup_key", false},
                           {"details", false},
                           {"status", false},
                           {"reason", false},
                           {"ae_id", true},
                           {"username", false},
                           {"at", false}}};
// The notifications an SAE queued: the columns written once (delivered_at is checked against
// the delivery row).
const TableDef kSaeNotifications = {
    "notifications",
    "notification",
    {{"id", true}, {"kind", false}, {"recipient", false}, {"body", false}, {"created_at", false}}};
const TableDef kDeliveries = {
    "notification_deliveries",
    "notification_delivery",
    {{"notification_id", true}, {"file", false}, {"username", false}, {"at", false}}};

const std::vector<Role> kReporters = {Role::kInvestigator, Role::kCoordinator};
const std::vector<Role> kInvestigators = {Role::kInvestigator};

Result<int64_t> NextId(Transaction& tx, const char* table, const char* column) {
  auto rows = tx.Query(std::string("SELECT COALESCE(max(") + column + "), 0) + 1 FROM " + table);
  if (!rows) return std::unexpected(rows.error());
  return (*rows)[0].Int(0);
}

Result<Subject> ExistingSubject(Transaction& tx, int64_t subject_id) {
  auto subject = detail::LoadSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  return **subject;
}

Result<void> Bad(const std::string& what) { return Fail(ErrorCode::kInvalidArgument, what); }

Result<void> RequireCode(const std::string& value, const char* what) {
  if (detail::Trim(value).empty()) return Bad(std::string(what) + " is missing");
  return detail::RequireText(value, what);
}

// The shape of an AE version, whatever the protocol says (service/safety.h checks the rest).
Result<void> CheckShape(const AdverseEvent& ae) {
  const std::string where =
      ae.id == 0 ? "the adverse event" : "adverse event " + std::to_string(ae.id);
  if (auto r = RequireCode(ae.term, "the term"); !r) return r;
  if (!ae.other_text.empty()) {
    if (auto r = detail::RequireText(ae.other_text, "the other-specify text"); !r) return r;
  }
  if (ae.grade < 1 || ae.grade > 5) {
    return Bad(where + ": grade " + std::to_string(ae.grade) + " is not a CTCAE grade (1 to 5)");
  }
  if (ae.resolved && *ae.resolved < ae.onset) {
    return Bad(where + ": the resolution date " + ae.resolved->ToString() +
               " is before the onset date " + ae.onset.ToString());
  }
  if (!ParseInstant(ae.awareness)) {
    return Bad(where + ": the awareness time '" + ae.awareness +
               "' is not a date and time YYYY-MM-DDTHH:MM (UTC)");
  }
  std::set<std::string> seen;
  for (const auto& c : ae.seriousness) {
    if (auto r = RequireCode(c, "a seriousness criterion"); !r) return r;
    if (!seen.insert(c).second) return Bad(where + ": seriousness criterion '" + c + "' twice");
  }
  if (auto r = RequireCode(ae.related, "the relatedness"); !r) return r;
  if (auto r = RequireCode(ae.action, "the action taken"); !r) return r;
  if (!ae.outcome.empty()) {
    if (auto r = detail::RequireText(ae.outcome, "the outcome"); !r) return r;
  }
  if (ae.version > 1 || ae.id != 0) {
    if (auto r = detail::RequireText(ae.reason, "the reason for the follow-up"); !r) return r;
  }
  return {};
}

std::string JoinCriteria(const std::vector<std::string>& list) { return Canonical(json(list)); }

std::vector<std::string> SplitCriteria(const std::string& text) {
  std::vector<std::string> out;
  json j = json::parse(text, nullptr, false);
  if (j.is_array()) {
    for (const auto& c : j) {
      if (c.is_string()) out.push_back(c.get<std::string>());
    }
  }
  return out;
}

std::vector<SqlValue> AeValues(const AdverseEvent& ae) {
  return {ae.id,
          int64_t{ae.version},
          ae.subject_id,
          ae.term,
          ae.other_text,
          int64_t{ae.grade},
          ae.onset.ToString(),
          ae.resolved ? ae.resolved->ToString() : std::string(),
          ae.awareness,
          JoinCriteria(ae.seriousness),
          ae.related,
          ae.action,
          ae.outcome,
          ae.alert_id,
          ae.reason,
          ae.user,
          ae.at};
}

constexpr const char* kAeColumns =
    "e.id, e.version, e.subject_id, e.term, e.other_text, e.grade, e.onset, e.resolved, "
    "e.awareness, e.seriousness, e.related, e.action, e.outcome, e.alert_id, e.reason, "
    "e.username, e.at, s.site_id";
AdverseEvent AeFromRow(const Row& r) {
  AdverseEvent ae;
  ae.id = r.Int(0);
  ae.version = static_cast<int>(r.Int(1));
  ae.subject_id = r.Int(2);
  ae.term = r.Text(3);
  ae.other_text = r.Text(4);
  ae.grade = static_cast<int>(r.Int(5));
  ae.onset = Date::Parse(r.Text(6)).value_or(Date());
  if (auto d = Date::Parse(r.Text(7)); d) ae.resolved = *d;
  ae.awareness = r.Text(8);
  ae.seriousness = SplitCriteria(r.Text(9));
  ae.related = r.Text(10);
  ae.action = r.Text(11);
  ae.outcome = r.Text(12);
  ae.alert_id = r.Int(13);
  ae.reason = r.Text(14);
  ae.user = r.Text(15);
  ae.at = r.Text(16);
  ae.site = r.Text(17);
  return ae;
}

Result<std::optional<AdverseEvent>> LoadAe(Transaction& tx, int64_t id) {
  auto rows = tx.Query(std::string("SELECT ") + kAeColumns +
                           " FROM adverse_events e JOIN subjects s ON s.id = e.subject_id WHERE "
                           "e.id = $1 ORDER BY e.version DESC LIMIT 1",
                       {id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<AdverseEvent>();
  return std::optional<AdverseEvent>(AeFromRow((*rows)[0]));
}

constexpr const char* kReportColumns =
    "r.id, r.ae_id, r.subject_id, r.kind, r.due_at, r.submitted_at, r.on_time, r.username, "
    "s.site_id, COALESCE(k.at, ''), COALESCE(k.username, '')";
const char* kReportFrom =
    " FROM sae_reports r JOIN subjects s ON s.id = r.subject_id LEFT JOIN sae_acks k ON "
    "k.report_id = r.id";
SaeReport ReportFromRow(const Row& r) {
  SaeReport s;
  s.id = r.Int(0);
  s.ae_id = r.Int(1);
  s.subject_id = r.Int(2);
  s.kind = r.Text(3);
  s.due_at = r.Text(4);
  s.submitted_at = r.Text(5);
  s.on_time = r.Int(6) != 0;
  s.submitted_by = r.Text(7);
  s.site = r.Text(8);
  s.acknowledged_at = r.Text(9);
  s.acknowledged_by = r.Text(10);
  return s;
}

constexpr const char* kAlertColumns =
    "a.id, a.version, a.subject_id, a.kind, a.visit, a.dedup_key, a.details, a.status, a.reason, "
    "a.ae_id, a.username, a.at, s.site_id";
AlertRecord AlertFromRow(const Row& r) {
  AlertRecord a;
  a.id = r.Int(0);
  a.version = static_cast<int>(r.Int(1));
  a.subject_id = r.Int(2);
  a.alert = NewAlert{r.Text(3), r.Text(4), r.Text(5), r.Text(6)};
  a.status = r.Text(7);
  a.reason = r.Text(8);
  a.ae_id = r.Int(9);
  a.user = r.Text(10);
  a.at = r.Text(11);
  a.site = r.Text(12);
  return a;
}
std::vector<SqlValue> AlertValues(const AlertRecord& a) {
  return {a.id,
          int64_t{a.version},
          a.subject_id,
          a.alert.kind,
          a.alert.visit,
          a.alert.dedup_key,
          a.alert.details,
          a.status,
          a.reason,
          a.ae_id,
          a.user,
          a.at};
}

Result<std::optional<AlertRecord>> LoadAlert(Transaction& tx, int64_t id) {
  auto rows = tx.Query(std::string("SELECT ") + kAlertColumns +
                           " FROM alerts a JOIN subjects s ON s.id = a.subject_id WHERE a.id = $1 "
                           "ORDER BY a.version DESC LIMIT 1",
                       {id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<AlertRecord>();
  return std::optional<AlertRecord>(AlertFromRow((*rows)[0]));
}

// Reads in one read transaction.
template <class T, class FromRow>
Result<std::vector<T>> ReadRows(Connection& c, const std::string& sql,
                                const std::vector<SqlValue>& params, FromRow from_row) {
  auto tx = c.Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(sql, params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<T> out;
  for (const auto& r : *rows) out.push_back(from_row(r));
  return out;
}

bool Digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return false;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}
int Num(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

}  // namespace

// ---- instants ----

std::optional<int64_t> ParseInstant(std::string_view t) {
  if (t.size() < 16 || t[10] != 'T' || t[13] != ':') return std::nullopt;
  auto date = Date::Parse(t.substr(0, 10));
  if (!date || !Digits(t, 11, 2) || !Digits(t, 14, 2)) return std::nullopt;
  int hh = Num(t, 11, 2), mm = Num(t, 14, 2), ss = 0;
  int64_t micros = 0;
  size_t at = 16;
  if (at < t.size() && t[at] == ':') {
    if (!Digits(t, at + 1, 2)) return std::nullopt;
    ss = Num(t, at + 1, 2);
    at += 3;
    if (at < t.size() && t[at] == '.') {
      size_t n = 0;
      while (at + 1 + n < t.size() && t[at + 1 + n] >= '0' && t[at + 1 + n] <= '9') ++n;
      if (n < 1 || n > 6) return std::nullopt;
      micros = Num(t, at + 1, n);
      for (size_t i = n; i < 6; ++i) micros *= 10;
      at += 1 + n;
    }
  }
  if (at < t.size() && t[at] == 'Z') ++at;
  if (at != t.size() || hh > 23 || mm > 59 || ss > 59) return std::nullopt;
  return ((static_cast<int64_t>(date->days()) * 24 + hh) * 60 + mm) * 60'000'000LL +
         ss * 1'000'000LL + micros;
}

std::string FormatInstant(int64_t micros) {
  const int64_t kDay = 86'400'000'000LL;
  int64_t days = micros / kDay;
  int64_t rest = micros % kDay;
  if (rest < 0) {
    rest += kDay;
    --days;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "T%02lld:%02lld:%02lld.%06lldZ",
                static_cast<long long>(rest / 3'600'000'000LL),
                static_cast<long long>(rest / 60'000'000LL % 60),
                static_cast<long long>(rest / 1'000'000LL % 60),
                static_cast<long long>(rest % 1'000'000LL));
  return Date::FromDays(static_cast<int32_t>(days)).ToString() + buf;
}

// ---- adverse events ----

Result<AdverseEvent> TrialStore::InsertAdverseEvent(Transaction& tx, const User& who,
                                                    AdverseEvent ae,
                                                    const std::vector<std::string>& recipients) {
  auto subject = ExistingSubject(tx, ae.subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (auto r =
          detail::RequireRoleAtSite(who, subject->site_id, kReporters, "record adverse events");
      !r) {
    return std::unexpected(r.error());
  }
  std::string old_value;
  if (ae.id == 0) {
    auto id = NextId(tx, "adverse_events", "id");
    if (!id) return std::unexpected(id.error());
    ae.id = *id;
    ae.version = 1;
  } else {
    auto previous = LoadAe(tx, ae.id);
    if (!previous) return std::unexpected(previous.error());
    if (!*previous) {
      return Fail(ErrorCode::kNotFound, "unknown adverse event " + std::to_string(ae.id));
    }
    if ((*previous)->subject_id != ae.subject_id) {
      return Fail(ErrorCode::kInvalidArgument, "adverse event " + std::to_string(ae.id) +
                                                   " is of subject " +
                                                   std::to_string((*previous)->subject_id) +
                                                   ", not " + std::to_string(ae.subject_id));
    }
    ae.version = (*previous)->version + 1;
    ae.alert_id = (*previous)->alert_id;
    old_value = Canonical(RowJson(kAdverseEvents, AeValues(**previous)));
  }
  ae.site = subject->site_id;
  ae.user = who.username;
  ae.at = clock_();
  const std::string subject_text = std::to_string(ae.subject_id);
  const std::string id_text = std::to_string(ae.id) + "/" + std::to_string(ae.version);
  auto e = InsertAudited(
      tx, who,
      AuditedRow{&kAdverseEvents, AeValues(ae), ae.version == 1 ? "ae.add" : "ae.update", id_text,
                 subject_text, old_value, ae.reason});
  if (!e) return std::unexpected(e.error());
  if (!ae.serious()) return ae;
  // A serious version notifies each recipient: one audited row each, in this transaction.
  auto next = NextId(tx, "notifications", "id");
  if (!next) return std::unexpected(next.error());
  int64_t note_id = *next;
  std::string criteria;
  for (const auto& c : ae.seriousness) criteria += (criteria.empty() ? "" : ", ") + c;
  const std::string body =
      "Serious adverse event " + std::to_string(ae.id) + " version " + std::to_string(ae.version) +
      " of subject " + subject_text + " (site " + ae.site + "): " + ae.term +
      (ae.other_text.empty() ? "" : " (" + ae.other_text + ")") + ", grade " +
      std::to_string(ae.grade) + ", onset " + ae.onset.ToString() + ", criteria: " + criteria +
      "; site aware at " + ae.awareness + "; recorded by " + who.username + " at " + ae.at + ".";
  for (const auto& recipient : recipients) {
    std::vector<SqlValue> values = {note_id, std::string("sae"), recipient, body, ae.at};
    auto n = Append(tx, who.username, who.role,
                    Pending{"notification.queue", kSaeNotifications.entity, std::to_string(note_id),
                            subject_text, "", Canonical(RowJson(kSaeNotifications, values)), ""});
    if (!n) return std::unexpected(n.error());
    auto ins = tx.Query(
        "INSERT INTO notifications (id, kind, recipient, body, created_at, delivered_at, "
        "audit_seq) VALUES ($1, $2, $3, $4, $5, '', $6)",
        {note_id, std::string("sae"), recipient, body, ae.at, n->seq});
    if (!ins) return std::unexpected(ins.error());
    ++note_id;
  }
  return ae;
}

Result<AdverseEvent> TrialStore::RecordAdverseEvent(const std::string& actor, AdverseEvent ae,
                                                    const std::vector<std::string>& recipients) {
  ae.alert_id = 0;
  if (auto r = CheckShape(ae); !r) return std::unexpected(r.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto recorded = InsertAdverseEvent(*write->tx, write->actor, std::move(ae), recipients);
  if (!recorded) return std::unexpected(recorded.error());
  if (auto c = write->tx->Commit(); !c) return std::unexpected(c.error());
  return recorded;
}

// ---- SAE reports ----

Result<SaeReport> TrialStore::SubmitSaeReport(const std::string& actor, int64_t ae_id,
                                              const std::string& kind, const std::string& due_at) {
  if (kind != "initial" && kind != "follow_up") {
    return Fail(ErrorCode::kInvalidArgument,
                "the report kind '" + kind + "' is not initial or follow_up");
  }
  if (!ParseInstant(due_at)) {
    return Fail(ErrorCode::kInvalidArgument, "the due time '" + due_at + "' is not an instant");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const std::string id_text = std::to_string(ae_id);
  auto ae = LoadAe(tx, ae_id);
  if (!ae) return std::unexpected(ae.error());
  if (!*ae) return Fail(ErrorCode::kNotFound, "unknown adverse event " + id_text);
  if (auto r = detail::RequireRoleAtSite(write->actor, (*ae)->site, kReporters,
                                         "report serious adverse events");
      !r) {
    return std::unexpected(r.error());
  }
  if (!(*ae)->serious()) {
    return Fail(ErrorCode::kInvalidInput,
                "adverse event " + id_text + " is not serious: only serious AEs are reported");
  }
  auto existing = tx.Query("SELECT kind FROM sae_reports WHERE ae_id = $1", {ae_id});
  if (!existing) return std::unexpected(existing.error());
  bool has_initial = false;
  for (const auto& r : *existing) {
    if (r.Text(0) == kind) {
      return Fail(ErrorCode::kInvalidInput,
                  "the " + kind + " report of adverse event " + id_text + " was already submitted");
    }
    has_initial = has_initial || r.Text(0) == "initial";
  }
  if (kind == "follow_up" && !has_initial) {
    return Fail(ErrorCode::kInvalidInput,
                "adverse event " + id_text + " has no initial report yet: submit it first");
  }
  auto id = NextId(tx, "sae_reports", "id");
  if (!id) return std::unexpected(id.error());
  SaeReport s;
  s.id = *id;
  s.ae_id = ae_id;
  s.subject_id = (*ae)->subject_id;
  s.site = (*ae)->site;
  s.kind = kind;
  s.due_at = due_at;
  s.submitted_at = clock_();
  s.submitted_by = write->actor.username;
  s.on_time = *ParseInstant(s.submitted_at) <= *ParseInstant(due_at);
  auto e = InsertAudited(tx, write->actor,
                         AuditedRow{&kSaeReports,
                                    {s.id, s.ae_id, s.subject_id, s.kind, s.due_at, s.submitted_at,
                                     int64_t{s.on_time ? 1 : 0}, s.submitted_by},
                                    "sae.report",
                                    std::to_string(s.id),
                                    std::to_string(s.subject_id),
                                    "",
                                    ""});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return s;
}

Result<SaeReport> TrialStore::AcknowledgeSaeReport(const std::string& actor, int64_t report_id) {
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  if (who.role != Role::kSponsorViewer && who.role != Role::kAdministrator) {
    return Fail(ErrorCode::kPermissionDenied,
                detail::Who(who) +
                    " may not acknowledge SAE reports: sponsor viewers and administrators only");
  }
  const std::string id_text = std::to_string(report_id);
  auto rows = tx.Query(std::string("SELECT ") + kReportColumns + kReportFrom + " WHERE r.id = $1",
                       {report_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kNotFound, "unknown SAE report " + id_text);
  SaeReport s = ReportFromRow((*rows)[0]);
  if (!s.acknowledged_at.empty()) {
    return Fail(ErrorCode::kInvalidInput, "SAE report " + id_text +
                                              " was already acknowledged by " + s.acknowledged_by +
                                              " at " + s.acknowledged_at);
  }
  s.acknowledged_by = who.username;
  s.acknowledged_at = clock_();
  auto e = InsertAudited(tx, who,
                         AuditedRow{&kSaeAcks,
                                    {report_id, s.acknowledged_by, s.acknowledged_at},
                                    "sae.acknowledge",
                                    id_text,
                                    std::to_string(s.subject_id),
                                    "",
                                    ""});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return s;
}

// ---- alerts ----

Result<std::vector<AlertRecord>> TrialStore::RaiseAlerts(const std::string& actor,
                                                         int64_t subject_id,
                                                         const std::vector<NewAlert>& alerts) {
  for (const auto& a : alerts) {
    if (auto r = RequireCode(a.kind, "the alert kind"); !r) return std::unexpected(r.error());
    if (auto r = RequireCode(a.dedup_key, "the alert's dedup key"); !r) {
      return std::unexpected(r.error());
    }
    if (a.details.size() > 4000) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the details of alert '" + a.dedup_key + "' are longer than 4000 characters");
    }
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  auto subject = ExistingSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (auto r = detail::RequireSiteAccess(write->actor, subject->site_id); !r) {
    return std::unexpected(r.error());
  }
  auto next = NextId(tx, "alerts", "id");
  if (!next) return std::unexpected(next.error());
  int64_t id = *next;
  std::vector<AlertRecord> out;
  std::set<std::string> keys;
  for (const auto& a : alerts) {
    if (!keys.insert(a.dedup_key).second) continue;  // twice in one call: once
    auto known = tx.Query("SELECT 1 FROM alerts WHERE subject_id = $1 AND dedup_key = $2",
                          {subject_id, a.dedup_key});
    if (!known) return std::unexpected(known.error());
    if (!known->empty()) continue;
    AlertRecord r;
    r.id = id++;
    r.version = 1;
    r.subject_id = subject_id;
    r.site = subject->site_id;
    r.alert = a;
    r.status = "open";
    r.user = write->actor.username;
    r.at = clock_();
    auto e =
        InsertAudited(tx, write->actor,
                      AuditedRow{&kAlerts, AlertValues(r), "alert.raise",
                                 std::to_string(r.id) + "/1", std::to_string(subject_id), "", ""});
    if (!e) return std::unexpected(e.error());
    out.push_back(std::move(r));
  }
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return out;
}

Result<AlertRecord> TrialStore::AlertStep(const std::string& actor, int64_t id,
                                          const std::string& to, const std::string& reason,
                                          const AdverseEvent* ae,
                                          const std::vector<std::string>& recipients,
                                          AdverseEvent* recorded) {
  if (to == "dismissed") {
    if (auto r = detail::RequireText(reason, "the reason for dismissing"); !r) {
      return std::unexpected(r.error());
    }
  }
  if (ae != nullptr) {
    if (ae->id != 0) {
      return Fail(ErrorCode::kInvalidArgument, "confirming an alert records a new adverse event");
    }
    if (auto r = CheckShape(*ae); !r) return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const std::string id_text = std::to_string(id);
  auto current = LoadAlert(tx, id);
  if (!current) return std::unexpected(current.error());
  if (!*current) return Fail(ErrorCode::kNotFound, "unknown alert " + id_text);
  AlertRecord a = **current;
  const std::vector<Role>& roles = to == "acknowledged" ? kReporters : kInvestigators;
  if (auto r = detail::RequireRoleAtSite(write->actor, a.site, roles, "change alerts"); !r) {
    return std::unexpected(r.error());
  }
  if (a.status != "open" && !(a.status == "acknowledged" && to != "acknowledged")) {
    return Fail(ErrorCode::kInvalidInput,
                "alert " + id_text + " is " + a.status + ": it cannot become " + to);
  }
  const std::string old_value = Canonical(RowJson(kAlerts, AlertValues(a)));
  if (ae != nullptr) {
    AdverseEvent event = *ae;
    event.subject_id = a.subject_id;
    event.alert_id = a.id;
    auto r = InsertAdverseEvent(tx, write->actor, std::move(event), recipients);
    if (!r) return std::unexpected(r.error());
    a.ae_id = r->id;
    if (recorded != nullptr) *recorded = *r;
  }
  a.version += 1;
  a.status = to;
  a.reason = reason;
  a.user = write->actor.username;
  a.at = clock_();
  auto e = InsertAudited(
      tx, write->actor,
      AuditedRow{&kAlerts, AlertValues(a), "alert." + to, id_text + "/" + std::to_string(a.version),
                 std::to_string(a.subject_id), old_value, reason});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return a;
}

Result<AlertRecord> TrialStore::AcknowledgeAlert(const std::string& actor, int64_t id) {
  return AlertStep(actor, id, "acknowledged", "", nullptr, {}, nullptr);
}

Result<AlertRecord> TrialStore::DismissAlert(const std::string& actor, int64_t id,
                                             const std::string& reason) {
  return AlertStep(actor, id, "dismissed", reason, nullptr, {}, nullptr);
}

Result<std::pair<AlertRecord, AdverseEvent>> TrialStore::ConfirmAlert(
    const std::string& actor, int64_t id, AdverseEvent ae,
    const std::vector<std::string>& recipients) {
  AdverseEvent recorded;
  auto a = AlertStep(actor, id, "confirmed", "", &ae, recipients, &recorded);
  if (!a) return std::unexpected(a.error());
  return std::make_pair(std::move(*a), std::move(recorded));
}

// ---- the outbox ----

Result<Notification> TrialStore::MarkDelivered(const std::string& actor, int64_t notification_id,
                                               const std::string& file) {
  if (auto r = detail::RequireText(file, "the delivered file"); !r) {
    return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  if (auto r = detail::RequireAdministrator(write->actor); !r) return std::unexpected(r.error());
  const std::string id_text = std::to_string(notification_id);
  auto rows = tx.Query(
      "SELECT id, kind, recipient, body, created_at, delivered_at, audit_seq FROM notifications "
      "WHERE id = $1",
      {notification_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kNotFound, "unknown notification " + id_text);
  const Row& r = (*rows)[0];
  Notification n{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)};
  if (!n.delivered_at.empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "notification " + id_text + " was already delivered at " + n.delivered_at);
  }
  n.delivered_at = clock_();
  auto e = InsertAudited(tx, write->actor,
                         AuditedRow{&kDeliveries,
                                    {notification_id, file, write->actor.username, n.delivered_at},
                                    "notification.deliver",
                                    id_text,
                                    "",
                                    "",
                                    ""});
  if (!e) return std::unexpected(e.error());
  auto upd = tx.Query("UPDATE notifications SET delivered_at = $1 WHERE id = $2",
                      {n.delivered_at, notification_id});
  if (!upd) return std::unexpected(upd.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return n;
}

// ---- reads ----

Result<std::vector<AdverseEvent>> TrialStore::AdverseEvents(
    const std::optional<int64_t>& subject_id, const std::optional<std::string>& site) {
  std::string sql = std::string("SELECT ") + kAeColumns +
                    " FROM adverse_events e JOIN subjects s ON s.id = e.subject_id WHERE "
                    "e.version = (SELECT max(version) FROM adverse_events x WHERE x.id = e.id)";
  std::vector<SqlValue> params;
  if (subject_id) {
    params.push_back(*subject_id);
    sql += " AND e.subject_id = $" + std::to_string(params.size());
  }
  if (site) {
    params.push_back(*site);
    sql += " AND s.site_id = $" + std::to_string(params.size());
  }
  sql += " ORDER BY e.id";
  return ReadRows<AdverseEvent>(*connection_, sql, params, AeFromRow);
}

Result<std::vector<AdverseEvent>> TrialStore::AdverseEventHistory(int64_t id) {
  return ReadRows<AdverseEvent>(*connection_,
                                std::string("SELECT ") + kAeColumns +
                                    " FROM adverse_events e JOIN subjects s ON s.id = "
                                    "e.subject_id WHERE e.id = $1 ORDER BY e.version",
                                {id}, AeFromRow);
}

Result<std::vector<SaeReport>> TrialStore::SaeReports(const std::optional<std::string>& site) {
  std::string sql = std::string("SELECT ") + kReportColumns + kReportFrom;
  std::vector<SqlValue> params;
  if (site) {
    sql += " WHERE s.site_id = $1";
    params.push_back(*site);
  }
  sql += " ORDER BY r.id";
  return ReadRows<SaeReport>(*connection_, sql, params, ReportFromRow);
}

Result<std::vector<AlertRecord>> TrialStore::Alerts(const AlertFilter& f) {
  std::string sql = std::string("SELECT ") + kAlertColumns +
                    " FROM alerts a JOIN subjects s ON s.id = a.subject_id WHERE a.version = "
                    "(SELECT max(version) FROM alerts x WHERE x.id = a.id)";
  std::vector<SqlValue> params;
  auto add = [&](const char* cond, SqlValue v) {
    params.push_back(std::move(v));
    sql += std::string(" AND ") + cond + " $" + std::to_string(params.size());
  };
  if (f.subject_id) add("a.subject_id =", *f.subject_id);
  if (f.site) add("s.site_id =", *f.site);
  if (f.status) add("a.status =", *f.status);
  sql += " ORDER BY a.id";
  return ReadRows<AlertRecord>(*connection_, sql, params, AlertFromRow);
}

// ---- for VerifyAudit (store_internal.h) ----

namespace detail {

Result<std::optional<RowProblem>> VerifySafetyRows(Transaction& tx,
                                                   const std::map<int64_t, std::string>& new_values,
                                                   const std::map<int64_t, std::string>& entities) {
  using Problem = std::optional<RowProblem>;
  // The SAE notifications (their written-once columns) only: the unblinding's are checked with
  // their unblinding in store.cc.
  std::map<int64_t, std::string> notification_values;
  for (const auto& [seq, entity] : entities) {
    auto it = new_values.find(seq);
    if (it != new_values.end() && entity == kSaeNotifications.entity) {
      notification_values[seq] = it->second;
    }
  }
  auto problem = VerifyTables(
      tx, {&kAdverseEvents, &kSaeReports, &kSaeAcks, &kAlerts, &kDeliveries}, new_values, entities);
  if (!problem || *problem) return problem;
  // Notifications: every row of an SAE's event must match it; unblinding rows are skipped here.
  auto rows = tx.Query(
      "SELECT n.id, n.kind, n.recipient, n.body, n.created_at, n.audit_seq, n.delivered_at, "
      "COALESCE(d.at, '') FROM notifications n LEFT JOIN notification_deliveries d ON "
      "d.notification_id = n.id ORDER BY n.id");
  if (!rows) return std::unexpected(rows.error());
  std::set<int64_t> seen;
  for (const auto& r : *rows) {
    const int64_t seq = r.Int(5);
    const std::string what = "notification " + r.Text(0);
    if (r.Text(6) != r.Text(7)) {
      return Problem(RowProblem{seq, what + " has delivered_at '" + r.Text(6) +
                                         "' but its delivery record says '" + r.Text(7) + "'"});
    }
    auto entity = entities.find(seq);
    if (entity == entities.end() || entity->second != kSaeNotifications.entity) continue;
    std::vector<SqlValue> values = {r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4)};
    seen.insert(seq);
    if (Canonical(RowJson(kSaeNotifications, values)) != notification_values[seq]) {
      return Problem(RowProblem{seq, what +
                                         " was changed behind the system's back: it differs "
                                         "from audit event " +
                                         std::to_string(seq)});
    }
  }
  for (const auto& [seq, value] : notification_values) {
    if (!seen.count(seq)) {
      return Problem(RowProblem{seq, "the notification written by audit event " +
                                         std::to_string(seq) +
                                         " is missing from the database (deleted behind the "
                                         "system's back)"});
    }
  }
  return Problem();
}

}  // namespace detail
}  // namespace trial::store
