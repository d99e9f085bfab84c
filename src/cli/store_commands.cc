// The verbs that use the trial store: init, site, user, subject, item, audit, backup.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli.h"
#include "cli/common.h"
#include "service/audit.h"
#include "store/store.h"

namespace trial::cli {

namespace {

using nlohmann::ordered_json;

std::string DatabaseTarget(const Args& a) {
  if (a.Has("db")) return a.Get("db");
  if (const char* env = std::getenv("TRIAL_DB"); env && *env) return env;
  return "trial.db";
}

std::string Dump(const ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

ordered_json SubjectJson(const store::Subject& s) {
  return {{"id", s.id},
          {"site", s.site_id},
          {"screening_number", s.screening_number},
          {"status", store::StatusName(s.status)},
          {"created_at", s.created_at}};
}

ordered_json EventJson(const store::AuditEvent& e) {
  return {{"seq", e.seq},
          {"at", e.at},
          {"user", e.user},
          {"role", e.role},
          {"action", e.action},
          {"entity", e.entity},
          {"entity_id", e.entity_id},
          {"subject_id", e.subject_id},
          {"old_value", e.old_value},
          {"new_value", e.new_value},
          {"reason", e.reason},
          {"prev_hash", e.prev_hash},
          {"hash", e.hash}};
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<store::TrialStore>> OpenStore(const Args& a, const Environment& env,
                                                     bool create) {
  if (!env.open_database) {
    return Fail(ErrorCode::kInternal, "this build of trial has no database support");
  }
  auto conn = env.open_database(DatabaseTarget(a), create);
  if (!conn) return std::unexpected(conn.error());
  auto s = std::make_unique<store::TrialStore>(
      std::move(*conn), env.clock ? store::Clock(env.clock) : store::Clock(store::SystemClock));
  if (!create) {
    if (auto r = s->Check(); !r) {
      Error e = r.error();
      e.code = ErrorCode::kIo;  // a database that cannot be used, whatever the reason
      return std::unexpected(e);
    }
  }
  return s;
}

// Returns -1 when `args[0]` is not a store verb.
int RunStoreCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Environment& env) {
  const std::string& verb = args[0];
  const std::string sub = args.size() > 1 ? args[1] : "";
  auto fail = [&](const std::string& what, const Error& e) {
    err << "trial " << what << ": " << e.message << "\n";
    return ExitForStoreError(e);
  };

  if (verb == "init") {
    Args a;
    if (!ParseArgs(args, 1, {"db", "admin", "name"}, &a, err)) return kExitUsage;
    if (!a.positional.empty()) {
      err << "trial init: unexpected argument '" << a.positional[0] << "'\n";
      return kExitUsage;
    }
    auto s = OpenStore(a, env, true);
    if (!s) return fail("init", s.error());
    if (auto r = (*s)->Init(); !r) return fail("init", r.error());
    out << "initialised " << (*s)->connection().Describe() << " (schema "
        << store::TrialStore::kSchemaVersion << ")\n";
    if (a.Has("admin")) {
      auto u = (*s)->CreateFirstAdministrator(a.Get("admin"), a.Get("name"));
      if (!u) return fail("init", u.error());
      out << "administrator '" << u->username << "' created\n";
    }
    return kExitOk;
  }

  if (verb == "site" && sub == "add") {
    Args a;
    if (!ParseArgs(args, 2, {"db", "user", "name"}, &a, err)) return kExitUsage;
    if (a.positional.size() != 1) {
      err << "trial site add: give exactly one site id\n";
      return kExitUsage;
    }
    if (!RequireOptions(a, {"user", "name"}, "site add", err)) return kExitUsage;
    auto s = OpenStore(a, env, false);
    if (!s) return fail("site add", s.error());
    auto site = (*s)->AddSite(a.Get("user"), store::Site{a.positional[0], a.Get("name")});
    if (!site) return fail("site add", site.error());
    out << "site " << site->id << " added\n";
    return kExitOk;
  }

  if (verb == "site" && sub == "list") {
    Args a;
    if (!ParseArgs(args, 2, {"db"}, &a, err)) return kExitUsage;
    auto s = OpenStore(a, env, false);
    if (!s) return fail("site list", s.error());
    auto sites = (*s)->Sites();
    if (!sites) return fail("site list", sites.error());
    for (const auto& site : *sites) out << site.id << "\t" << site.name << "\n";
    return kExitOk;
  }

  if (verb == "user" && sub == "add") {
    Args a;
    if (!ParseArgs(args, 2, {"db", "user", "role", "sites", "name"}, &a, err)) return kExitUsage;
    if (a.positional.size() != 1) {
      err << "trial user add: give exactly one username\n";
      return kExitUsage;
    }
    if (!RequireOptions(a, {"user", "role"}, "user add", err)) return kExitUsage;
    auto role = store::ParseRole(a.Get("role"));
    if (!role) {
      err << "trial user add: unknown role '" << a.Get("role")
          << "' (administrator, investigator, coordinator, unblinded_pharmacist, monitor, "
             "data_manager, blinded_statistician, unblinded_statistician, dsmb_member, "
             "sponsor_viewer)\n";
      return kExitUsage;
    }
    auto s = OpenStore(a, env, false);
    if (!s) return fail("user add", s.error());
    store::User u{a.positional[0], a.Get("name"), *role, SplitComma(a.Get("sites"))};
    auto added = (*s)->AddUser(a.Get("user"), u);
    if (!added) return fail("user add", added.error());
    out << "user " << added->username << " (" << store::RoleName(added->role) << ") added\n";
    return kExitOk;
  }

  if (verb == "subject" && sub == "add") {
    Args a;
    if (!ParseArgs(args, 2, {"db", "user", "site", "number", "format"}, &a, err)) {
      return kExitUsage;
    }
    if (!RequireOptions(a, {"user", "site", "number"}, "subject add", err)) return kExitUsage;
    auto s = OpenStore(a, env, false);
    if (!s) return fail("subject add", s.error());
    auto subject = (*s)->AddSubject(a.Get("user"), a.Get("site"), a.Get("number"));
    if (!subject) return fail("subject add", subject.error());
    if (a.Get("format") == "json") {
      out << Dump(SubjectJson(*subject));
    } else {
      out << "subject " << subject->id << " (site " << subject->site_id << ", screening number "
          << subject->screening_number << ") added\n";
    }
    return kExitOk;
  }

  if (verb == "subject" && sub == "list") {
    Args a;
    if (!ParseArgs(args, 2, {"db", "site", "format"}, &a, err)) return kExitUsage;
    auto s = OpenStore(a, env, false);
    if (!s) return fail("subject list", s.error());
    std::optional<std::string> site;
    if (a.Has("site")) site = a.Get("site");
    auto subjects = (*s)->Subjects(site);
    if (!subjects) return fail("subject list", subjects.error());
    if (a.Get("format") == "json") {
      ordered_json j = ordered_json::array();
      for (const auto& subj : *subjects) j.push_back(SubjectJson(subj));
      out << Dump(j);
      return kExitOk;
    }
    out << "ID\tSITE\tNUMBER\tSTATUS\n";
    for (const auto& subj : *subjects) {
      out << subj.id << "\t" << subj.site_id << "\t" << subj.screening_number << "\t"
          << store::StatusName(subj.status) << "\n";
    }
    return kExitOk;
  }

  if (verb == "subject" && (sub == "show" || sub == "status")) {
    Args a;
    if (!ParseArgs(args, 2, {"db", "format", "user", "to", "reason"}, &a, err)) {
      return kExitUsage;
    }
    if (a.positional.size() != 1 || !ParsePositive(a.positional[0])) {
      err << "trial subject " << sub << ": give one subject id (a positive number)\n";
      return kExitUsage;
    }
    int64_t id = *ParsePositive(a.positional[0]);
    auto s = OpenStore(a, env, false);
    if (!s) return fail("subject " + sub, s.error());
    if (sub == "status") {
      if (!RequireOptions(a, {"user", "to"}, "subject status", err)) return kExitUsage;
      auto to = store::ParseStatus(a.Get("to"));
      if (!to) {
        err << "trial subject status: unknown status '" << a.Get("to") << "'\n";
        return kExitUsage;
      }
      auto changed = (*s)->ChangeStatus(a.Get("user"), id, *to, a.Get("reason"));
      if (!changed) return fail("subject status", changed.error());
      out << "subject " << id << " is now " << store::StatusName(changed->status) << "\n";
      return kExitOk;
    }
    auto subject = (*s)->FindSubject(id);
    if (!subject) return fail("subject show", subject.error());
    if (!*subject) {
      return fail("subject show",
                  Error{ErrorCode::kNotFound, "unknown subject " + std::to_string(id)});
    }
    auto screenings = (*s)->Screenings(id);
    if (!screenings) return fail("subject show", screenings.error());
    store::AuditFilter f;
    f.subject_id = id;
    auto events = (*s)->AuditEvents(f);
    if (!events) return fail("subject show", events.error());
    ordered_json j = SubjectJson(**subject);
    ordered_json list = ordered_json::array();
    for (const auto& sc : *screenings) {
      list.push_back({{"id", sc.id},
                      {"screening_date", sc.screening_date.ToString()},
                      {"randomization_date", sc.randomization_date.ToString()},
                      {"verdict", sc.verdict},
                      {"protocol", sc.protocol_id + " " + sc.protocol_version},
                      {"bundle_sha256", sc.bundle_sha256},
                      {"saved_by", sc.user},
                      {"saved_at", sc.created_at}});
    }
    j["screenings"] = list;
    ordered_json history = ordered_json::array();
    for (const auto& e : *events) {
      history.push_back({{"seq", e.seq},
                         {"at", e.at},
                         {"user", e.user},
                         {"action", e.action},
                         {"reason", e.reason}});
    }
    j["history"] = history;
    if (a.Get("format") == "json") {
      out << Dump(j);
      return kExitOk;
    }
    const auto& subj = **subject;
    out << "subject " << subj.id << ": site " << subj.site_id << ", screening number "
        << subj.screening_number << ", " << store::StatusName(subj.status) << " (created "
        << subj.created_at << ")\n";
    out << "screenings:\n";
    if (screenings->empty()) out << "  none\n";
    for (const auto& sc : *screenings) {
      out << "  #" << sc.id << " " << sc.screening_date.ToString() << " -> " << sc.verdict << " ("
          << sc.protocol_id << " " << sc.protocol_version << ", by " << sc.user << " at "
          << sc.created_at << ")\n";
    }
    out << "history:\n";
    for (const auto& e : *events) {
      out << "  " << e.seq << " " << e.at << " " << e.user << " " << e.action
          << (e.reason.empty() ? "" : " (" + e.reason + ")") << "\n";
    }
    return kExitOk;
  }

  if (verb == "item" && (sub == "record" || sub == "history")) {
    Args a;
    if (!ParseArgs(args, 2,
                   {"db", "user", "subject", "visit", "form", "repeat", "item", "value", "reason",
                    "format"},
                   &a, err)) {
      return kExitUsage;
    }
    if (!RequireOptions(a, {"subject", "visit", "form", "item"}, "item " + sub, err)) {
      return kExitUsage;
    }
    auto id = ParsePositive(a.Get("subject"));
    if (!id) {
      err << "trial item " << sub << ": --subject must be a positive number\n";
      return kExitUsage;
    }
    int repeat = 0;
    if (a.Has("repeat")) {
      auto r = ParsePositive(a.Get("repeat"));
      if (a.Get("repeat") != "0" && !r) {
        err << "trial item " << sub << ": --repeat must be a whole number\n";
        return kExitUsage;
      }
      repeat = r ? static_cast<int>(std::min<int64_t>(*r, 100000)) : 0;
    }
    store::ItemKey key{*id, a.Get("visit"), a.Get("form"), repeat, a.Get("item")};
    auto s = OpenStore(a, env, false);
    if (!s) return fail("item " + sub, s.error());
    if (sub == "record") {
      if (!RequireOptions(a, {"user", "value"}, "item record", err)) return kExitUsage;
      auto v = (*s)->RecordItem(a.Get("user"), key, a.Get("value"), a.Get("reason"));
      if (!v) return fail("item record", v.error());
      out << "recorded version " << v->version << "\n";
      for (const auto& voided : v->voided_signatures) out << voided << "\n";
      return kExitOk;
    }
    auto history = (*s)->ItemHistory(key);
    if (!history) return fail("item history", history.error());
    for (const auto& v : *history) {
      out << v.version << "\t" << v.at << "\t" << v.user << "\t" << v.value
          << (v.reason.empty() ? "" : "\t(" + v.reason + ")") << "\n";
    }
    return kExitOk;
  }

  if (verb == "audit" && sub == "verify") {
    Args a;
    if (!ParseArgs(args, 2, {"db"}, &a, err)) return kExitUsage;
    auto s = OpenStore(a, env, false);
    if (!s) return fail("audit verify", s.error());
    auto report = (*s)->VerifyAudit();
    if (!report) return fail("audit verify", report.error());
    if (!report->ok) {
      err << "trial audit verify: BROKEN at event " << report->first_bad_seq << ": "
          << report->problem
          << (report->first_bad_seq <= report->events_checked
                  ? " (the chain of " + std::to_string(report->events_checked) +
                        " events is intact; the stored data is not)"
                  : " (the " + std::to_string(report->events_checked) +
                        " events before it are intact)")
          << "\n";
      return kExitAuditBroken;
    }
    out << "audit trail intact: " << report->events_checked << " events checked\n";
    return kExitOk;
  }

  if (verb == "audit" && sub == "show") {
    Args a;
    if (!ParseArgs(args, 2,
                   {"db", "subject", "user", "by", "from", "to", "format", "limit", "after"}, &a,
                   err)) {
      return kExitUsage;
    }
    if (!RequireOptions(a, {"user"}, "audit show", err)) return kExitUsage;
    store::AuditFilter f;
    if (a.Has("subject")) {
      auto id = ParsePositive(a.Get("subject"));
      if (!id) {
        err << "trial audit show: --subject must be a positive number\n";
        return kExitUsage;
      }
      f.subject_id = *id;
    }
    if (a.Has("by")) f.user = a.Get("by");
    if (a.Has("from")) f.from = a.Get("from");
    if (a.Has("to")) f.to = a.Get("to");
    if (a.Has("limit")) {
      auto n = ParsePositive(a.Get("limit"));
      if (!n) {
        err << "trial audit show: --limit must be a positive number\n";
        return kExitUsage;
      }
      f.limit = static_cast<int>(std::min<int64_t>(*n, 100000));
    }
    if (a.Has("after")) {
      auto n = ParsePositive(a.Get("after"));
      if (!n) {
        err << "trial audit show: --after must be a positive number\n";
        return kExitUsage;
      }
      f.after_seq = *n;
    }
    auto s = OpenStore(a, env, false);
    if (!s) return fail("audit show", s.error());
    auto events = service::AuditTrail(**s, a.Get("user"), f);  // blinded by role
    if (!events) return fail("audit show", events.error());
    if (a.Get("format") == "json") {
      ordered_json j = ordered_json::array();
      for (const auto& e : *events) j.push_back(EventJson(e));
      out << Dump(j);
      return kExitOk;
    }
    for (const auto& e : *events) {
      out << e.seq << "  " << e.at << "  " << e.user << " (" << e.role << ")  " << e.action << " "
          << e.entity_id;
      if (!e.reason.empty()) out << "  reason: " << e.reason;
      out << "\n";
      if (!e.old_value.empty()) out << "      old: " << e.old_value << "\n";
      out << "      new: " << e.new_value << "\n";
    }
    return kExitOk;
  }

  if (verb == "backup") {
    Args a;
    if (!ParseArgs(args, 1, {"db"}, &a, err)) return kExitUsage;
    if (a.positional.size() != 1) {
      err << "trial backup: give the output file: trial backup OUT\n";
      return kExitUsage;
    }
    std::string target = DatabaseTarget(a);
    if (target.rfind("postgres", 0) == 0) {
      err << "trial backup: for PostgreSQL use pg_dump, e.g. pg_dump --format=custom --file="
          << a.positional[0] << " '<database url>' (a consistent snapshot while servers run)\n";
      return kExitUsage;
    }
    auto s = OpenStore(a, env, false);
    if (!s) return fail("backup", s.error());
    if (!env.backup) return fail("backup", Error{ErrorCode::kInternal, "no backup support"});
    if (auto r = env.backup((*s)->connection(), a.positional[0]); !r) {
      return fail("backup", r.error());
    }
    out << "backup written to " << a.positional[0] << "\n";
    return kExitOk;
  }

  return -1;
}

}  // namespace trial::cli
