// Visits, doses, protocol deviations, queries, item review states and signatures: the store side
// of the visit schedule (store.h, docs/schedule.md, docs/queries.md) and the checks VerifyAudit
// runs on their rows.
//
// Every table here is append-only and every row is written by its own audit event, whose
// new_value is the row itself as canonical JSON (every column but audit_seq, integers as
// numbers). The tables are described once, in kVisitTables: InsertAudited writes a row and its
// event from that description and VerifyVisitRows reads every row back through it.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store.h"
#include "store/store_internal.h"

namespace trial::store {

// ---- the tables (detail::TableDef, TrialStore::AuditedRow: store_internal.h) ----

namespace {

using detail::Canonical;
using detail::Column;
using detail::ColumnList;
using detail::RowJson;
using detail::TableDef;
using detail::TypedValues;
using nlohmann::json;

const TableDef kVisits = {"visits",
                          "visit",
                          {{"subject_id", true},
                           {"visit", false},
                           {"done_on", false},
                           {"missed", true},
                           {"reason", false},
                           {"username", false},
                           {"at", false}}};
const TableDef kDeviations = {"deviations",
                              "deviation",
                              {{"id", true},
                               {"subject_id", true},
                               {"visit", false},
                               {"kind", false},
                               {"date", false},
                               {"days_outside", true},
                               {"description", false},
                               {"found_by", false},
                               {"at", false}}};
const TableDef kDoses = {"doses",
                         "dose",
                         {{"subject_id", true},
                          {"visit", false},
                          {"dose_date", false},
                          {"given", true},
                          {"level", false},
                          {"dose_ug", true},
                          {"weight", false},
                          {"kit_number", false},
                          {"decision", false},
                          {"causes", false},
                          {"explanation", false},
                          {"override_reason", false},
                          {"username", false},
                          {"at", false}}};
const TableDef kQueries = {"queries",
                           "query",
                           {{"id", true},
                            {"version", true},
                            {"subject_id", true},
                            {"visit", false},
                            {"form", false},
                            {"rep", true},
                            {"item", false},
                            {"status", false},
                            {"text", false},
                            {"edit_check", false},
                            {"username", false},
                            {"at", false}}};
const TableDef kReviews = {"item_reviews",
                           "review",
                           {{"subject_id", true},
                            {"visit", false},
                            {"form", false},
                            {"rep", true},
                            {"item", false},
                            {"version", true},
                            {"item_version", true},
                            {"state", false},
                            {"reason", false},
                            {"username", false},
                            {"at", false}}};
const TableDef kSignatures = {"signatures",
                              "signature",
                              {{"id", true},
                               {"subject_id", true},
                               {"visit", false},
                               {"meaning", false},
                               {"username", false},
                               {"printed_name", false},
                               {"signed_at", false}}};
const TableDef kSignatureVoids = {
    "signature_voids",
    "signature_void",
    {{"signature_id", true}, {"reason", false}, {"username", false}, {"at", false}}};

const TableDef* const kVisitTables[] = {&kVisits,  &kDeviations, &kDoses,         &kQueries,
                                        &kReviews, &kSignatures, &kSignatureVoids};

// Every row of one read-only query, each turned into a T by `from_row`.
template <class T, class FromRow>
Result<std::vector<T>> ReadAll(Connection& connection, const std::string& sql,
                               const std::vector<SqlValue>& params, FromRow from_row) {
  auto tx = connection.Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(sql, params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<T> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) out.push_back(from_row(r));
  return out;
}

std::string DayOf(const std::string& instant) { return instant.substr(0, 10); }

std::string ItemText(const ItemKey& k) {
  return std::to_string(k.subject_id) + "/" + k.visit + "/" + k.form + "/" +
         std::to_string(k.repeat) + "/" + k.item;
}

// ---- roles ----

bool WorksAt(const User& u, const std::string& site) {
  return std::find(u.sites.begin(), u.sites.end(), site) != u.sites.end();
}

// `who` holds one of `roles` and, for a site-scoped role, works at `site`.
Result<void> RequireRoleAt(const User& who, const std::string& site, std::vector<Role> roles,
                           const std::string& doing) {
  for (Role r : roles) {
    if (who.role == r && (!IsSiteScoped(r) || WorksAt(who, site))) return {};
  }
  std::string allowed;
  for (size_t i = 0; i < roles.size(); ++i) {
    allowed += (i == 0                  ? ""
                : i + 1 == roles.size() ? " and "
                                        : ", ") +
               std::string(RoleName(roles[i])) + "s";
  }
  return Fail(ErrorCode::kPermissionDenied, detail::Who(who) + " may not " + doing + " at site '" +
                                                site + "': " + allowed + " (of the site) only");
}

const std::vector<Role> kVisitRoles = {Role::kInvestigator, Role::kCoordinator};
const std::vector<Role> kDoseRoles = {Role::kInvestigator, Role::kCoordinator,
                                      Role::kUnblindedPharmacist};
const std::vector<Role> kReviewerRoles = {Role::kMonitor, Role::kDataManager};

// ---- the subject ----

struct Randomized {
  Subject subject;
  std::string arm;
  Date day0;
};

// The subject, which must exist and be randomized (on treatment), with its arm and day 0.
Result<Randomized> LoadRandomized(Transaction& tx, int64_t subject_id) {
  const std::string id = std::to_string(subject_id);
  auto subject = detail::LoadSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + id);
  auto rows = tx.Query(
      "SELECT s.arm, a.at FROM allocations a JOIN rand_slots s ON s.stratum = a.stratum AND "
      "s.position = a.position WHERE a.subject_id = $1",
      {subject_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is not randomized: randomize first");
  }
  if ((*subject)->status != SubjectStatus::kRandomized) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is " +
                                              StatusName((*subject)->status) +
                                              ": visits and doses are for subjects on treatment");
  }
  auto day0 = Date::Parse(DayOf((*rows)[0].Text(1)));
  // The allocation's instant comes from the store's clock (RFC 3339): it always has a date.
  if (!day0) return Fail(ErrorCode::kInternal, "the allocation date of subject " + id);
  return Randomized{**subject, (*rows)[0].Text(0), *day0};
}

