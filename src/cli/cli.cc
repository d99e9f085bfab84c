#include "cli/cli.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/common.h"
#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "record/fhir.h"
#include "service/screening.h"
#include "store/store.h"

namespace trial::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: trial <command> [options]

commands:
  screen BUNDLE.json --screening-date YYYY-MM-DD [--randomization-date YYYY-MM-DD]
         [--format json|text] [--save --subject ID --user NAME]
      Evaluate every inclusion and exclusion criterion on one FHIR R4 Bundle; with --save,
      store the evaluation for the subject and move its status (eligible / screen_failed).
  protocol check [DIR]
      Load and compile a protocol folder; report every error.
  protocol questions [--format text|json]
      List the readings of ambiguous registry text that the protocol applies.
  init [--admin NAME [--name "FULL NAME"]]
      Create or upgrade the database; optionally its first administrator.
  site add ID --name NAME --user U         site list
  user add USERNAME --role ROLE [--sites A,B] [--name "FULL NAME"] --user U
  subject add --site S --number N --user U
  subject list [--site S] [--format text|json]
  subject show ID [--format text|json]
  subject status ID --to STATUS [--reason TEXT] --user U
  item record --subject ID --visit V --form F --item I [--repeat N] --value X [--reason R] --user U
  item history --subject ID --visit V --form F --item I [--repeat N]
  audit verify
      Recompute the audit chain and check every stored row against it.
  audit show --user U [--subject ID] [--by USER] [--from T] [--to T] [--after SEQ]
             [--limit N] [--format text|json]
      The events as U may see them: arm values are "<blinded>" except for unblinded roles.
  backup OUT
      A consistent copy of the SQLite database (PostgreSQL: use pg_dump).
  randomization simulate --subjects N --sites K --runs R [--seed HEX]
                [--method permuted_blocks|minimization] [--ild-probability P]
                [--format text|json] [--progress]
      Draw R whole trials and report overall and within-stratum imbalance and predictability.
  randomization golive --user ADMIN [--seed HEX]
      Generate every stratum's allocation list, record it and print the commitment.
  randomization verify
      Recompute the lists from the stored seed and check them and the commitment (exit 5 if not).
  randomization extend --user ADMIN [--stratum KEY] [--free N]
      Give every stratum (or one) at least N unused slots (default: the target enrollment),
      continuing its list from the seed; a site added after go-live gets its lists.
  randomize --subject ID --ild present|absent --user U [--request-id X] [--format text|json]
      Allocate an eligible subject; prints the randomization number only (never the arm) and,
      when the trial uses kits, the kit handed out for the first dose.
  unblind --subject ID --reason TEXT --user INVESTIGATOR
      Emergency unblinding: prints the arm; audited, sponsor and medical monitor notified.
  kit generate --count N --lot L --expiry YYYY-MM-DD --user U [--seed HEX]
      Add N blinded kits (arms in the protocol's ratio, random numbers) to the depot.
  kit ship --site S (--count N | --kits K-1,K-2) --user U
      Ship depot kits to a site (--count: arm-balanced, earliest expiry first).
  kit receive --shipment SH-0001 [--damaged K-1,...] --user U [--format text|json]
  kit status K-123456 --to quarantined|available|damaged|destroyed --reason TEXT --user U
  kit dispense --subject ID --visit V --date YYYY-MM-DD --user U [--kit K] [--request-id X]
               [--format text|json]
      Give a randomized subject a kit of its arm at its site; prints the kit number only.
  kit list [--site S] --user U [--format text|json]
  kit stock [--site S] --date YYYY-MM-DD --user U [--format text|json]
      Kits available per site against the doses due in the resupply horizon: LOW or OK (arms
      only for unblinded roles).
  visit list --subject ID --date YYYY-MM-DD --user U [--format text|json]
      The subject's planned visits from day 0 with their status on the date, doses, deviations.
  visit record --subject ID --visit V (--date YYYY-MM-DD | --missed --reason R) --user U
      Record a visit (V UNS: an unscheduled one, numbered UNS-1, ...); deviations it reveals
      (out of window, missed visits and doses) are recorded with it.
  dose plan --subject ID --visit V --date YYYY-MM-DD --user U [--format text|json]
      What to give: the hold rules' verdict on the latest labs, the weight, mg, mL, vials,
      dilution and the kit (identical for placebo).
  dose record --subject ID --visit V --date YYYY-MM-DD --user U [--override-reason R]
      Record the dose given (dispensing the kit if not yet done); against a hold only with
      --override-reason (a protocol deviation); never after a discontinuation.
  dose withhold --subject ID --visit V --date YYYY-MM-DD --user U
      Record a dose withheld by a hold or discontinue verdict.
  deviation list [--subject ID | --site S] --user U [--format text|json]
  query list [--subject ID | --site S] [--status open|answered|closed] --user U [--format ...]
  query open --subject ID --visit V --form F --item I [--repeat N] --text T [--edit-check C]
             --user U
  query answer ID --text T --user U      query close ID [--text T] --user U
  query reopen ID --text T --user U      query history ID --user U
  review sdv|lock|unlock|show --subject ID --visit V --form F --item I [--repeat N]
         [--reason R] --user U
      Source-data verification (monitor), lock and unlock with a reason (data manager).
  sign --subject ID [--visit V] --meaning TEXT --user INVESTIGATOR
      Sign a visit or the whole casebook (printed name, time and meaning are recorded).
  data set --subject ID --visit V --form F --item I --value X [--repeat N] [--reason R] --user U
      Enter one eCRF item: checked against forms.yaml (type, unit, ranges) and the visit's edit
      checks; prints the stored value and the queries raised (docs/ecrf.md).
  data import FILE --subject ID --visit V [--reason R] --user U
      Enter a JSON array of {"form", "item", "value"} for one visit, all or nothing.
  outcomes SUBJECT --user U [--format text|json]
  outcomes --input FILE.json [--format text|json]
      Derived outcomes and safety values from the eCRF data (TIS, IMACS, worsening, CTCAE
      grades, P/F, respiratory failure, RP-ILD, time to event, week-8 changes, prednisone
      equivalent, safety signals), each with the inputs it used; blinded (docs/outcomes.md).
  ae add --subject ID --term T [--other-text X] --grade N --onset YYYY-MM-DD
         --awareness YYYY-MM-DDTHH:MM [--serious no|CRITERION,...] --related R --action A
         [--outcome O] [--resolved YYYY-MM-DD] --user U [--format text|json]
      Record an adverse event (terms and codes: safety.yaml); a serious one starts the SAE
      clocks and notifies the sponsor and the medical monitor (docs/safety.md).
  ae update ID [the options of ae add] --reason R --user U [--format text|json]
      A follow-up: a new version of the AE with the options given changed.
  ae list [--subject ID | --site S] --user U [--format text|json]
  ae show ID --user U [--format text|json]
  ae summary (--subject ID | --site S) --user U [--format text|json]
      Safety summary per subject (AEs by grade and seriousness, infections, related AEs, lab
      abnormalities by worst grade after day 0, prednisone-equivalent dose per visit, open
      alerts, SAE reports due); --site: every randomized subject, then site totals. Blinded.
  sae report AE_ID --kind initial|follow-up --user U [--format text|json]
      Submit an SAE report (initial: due 24 h after awareness; follow-up: after the initial).
  sae ack REPORT_ID --user SPONSOR
      The sponsor's acknowledgement of an SAE report.
  alerts [--site S] --user U [--format text|json]
      Open safety alerts and SAE reports due, overdue first.
  alert ack ID --user U      alert dismiss ID --reason R --user INVESTIGATOR
  alert confirm ID [the options of ae add but --subject] --user INVESTIGATOR
      Confirm a possible-AE alert as an adverse event.
  alert scan (--subject ID | --site S) --user U
      Evaluate the safety signals of every visit again and raise the alerts not raised yet
      (data entry raises them on each save: possible AE, respiratory failure, RP-ILD).
  outbox list --user ADMIN [--format text|json]
  outbox deliver --to DIR --user ADMIN
      Write each queued notification to DIR as one JSON file and record its delivery.
  help
      Show this text.

common options:
  --protocol DIR   protocol folder (default: $TRIAL_PROTOCOL, else protocols/promis-mda5)
  --db TARGET      database: an SQLite file or a postgresql:// URL (default: $TRIAL_DB, else trial.db)
  --user NAME      the acting user, for every command that writes

exit status: 0 ok, 1 bad input data or refused request, 2 bad usage, 3 protocol errors,
             4 database unusable, 5 audit trail broken
)";

