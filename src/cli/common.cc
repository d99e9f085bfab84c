#include "cli/common.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace trial::cli {

namespace fs = std::filesystem;

bool Args::Flag(const std::string& name) const {
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<int64_t> ParsePositive(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v <= 0) return std::nullopt;
  return v;
}

bool RequireOptions(const Args& a, std::initializer_list<const char*> names,
                    const std::string& verb, std::ostream& err) {
  for (const char* n : names) {
    if (!a.Has(n)) {
      err << "trial " << verb << ": --" << n << " is required\n";
      return false;
    }
  }
  return true;
}

int ExitForStoreError(const Error& e) {
  return e.code == ErrorCode::kIo || e.code == ErrorCode::kInternal ? kExitDatabase : kExitInput;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

// Splits `args` into positionals and --name value / --name=value options. Every option takes
// a value; `allowed` lists the accepted names.
bool ParseArgs(const std::vector<std::string>& args, size_t from,
               const std::vector<std::string>& allowed, Args* out, std::ostream& err,
               const std::vector<std::string>& flags) {
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
      out->flags.push_back(name);
      continue;
    }
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      err << "trial: unknown option --" << name << " (see 'trial help')\n";
      return false;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        err << "trial: option --" << name << " needs a value\n";
        return false;
      }
      value = args[++i];
    }
    if (out->options.count(name)) {
      err << "trial: option --" << name << " is given twice\n";
      return false;
    }
    out->options[name] = value;
  }
  return true;
}

namespace {

std::string DefaultProtocolDir() {
  if (const char* env = std::getenv("TRIAL_PROTOCOL"); env && *env) return env;
  std::vector<fs::path> candidates = {fs::path("protocols") / "promis-mda5"};
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / ".." / "protocols" / "promis-mda5");
    candidates.push_back(exe.parent_path() / ".." / "share" / "trial" / "protocols" /
                         "promis-mda5");
  }
  candidates.push_back(fs::path(TRIAL_SOURCE_DIR) / "protocols" / "promis-mda5");
  for (const auto& c : candidates) {
    if (fs::is_directory(c, ec)) return c.lexically_normal().string();
  }
  return candidates.front().string();
}

}  // namespace

std::string ProtocolDir(const Args& a) {
  auto it = a.options.find("protocol");
  return it != a.options.end() ? it->second : DefaultProtocolDir();
}

// Reads a whole file; fails with a message naming the file and the reason.
Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    return Fail(ErrorCode::kIo, path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kIo, path + ": cannot read the file (" +
                                    (fs::exists(path, ec) ? "permission denied" : "no such file") +
                                    ")");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Fail(ErrorCode::kIo, path + ": read error");
  return ss.str();
}

}  // namespace trial::cli
