// Internal to the command line: argument parsing and file helpers shared by the verbs.
#pragma once

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/error.h"

namespace trial::store {
class TrialStore;
}

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

// Reads a whole file; fails with kIo naming the file and the reason.
Result<std::string> ReadFile(const std::string& path);

// Opens the store named by --db, $TRIAL_DB or "trial.db" and, unless `create`, checks its schema
// (errors from that check come back as kIo: the database cannot be used).
Result<std::unique_ptr<store::TrialStore>> OpenStore(const Args& a, const Environment& env,
                                                     bool create);

// Runs a verb that uses the store (init, site, user, subject, item, audit, backup); returns -1
// when args[0] is not one of them.
int RunStoreCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                    const Environment& env);

// Runs `randomization simulate`; returns -1 when args[0] is not `randomization`.
int RunRandomizationCommand(const std::vector<std::string>& args, std::ostream& out,
                            std::ostream& err, const Environment& env);

}  // namespace trial::cli
