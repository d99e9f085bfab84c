// The shared part of the parameter-bearing YAML file loaders (parameter_file.h).
#include "protocol/parameter_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace trial::protocol::internal {

namespace fs = std::filesystem;

bool IsParameterName(const std::string& s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

ParameterFile::ParameterFile(std::string dir, std::string file, std::string doc,
                             std::vector<std::string> sections, std::vector<Error>* errors)
    : dir_(std::move(dir)),
      errors_(errors),
      file_(std::move(file)),
      doc_(std::move(doc)),
      sections_(std::move(sections)) {}

std::string ParameterFile::Path() const { return (fs::path(dir_) / file_).string(); }

void ParameterFile::Fail(const YAML::Node& at, const std::string& what) {
  std::string where = Path();
  if (at.IsDefined()) {
    const YAML::Mark m = at.Mark();
    if (!m.is_null()) {
      where += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    }
  }
  errors_->push_back(Error{ErrorCode::kInvalidInput, where + ": " + what});
}

void ParameterFile::FailParameter(const std::string& name, const std::string& what) {
  auto it = param_nodes_.find(name);
  if (it != param_nodes_.end()) {
    Fail(it->second, "parameter '" + name + "' " + what);
    return;
  }
  // Defined in protocol.yaml (parameters from there carry no position).
  errors_->push_back(Error{ErrorCode::kInvalidInput, (fs::path(dir_) / "protocol.yaml").string() +
                                                         ": parameter '" + name + "' " + what});
}

std::string ParameterFile::Text(const YAML::Node& parent, const char* key, bool required) {
  if (!parent.IsMap()) return "";
  const YAML::Node n = parent[key];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) Fail(parent, std::string("missing '") + key + "'");
    return "";
  }
  if (!n.IsScalar()) {
    Fail(n, std::string("'") + key + "' must be a single value");
    return "";
  }
  return n.Scalar();
}

void ParameterFile::CheckKeys(const YAML::Node& map, const std::vector<std::string>& known,
                              const char* what) {
  if (!map.IsMap()) return;
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    Fail(kv.first, "unknown key '" + key + "' in " + what + " (expected " + list + ")");
  }
}

std::optional<rules::Value> ParameterFile::Param(const Protocol& p, const std::string& name) {
  if (p.program == nullptr) return std::nullopt;  // the compile error is already reported
  auto v = p.program->ParameterValue(name);
  if (!v) {
    errors_->push_back(Error{ErrorCode::kInvalidInput, Path() + ": missing parameter '" + name +
                                                           "' (define it under 'parameters'; see " +
                                                           doc_ + ")"});
  }
  return v;
}

void ParameterFile::ReadFile() {
  std::error_code ec;
  if (!fs::exists(Path(), ec)) return;
  std::ifstream in(Path(), std::ios::binary);
  if (!in) {
    errors_->push_back(Error{ErrorCode::kNotFound, Path() + ": cannot read the file"});
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    YAML::Node n = YAML::Load(ss.str());
    if (!n.IsMap()) {
      errors_->push_back(
          Error{ErrorCode::kParse, Path() + ": expected a mapping at the top level"});
      return;
    }
    root_ = n;
  } catch (const YAML::Exception& e) {
    errors_->push_back(Error{ErrorCode::kParse, Path() + ":" + std::to_string(e.mark.line + 1) +
                                                    ":" + std::to_string(e.mark.column + 1) + ": " +
                                                    e.msg});
  }
}

void ParameterFile::ReadParameters(Protocol& p) {
  if (!root_.IsDefined() || !root_.IsMap()) return;
  std::vector<std::string> keys = {"parameters"};
  keys.insert(keys.end(), sections_.begin(), sections_.end());
  CheckKeys(root_, keys, file_.c_str());
  const YAML::Node params = root_["parameters"];
  if (!params.IsDefined() || params.IsNull()) return;
  if (!params.IsMap()) {
    Fail(params, "'parameters' must be a mapping of name to {value, description}");
    return;
  }
  for (const auto& kv : params) {
    rules::Parameter param;
    param.name = kv.first.Scalar();
    param.origin = Path();
    if (kv.second.IsScalar()) {
      param.text = kv.second.Scalar();
    } else if (kv.second.IsMap()) {
      param.text = Text(kv.second, "value", true);
      param.description = Text(kv.second, "description", false);
    } else {
      Fail(kv.second, "parameter '" + param.name + "' needs a value");
      continue;
    }
    if (!IsParameterName(param.name)) Fail(kv.first, "'" + param.name + "' is not a valid name");
    param_nodes_[param.name] = kv.second.IsMap() ? kv.second["value"] : kv.second;
    p.catalog.parameters.push_back(std::move(param));
  }
}

}  // namespace trial::protocol::internal
