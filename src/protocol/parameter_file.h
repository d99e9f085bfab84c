// Internal to the protocol module: the shared part of the loaders of optional YAML files that
// bring their own `parameters:` (schedule.yaml, outcomes.yaml). It reads the file, checks its
// top-level keys, adds its parameters to the protocol's catalog (the same namespace as
// protocol.yaml's), and gives the derived loaders located errors ("<dir>/<file>:<line>:<column>:
// <what>") and parameter lookups.
// Thread-safety: one loader per load, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/protocol.h"
#include "rules/value.h"

namespace trial::protocol::internal {

class ParameterFile {
 public:
  // Step 1 (with the other files): parses the file if it exists. A read or YAML syntax error is
  // recorded, and the later steps then do nothing.
  void ReadFile();

  // Step 2 (before the questions are checked): checks the top-level keys and appends the file's
  // `parameters` to p.catalog.parameters (origin: the file's path).
  void ReadParameters(Protocol& p);

 protected:
  // `file` is the file name in the protocol folder `dir`, `doc` the page that documents it,
  // `sections` the top-level keys it may have besides `parameters`; every problem is appended
  // to `*errors`, which must outlive the loader.
  ParameterFile(std::string dir, std::string file, std::string doc,
                std::vector<std::string> sections, std::vector<Error>* errors);

  std::string Path() const;
  void Fail(const YAML::Node& at, const std::string& what);
  // An error about parameter `name`, at its place in this file, else in protocol.yaml.
  void FailParameter(const std::string& name, const std::string& what);
  // The scalar under `key` of map `parent` ("" when absent; an error when required or not a
  // scalar).
  std::string Text(const YAML::Node& parent, const char* key, bool required);
  void CheckKeys(const YAML::Node& map, const std::vector<std::string>& known, const char* what);
  // A parameter's compiled value, or nullopt after recording "missing parameter".
  std::optional<rules::Value> Param(const Protocol& p, const std::string& name);

  std::string dir_;
  std::vector<Error>* errors_;
  YAML::Node root_;  // the parsed file; undefined when absent or unreadable

 private:
  std::string file_;
  std::string doc_;
  std::vector<std::string> sections_;
  std::map<std::string, YAML::Node> param_nodes_;  // this file's parameters, for error positions
};

// A name of the rules language: a letter or '_', then letters, digits or '_'.
bool IsParameterName(const std::string& s);

}  // namespace trial::protocol::internal