// A date of a visit or dose: not after `today`, not before day 0.
Result<void> RequireDateInRange(Date date, Date today, Date day0, const std::string& what) {
  if (date > today) {
    return Fail(ErrorCode::kInvalidArgument, "the date of " + what + ", " + date.ToString() +
                                                 ", is in the future (today is " +
                                                 today.ToString() + ")");
  }
  if (date < day0) {
    return Fail(ErrorCode::kInvalidArgument, "the date of " + what + ", " + date.ToString() +
                                                 ", is before day 0 (" + day0.ToString() + ")");
  }
  return {};
}

// ---- rows read back ----

constexpr const char* kVisitColumns = "subject_id, visit, done_on, missed, reason, username, at";
VisitEntry VisitFromRow(const Row& r) {
  VisitEntry v;
  v.subject_id = r.Int(0);
  v.visit = r.Text(1);
  if (auto d = Date::Parse(r.Text(2)); d) v.date = *d;
  v.missed = r.Int(3) != 0;
  v.reason = r.Text(4);
  v.user = r.Text(5);
  v.at = r.Text(6);
  return v;
}

constexpr const char* kDoseColumns =
    "subject_id, visit, dose_date, given, level, dose_ug, weight, kit_number, decision, causes, "
    "explanation, override_reason, username, at";
std::vector<std::string> CausesFrom(const std::string& text) {
  std::vector<std::string> out;
  json j = json::parse(text, nullptr, false);
  if (j.is_array()) {
    for (const auto& c : j) {
      if (c.is_string()) out.push_back(c.get<std::string>());
    }
  }
  return out;
}
DoseEntry DoseFromRow(const Row& r) {
  DoseEntry d;
  d.subject_id = r.Int(0);
  d.visit = r.Text(1);
  d.date = Date::Parse(r.Text(2)).value_or(Date());
  d.given = r.Int(3) != 0;
  d.level = r.Text(4);
  d.dose_ug = r.Int(5);
  d.weight = r.Text(6);
  d.kit_number = r.Text(7);
  d.decision = r.Text(8);
  d.causes = CausesFrom(r.Text(9));
  d.explanation = r.Text(10);
  d.override_reason = r.Text(11);
  d.user = r.Text(12);
  d.at = r.Text(13);
  return d;
}

constexpr const char* kDeviationColumns =
    "d.id, d.subject_id, d.visit, d.kind, d.date, d.days_outside, d.description, d.found_by, "
    "d.at, s.site_id";
DeviationRecord DeviationFromRow(const Row& r) {
  DeviationRecord d;
  d.id = r.Int(0);
  d.subject_id = r.Int(1);
  d.deviation.visit = r.Text(2);
  d.deviation.kind = r.Text(3);
  d.deviation.date = Date::Parse(r.Text(4)).value_or(Date());
  d.deviation.days_outside = static_cast<int>(r.Int(5));
  d.deviation.description = r.Text(6);
  d.found_by = r.Text(7);
  d.at = r.Text(8);
  d.site = r.Text(9);
  return d;
}

constexpr const char* kQueryColumns =
    "q.id, q.version, q.subject_id, q.visit, q.form, q.rep, q.item, q.status, q.text, "
    "q.edit_check, q.username, q.at, s.site_id";
QueryRecord QueryFromRow(const Row& r) {
  QueryRecord q;
  q.id = r.Int(0);
  q.version = static_cast<int>(r.Int(1));
  q.key = ItemKey{r.Int(2), r.Text(3), r.Text(4), static_cast<int>(r.Int(5)), r.Text(6)};
  q.status = r.Text(7);
  q.text = r.Text(8);
  q.edit_check = r.Text(9);
  q.user = r.Text(10);
  q.at = r.Text(11);
  q.site = r.Text(12);
  return q;
}

