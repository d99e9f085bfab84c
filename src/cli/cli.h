// The `trial` command line: verbs, options, exit codes. A thin layer: it parses arguments, reads
// files, calls the engines and the store, and prints. Exit codes (docs/cli.md):
//   0 success (for `screen`: a verdict was produced, whatever it is)
//   1 bad input data or a refused request (malformed bundle, unknown subject, forbidden change)
//   2 bad usage (unknown verb or option, missing or malformed option value)
//   3 the protocol folder has errors
//   4 the database cannot be used (missing, unreadable, locked, newer schema)
//   5 `audit verify` found a broken audit trail
// Thread-safety: Run is reentrant; it touches only its streams and the files it is given.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/error.h"

namespace trial::store {
class Connection;
}
namespace trial::protocol {
struct Protocol;
}

namespace trial::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInput = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitProtocol = 3;
inline constexpr int kExitDatabase = 4;
inline constexpr int kExitAuditBroken = 5;

// What the command line needs from the outside world, wired by app/ (ARCHITECTURE.md §4: only
// app/ knows the concrete storage implementations).
struct Environment {
  // Opens the database `target` (a file path for SQLite, or a postgresql:// URL). `create`
  // allows creating a missing SQLite file (trial init).
  std::function<Result<std::unique_ptr<store::Connection>>(const std::string& target, bool create)>
      open_database;
  // A consistent online copy of an SQLite database into the new file `out`.
  std::function<Result<void>(store::Connection& db, const std::string& out)> backup;
  // The wall clock: UTC instants, RFC 3339 with microseconds (store::Clock). Empty: the system
  // clock. Tests pass a simulated one, which also sets "today" for visits and doses.
  std::function<std::string()> clock;
  // A protocol compiled once by a long-running caller (trial serve). Set: every verb uses it
  // unless given --protocol; empty: each verb loads the protocol folder.
  std::shared_ptr<const protocol::Protocol> protocol;
};

// Runs one command (`args` excludes the program name). Never throws.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const Environment& env = {});

// The code of the last error a verb run on this thread refused a request with (a store or
// service error: kNotFound, kPermissionDenied, ...), then cleared; nullopt when the last failure
// was a usage or file problem with no such code. For the HTTP layer's status mapping.
std::optional<ErrorCode> TakeLastErrorCode();

}  // namespace trial::cli