int Screen(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Args a;
  if (!ParseArgs(
          args, 1,
          {"screening-date", "randomization-date", "format", "protocol", "subject", "user", "db"},
          &a, err, {"save"})) {
    return kExitUsage;
  }
  std::optional<int64_t> subject;
  if (a.Flag("save") || a.Has("subject")) {
    const std::string text = a.Get("subject");
    if (!a.Flag("save") || text.empty() || !a.Has("user")) {
      err << "trial screen: saving needs --save, --subject ID and --user NAME together\n";
      return kExitUsage;
    }
    int64_t v = 0;
    for (char c : text) {
      if (c < '0' || c > '9' || v > 100000000000000) {
        err << "trial screen: --subject must be a positive number, found '" << text << "'\n";
        return kExitUsage;
      }
      v = v * 10 + (c - '0');
    }
    if (v <= 0) {
      err << "trial screen: --subject must be a positive number, found '" << text << "'\n";
      return kExitUsage;
    }
    subject = v;
  }
  if (a.positional.size() != 1) {
    err << "trial screen: give exactly one bundle file (found " << a.positional.size() << ")\n";
    return kExitUsage;
  }
  auto s_text = a.options.find("screening-date");
  if (s_text == a.options.end()) {
    err << "trial screen: --screening-date YYYY-MM-DD is required\n";
    return kExitUsage;
  }
  auto s = Date::Parse(s_text->second);
  if (!s) {
    err << "trial screen: --screening-date: " << s.error().message << "\n";
    return kExitUsage;
  }
  Date r = *s;
  if (auto it = a.options.find("randomization-date"); it != a.options.end()) {
    auto parsed = Date::Parse(it->second);
    if (!parsed) {
      err << "trial screen: --randomization-date: " << parsed.error().message << "\n";
      return kExitUsage;
    }
    r = *parsed;
  }
  std::string format = a.options.count("format") ? a.options["format"] : "json";
  if (format != "json" && format != "text") {
    err << "trial screen: --format must be json or text, found '" << format << "'\n";
    return kExitUsage;
  }
  if (r < *s) {
    err << "trial screen: the randomization date " << r.ToString()
        << " is before the screening date " << s->ToString() << "\n";
    return kExitInput;
  }
  auto protocol = LoadProtocol(a, env);
  if (!protocol) {
    err << "trial: protocol error: " << protocol.error().message << "\n";
    return kExitProtocol;
  }
  auto text = ReadFile(a.positional[0]);
  if (!text) {
    err << "trial screen: " << text.error().message << "\n";
    return kExitInput;
  }
  std::unique_ptr<store::TrialStore> db;
  if (subject) {
    auto st = OpenStore(a, env, false);
    if (!st) {
      err << "trial screen: " << st.error().message << "\n";
      return kExitDatabase;
    }
    db = std::move(*st);
  }
  auto outcome = service::ScreenSubject(**protocol, db.get(), a.Get("user"), subject.value_or(0),
                                        a.positional[0], *text, *s, r);
  if (!outcome) {
    err << "trial screen: " << outcome.error().message << "\n";
    return outcome.error().code == ErrorCode::kIo ? kExitDatabase : kExitInput;
  }
  out << (format == "json" ? outcome->json : eligibility::ToText(**protocol, outcome->screening));
  if (subject) {
    (format == "json" ? err : out)
        << "saved as screening " << outcome->saved.id << " of subject " << *subject << ", now "
        << store::StatusName(outcome->status_after) << "\n";
  }
  // Data the protocol needed but could not use (an unknown unit, a date without a day) goes to
  // stderr, so that the JSON on stdout keeps the profile's exact shape.
  if (format == "json") {
    for (const auto& w : outcome->screening.warnings) {
      err << "trial screen: warning: " << w << "\n";
    }
  }
  return kExitOk;
}

