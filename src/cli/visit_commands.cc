// The visit verbs (docs/schedule.md, docs/queries.md): `visit list|record`,
// `dose plan|record|withhold`, `deviation list`, `query list|open|answer|close|reopen|history`,
// `review sdv|lock|unlock|show` and `sign`. "Today" is the environment's clock (cli.h). Nothing
// printed names an arm: dose plans are the same for placebo and kits are shown by number.
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "schedule/dose.h"
#include "service/visits.h"
#include "store/store.h"

namespace trial::cli {

namespace {

using nlohmann::ordered_json;

std::string Dump(const ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string Mg(int64_t ug) { return schedule::FormatScaled(ug, 1000, "mg"); }

ordered_json DeviationJson(const store::DeviationRecord& d) {
  return {{"id", d.id},
          {"subject_id", d.subject_id},
          {"site", d.site},
          {"kind", d.deviation.kind},
          {"visit", d.deviation.visit},
          {"date", d.deviation.date.ToString()},
          {"days_outside", d.deviation.days_outside},
          {"description", d.deviation.description},
          {"found_by", d.found_by},
          {"at", d.at}};
}

std::string DeviationLine(const store::DeviationRecord& d) {
  return "deviation " + std::to_string(d.id) + " (" + d.deviation.kind +
         "): " + d.deviation.description;
}

// "given 500 mg (full), kit K-123456" or "withheld: hold (...)".
std::string DoseText(const store::DoseEntry& d) {
  if (!d.given) return "withheld: " + d.explanation;
  return "given " + Mg(d.dose_ug) + " (" + d.level + ", weight " + d.weight + ", kit " +
         d.kit_number + ")" + (d.override_reason.empty() ? "" : " against a hold");
}

ordered_json DoseJson(const store::DoseEntry& d) {
  return {{"visit", d.visit},
          {"date", d.date.ToString()},
          {"given", d.given},
          {"level", d.level},
          {"dose_mg", schedule::FormatScaled(d.dose_ug, 1000, "")},
          {"weight", d.weight},
          {"kit_number", d.kit_number},
          {"decision", d.decision},
          {"explanation", d.explanation},
          {"override_reason", d.override_reason},
          {"user", d.user}};
}

// The item an option set names: --subject --visit --form --item [--repeat].
std::optional<store::ItemKey> ItemOption(Verb& v) {
  if (!v.Require({"subject", "visit", "form", "item"})) return std::nullopt;
  auto subject = v.IdOption("subject");
  if (!subject) return std::nullopt;
  int repeat = 0;
  if (v.args().Has("repeat") && v.args().Get("repeat") != "0") {
    auto r = v.IdOption("repeat");
    if (!r) return std::nullopt;
    repeat = static_cast<int>(std::min<int64_t>(*r, 100000));
  }
  return store::ItemKey{*subject, v.args().Get("visit"), v.args().Get("form"), repeat,
                        v.args().Get("item")};
}

std::string ItemText(const store::ItemKey& k) {
  return std::to_string(k.subject_id) + "/" + k.visit + "/" + k.form + "/" +
         std::to_string(k.repeat) + "/" + k.item;
}

// ---- visits ----

int VisitList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env) {
  Verb v("visit list", err, env);
  if (!v.Parse(args, {"subject", "date"}) || !v.Require({"subject", "date", "user"})) {
    return v.exit_code();
  }
  auto subject = v.IdOption("subject");
  auto date = subject ? v.DateOption("date") : std::nullopt;
  if (!date || !v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto overview = service::ListVisits(v.store(), v.protocol(), v.user(), *subject, *date);
  if (!overview) return v.Failed(overview.error());
  std::map<std::string, const store::DoseEntry*> doses;
  for (const auto& d : overview->doses) doses[d.visit] = &d;
  if (v.json()) {
    ordered_json j;
    j["subject_id"] = overview->subject_id;
    j["day0"] = overview->day0.ToString();
    j["as_of"] = overview->as_of.ToString();
    ordered_json visits = ordered_json::array();
    for (const auto& s : overview->report.visits) {
      ordered_json visit;
      visit["visit"] = s.visit.visit_id;
      visit["name"] = s.visit.name;
      visit["target"] = s.visit.target.ToString();
      visit["earliest"] = s.visit.earliest.ToString();
      visit["latest"] = s.visit.latest.ToString();
      visit["status"] = schedule::VisitStatusName(s.status);
      visit["done_on"] = s.done_on ? ordered_json(s.done_on->ToString()) : ordered_json(nullptr);
      visit["days_outside"] = s.days_outside;
      visit["dose_number"] = s.visit.dose ? ordered_json(s.visit.dose_number) : nullptr;
      if (auto it = doses.find(s.visit.visit_id); it != doses.end()) {
        visit["dose"] = DoseJson(*it->second);
      }
      visits.push_back(visit);
    }
    j["visits"] = visits;
    ordered_json recorded = ordered_json::array();
    for (const auto& r : overview->recorded) {
      recorded.push_back({{"visit", r.visit},
                          {"done_on", r.date ? ordered_json(r.date->ToString()) : nullptr},
                          {"missed", r.missed},
                          {"reason", r.reason},
                          {"user", r.user}});
    }
    j["recorded"] = recorded;
    ordered_json deviations = ordered_json::array();
    for (const auto& d : overview->deviations) deviations.push_back(DeviationJson(d));
    j["deviations"] = deviations;
    out << Dump(j);
    return kExitOk;
  }
  out << "subject " << overview->subject_id << ": day 0 " << overview->day0.ToString() << ", as of "
      << overview->as_of.ToString() << "\n";
  for (const auto& s : overview->report.visits) {
    out << "  " << s.visit.visit_id << "\t" << s.visit.target.ToString() << "\t"
        << s.visit.earliest.ToString() << ".." << s.visit.latest.ToString() << "\t"
        << schedule::VisitStatusName(s.status);
    if (s.done_on) out << " " << s.done_on->ToString();
    if (s.visit.dose) {
      auto it = doses.find(s.visit.visit_id);
      out << "\tdose " << s.visit.dose_number << ": "
          << (it == doses.end() ? "not recorded" : DoseText(*it->second));
    }
    out << "\n";
  }
  for (const auto& r : overview->recorded) {
    if (!overview->report.visits.empty() &&
        std::none_of(overview->report.visits.begin(), overview->report.visits.end(),
                     [&](const auto& s) { return s.visit.visit_id == r.visit; })) {
      out << "  " << r.visit << "\t(unscheduled)\t" << (r.date ? r.date->ToString() : "") << "\n";
    }
  }
  out << "deviations recorded: " << overview->deviations.size() << "\n";
  for (const auto& d : overview->deviations) out << "  " << DeviationLine(d) << "\n";
  return kExitOk;
}

int VisitRecord(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const Environment& env) {
  Verb v("visit record", err, env);
  if (!v.Parse(args, {"subject", "visit", "date", "reason"}, 0, {"missed"}) ||
      !v.Require({"subject", "visit", "user"})) {
    return v.exit_code();
  }
  const bool missed = v.args().Flag("missed");
  if (missed == v.args().Has("date") || (missed && !v.args().Has("reason"))) {
    err << "trial visit record: give either --date YYYY-MM-DD or --missed --reason TEXT\n";
    return kExitUsage;
  }
  auto subject = v.IdOption("subject");
  if (!subject) return v.exit_code();
  service::VisitRequest request{*subject, v.args().Get("visit"), std::nullopt, missed,
                                v.args().Get("reason")};
  if (!missed) {
    request.date = v.DateOption("date");
    if (!request.date) return v.exit_code();
  }
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto recorded = service::RecordVisit(v.store(), v.protocol(), v.user(), request, v.today());
  if (!recorded) return v.Failed(recorded.error());
  const auto& e = recorded->entry;
  out << "visit " << e.visit << " of subject " << e.subject_id
      << " recorded: " << (e.missed ? "missed (" + e.reason + ")" : "done on " + e.date->ToString())
      << "\n";
  for (const auto& d : recorded->deviations) out << DeviationLine(d) << "\n";
  return kExitOk;
}

// ---- doses ----

int DosePlan(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const Environment& env) {
  Verb v("dose plan", err, env);
  if (!v.Parse(args, {"subject", "visit", "date"}) ||
      !v.Require({"subject", "visit", "date", "user"})) {
    return v.exit_code();
  }
  auto subject = v.IdOption("subject");
  auto date = subject ? v.DateOption("date") : std::nullopt;
  if (!date || !v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto a =
      service::PlanDose(v.store(), v.protocol(), v.user(), *subject, v.args().Get("visit"), *date);
  if (!a) return v.Failed(a.error());
  const char* decision = schedule::DoseDecisionName(a->verdict.decision);
  const bool give = a->verdict.decision == schedule::DoseDecision::kProceed ||
                    a->verdict.decision == schedule::DoseDecision::kReduce;
  if (v.json()) {
    ordered_json j;
    j["subject_id"] = a->subject_id;
    j["visit"] = a->visit;
    j["date"] = a->date.ToString();
    j["dose_number"] = a->dose_number;
    j["decision"] = decision;
    j["give"] = give;
    j["explanation"] = a->verdict.explanation;
    ordered_json findings = ordered_json::array();
    for (const auto& f : a->verdict.findings) {
      findings.push_back({{"analyte", f.analyte},
                          {"decision", schedule::DoseDecisionName(f.decision)},
                          {"explanation", f.explanation}});
    }
    j["findings"] = findings;
    if (a->weight) {
      j["weight"] = a->weight->weight.ToString();
      j["weight_date"] = a->weight->date.ToString();
    }
    if (a->plan) {
      const auto& p = *a->plan;
      j["level"] = p.level == schedule::DoseLevel::kReduced ? "reduced" : "full";
      j["dose_mg"] = schedule::FormatScaled(p.dose_ug, 1000, "");
      j["volume_ml"] = schedule::FormatScaled(p.drug_volume_ul, 1000, "");
      ordered_json vials = ordered_json::array();
      for (const auto& vial : p.vials) {
        vials.push_back({{"content_mg", schedule::FormatScaled(vial.content_ug, 1000, "")},
                         {"volume_ml", schedule::FormatScaled(vial.volume_ul, 1000, "")},
                         {"count", vial.count}});
      }
      j["vials"] = vials;
      j["waste_mg"] = schedule::FormatScaled(p.waste_ug, 1000, "");
      j["saline_withdrawn_ml"] = schedule::FormatScaled(p.saline_withdrawn_ul, 1000, "");
      j["final_volume_ml"] = schedule::FormatScaled(p.final_volume_ul, 1000, "");
      j["diluent"] = p.diluent;
      j["infusion_minutes"] = p.infusion_minutes;
      j["steps"] = p.steps;
    }
    j["kit_number"] = a->kit_number;
    if (a->recorded) j["recorded"] = DoseJson(*a->recorded);
    j["notes"] = a->notes;
    out << Dump(j);
    return kExitOk;
  }
  out << "dose " << a->dose_number << " of subject " << a->subject_id << " at " << a->visit
      << " on " << a->date.ToString() << "\n";
  out << "decision: " << a->verdict.explanation << "\n";
  for (const auto& f : a->verdict.findings) out << "  " << f.explanation << "\n";
  if (give && a->plan) {
    out << "give: " << Mg(a->plan->dose_ug) << " ("
        << (a->plan->level == schedule::DoseLevel::kReduced ? "reduced" : "full") << " dose)\n";
  } else if (a->plan) {
    out << "give: nothing (hold); an override would give " << Mg(a->plan->dose_ug)
        << " (reduced dose) and record a protocol deviation\n";
  } else {
    out << "give: nothing (" << decision << ")\n";
  }
  if (a->plan) {
    for (const auto& step : a->plan->steps) out << "  " << step << "\n";
    out << "kit: "
        << (a->kit_number.empty() ? "none available at the site: resupply" : a->kit_number) << "\n";
  }
  if (a->recorded) out << "already recorded: " << DoseText(*a->recorded) << "\n";
  for (const auto& n : a->notes) out << "note: " << n << "\n";
  return kExitOk;
}

int DoseRecord(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const Environment& env, bool withhold) {
  Verb v(withhold ? "dose withhold" : "dose record", err, env);
  std::vector<std::string> allowed = {"subject", "visit", "date"};
  if (!withhold) allowed.push_back("override-reason");
  if (!v.Parse(args, allowed) || !v.Require({"subject", "visit", "date", "user"})) {
    return v.exit_code();
  }
  auto subject = v.IdOption("subject");
  auto date = subject ? v.DateOption("date") : std::nullopt;
  if (!date || !v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  const std::string visit = v.args().Get("visit");
  auto recorded = withhold ? service::WithholdDose(v.store(), v.protocol(), v.user(), *subject,
                                                   visit, *date, v.today())
                           : service::RecordDose(v.store(), v.protocol(), v.user(), *subject, visit,
                                                 *date, v.args().Get("override-reason"), v.today());
  if (!recorded) return v.Failed(recorded.error());
  out << "dose of subject " << *subject << " at " << visit << " on " << date->ToString() << ": "
      << DoseText(recorded->entry) << "\n";
  for (const auto& d : recorded->deviations) out << DeviationLine(d) << "\n";
  return kExitOk;
}

int DeviationList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  Verb v("deviation list", err, env);
  if (!v.Parse(args, {"subject", "site"}) || !v.Require({"user"})) return v.exit_code();
  std::optional<int64_t> subject;
  if (v.args().Has("subject") && !(subject = v.IdOption("subject"))) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  auto shown = service::ListDeviations(v.store(), v.user(), subject, v.site());
  if (!shown) return v.Failed(shown.error());
  if (v.json()) {
    ordered_json j = ordered_json::array();
    for (const auto& d : *shown) j.push_back(DeviationJson(d));
    out << Dump(j);
    return kExitOk;
  }
  for (const auto& d : *shown) {
    out << "subject " << d.subject_id << " (site " << d.site << ") " << DeviationLine(d) << "\n";
  }
  out << shown->size() << " deviation(s)\n";
  return kExitOk;
}

// ---- queries ----

ordered_json QueryJson(const store::QueryRecord& q) {
  return {{"id", q.id},
          {"version", q.version},
          {"subject_id", q.key.subject_id},
          {"site", q.site},
          {"visit", q.key.visit},
          {"form", q.key.form},
          {"repeat", q.key.repeat},
          {"item", q.key.item},
          {"status", q.status},
          {"text", q.text},
          {"edit_check", q.edit_check},
          {"user", q.user},
          {"at", q.at}};
}

std::string QueryLine(const store::QueryRecord& q) {
  return "query " + std::to_string(q.id) + " on " + ItemText(q.key) + ": " + q.status +
         (q.edit_check.empty() ? "" : " (edit check " + q.edit_check + ")") + " by " + q.user +
         " at " + q.at + (q.text.empty() ? "" : ": " + q.text);
}

int QueryList(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env) {
  Verb v("query list", err, env);
  if (!v.Parse(args, {"subject", "site", "status"}) || !v.Require({"user"})) {
    return v.exit_code();
  }
  store::QueryFilter filter;
  if (v.args().Has("subject") && !(filter.subject_id = v.IdOption("subject"))) {
    return v.exit_code();
  }
  filter.site = v.site();
  if (v.args().Has("status")) filter.status = v.args().Get("status");
  if (!v.OpenStore()) return v.exit_code();
  auto listing = service::ListQueries(v.store(), v.user(), filter);
  if (!listing) return v.Failed(listing.error());
  if (v.json()) {
    ordered_json j;
    ordered_json queries = ordered_json::array();
    for (const auto& q : listing->queries) queries.push_back(QueryJson(q));
    j["queries"] = queries;
    ordered_json by_subject = ordered_json::object(), by_site = ordered_json::object(),
                 by_form = ordered_json::object();
    for (const auto& [s, n] : listing->open_by_subject) by_subject[std::to_string(s)] = n;
    for (const auto& [s, n] : listing->open_by_site) by_site[s] = n;
    for (const auto& [f, n] : listing->open_by_form) by_form[f] = n;
    j["open"] = {{"by_subject", by_subject}, {"by_site", by_site}, {"by_form", by_form}};
    out << Dump(j);
    return kExitOk;
  }
  for (const auto& q : listing->queries) out << QueryLine(q) << "\n";
  out << listing->queries.size() << " query(ies)\n";
  auto counts = [&](const char* what, const auto& map) {
    out << "open by " << what << ":";
    if (map.empty()) out << " none";
    for (const auto& [k, n] : map) out << " " << k << "=" << n;
    out << "\n";
  };
  counts("subject", listing->open_by_subject);
  counts("site", listing->open_by_site);
  counts("form", listing->open_by_form);
  return kExitOk;
}

int QueryOpen(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env) {
  Verb v("query open", err, env);
  if (!v.Parse(args, {"subject", "visit", "form", "item", "repeat", "text", "edit-check"}) ||
      !v.Require({"text", "user"})) {
    return v.exit_code();
  }
  auto key = ItemOption(v);
  if (!key || !v.OpenStore()) return v.exit_code();
  auto q = v.store().OpenQuery(v.user(), *key, v.args().Get("text"), v.args().Get("edit-check"));
  if (!q) return v.Failed(q.error());
  out << QueryLine(*q) << "\n";
  return kExitOk;
}

// answer, close, reopen and history: `query STEP ID`.
int QueryStep(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
              const Environment& env, const std::string& step) {
  Verb v("query " + step, err, env);
  if (!v.Parse(args, {"text"}, 1) || !v.Require({"user"})) return v.exit_code();
  if (step != "close" && step != "history" && !v.Require({"text"})) return v.exit_code();
  auto id = v.PositionalId();
  if (!id) {
    err << "trial query " << step << ": give the query id (trial query " << step << " 12 ...)\n";
    return kExitUsage;
  }
  if (!v.OpenStore()) return v.exit_code();
  const std::string text = v.args().Get("text");
  if (step == "history") {
    auto listing = service::ListQueries(v.store(), v.user(), store::QueryFilter{});
    if (!listing) return v.Failed(listing.error());
    auto history = v.store().QueryHistory(*id);
    if (!history) return v.Failed(history.error());
    if (history->empty() || std::none_of(listing->queries.begin(), listing->queries.end(),
                                         [&](const auto& q) { return q.id == *id; })) {
      return v.Failed(Error{ErrorCode::kNotFound, "unknown query " + std::to_string(*id)});
    }
    for (const auto& q : *history) out << QueryLine(q) << "\n";
    return kExitOk;
  }
  auto q = step == "answer"  ? v.store().AnswerQuery(v.user(), *id, text)
           : step == "close" ? v.store().CloseQuery(v.user(), *id, text)
                             : v.store().ReopenQuery(v.user(), *id, text);
  if (!q) return v.Failed(q.error());
  out << QueryLine(*q) << "\n";
  return kExitOk;
}

// ---- review states and signatures ----

int Review(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env, const std::string& sub) {
  Verb v("review " + sub, err, env);
  if (!v.Parse(args, {"subject", "visit", "form", "item", "repeat", "reason"})) {
    return v.exit_code();
  }
  if (sub != "show" && !v.Require({"user"})) return v.exit_code();
  auto key = ItemOption(v);
  if (!key || !v.OpenStore()) return v.exit_code();
  const std::string step = sub == "sdv" ? "verify" : sub;
  auto state = sub == "show" ? v.store().ReviewOf(*key)
                             : v.store().ReviewItem(v.user(), *key, step, v.args().Get("reason"));
  if (!state) return v.Failed(state.error());
  out << "item " << ItemText(*key) << " (version " << state->item_version << "): " << state->state;
  if (!state->user.empty()) out << " by " << state->user << " at " << state->at;
  out << "\n";
  return kExitOk;
}

int Sign(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
         const Environment& env) {
  Verb v("sign", err, env);
  if (!v.Parse(args, {"subject", "visit", "meaning"}, 0, {}, 1) ||
      !v.Require({"subject", "meaning", "user"})) {
    return v.exit_code();
  }
  auto subject = v.IdOption("subject");
  if (!subject || !v.OpenStore()) return v.exit_code();
  auto sig = v.store().Sign(v.user(), *subject, v.args().Get("visit"), v.args().Get("meaning"));
  if (!sig) return v.Failed(sig.error());
  out << "signed " << (sig->visit.empty() ? "the casebook" : "visit " + sig->visit)
      << " of subject " << sig->subject_id << ": " << sig->printed_name << ", " << sig->signed_at
      << ", \"" << sig->meaning << "\" (signature " << sig->id << ")\n";
  return kExitOk;
}

}  // namespace

int RunVisitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Environment& env) {
  if (args.empty()) return -1;
  const std::string& verb = args[0];
  const std::string sub = args.size() >= 2 ? args[1] : "";
  if (verb == "visit") {
    if (sub == "list") return VisitList(args, out, err, env);
    if (sub == "record") return VisitRecord(args, out, err, env);
    err << "trial visit: expected 'list' or 'record'\n";
    return kExitUsage;
  }
  if (verb == "dose") {
    if (sub == "plan") return DosePlan(args, out, err, env);
    if (sub == "record" || sub == "withhold") {
      return DoseRecord(args, out, err, env, sub == "withhold");
    }
    err << "trial dose: expected 'plan', 'record' or 'withhold'\n";
    return kExitUsage;
  }
  if (verb == "deviation") {
    if (sub == "list") return DeviationList(args, out, err, env);
    err << "trial deviation: expected 'list'\n";
    return kExitUsage;
  }
  if (verb == "query") {
    if (sub == "list") return QueryList(args, out, err, env);
    if (sub == "open") return QueryOpen(args, out, err, env);
    if (sub == "answer" || sub == "close" || sub == "reopen" || sub == "history") {
      return QueryStep(args, out, err, env, sub);
    }
    err << "trial query: expected 'list', 'open', 'answer', 'close', 'reopen' or 'history'\n";
    return kExitUsage;
  }
  if (verb == "review") {
    if (sub == "sdv" || sub == "lock" || sub == "unlock" || sub == "show") {
      return Review(args, out, err, env, sub);
    }
    err << "trial review: expected 'sdv', 'lock', 'unlock' or 'show'\n";
    return kExitUsage;
  }
  if (verb == "sign") return Sign(args, out, err, env);
  return -1;
}

}  // namespace trial::cli