Result<std::optional<QueryRecord>> LoadQuery(Transaction& tx, int64_t id) {
  auto rows = tx.Query(std::string("SELECT ") + kQueryColumns +
                           " FROM queries q JOIN subjects s ON s.id = q.subject_id WHERE q.id = "
                           "$1 ORDER BY q.version DESC LIMIT 1",
                       {id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<QueryRecord>();
  return std::optional<QueryRecord>(QueryFromRow((*rows)[0]));
}

// The current version of an item, 0 when it has none.
Result<int> ItemVersionOf(Transaction& tx, const ItemKey& k) {
  auto rows = tx.Query(
      "SELECT COALESCE(max(version), 0) FROM item_data WHERE subject_id = $1 AND visit = $2 AND "
      "form = $3 AND rep = $4 AND item = $5",
      {k.subject_id, k.visit, k.form, int64_t{k.repeat}, k.item});
  if (!rows) return std::unexpected(rows.error());
  return static_cast<int>((*rows)[0].Int(0));
}

// The review state of an item and the number of its last review row (0 when none).
struct LoadedReview {
  ReviewState state;
  int last_version = 0;
};
Result<LoadedReview> LoadReview(Transaction& tx, const ItemKey& k) {
  LoadedReview out;
  out.state.key = k;
  out.state.state = "entered";
  auto current = ItemVersionOf(tx, k);
  if (!current) return std::unexpected(current.error());
  out.state.item_version = *current;
  auto rows = tx.Query(
      "SELECT version, item_version, state, username, at FROM item_reviews WHERE subject_id = $1 "
      "AND visit = $2 AND form = $3 AND rep = $4 AND item = $5 ORDER BY version DESC LIMIT 1",
      {k.subject_id, k.visit, k.form, int64_t{k.repeat}, k.item});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return out;
  const Row& r = (*rows)[0];
  out.last_version = static_cast<int>(r.Int(0));
  // A review of an earlier version no longer holds: the value changed since.
  if (r.Int(1) == *current) {
    out.state.state = r.Text(2);
    out.state.user = r.Text(3);
    out.state.at = r.Text(4);
  }
  return out;
}

Result<Subject> LoadExistingSubject(Transaction& tx, int64_t subject_id) {
  auto subject = detail::LoadSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  return **subject;
}

Result<int64_t> NextId(Transaction& tx, const char* table, const char* column) {
  auto rows = tx.Query(std::string("SELECT COALESCE(max(") + column + "), 0) + 1 FROM " + table);
  if (!rows) return std::unexpected(rows.error());
  return (*rows)[0].Int(0);
}

Result<void> RequireLongText(const std::string& text, const char* what) {
  if (detail::Trim(text).empty()) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  }
  if (text.size() > 4000) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is longer than 4000 characters");
  }
  return {};
}

// Whether the hold rules' verdict allows `dose` (given or withheld); an error saying why not.
Result<void> CheckDoseDecision(const DoseEntry& dose) {
  const std::string where = "at visit " + dose.visit;
  const bool against_hold = dose.decision == "hold";
  if (dose.given) {
    if (dose.decision == "discontinue") {
      return Fail(ErrorCode::kInvalidInput, "no dose " + where +
                                                ": the hold rules say discontinue (" +
                                                dose.explanation + "): no further doses");
    }
    if (dose.decision == "unknown") {
      return Fail(ErrorCode::kInvalidInput,
                  "no dose " + where + " until the labs are done (" + dose.explanation + ")");
    }
    if (dose.decision != "proceed" && dose.decision != "reduce" && !against_hold) {
      return Fail(ErrorCode::kInvalidArgument, "unknown dose decision '" + dose.decision + "'");
    }
    if (against_hold && detail::Trim(dose.override_reason).empty()) {
      return Fail(ErrorCode::kInvalidInput,
                  "the hold rules say hold " + where + " (" + dose.explanation +
                      "): give an override reason to dose anyway (a protocol deviation), or "
                      "record the hold");
    }
    if (!against_hold && !dose.override_reason.empty()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "an override reason is only for a dose against a hold; the hold rules say " +
                      dose.decision);
    }
    if (dose.level != "full" && dose.level != "reduced") {
      return Fail(ErrorCode::kInvalidArgument, "the dose level must be full or reduced");
    }
    if (dose.dose_ug <= 0) return Fail(ErrorCode::kInvalidArgument, "the dose must be positive");
    if (auto r = detail::RequireText(dose.weight, "the weight used"); !r) {
      return std::unexpected(r.error());
    }
  } else if (dose.decision != "hold" && dose.decision != "discontinue") {
    return Fail(ErrorCode::kInvalidInput, "a dose is withheld " + where +
                                              " only on a hold or discontinue verdict, not " +
                                              dose.decision);
  }
  return {};
}

}  // namespace

// ---- writing one audited row ----

Result<AuditEvent> TrialStore::InsertAudited(Transaction& tx, const User& who,
                                             const AuditedRow& row) {
  const TableDef& t = *row.table;
  auto e = Append(tx, who.username, who.role,
                  Pending{row.action, t.entity, row.entity_id, row.subject_id, row.old_value,
                          Canonical(RowJson(t, row.values)), row.reason});
  if (!e) return std::unexpected(e.error());
  std::string placeholders;
  std::vector<SqlValue> params = row.values;
  for (size_t i = 1; i <= params.size() + 1; ++i) {
    placeholders += (i == 1 ? "$" : ", $") + std::to_string(i);
  }
  params.push_back(e->seq);
  auto ins = tx.Query(std::string("INSERT INTO ") + t.table + " (" + ColumnList(t) +
                          ", audit_seq) VALUES (" + placeholders + ")",
                      params);
  if (!ins) return std::unexpected(ins.error());
  return e;
}