int ProtocolCheck(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  if (!ParseArgs(args, 2, {"protocol"}, &a, err)) return kExitUsage;
  if (a.positional.size() > 1) {
    err << "trial protocol check: give at most one folder\n";
    return kExitUsage;
  }
  std::string dir = a.positional.empty() ? ProtocolDir(a) : a.positional[0];
  auto result = protocol::Check(dir);
  if (!result.errors.empty()) {
    for (const auto& e : result.errors) err << e.message << "\n";
    err << result.errors.size() << " error(s) in " << dir << "\n";
    return kExitProtocol;
  }
  const auto& p = *result.protocol;
  out << dir << ": " << p.id << " protocol " << p.version << " OK: " << p.criteria.size()
      << " criteria, " << p.catalog.elements.size() << " data elements, "
      << p.catalog.parameters.size() << " parameters, " << p.catalog.definitions.size()
      << " definitions, " << p.questions.size() << " protocol questions\n";
  return kExitOk;
}

int ProtocolQuestions(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  if (!ParseArgs(args, 2, {"protocol", "format"}, &a, err)) return kExitUsage;
  if (!a.positional.empty()) {
    err << "trial protocol questions: unexpected argument '" << a.positional[0] << "'\n";
    return kExitUsage;
  }
  std::string format = a.options.count("format") ? a.options["format"] : "text";
  if (format != "json" && format != "text") {
    err << "trial protocol questions: --format must be json or text\n";
    return kExitUsage;
  }
  auto protocol = protocol::Load(ProtocolDir(a));
  if (!protocol) {
    err << "trial: protocol error: " << protocol.error().message << "\n";
    return kExitProtocol;
  }
  const auto& p = **protocol;
  auto param_value = [&](const std::string& name) {
    for (const auto& param : p.catalog.parameters) {
      if (param.name == name) return param.text;
    }
    return std::string("?");
  };
  auto param_file = [&](const std::string& name) {
    for (const auto& param : p.catalog.parameters) {
      if (param.name == name) return std::filesystem::path(param.origin).filename().string();
    }
    return std::string("?");
  };
  if (format == "json") {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const auto& q : p.questions) {
      nlohmann::ordered_json item;
      item["id"] = q.id;
      item["topic"] = q.topic;
      item["criteria"] = q.criteria;
      item["registry"] = q.registry;
      item["reading"] = q.reading;
      nlohmann::ordered_json params = nlohmann::ordered_json::object();
      for (const auto& name : q.parameters) params[name] = param_value(name);
      item["parameters"] = params;
      j.push_back(item);
    }
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  out << p.id << ": " << p.questions.size()
      << " protocol questions (readings applied until the sponsor answers)\n";
  for (const auto& q : p.questions) {
    out << "\n[" << q.id << "] " << q.topic << "\n";
    if (!q.criteria.empty()) {
      out << "  criteria:  ";
      for (size_t i = 0; i < q.criteria.size(); ++i) out << (i ? ", " : "") << q.criteria[i];
      out << "\n";
    }
    out << "  registry:  " << q.registry << "\n";
    out << "  reading:   " << q.reading << "\n";
    if (!q.parameters.empty()) {
      out << "  change it: ";
      std::vector<std::string> files;  // where the parameters are written, in order
      for (size_t i = 0; i < q.parameters.size(); ++i) {
        out << (i ? ", " : "") << q.parameters[i] << " = " << param_value(q.parameters[i]);
        std::string file = param_file(q.parameters[i]);
        if (std::find(files.begin(), files.end(), file) == files.end()) files.push_back(file);
      }
      out << " (";
      for (size_t i = 0; i < files.size(); ++i) out << (i ? ", " : "") << files[i];
      out << ")\n";
    }
  }
  return kExitOk;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const Environment& env) {
  try {
    if (args.empty()) {
      err << "trial: no command given: usage: trial <command> [options] (see 'trial help')\n";
      return kExitUsage;
    }
    const std::string& verb = args[0];
    if (verb == "help" || verb == "--help" || verb == "-h") {
      out << kUsage;
      return kExitOk;
    }
    if (verb == "screen") return Screen(args, out, err, env);
    if (verb == "protocol") {
      if (args.size() >= 2 && args[1] == "check") return ProtocolCheck(args, out, err);
      if (args.size() >= 2 && args[1] == "questions") return ProtocolQuestions(args, out, err);
      err << "trial protocol: expected 'check' or 'questions'\n";
      return kExitUsage;
    }
    if (int code = RunStoreCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunRandomizationCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunKitCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunVisitCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunDataCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunOutcomeCommand(args, out, err, env); code >= 0) return code;
    if (int code = RunSafetyCommand(args, out, err, env); code >= 0) return code;
    err << "trial: unknown command '" << verb << "' (see 'trial help')\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    // Nothing below is expected to throw; if it does, fail closed with a message, not a crash.
    err << "trial: internal error: " << e.what() << "\n";
    return kExitInput;
  }
}

}  // namespace trial::cli
