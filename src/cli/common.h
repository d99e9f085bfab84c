// Internal to the command line: argument parsing and file helpers shared by the verbs.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/date.h"
#include "core/error.h"

namespace trial::protocol {
struct Protocol;
}
namespace trial::store {
class TrialStore;
struct AlertRecord;
}  // namespace trial::store

namespace trial::cli {

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  std::vector<std::string> flags;  // options without a value (e.g. --save)

  bool Has(const std::string& name) const { return options.count(name) > 0; }
  bool Flag(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
};

// Splits `args[from..]` into positionals, `--name value` / `--name=value` options (names in
// `allowed`) and value-less flags (names in `flags`). On a bad option prints one line to `err`
// and returns false.
bool ParseArgs(const std::vector<std::string>& args, size_t from,
               const std::vector<std::string>& allowed, Args* out, std::ostream& err,
               const std::vector<std::string>& flags = {});

// The protocol folder: --protocol, else $TRIAL_PROTOCOL, else protocols/promis-mda5 found near
// the working directory, the executable or the source tree.
std::string ProtocolDir(const Args& a);

// A positive whole number (ids, limits) of at most 18 digits, or nullopt.
std::optional<int64_t> ParsePositive(const std::string& text);

// True when every option of `names` was given; otherwise prints "trial VERB: --NAME is required".
bool RequireOptions(const Args& a, std::initializer_list<const char*> names,
                    const std::string& verb, std::ostream& err);

// The exit code of a store error: kExitDatabase for the database itself, kExitInput for a
// refused request.
int ExitForStoreError(const Error& e);

// Reads a whole file; fails with kIo naming the file and the reason.
Result<std::string> ReadFile(const std::string& path);

// Opens the store named by --db, $TRIAL_DB or "trial.db" and, unless `create`, checks its schema
// (errors from that check come back as kIo: the database cannot be used).
Result<std::unique_ptr<store::TrialStore>> OpenStore(const Args& a, const Environment& env,
                                                     bool create);

// The protocol: the environment's compiled one unless --protocol names a folder, else loaded
// from ProtocolDir(a).
Result<std::shared_ptr<const protocol::Protocol>> LoadProtocol(const Args& a,
                                                               const Environment& env);

// Today's UTC date by the environment's clock (the system clock when it has none).
Date Today(const Environment& env);

// Everything one store verb needs (kit, visit, dose, query, review, sign): its options, the
// protocol, the store, and the exit code once something failed (the message already printed on
// `err`). Each method returning bool or optional prints the problem and sets the exit code.
class Verb {
 public:
  Verb(std::string verb, std::ostream& err, const Environment& env);
  ~Verb();

  // Parses args[`from`..] with `allowed` options (plus --db, --protocol, --user, --format) and
  // `flags`; at most `positionals` positionals; --format text (default) or json.
  bool Parse(const std::vector<std::string>& args, std::vector<std::string> allowed,
             size_t positionals = 0, const std::vector<std::string>& flags = {}, size_t from = 2);
  bool Require(std::initializer_list<const char*> names);
  std::optional<Date> DateOption(const char* name);   // a YYYY-MM-DD option
  std::optional<int> CountOption(const char* name);   // a whole number in [1, 10000]
  std::optional<int64_t> IdOption(const char* name);  // a positive id (subject, query)
  // The first positional as a positive id, or nullopt (none, or not a positive number).
  std::optional<int64_t> PositionalId() const;
  // PositionalId(), else prints "trial VERB: give the WHAT id (a positive number)" and sets the
  // usage exit code.
  std::optional<int64_t> RequirePositionalId(const std::string& what);
  bool OpenProtocol();
  bool OpenStore();
  // Prints a refused request or a database error; returns the exit code.
  int Failed(const Error& e);
  bool Usage();  // sets the usage exit code; returns false

  const Args& args() const { return a_; }
  bool json() const { return format_ == "json"; }
  std::string user() const { return a_.Get("user"); }
  std::optional<std::string> site() const;
  int exit_code() const { return exit_; }
  const protocol::Protocol& protocol() const { return *protocol_; }
  store::TrialStore& store() { return *store_; }
  Date today() const { return Today(env_); }
  std::ostream& err() { return err_; }
  const std::string& name() const { return verb_; }

 private:
  std::string verb_;
  std::ostream& err_;
  const Environment& env_;
  Args a_;
  std::string format_ = "text";
  int exit_ = kExitOk;
  std::shared_ptr<const protocol::Protocol> protocol_;
  std::unique_ptr<store::TrialStore> store_;
};

// Runs a verb that uses the store (init, site, user, subject, item, audit, backup); returns -1
// when args[0] is not one of them.
int RunStoreCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Environment& env);

// Runs `randomization simulate|golive|verify`, `randomize` and `unblind`; returns -1 for any
// other verb.
int RunRandomizationCommand(const std::vector<std::string>& args, std::ostream& out,
                            std::ostream& err, const Environment& env);

// Runs `kit generate|ship|receive|status|dispense|list|stock`; returns -1 for any other verb.
int RunKitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env);

// Runs `visit list|record`, `dose plan|record|withhold`, `deviation list`,
// `query list|open|answer|close|reopen|history`, `review sdv|lock|unlock|show` and `sign`;
// returns -1 for any other verb.
int RunVisitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Environment& env);
// Runs `data set|import` (eCRF data entry, docs/ecrf.md); returns -1 for any other verb.
int RunDataCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const Environment& env);
// Runs `outcomes SUBJECT` and `outcomes --input FILE` (docs/outcomes.md); -1 for other verbs.
int RunOutcomeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                      const Environment& env);

// Runs `ae add|update|list|show`, `sae report|ack`, `alerts`, `alert ack|confirm|dismiss|scan`
// and `outbox list|deliver` (docs/safety.md); returns -1 for any other verb.
int RunSafetyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const Environment& env);
// One alert as a line: "alert 3  open  possible_ae  subject 1 (S1) at W2  <details>".
std::string AlertLine(const store::AlertRecord& a);

}  // namespace trial::cli
