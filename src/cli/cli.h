// The `trial` command line: verbs, options, exit codes. A thin layer: it parses arguments, reads
// files, calls the engines and prints. Exit codes (docs/cli.md):
//   0 success (for `screen`: a verdict was produced, whatever it is)
//   1 bad input data (unreadable or malformed bundle, dates that contradict each other)
//   2 bad usage (unknown verb or option, missing or malformed option value)
//   3 the protocol folder has errors
// Thread-safety: Run is reentrant; it touches only its streams and the files it is given.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace trial::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInput = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitProtocol = 3;

// Runs one command (`args` excludes the program name). Never throws.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace trial::cli
