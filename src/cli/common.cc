#include "cli/common.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "protocol/protocol.h"
#include "store/store.h"

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

namespace {
thread_local std::optional<ErrorCode> g_last_error_code;
}  // namespace

std::optional<ErrorCode> TakeLastErrorCode() {
  auto code = g_last_error_code;
  g_last_error_code.reset();
  return code;
}

Result<std::shared_ptr<const protocol::Protocol>> LoadProtocol(const Args& a,
                                                               const Environment& env) {
  if (env.protocol && !a.Has("protocol")) return env.protocol;
  auto p = protocol::Load(ProtocolDir(a));
  if (!p) return std::unexpected(p.error());
  return std::shared_ptr<const protocol::Protocol>(std::move(*p));
}

int ExitForStoreError(const Error& e) {
  g_last_error_code = e.code;
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

Date Today(const Environment& env) {
  const std::string now = env.clock ? env.clock() : store::SystemClock();
  // Both clocks give RFC 3339 instants, which start with the UTC date.
  return Date::Parse(now.substr(0, 10)).value_or(Date());
}

Verb::Verb(std::string verb, std::ostream& err, const Environment& env)
    : verb_(std::move(verb)), err_(err), env_(env) {}
Verb::~Verb() = default;

bool Verb::Parse(const std::vector<std::string>& args, std::vector<std::string> allowed,
                 size_t positionals, const std::vector<std::string>& flags, size_t from) {
  allowed.insert(allowed.end(), {"db", "protocol", "user", "format"});
  if (!ParseArgs(args, from, allowed, &a_, err_, flags)) return Usage();
  if (a_.positional.size() > positionals) {
    err_ << "trial " << verb_ << ": unexpected argument '" << a_.positional[positionals] << "'\n";
    return Usage();
  }
  format_ = a_.Get("format", "text");
  if (format_ != "text" && format_ != "json") {
    err_ << "trial " << verb_ << ": --format must be text or json, not '" << format_ << "'\n";
    return Usage();
  }
  return true;
}

bool Verb::Require(std::initializer_list<const char*> names) {
  return RequireOptions(a_, names, verb_, err_) || Usage();
}

std::optional<Date> Verb::DateOption(const char* name) {
  auto d = Date::Parse(a_.Get(name));
  if (d) return *d;
  err_ << "trial " << verb_ << ": --" << name << ": " << d.error().message << "\n";
  Usage();
  return std::nullopt;
}

std::optional<int> Verb::CountOption(const char* name) {
  auto v = ParsePositive(a_.Get(name));
  if (v && *v <= 10000) return static_cast<int>(*v);
  err_ << "trial " << verb_ << ": --" << name << " must be a whole number from 1 to 10000, not '"
       << a_.Get(name) << "'\n";
  Usage();
  return std::nullopt;
}

std::optional<int64_t> Verb::IdOption(const char* name) {
  auto v = ParsePositive(a_.Get(name));
  if (v) return v;
  err_ << "trial " << verb_ << ": --" << name << " must be a positive number, not '" << a_.Get(name)
       << "'\n";
  Usage();
  return std::nullopt;
}

std::optional<int64_t> Verb::PositionalId() const {
  return a_.positional.empty() ? std::nullopt : ParsePositive(a_.positional[0]);
}

std::optional<int64_t> Verb::RequirePositionalId(const std::string& what) {
  auto id = PositionalId();
  if (id) return id;
  err_ << "trial " << verb_ << ": give the " << what << " id (a positive number)\n";
  Usage();
  return std::nullopt;
}

bool Verb::OpenProtocol() {
  auto p = LoadProtocol(a_, env_);
  if (!p) {
    err_ << "trial: protocol error: " << p.error().message << "\n";
    exit_ = kExitProtocol;
    return false;
  }
  protocol_ = std::move(*p);
  return true;
}

bool Verb::OpenStore() {
  auto st = cli::OpenStore(a_, env_, false);
  if (!st) {
    Failed(st.error());
    return false;
  }
  store_ = std::move(*st);
  return true;
}

int Verb::Failed(const Error& e) {
  err_ << "trial " << verb_ << ": " << e.message << "\n";
  exit_ = ExitForStoreError(e);
  return exit_;
}

bool Verb::Usage() {
  exit_ = kExitUsage;
  return false;
}

std::optional<std::string> Verb::site() const {
  return a_.Has("site") ? std::optional<std::string>(a_.Get("site")) : std::nullopt;
}

}  // namespace trial::cli
