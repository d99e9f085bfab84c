// `trial outcomes SUBJECT` and `trial outcomes --input FILE` (docs/outcomes.md): one code path
// (service::DeriveOutcomes on an ecrf::SubjectData read from the store or from the file), printed
// as text or JSON with every input used. Blinded: nothing here reads or prints an arm.
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "service/derived.h"
#include "store/store.h"

namespace trial::cli {

namespace {

using nlohmann::json;
using service::DerivationInput;
using service::Derivations;

json Number(const Rational& r) { return r.ToDouble(); }
json Number(const std::optional<Rational>& r) { return r ? json(r->ToDouble()) : json(nullptr); }
json Bool(const std::optional<bool>& b) { return b ? json(*b) : json(nullptr); }
json DateJson(const std::optional<Date>& d) { return d ? json(d->ToString()) : json(nullptr); }

json Inputs(const std::vector<DerivationInput>& inputs) {
  json out = json::array();
  for (const auto& i : inputs) {
    out.push_back({{"visit", i.visit},
                   {"item", i.item},
                   {"repeat", i.repeat},
                   {"value", i.value},
                   {"unit", i.unit}});
  }
  return out;
}

std::string InputsText(const std::vector<DerivationInput>& inputs) {
  std::string out;
  for (const auto& i : inputs) {
    out += (out.empty() ? "" : "; ") + i.visit + " " + i.item +
           (i.repeat != 0 ? " #" + std::to_string(i.repeat) : "") + " = " + i.value;
  }
  return out;
}

json ChangeJson(const outcomes::ChangeFromBaseline& c) {
  return {{"baseline", Number(c.baseline)},
          {"week8", Number(c.week8)},
          {"change", Number(c.change)},
          {"missing", c.missing}};
}

json ToJson(const Derivations& d, const std::vector<service::SafetySignal>& signals) {
  json out;
  out["baseline"] = {
      {"visit", d.baseline_visit}, {"date", DateJson(d.day0)}, {"rule", d.baseline_rule}};
  out["tis"] = json::array();
  for (const auto& t : d.tis) {
    json measures = json::array();
    for (const auto& m : t.tis.items) {
      json j = {{"id", m.id}, {"enzyme", m.enzyme}, {"known", m.known}};
      if (m.known) {
        j["baseline"] = Number(m.baseline.value);
        j["value"] = Number(m.value.value);
        j["unit"] = m.value.unit.code();
        j["improvement"] = Number(m.change);
        j["percent"] = m.percent.finite ? json(m.percent.value.ToDouble()) : json(nullptr);
        j["percent_text"] = m.percent.ToString(2);
        j["band"] = m.band;
        j["points"] = Number(m.points);
        j["note"] = m.note;
      }
      measures.push_back(std::move(j));
    }
    out["tis"].push_back({{"visit", t.visit},
                          {"known", t.tis.known},
                          {"total", t.tis.known ? Number(t.tis.total) : json(nullptr)},
                          {"category", t.tis.category},
                          {"missing", t.tis.missing},
                          {"measures", measures},
                          {"imacs_improvement",
                           {{"met", Bool(t.imacs.met)},
                            {"improved", t.imacs.improved},
                            {"worse", t.imacs.worse},
                            {"missing", t.imacs.missing},
                            {"explanation", t.imacs.explanation}}},
                          {"inputs", Inputs(t.inputs)}});
  }
  json worsening = {{"confirmed", Bool(d.worsening.confirmed)},
                    {"confirmed_at", d.worsening.confirmed_at},
                    {"visits", json::array()}};
  for (const auto& w : d.worsening.visits) {
    worsening["visits"].push_back({{"visit", w.visit},
                                   {"worsened", Bool(w.worsened)},
                                   {"reason", w.reason},
                                   {"missing", w.missing}});
  }
  out["worsening"] = worsening;
  out["labs"] = json::array();
  for (const auto& l : d.labs) {
    json j = {{"visit", l.visit}, {"date", DateJson(l.date)}, {"term_id", l.term_id}};
    if (l.grade) {
      j["term"] = l.grade->term;
      j["grade"] = l.grade->grade;
      j["rule"] = l.grade->rule;
      j["branch"] = l.grade->branch;
      j["possible_ae"] = l.grade->possible_ae;
    } else {
      j["grade"] = nullptr;
      j["problem"] = l.problem;
    }
    j["inputs"] = Inputs(l.inputs);
    out["labs"].push_back(std::move(j));
  }
  out["lab_worst_grades"] = json::array();
  for (const auto& w : d.lab_worst) {
    out["lab_worst_grades"].push_back(
        {{"term_id", w.term_id}, {"term", w.term}, {"grade", w.grade}, {"visit", w.visit}});
  }
  auto pf = [](const service::PfAtVisit& p) {
    return json{{"visit", p.visit},
                {"date", p.point.date.ToString()},
                {"day", p.point.day},
                {"pf", Number(p.point.pf)},
                {"change", Number(p.point.change)},
                {"inputs", Inputs(p.inputs)}};
  };
  out["pf_ratio"] = {{"baseline", d.pf_baseline ? pf(*d.pf_baseline) : json(nullptr)},
                     {"points", json::array()}};
  for (const auto& p : d.pf) out["pf_ratio"]["points"].push_back(pf(p));
  out["respiratory_failure"] = json::array();
  for (const auto& f : d.respiratory_failures) {
    out["respiratory_failure"].push_back({{"visit", f.visit},
                                          {"source", f.source},
                                          {"date", f.event.date.ToString()},
                                          {"day", f.event.day},
                                          {"reason", f.event.reason},
                                          {"inputs", Inputs(f.inputs)}});
  }
  out["rp_ild"] = d.rp_ild ? json{{"detected", d.rp_ild->detected},
                                  {"date", DateJson(d.rp_ild->date)},
                                  {"reason", d.rp_ild->reason},
                                  {"inputs", Inputs(d.rp_ild_inputs)}}
                           : json(nullptr);
  if (d.time_to_failure_or_death) {
    const auto& t = *d.time_to_failure_or_death;
    out["time_to_respiratory_failure_or_death"] = {{"days", t.days},
                                                   {"event", t.event},
                                                   {"kind", t.kind},
                                                   {"explanation", t.explanation},
                                                   {"inputs", Inputs(d.time_inputs)}};
  } else {
    out["time_to_respiratory_failure_or_death"] = nullptr;
  }
  if (d.week8) {
    out["week8_changes"] = {{"visit", d.week8_visit},
                            {"fvc_percent", ChangeJson(d.week8->fvc)},
                            {"dlco_percent", ChangeJson(d.week8->dlco)},
                            {"pf_ratio", ChangeJson(d.week8->pf)},
                            {"hrct_extent", ChangeJson(d.week8->hrct)},
                            {"inputs", Inputs(d.week8_inputs)}};
  } else {
    out["week8_changes"] = nullptr;
  }
  out["prednisone_equivalent"] = json::array();
  for (const auto& p : d.prednisone) {
    out["prednisone_equivalent"].push_back({{"visit", p.visit},
                                            {"total_mg_per_day", Number(p.total_mg_per_day)},
                                            {"unknown", p.unknown},
                                            {"inputs", Inputs(p.inputs)}});
  }
  out["signals"] = json::array();
  for (const auto& s : signals) {
    out["signals"].push_back(
        {{"key", s.key}, {"visit", s.visit}, {"kind", s.kind}, {"term", s.term}, {"text", s.text}});
  }
  out["notes"] = d.notes;
  return out;
}

std::string Text(const std::optional<Rational>& r, int places = 2) {
  return r ? r->ToDecimal(places) : std::string("unknown");
}

void ToText(const Derivations& d, const std::vector<service::SafetySignal>& signals,
            std::ostream& out) {
  out << "baseline: " << d.baseline_visit << " ("
      << (d.day0 ? d.day0->ToString() : std::string("no date")) << "); " << d.baseline_rule << "\n";
  for (const auto& t : d.tis) {
    out << "\nTIS at " << t.visit << "\n" << outcomes::TisToText(t.tis);
    out << "IMACS improvement: "
        << (t.imacs.met ? (*t.imacs.met ? "met" : "not met") : std::string("unknown")) << " ("
        << t.imacs.explanation << ")\n";
    out << "inputs: " << InputsText(t.inputs) << "\n";
  }
  out << "\nworsening: "
      << (d.worsening.confirmed
              ? (*d.worsening.confirmed ? "confirmed at " + d.worsening.confirmed_at
                                        : std::string("not confirmed"))
              : std::string("unknown"))
      << "\n";
  for (const auto& w : d.worsening.visits) {
    out << "  " << w.visit << ": "
        << (w.worsened ? (*w.worsened ? "worsened" : "not worsened") : std::string("unknown"))
        << " (" << w.reason << ")\n";
  }
  out << "\nlabs (CTCAE):\n";
  for (const auto& l : d.labs) {
    out << "  " << l.visit << " " << l.term_id << ": ";
    if (l.grade) {
      out << "grade " << l.grade->grade << " - " << l.grade->rule;
      if (!l.grade->branch.empty()) out << " [" << l.grade->branch << "]";
      if (l.grade->possible_ae) out << " POSSIBLE AE";
    } else {
      out << l.problem;
    }
    out << " <- " << InputsText(l.inputs) << "\n";
  }
  out << "worst grades after " << d.baseline_visit << ":";
  if (d.lab_worst.empty()) out << " none";
  out << "\n";
  for (const auto& w : d.lab_worst) {
    out << "  " << w.term << ": grade " << w.grade << " (" << w.visit << ")\n";
  }
  out << "\nP/F ratio (mm[Hg]):";
  if (d.pf_baseline) out << " baseline " << d.pf_baseline->point.pf.ToDecimal(1);
  out << "\n";
  for (const auto& p : d.pf) {
    out << "  " << p.visit << " " << p.point.date.ToString() << " (day " << p.point.day
        << "): " << p.point.pf.ToDecimal(1) << ", change " << Text(p.point.change, 1) << "\n";
  }
  out << "respiratory failure:";
  if (d.respiratory_failures.empty()) out << " none";
  out << "\n";
  for (const auto& f : d.respiratory_failures) {
    out << "  " << f.visit << " " << f.event.date.ToString() << " (day " << f.event.day
        << "): " << f.event.reason << "\n";
  }
  out << "on-study RP-ILD: "
      << (d.rp_ild ? (d.rp_ild->detected ? "detected: " : "not detected: ") + d.rp_ild->reason
                   : std::string("unknown"))
      << "\n";
  out << "time to respiratory failure or death: "
      << (d.time_to_failure_or_death ? std::to_string(d.time_to_failure_or_death->days) +
                                           " days (" + d.time_to_failure_or_death->explanation + ")"
                                     : std::string("unknown"))
      << "\n";
  if (d.week8) {
    out << "change from baseline at " << d.week8_visit << ":\n";
    for (const auto* c : {&d.week8->fvc, &d.week8->dlco, &d.week8->pf, &d.week8->hrct}) {
      out << "  " << c->measure << ": "
          << (c->change ? Text(c->baseline) + " -> " + Text(c->week8) + " = " + Text(c->change)
                        : "unknown (missing " + c->missing + ")")
          << "\n";
    }
  }
  out << "\nprednisone-equivalent dose (mg/d):";
  if (d.prednisone.empty()) out << " none recorded";
  out << "\n";
  for (const auto& p : d.prednisone) {
    out << "  " << p.visit << ": " << Text(p.total_mg_per_day)
        << (p.unknown.empty() ? "" : " (unknown:") << "";
    for (const auto& u : p.unknown) out << " " << u;
    out << (p.unknown.empty() ? "" : ")") << "\n";
  }
  out << "\nsafety signals:";
  if (signals.empty()) out << " none";
  out << "\n";
  for (const auto& s : signals) out << "  [" << s.key << "] " << s.text << "\n";
  for (const auto& n : d.notes) out << "note: " << n << "\n";
}

}  // namespace

int RunOutcomeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const Environment& env) {
  if (args.empty() || args[0] != "outcomes") return -1;
  Verb v("outcomes", err, env);
  if (!v.Parse(args, {"input"}, 1, {}, 1)) return v.exit_code();
  const bool from_file = v.args().Has("input");
  if (from_file == !v.args().positional.empty()) {
    err << "trial outcomes: give a SUBJECT (with --user) or --input FILE.json, not both\n";
    return kExitUsage;
  }
  std::optional<int64_t> subject;
  if (!from_file) {
    subject = ParsePositive(v.args().positional[0]);
    if (!subject) {
      err << "trial outcomes: SUBJECT must be a subject id, not '" << v.args().positional[0]
          << "'\n";
      return kExitUsage;
    }
    if (!v.Require({"user"})) return v.exit_code();
  }
  if (!v.OpenProtocol()) return v.exit_code();
  Result<ecrf::SubjectData> data;
  std::string subject_name;
  if (from_file) {
    const std::string path = v.args().Get("input");
    auto text = ReadFile(path);
    if (!text) {
      err << "trial outcomes: " << text.error().message << "\n";
      return kExitInput;
    }
    data = service::ParseOutcomeInput(v.protocol(), *text);
    if (!data) {
      err << "trial outcomes: " << path << ": " << data.error().message << "\n";
      return kExitInput;
    }
    subject_name = "input";
  } else {
    if (!v.OpenStore()) return v.exit_code();
    data = service::LoadOutcomeData(v.store(), v.protocol(), v.user(), *subject);
    if (!data) return v.Failed(data.error());
    subject_name = std::to_string(*subject);
  }
  auto derived = service::DeriveOutcomes(v.protocol(), *data);
  if (!derived) {
    err << "trial outcomes: " << derived.error().message << "\n";
    return kExitInput;
  }
  // The signals of every visit after baseline.
  std::vector<service::SafetySignal> signals;
  bool after = false;
  for (const auto& visit : data->visits) {
    if (after) {
      auto s = service::SafetySignals(v.protocol(), *data, subject_name, visit.visit);
      if (!s) {
        err << "trial outcomes: " << s.error().message << "\n";
        return kExitInput;
      }
      signals.insert(signals.end(), s->begin(), s->end());
    }
    after = after || visit.visit == derived->baseline_visit;
  }
  if (v.json()) {
    json j = ToJson(*derived, signals);
    j["subject"] = subject_name;
    out << j.dump(2) << "\n";
  } else {
    out << "outcomes of " << (from_file ? "the input file" : "subject " + subject_name) << "\n";
    ToText(*derived, signals, out);
  }
  return kExitOk;
}

}  // namespace trial::cli