Result<std::vector<DeviationRecord>> TrialStore::RecordDeviations(
    Transaction& tx, const User& who, int64_t subject_id, const std::string& found_by,
    const std::vector<NewDeviation>& list) {
  std::vector<DeviationRecord> out;
  const std::string subject = std::to_string(subject_id);
  for (const auto& d : list) {
    auto known =
        tx.Query("SELECT 1 FROM deviations WHERE subject_id = $1 AND visit = $2 AND kind = $3",
                 {subject_id, d.visit, d.kind});
    if (!known) return std::unexpected(known.error());
    if (!known->empty()) continue;  // recorded by an earlier write
    auto id = NextId(tx, "deviations", "id");
    if (!id) return std::unexpected(id.error());
    DeviationRecord r{*id, subject_id, "", d, found_by, clock_()};
    auto e = InsertAudited(tx, who,
                           AuditedRow{&kDeviations,
                                      {r.id, subject_id, d.visit, d.kind, d.date.ToString(),
                                       int64_t{d.days_outside}, d.description, found_by, r.at},
                                      "deviation.record",
                                      std::to_string(r.id),
                                      subject,
                                      "",
                                      ""});
    if (!e) return std::unexpected(e.error());
    out.push_back(std::move(r));
  }
  return out;
}

// ---- visits and doses ----

