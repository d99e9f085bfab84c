#include "cli/cli.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "record/fhir.h"

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace trial::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: trial <command> [options]

commands:
  screen BUNDLE.json --screening-date YYYY-MM-DD [--randomization-date YYYY-MM-DD]
         [--format json|text]
      Evaluate every inclusion and exclusion criterion on one FHIR R4 Bundle.
  protocol check [DIR]
      Load and compile a protocol folder; report every error.
  protocol questions [--format text|json]
      List the readings of ambiguous registry text that the protocol applies.
  help
      Show this text.

common options:
  --protocol DIR   protocol folder (default: $TRIAL_PROTOCOL, else protocols/promis-mda5)

exit status: 0 ok, 1 bad input data, 2 bad usage, 3 protocol errors
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
};

// Splits `args` into positionals and --name value / --name=value options. Every option takes
// a value; `allowed` lists the accepted names.
bool ParseArgs(const std::vector<std::string>& args, size_t from,
               const std::vector<std::string>& allowed, Args* out, std::ostream& err) {
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      out->positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
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

int Screen(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  if (!ParseArgs(args, 1, {"screening-date", "randomization-date", "format", "protocol"}, &a,
                 err)) {
    return kExitUsage;
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
  auto protocol = protocol::Load(ProtocolDir(a));
  if (!protocol) {
    err << "trial: protocol error: " << protocol.error().message << "\n";
    return kExitProtocol;
  }
  auto text = ReadFile(a.positional[0]);
  if (!text) {
    err << "trial screen: " << text.error().message << "\n";
    return kExitInput;
  }
  auto record = record::ReadBundle(*text);
  if (!record) {
    err << "trial screen: " << a.positional[0] << ": " << record.error().message << "\n";
    return kExitInput;
  }
  auto result = eligibility::Screen(**protocol, *record, *s, r);
  if (!result) {
    err << "trial screen: " << a.positional[0] << ": " << result.error().message << "\n";
    return kExitInput;
  }
  out << (format == "json" ? eligibility::ToJson(**protocol, *result)
                           : eligibility::ToText(**protocol, *result));
  // Data the protocol needed but could not use (an unknown unit, a date without a day) goes to
  // stderr, so that the JSON on stdout keeps the profile's exact shape.
  if (format == "json") {
    for (const auto& w : result->warnings) err << "trial screen: warning: " << w << "\n";
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
      for (size_t i = 0; i < q.parameters.size(); ++i) {
        out << (i ? ", " : "") << q.parameters[i] << " = " << param_value(q.parameters[i]);
      }
      out << " (protocol.yaml)\n";
    }
  }
  return kExitOk;
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
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
    if (verb == "screen") return Screen(args, out, err);
    if (verb == "protocol") {
      if (args.size() >= 2 && args[1] == "check") return ProtocolCheck(args, out, err);
      if (args.size() >= 2 && args[1] == "questions") return ProtocolQuestions(args, out, err);
      err << "trial protocol: expected 'check' or 'questions'\n";
      return kExitUsage;
    }
    err << "trial: unknown command '" << verb << "' (see 'trial help')\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    // Nothing below is expected to throw; if it does, fail closed with a message, not a crash.
    err << "trial: internal error: " << e.what() << "\n";
    return kExitInput;
  }
}

}  // namespace trial::cli
