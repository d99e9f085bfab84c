#include "http/api.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "http/auth.h"
#include "http/server.h"
#include "service/permissions.h"

namespace trial::http {

namespace fs = std::filesystem;
using nlohmann::json;

Result<json> ParseObject(const std::string& body) {
  json j;
  try {
    j = json::parse(body.empty() ? std::string("{}") : body);
  } catch (const json::parse_error& e) {
    return Fail(ErrorCode::kParse, std::string("the body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

Result<std::map<std::string, std::string>> StringFields(const json& object,
                                                        const std::vector<std::string>& allowed) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return Fail(ErrorCode::kInvalidArgument, "unknown field '" + k + "'");
    }
    if (!v.is_string()) {
      return Fail(ErrorCode::kInvalidArgument, "field '" + k + "' must be a string");
    }
    out[k] = v.get<std::string>();
  }
  return out;
}

ApiResult ErrorResult(const Error& e) {
  return {HttpStatus(e.code), {{"error", {{"code", ErrorName(e.code)}, {"message", e.message}}}}};
}

Api::Api(cli::Environment env, std::string temp_dir)
    : env_(std::move(env)), temp_dir_(std::move(temp_dir)) {}

namespace {

bool Contains(const std::vector<std::string_view>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

// A field's value as the verb's option text: strings as they are, whole numbers in decimal.
Result<std::string> OptionText(const std::string& name, const json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() > 10000) {
      return Fail(ErrorCode::kInvalidArgument,
                  "field '" + name + "' is longer than 10000 characters");
    }
    if (s.rfind("--", 0) == 0) {
      return Fail(ErrorCode::kInvalidArgument, "field '" + name + "' may not start with '--'");
    }
    return s;
  }
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number_float()) {
    std::ostringstream os;
    os << v.get<double>();
    return os.str();
  }
  return Fail(ErrorCode::kInvalidArgument, "field '" + name + "' must be a string or a number");
}

// Removes the file when the request ends.
struct TempFile {
  std::string path;
  ~TempFile() {
    if (!path.empty()) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

// The subject a request names (field "subject", or the id of subject/show and subject/status).
std::optional<int64_t> SubjectOf(const Endpoint& e, const std::map<std::string, std::string>& f) {
  std::string text;
  if (auto it = f.find("subject"); it != f.end()) text = it->second;
  if (e.path.rfind("subject/", 0) == 0 && e.positional == "id" && f.count("id")) {
    text = f.at("id");
  }
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(text);
}

}  // namespace

ApiResult Api::Call(const Caller& caller, const Endpoint& e, const json& fields,
                    store::TrialStore& st) const {
  const store::User& user = caller.user;
  if (auto a = service::Authorize(user, e.Action()); !a) return ErrorResult(a.error());

  // 1. The fields: known names, right types, required ones present.
  std::map<std::string, std::string> options;
  std::vector<std::string> flags;
  std::optional<json> file_value;
  for (const auto& [name, value] : fields.items()) {
    if (!e.file_field.empty() && name == e.file_field) {
      file_value = value;
      continue;
    }
    if (Contains(e.flags, name)) {
      if (!value.is_boolean() && !(value.is_string() && (value == "true" || value == "false"))) {
        return ErrorResult(
            {ErrorCode::kInvalidArgument, "field '" + name + "' must be true or false"});
      }
      if (value == true || value == "true") flags.push_back(name);
      continue;
    }
    if (!Contains(e.fields, name) && name != e.positional) {
      return ErrorResult({ErrorCode::kInvalidArgument,
                          "unknown field '" + name + "' for /api/v1/" + std::string(e.path)});
    }
    auto text = OptionText(name, value);
    if (!text) return ErrorResult(text.error());
    options[name] = *text;
  }
  for (auto required : e.required) {
    std::string name(required);
    if (name == "password") continue;  // checked by the server before
    if (!options.count(name) && !(name == e.file_field && file_value)) {
      return ErrorResult({ErrorCode::kInvalidArgument, "field '" + name + "' is required"});
    }
  }

  // 2. Sites: a site-scoped caller sees only their sites' subjects and data.
  if (store::IsSiteScoped(user.role)) {
    if (auto it = options.find("site"); it != options.end()) {
      if (auto a = service::AuthorizeSite(user, it->second); !a) return ErrorResult(a.error());
    } else if (Contains(e.fields, "site") && !e.acts_as_user) {
      // A verb that does not scope by user (subject list): scope it here.
      if (user.sites.size() != 1) {
        std::string list;
        for (const auto& s : user.sites) list += (list.empty() ? "" : ", ") + s;
        return ErrorResult({ErrorCode::kInvalidArgument, "give the site (one of " + list + ")"});
      }
      options["site"] = user.sites[0];
    }
    if (auto subject = SubjectOf(e, options)) {
      auto s = st.FindSubject(*subject);
      if (!s) return ErrorResult(s.error());
      if (*s) {
        if (auto a = service::AuthorizeSite(user, (*s)->site_id); !a) {
          return ErrorResult({ErrorCode::kPermissionDenied,
                              "subject " + std::to_string(*subject) + " is not at your sites"});
        }
      }
    }
  }

  // 3. The verb's arguments; --user, --format and the database are the server's.
  std::vector<std::string> args(e.command.begin(), e.command.end());
  TempFile temp;
  if (file_value) {
    auto name = RandomToken(12);
    if (!name) return ErrorResult(name.error());
    temp.path = (fs::path(temp_dir_) / (*name + ".json")).string();
    std::ofstream f(temp.path, std::ios::binary);
    f << file_value->dump();
    if (!f) return ErrorResult({ErrorCode::kIo, "cannot write a temporary file"});
  }
  if (!e.positional.empty()) {
    if (file_value && e.positional == e.file_field) {
      args.push_back(temp.path);
    } else if (auto it = options.find(std::string(e.positional)); it != options.end()) {
      args.push_back(it->second);
    }
  }
  for (const auto& [name, value] : options) {
    if (name == e.positional) continue;
    args.push_back("--" + name);
    args.push_back(value);
  }
  if (file_value && e.positional != e.file_field) {
    args.push_back("--" + std::string(e.file_field));
    args.push_back(temp.path);
  }
  for (const auto& f : flags) args.push_back("--" + f);
  if (e.acts_as_user) args.insert(args.end(), {"--user", user.username});
  if (e.json) args.insert(args.end(), {"--format", "json"});

  std::ostringstream out, err;
  (void)cli::TakeLastErrorCode();
  int code = cli::Run(args, out, err, env_);
  auto last = cli::TakeLastErrorCode();
  std::string message = err.str();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (!temp.path.empty()) {
    // Never show the server's temporary path: name the field instead.
    for (size_t p; (p = message.find(temp.path)) != std::string::npos;) {
      message.replace(p, temp.path.size(), std::string(e.file_field));
    }
  }
  if (code != cli::kExitOk) {
    if (code == cli::kExitUsage) return ErrorResult({ErrorCode::kInvalidArgument, message});
    if (code == cli::kExitProtocol) return ErrorResult({ErrorCode::kInternal, message});
    if (code == cli::kExitDatabase) return ErrorResult({ErrorCode::kIo, message});
    if (code == cli::kExitAuditBroken) {
      return {409, {{"error", {{"code", "audit_broken"}, {"message", out.str() + message}}}}};
    }
    return ErrorResult({last.value_or(ErrorCode::kInvalidInput), message});
  }
  json body;
  std::string text = out.str();
  try {
    body = e.json ? json::parse(text) : json{{"text", text}};
  } catch (const json::parse_error&) {
    body = json{{"text", text}};
  }
  if (!message.empty() && body.is_object()) body["warnings"] = message;
  return {e.method == Method::kPost ? 201 : 200, body};
}

}  // namespace trial::http