Result<WithDeviations<VisitEntry>> TrialStore::RecordVisit(
    const std::string& actor, VisitEntry visit, bool unscheduled, Date today,
    const std::vector<NewDeviation>& deviations) {
  if (auto r = detail::RequireText(visit.visit, "the visit"); !r) return std::unexpected(r.error());
  if (visit.missed == visit.date.has_value()) {
    return Fail(ErrorCode::kInvalidArgument, "a visit is either done on a date or missed");
  }
  if (visit.missed) {
    if (auto r = RequireLongText(visit.reason, "the reason a visit was missed"); !r) {
      return std::unexpected(r.error());
    }
    if (unscheduled) {
      return Fail(ErrorCode::kInvalidArgument, "an unscheduled visit cannot be missed");
    }
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto subject = LoadRandomized(tx, visit.subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (auto r = RequireRoleAt(who, subject->subject.site_id, kVisitRoles, "record visits"); !r) {
    return std::unexpected(r.error());
  }
  const std::string id = std::to_string(visit.subject_id);
  if (visit.date) {
    auto r = RequireDateInRange(*visit.date, today, subject->day0, "visit " + visit.visit);
    if (!r) return std::unexpected(r.error());
  }
  if (unscheduled) {
    auto n = tx.Query("SELECT count(*) FROM visits WHERE subject_id = $1 AND visit LIKE $2",
                      {visit.subject_id, visit.visit + "-%"});
    if (!n) return std::unexpected(n.error());
    visit.visit += "-" + std::to_string((*n)[0].Int(0) + 1);
  }
  auto dup = tx.Query("SELECT done_on, missed FROM visits WHERE subject_id = $1 AND visit = $2",
                      {visit.subject_id, visit.visit});
  if (!dup) return std::unexpected(dup.error());
  if (!dup->empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "visit " + visit.visit + " of subject " + id + " was already recorded (" +
                    ((*dup)[0].Int(1) ? std::string("missed") : "done on " + (*dup)[0].Text(0)) +
                    ")");
  }
  visit.user = who.username;
  visit.at = clock_();
  const std::string done_on = visit.date ? visit.date->ToString() : "";
  auto e =
      InsertAudited(tx, who,
                    AuditedRow{&kVisits,
                               {visit.subject_id, visit.visit, done_on,
                                int64_t{visit.missed ? 1 : 0}, visit.reason, visit.user, visit.at},
                               "visit.record",
                               id + "/" + visit.visit,
                               id,
                               "",
                               visit.reason});
  if (!e) return std::unexpected(e.error());
  auto recorded =
      RecordDeviations(tx, who, visit.subject_id, "visit " + id + "/" + visit.visit, deviations);
  if (!recorded) return std::unexpected(recorded.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return WithDeviations<VisitEntry>{std::move(visit), std::move(*recorded)};
}

Result<WithDeviations<DoseEntry>> TrialStore::RecordDose(
    const std::string& actor, DoseEntry dose, Date today,
    const std::vector<NewDeviation>& deviations) {
  if (auto r = detail::RequireText(dose.visit, "the visit"); !r) return std::unexpected(r.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto subject = LoadRandomized(tx, dose.subject_id);
  if (!subject) return std::unexpected(subject.error());
  const Subject& s = subject->subject;
  if (auto r = RequireRoleAt(who, s.site_id, kDoseRoles, "record doses"); !r) {
    return std::unexpected(r.error());
  }
  const std::string id = std::to_string(dose.subject_id);
  if (auto r = RequireDateInRange(dose.date, today, subject->day0, "the dose"); !r) {
    return std::unexpected(r.error());
  }
  auto visit = tx.Query("SELECT done_on FROM visits WHERE subject_id = $1 AND visit = $2",
                        {dose.subject_id, dose.visit});
  if (!visit) return std::unexpected(visit.error());
  if (visit->empty() || (*visit)[0].Text(0).empty()) {
    return Fail(ErrorCode::kInvalidInput, "visit " + dose.visit + " of subject " + id +
                                              " is not recorded as done: record the visit first");
  }
  if ((*visit)[0].Text(0) != dose.date.ToString()) {
    return Fail(ErrorCode::kInvalidInput, "the dose date " + dose.date.ToString() +
                                              " is not the date of visit " + dose.visit + " (" +
                                              (*visit)[0].Text(0) + ")");
  }
  auto dup = tx.Query("SELECT given FROM doses WHERE subject_id = $1 AND visit = $2",
                      {dose.subject_id, dose.visit});
  if (!dup) return std::unexpected(dup.error());
  if (!dup->empty()) {
    return Fail(ErrorCode::kInvalidInput, "the dose of subject " + id + " at visit " + dose.visit +
                                              " was already recorded (" +
                                              ((*dup)[0].Int(0) ? "given" : "withheld") + ")");
  }
  if (auto r = CheckDoseDecision(dose); !r) return std::unexpected(r.error());
  if (dose.given) {
    auto dispensed =
        tx.Query("SELECT kit_number FROM dispensings WHERE subject_id = $1 AND visit = $2",
                 {dose.subject_id, dose.visit});
    if (!dispensed) return std::unexpected(dispensed.error());
    if (!dispensed->empty()) {
      const std::string kit = (*dispensed)[0].Text(0);
      if (!dose.kit_number.empty() && dose.kit_number != kit) {
        return Fail(ErrorCode::kInvalidInput, "subject " + id + " received kit " + kit +
                                                  " for visit " + dose.visit + ", not " +
                                                  dose.kit_number);
      }
      dose.kit_number = kit;
    } else {
      // The same dispensing as DispenseKit, in this transaction (its own kit.dispense event).
      auto d = DispenseInTx(tx, who, s, subject->arm, dose.visit, dose.date,
                            "dose:" + id + "/" + dose.visit, dose.kit_number);
      if (!d) return std::unexpected(d.error());
      dose.kit_number = d->kit_number;
    }
  } else {
    dose.level.clear();
    dose.dose_ug = 0;
    dose.weight.clear();
    dose.kit_number.clear();
  }
  dose.user = who.username;
  dose.at = clock_();
  auto e =
      InsertAudited(tx, who,
                    AuditedRow{&kDoses,
                               {dose.subject_id, dose.visit, dose.date.ToString(),
                                int64_t{dose.given ? 1 : 0}, dose.level, dose.dose_ug, dose.weight,
                                dose.kit_number, dose.decision, Canonical(json(dose.causes)),
                                dose.explanation, dose.override_reason, dose.user, dose.at},
                               dose.given ? "dose.give" : "dose.withhold",
                               id + "/" + dose.visit,
                               id,
                               "",
                               dose.override_reason});
  if (!e) return std::unexpected(e.error());
  auto recorded =
      RecordDeviations(tx, who, dose.subject_id, "dose " + id + "/" + dose.visit, deviations);
  if (!recorded) return std::unexpected(recorded.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return WithDeviations<DoseEntry>{std::move(dose), std::move(*recorded)};
}

Result<std::vector<VisitEntry>> TrialStore::Visits(int64_t subject_id) {
  return ReadAll<VisitEntry>(*connection_,
                             std::string("SELECT ") + kVisitColumns +
                                 " FROM visits WHERE subject_id = $1 ORDER BY "
                                 "audit_seq",
                             {subject_id}, VisitFromRow);
}

Result<std::vector<DoseEntry>> TrialStore::Doses(int64_t subject_id) {
  return ReadAll<DoseEntry>(*connection_,
                            std::string("SELECT ") + kDoseColumns +
                                " FROM doses WHERE subject_id = $1 ORDER BY audit_seq",
                            {subject_id}, DoseFromRow);
}

Result<std::vector<DeviationRecord>> TrialStore::Deviations(
    const std::optional<int64_t>& subject_id, const std::optional<std::string>& site) {
  std::string sql = std::string("SELECT ") + kDeviationColumns +
                    " FROM deviations d JOIN subjects s ON s.id = d.subject_id WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (subject_id) {
    params.push_back(*subject_id);
    sql += " AND d.subject_id = $" + std::to_string(params.size());
  }
  if (site) {
    params.push_back(*site);
    sql += " AND s.site_id = $" + std::to_string(params.size());
  }
  return ReadAll<DeviationRecord>(*connection_, sql + " ORDER BY d.id", params, DeviationFromRow);
}

Result<std::optional<Date>> TrialStore::DayZero(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query("SELECT at FROM allocations WHERE subject_id = $1", {subject_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Date>();
  auto d = Date::Parse(DayOf((*rows)[0].Text(0)));
  if (!d) return Fail(ErrorCode::kInternal, "unreadable allocation date");
  return std::optional<Date>(*d);
}

Result<std::string> TrialStore::KitForDose(int64_t subject_id, const std::string& visit,
                                           Date date) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto dispensed =
      (*tx)->Query("SELECT kit_number FROM dispensings WHERE subject_id = $1 AND visit = $2",
                   {subject_id, visit});
  if (!dispensed) return std::unexpected(dispensed.error());
  if (!dispensed->empty()) return (*dispensed)[0].Text(0);
  auto subject = LoadRandomized(**tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  auto picked = detail::PickKit(**tx, subject->subject.site_id, subject->arm, date);
  if (!picked) return std::unexpected(picked.error());
  return picked->value_or("");
}

Result<std::vector<ItemVersion>> TrialStore::FormItems(int64_t subject_id,
                                                       const std::string& form) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT d.visit, d.rep, d.item, d.version, d.value, d.reason, d.username, d.at FROM "
      "item_data d WHERE d.subject_id = $1 AND d.form = $2 AND d.version = (SELECT max(version) "
      "FROM item_data m WHERE m.subject_id = d.subject_id AND m.visit = d.visit AND m.form = "
      "d.form AND m.rep = d.rep AND m.item = d.item) ORDER BY d.visit, d.rep, d.item",
      {subject_id, form});
  if (!rows) return std::unexpected(rows.error());
  std::vector<ItemVersion> out;
  for (const auto& r : *rows) {
    ItemVersion v;
    v.key = ItemKey{subject_id, r.Text(0), form, static_cast<int>(r.Int(1)), r.Text(2)};
    v.version = static_cast<int>(r.Int(3));
    v.value = r.Text(4);
    v.reason = r.Text(5);
    v.user = r.Text(6);
    v.at = r.Text(7);
    out.push_back(std::move(v));
  }
  return out;
}

// ---- queries ----

Result<QueryRecord> TrialStore::OpenQuery(const std::string& actor, const ItemKey& key,
                                          const std::string& text, const std::string& edit_check) {
  if (auto r = RequireLongText(text, "the query text"); !r) return std::unexpected(r.error());
  if (!edit_check.empty()) {
    if (auto r = detail::RequireText(edit_check, "the edit check id"); !r) {
      return std::unexpected(r.error());
    }
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto subject = LoadExistingSubject(tx, key.subject_id);
  if (!subject) return std::unexpected(subject.error());
  auto allowed = edit_check.empty()
                     ? RequireRoleAt(who, subject->site_id, kReviewerRoles, "open queries")
                     : detail::RequireSiteAccess(who, subject->site_id);
  if (!allowed) return std::unexpected(allowed.error());
  auto version = ItemVersionOf(tx, key);
  if (!version) return std::unexpected(version.error());
  if (*version == 0) {
    return Fail(ErrorCode::kNotFound, "item " + ItemText(key) + " has no value to query");
  }
  auto id = NextId(tx, "queries", "id");
  if (!id) return std::unexpected(id.error());
  QueryRecord q{*id, 1, key, subject->site_id, "open", text, edit_check, who.username, clock_()};
  auto e = InsertAudited(
      tx, who,
      AuditedRow{&kQueries,
                 {q.id, int64_t{1}, key.subject_id, key.visit, key.form, int64_t{key.repeat},
                  key.item, q.status, q.text, edit_check, q.user, q.at},
                 "query.open",
                 std::to_string(q.id) + "#1",
                 std::to_string(key.subject_id),
                 "",
                 ""});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return q;
}

// One step of a query's lifecycle: `to` is answered, closed or open (re-open).
Result<QueryRecord> TrialStore::QueryStep(const std::string& actor, int64_t id,
                                          const std::string& to, const std::string& text) {
  const bool text_needed = to != "closed";
  if (text_needed) {
    if (auto r = RequireLongText(text, "the text"); !r) return std::unexpected(r.error());
  } else if (text.size() > 4000) {
    return Fail(ErrorCode::kInvalidArgument, "the text is longer than 4000 characters");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto loaded = LoadQuery(tx, id);
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return Fail(ErrorCode::kNotFound, "unknown query " + std::to_string(id));
  QueryRecord q = **loaded;
  const std::string from = q.status;
  const char* step = to == "answered" ? "answer queries"
                     : to == "closed" ? "close queries"
                                      : "re-open queries";
  auto allowed = to == "answered" ? RequireRoleAt(who, q.site, kVisitRoles, step)
                                  : RequireRoleAt(who, q.site, kReviewerRoles, step);
  if (!allowed) return std::unexpected(allowed.error());
  const bool ok = (to == "answered" && from == "open") ||
                  (to == "closed" && (from == "open" || from == "answered")) ||
                  (to == "open" && (from == "answered" || from == "closed"));
  if (!ok) {
    return Fail(ErrorCode::kInvalidInput,
                "query " + std::to_string(id) + " is " + from + ": it cannot become " + to);
  }
  q.version += 1;
  q.status = to;
  q.text = text;
  q.user = who.username;
  q.at = clock_();
  const std::string action = to == "answered" ? "query.answer"
                             : to == "closed" ? "query.close"
                                              : "query.reopen";
  auto e = InsertAudited(
      tx, who,
      AuditedRow{&kQueries,
                 {q.id, int64_t{q.version}, q.key.subject_id, q.key.visit, q.key.form,
                  int64_t{q.key.repeat}, q.key.item, q.status, q.text, q.edit_check, q.user, q.at},
                 action,
                 std::to_string(q.id) + "#" + std::to_string(q.version),
                 std::to_string(q.key.subject_id),
                 Canonical(json{{"status", from}}),
                 ""});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return q;
}

Result<QueryRecord> TrialStore::AnswerQuery(const std::string& actor, int64_t id,
                                            const std::string& text) {
  return QueryStep(actor, id, "answered", text);
}
Result<QueryRecord> TrialStore::CloseQuery(const std::string& actor, int64_t id,
                                           const std::string& text) {
  return QueryStep(actor, id, "closed", text);
}
Result<QueryRecord> TrialStore::ReopenQuery(const std::string& actor, int64_t id,
                                            const std::string& text) {
  return QueryStep(actor, id, "open", text);
}

Result<std::vector<QueryRecord>> TrialStore::Queries(const QueryFilter& filter) {
  std::string sql = std::string("SELECT ") + kQueryColumns +
                    " FROM queries q JOIN subjects s ON s.id = q.subject_id WHERE q.version = "
                    "(SELECT max(version) FROM queries m WHERE m.id = q.id)";
  std::vector<SqlValue> params;
  auto add = [&](const char* condition, SqlValue v) {
    params.push_back(std::move(v));
    sql += std::string(" AND ") + condition + " $" + std::to_string(params.size());
  };
  if (filter.subject_id) add("q.subject_id =", *filter.subject_id);
  if (filter.site) add("s.site_id =", *filter.site);
  if (filter.status) add("q.status =", *filter.status);
  return ReadAll<QueryRecord>(*connection_, sql + " ORDER BY q.id", params, QueryFromRow);
}

Result<std::vector<QueryRecord>> TrialStore::QueryHistory(int64_t id) {
  return ReadAll<QueryRecord>(*connection_,
                              std::string("SELECT ") + kQueryColumns +
                                  " FROM queries q JOIN subjects s ON s.id = q.subject_id WHERE "
                                  "q.id = $1 ORDER BY q.version",
                              {id}, QueryFromRow);
}

// ---- review states ----

Result<ReviewState> TrialStore::ReviewItem(const std::string& actor, const ItemKey& key,
                                           const std::string& step, const std::string& reason) {
  std::string from, to;
  std::vector<Role> roles = {Role::kDataManager};
  if (step == "verify") {
    from = "entered", to = "verified", roles = kReviewerRoles;
  } else if (step == "lock") {
    from = "verified", to = "locked";
  } else if (step == "unlock") {
    from = "locked", to = "verified";
    if (auto r = RequireLongText(reason, "the reason for unlocking"); !r) {
      return std::unexpected(r.error());
    }
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "unknown review step '" + step + "' (verify, lock or unlock)");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto subject = LoadExistingSubject(tx, key.subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (auto r = RequireRoleAt(who, subject->site_id, roles, step + " items"); !r) {
    return std::unexpected(r.error());
  }
  auto loaded = LoadReview(tx, key);
  if (!loaded) return std::unexpected(loaded.error());
  ReviewState state = loaded->state;
  if (state.item_version == 0) {
    return Fail(ErrorCode::kNotFound, "item " + ItemText(key) + " has no value to review");
  }
  if (state.state != from) {
    return Fail(ErrorCode::kInvalidInput, "item " + ItemText(key) + " is " + state.state + ": '" +
                                              step + "' needs it " + from);
  }
  state.state = to;
  state.user = who.username;
  state.at = clock_();
  const int version = loaded->last_version + 1;
  auto e = InsertAudited(
      tx, who,
      AuditedRow{&kReviews,
                 {key.subject_id, key.visit, key.form, int64_t{key.repeat}, key.item,
                  int64_t{version}, int64_t{state.item_version}, to, reason, state.user, state.at},
                 "review." + step,
                 ItemText(key) + "@" + std::to_string(version),
                 std::to_string(key.subject_id),
                 Canonical(json{{"state", from}}),
                 reason});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return state;
}

Result<ReviewState> TrialStore::ReviewOf(const ItemKey& key) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto loaded = LoadReview(**tx, key);
  if (!loaded) return std::unexpected(loaded.error());
  return loaded->state;
}

// ---- signatures ----

Result<Signature> TrialStore::Sign(const std::string& actor, int64_t subject_id,
                                   const std::string& visit, const std::string& meaning) {
  if (auto r = RequireLongText(meaning, "the meaning of the signature"); !r) {
    return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto subject = LoadExistingSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (auto r = RequireRoleAt(who, subject->site_id, {Role::kInvestigator}, "sign"); !r) {
    return std::unexpected(r.error());
  }
  if (!visit.empty()) {
    auto done = tx.Query("SELECT done_on FROM visits WHERE subject_id = $1 AND visit = $2",
                         {subject_id, visit});
    if (!done) return std::unexpected(done.error());
    if (done->empty()) {
      return Fail(ErrorCode::kInvalidInput, "visit " + visit + " of subject " +
                                                std::to_string(subject_id) +
                                                " is not recorded: nothing to sign");
    }
  }
  auto id = NextId(tx, "signatures", "id");
  if (!id) return std::unexpected(id.error());
  Signature sig{*id, subject_id, visit, meaning, who.username, who.display_name, clock_(), "", ""};
  auto e = InsertAudited(
      tx, who,
      AuditedRow{&kSignatures,
                 {sig.id, subject_id, visit, meaning, sig.user, sig.printed_name, sig.signed_at},
                 "signature.sign",
                 std::to_string(sig.id),
                 std::to_string(subject_id),
                 "",
                 ""});
  if (!e) return std::unexpected(e.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return sig;
}

Result<std::vector<Signature>> TrialStore::Signatures(int64_t subject_id) {
  return ReadAll<Signature>(
      *connection_,
      "SELECT s.id, s.subject_id, s.visit, s.meaning, s.username, s.printed_name, s.signed_at, "
      "v.at, v.reason FROM signatures s LEFT JOIN signature_voids v ON v.signature_id = s.id "
      "WHERE s.subject_id = $1 ORDER BY s.id",
      {subject_id}, [](const Row& r) {
        return Signature{r.Int(0),  r.Int(1),  r.Text(2), r.Text(3), r.Text(4),
                         r.Text(5), r.Text(6), r.Text(7), r.Text(8)};
      });
}

Result<std::vector<std::string>> TrialStore::VoidSignatures(Transaction& tx, const User& who,
                                                            const ItemKey& key, int version) {
  auto rows = tx.Query(
      "SELECT s.id, s.visit, s.printed_name FROM signatures s WHERE s.subject_id = $1 AND "
      "(s.visit = $2 OR s.visit = '') AND NOT EXISTS (SELECT 1 FROM signature_voids v WHERE "
      "v.signature_id = s.id) ORDER BY s.id",
      {key.subject_id, key.visit});
  if (!rows) return std::unexpected(rows.error());
  std::vector<std::string> out;
  for (const auto& r : *rows) {
    const std::string reason =
        "item " + ItemText(key) + " changed (version " + std::to_string(version) + ")";
    auto e = InsertAudited(tx, who,
                           AuditedRow{&kSignatureVoids,
                                      {r.Int(0), reason, who.username, clock_()},
                                      "signature.void",
                                      r.Text(0),
                                      std::to_string(key.subject_id),
                                      "",
                                      reason});
    if (!e) return std::unexpected(e.error());
    out.push_back("signature of " +
                  (r.Text(1).empty() ? std::string("the casebook") : "visit " + r.Text(1)) +
                  " by " + r.Text(2) + " voided");
  }
  return out;
}

// ---- for RecordItem and VerifyAudit (store_internal.h) ----

namespace detail {

Result<void> RequireRoleAtSite(const User& who, const std::string& site,
                               const std::vector<Role>& roles, const std::string& doing) {
  return RequireRoleAt(who, site, roles, doing);
}

Result<std::string> LockedItemProblem(Transaction& tx, const ItemKey& key) {
  auto loaded = LoadReview(tx, key);
  if (!loaded) return std::unexpected(loaded.error());
  if (loaded->state.state != "locked") return std::string();
  return "item " + ItemText(key) + " is locked (by " + loaded->state.user + " at " +
         loaded->state.at + "): a data manager must unlock it before it can change";
}

std::string ColumnList(const TableDef& t) {
  std::string out;
  for (const auto& c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

// The audited form of a row: {column: value}, integers as numbers.
json RowJson(const TableDef& t, const std::vector<SqlValue>& values) {
  json j = json::object();
  for (size_t i = 0; i < t.columns.size() && i < values.size(); ++i) {
    const SqlValue& v = values[i];
    if (const auto* n = std::get_if<int64_t>(&v)) {
      j[t.columns[i].name] = *n;
    } else if (const auto* s = std::get_if<std::string>(&v)) {
      j[t.columns[i].name] = *s;
    } else {
      j[t.columns[i].name] = nullptr;
    }
  }
  return j;
}

// A row read back with the columns of `t` (then audit_seq), typed as `t` says.
std::vector<SqlValue> TypedValues(const TableDef& t, const Row& r) {
  std::vector<SqlValue> out;
  for (size_t i = 0; i < t.columns.size(); ++i) {
    out.push_back(t.columns[i].integer ? SqlValue{r.Int(i)} : SqlValue{r.Text(i)});
  }
  return out;
}

Result<std::optional<RowProblem>> VerifyTables(Transaction& tx,
                                               const std::vector<const TableDef*>& tables,
                                               const std::map<int64_t, std::string>& new_values,
                                               const std::map<int64_t, std::string>& entities) {
  using Problem = std::optional<RowProblem>;
  std::set<int64_t> seen;
  for (const TableDef* t : tables) {
    auto rows = tx.Query(std::string("SELECT ") + ColumnList(*t) + ", audit_seq FROM " + t->table +
                         " ORDER BY audit_seq");
    if (!rows) return std::unexpected(rows.error());
    for (const auto& r : *rows) {
      const int64_t seq = r.Int(t->columns.size());
      const std::string what = std::string("a row of ") + t->table + " (" + t->columns[0].name +
                               " " + r.Text(0) + ", " + t->columns[1].name + " " + r.Text(1) + ")";
      auto it = new_values.find(seq);
      auto entity = entities.find(seq);
      if (it == new_values.end() || entity == entities.end() || entity->second != t->entity ||
          !seen.insert(seq).second) {
        return Problem(RowProblem{seq, what + " refers to audit event " + std::to_string(seq) +
                                           ", which did not write it"});
      }
      if (Canonical(RowJson(*t, TypedValues(*t, r))) != it->second) {
        return Problem(RowProblem{seq, what +
                                           " was changed behind the system's back: it differs "
                                           "from audit event " +
                                           std::to_string(seq)});
      }
    }
  }
  for (const auto& [seq, entity] : entities) {
    for (const TableDef* t : tables) {
      if (entity == t->entity && !seen.count(seq)) {
        return Problem(RowProblem{seq, std::string("the ") + t->entity +
                                           " written by audit event " + std::to_string(seq) +
                                           " is missing from the database (deleted behind the "
                                           "system's back)"});
      }
    }
  }
  return Problem();
}

Result<std::optional<RowProblem>> VerifyVisitRows(Transaction& tx,
                                                  const std::map<int64_t, std::string>& new_values,
                                                  const std::map<int64_t, std::string>& entities) {
  return VerifyTables(
      tx, std::vector<const TableDef*>(std::begin(kVisitTables), std::end(kVisitTables)),
      new_values, entities);
}

}  // namespace detail
}  // namespace trial::store
