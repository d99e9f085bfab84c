// The eCRF data-entry verbs (docs/ecrf.md): `data set` (one item) and `data import` (a JSON file
// of items for one visit, all or nothing). Both validate against forms.yaml, run the visit's edit
// checks and print the stored value(s) and the query findings (service/data_entry.h).
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "service/data_entry.h"
#include "store/store.h"

namespace trial::cli {

namespace {

void PrintFindings(const std::vector<ecrf::Finding>& findings, std::ostream& out) {
  for (const auto& f : findings) {
    out << (f.severity == protocol::CheckSeverity::kQuery ? "QUERY " : "REJECT ") << f.check_id
        << " [" << f.visit;
    if (f.repeat != 0) out << " #" << f.repeat;
    out << "]: " << f.message << "\n";
  }
}

void PrintQueries(const std::vector<store::QueryRecord>& queries, std::ostream& out) {
  for (const auto& q : queries) {
    out << "query " << q.id << " opened on " << q.key.visit << " " << q.key.form << "."
        << q.key.item << " (" << q.edit_check << ")\n";
  }
}

void PrintAlerts(const std::vector<store::AlertRecord>& alerts, const std::string& error,
                 std::ostream& out, std::ostream& err) {
  for (const auto& a : alerts) {
    out << AlertLine(a) << "\n";
  }
  if (!error.empty()) {
    err << "trial: warning: the value is stored but its safety signals were not evaluated ("
        << error << "); run 'trial alert scan'\n";
  }
}

// Loads the protocol and opens the store; prints the error and returns its exit code, or -1.
int Open(const Args& a, const Environment& env, const std::string& verb, std::ostream& err,
         std::shared_ptr<const protocol::Protocol>* protocol,
         std::unique_ptr<store::TrialStore>* st) {
  auto p = LoadProtocol(a, env);
  if (!p) {
    err << "trial: protocol error: " << p.error().message << "\n";
    return kExitProtocol;
  }
  auto s = OpenStore(a, env, false);
  if (!s) {
    err << "trial " << verb << ": " << s.error().message << "\n";
    return ExitForStoreError(s.error());
  }
  *protocol = std::move(*p);
  *st = std::move(*s);
  return -1;
}

int DataSet(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const Environment& env) {
  const std::string verb = "data set";
  Args a;
  if (!ParseArgs(args, 2,
                 {"db", "user", "subject", "visit", "form", "item", "repeat", "value", "reason",
                  "protocol"},
                 &a, err)) {
    return kExitUsage;
  }
  if (!a.positional.empty()) {
    err << "trial " << verb << ": unexpected argument '" << a.positional[0] << "'\n";
    return kExitUsage;
  }
  if (!RequireOptions(a, {"subject", "visit", "form", "item", "value", "user"}, verb, err)) {
    return kExitUsage;
  }
  auto subject = ParsePositive(a.Get("subject"));
  if (!subject) {
    err << "trial " << verb << ": --subject must be a subject id, not '" << a.Get("subject")
        << "'\n";
    return kExitUsage;
  }
  int repeat = 0;
  if (a.Has("repeat")) {
    auto r = a.Get("repeat") == "0" ? std::optional<int64_t>(0) : ParsePositive(a.Get("repeat"));
    if (!r || *r > 100000) {
      err << "trial " << verb << ": --repeat must be a whole number from 0\n";
      return kExitUsage;
    }
    repeat = static_cast<int>(*r);
  }
  std::shared_ptr<const protocol::Protocol> protocol;
  std::unique_ptr<store::TrialStore> st;
  if (int code = Open(a, env, verb, err, &protocol, &st); code >= 0) return code;
  auto outcome =
      service::SetItem(*st, *protocol, a.Get("user"), *subject, a.Get("visit"), a.Get("form"),
                       a.Get("item"), a.Get("value"), a.Get("reason"), repeat);
  if (!outcome) {
    err << "trial " << verb << ": " << outcome.error().message << "\n";
    return ExitForStoreError(outcome.error());
  }
  const auto& k = outcome->stored.key;
  out << k.visit << " " << k.form << "." << k.item;
  if (k.repeat != 0) out << " #" << k.repeat;
  out << " = " << outcome->stored.value << " (version " << outcome->stored.version << ")\n";
  for (const auto& voided : outcome->stored.voided_signatures) out << voided << "\n";
  PrintFindings(outcome->findings, out);
  PrintQueries(outcome->queries, out);
  PrintAlerts(outcome->alerts, outcome->alert_error, out, err);
  return kExitOk;
}

int DataImport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const Environment& env) {
  const std::string verb = "data import";
  Args a;
  if (!ParseArgs(args, 2, {"db", "user", "subject", "visit", "reason", "protocol"}, &a, err)) {
    return kExitUsage;
  }
  if (a.positional.size() != 1) {
    err << "trial " << verb << ": expected one FILE (a JSON array of {form, item, value})\n";
    return kExitUsage;
  }
  if (!RequireOptions(a, {"subject", "visit", "user"}, verb, err)) return kExitUsage;
  auto subject = ParsePositive(a.Get("subject"));
  if (!subject) {
    err << "trial " << verb << ": --subject must be a subject id, not '" << a.Get("subject")
        << "'\n";
    return kExitUsage;
  }
  auto text = ReadFile(a.positional[0]);
  if (!text) {
    err << "trial " << verb << ": " << text.error().message << "\n";
    return kExitInput;
  }
  auto entries = service::ParseImport(*text);
  if (!entries) {
    err << "trial " << verb << ": " << a.positional[0] << ": " << entries.error().message << "\n";
    return kExitInput;
  }
  std::shared_ptr<const protocol::Protocol> protocol;
  std::unique_ptr<store::TrialStore> st;
  if (int code = Open(a, env, verb, err, &protocol, &st); code >= 0) return code;
  auto outcome = service::ImportItems(*st, *protocol, a.Get("user"), *subject, a.Get("visit"),
                                      *entries, a.Get("reason"));
  if (!outcome) {
    err << "trial " << verb << ": " << outcome.error().message << "\n";
    return ExitForStoreError(outcome.error());
  }
  if (!outcome->rejected.empty()) {
    err << "trial " << verb << ": " << outcome->rejected.size() << " problem(s), nothing stored:\n";
    for (const auto& r : outcome->rejected) err << "  " << r << "\n";
    return kExitInput;
  }
  for (const auto& s : outcome->stored) {
    out << s.key.visit << " " << s.key.form << "." << s.key.item;
    if (s.key.repeat != 0) out << " #" << s.key.repeat;
    out << " = " << s.value << " (version " << s.version << ")\n";
    for (const auto& voided : s.voided_signatures) out << voided << "\n";
  }
  PrintFindings(outcome->findings, out);
  PrintQueries(outcome->queries, out);
  PrintAlerts(outcome->alerts, outcome->alert_error, out, err);
  return kExitOk;
}

}  // namespace

int RunDataCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const Environment& env) {
  if (args.empty() || args[0] != "data") return -1;
  const std::string sub = args.size() >= 2 ? args[1] : "";
  if (sub == "set") return DataSet(args, out, err, env);
  if (sub == "import") return DataImport(args, out, err, env);
  err << "trial data: expected 'set' or 'import'\n";
  return kExitUsage;
}

}  // namespace trial::cli
