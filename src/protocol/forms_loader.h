// Internal to the protocol module: reads forms.yaml and editchecks.yaml (docs/ecrf.md) for
// loader.cc, in steps like schedule_loader.h: the eCRF items must be in the rules catalog before
// the rules program is created (so that item("form.item") binds), and the edit checks and
// derived values are compiled once it exists.
// Thread-safety: one loader per load, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/protocol.h"
#include "rules/parser.h"

namespace trial::protocol::internal {

class FormsLoader {
 public:
  // `dir` is the protocol folder; every problem found is appended to `*errors` (which must
  // outlive the loader) as "<dir>/<file>:<line>:<column>: <what>".
  FormsLoader(std::string dir, std::vector<Error>* errors);

  // Step 1 (with the other files): parses forms.yaml and editchecks.yaml when they exist.
  // editchecks.yaml without forms.yaml is an error. A read or YAML syntax error is recorded and
  // the later steps then do nothing.
  void ReadFiles();

  // Step 2 (after elements.yaml, before the rules program is created): reads the forms and their
  // items into p.forms, declares every item in p.catalog.items ("form.item") and appends
  // editchecks.yaml's `parameters` to p.catalog.parameters.
  void Read(Protocol& p);

  // Step 3 (once p.program exists and p.schedule is built): checks that every form a visit of
  // schedule.yaml names exists, compiles the derived values, the checks generated from the
  // items' ranges and `required`, and editchecks.yaml's checks. Leaves p.forms empty when there
  // were errors in these files.
  void Build(Protocol& p);

 private:
  std::string Path(const std::string& file) const;
  void Fail(const std::string& file, const YAML::Node& at, const std::string& what);
  std::string Text(const std::string& file, const YAML::Node& parent, const char* key,
                   bool required);
  void CheckKeys(const std::string& file, const YAML::Node& map,
                 const std::vector<std::string>& known, const char* what);
  YAML::Node ReadYaml(const std::string& file, bool* present);
  rules::TextStart StartOf(const std::string& file, const YAML::Node& n) const;

  std::optional<FormDefinition> ReadForm(const Protocol& p, const YAML::Node& n);
  std::optional<ItemDefinition> ReadItem(const Protocol& p, const std::string& form,
                                         const YAML::Node& n);
  std::optional<Range> ReadRange(const YAML::Node& n, const char* what);
  void ReadDerived(const YAML::Node& n, Forms& f);
  void ReadHaq(const YAML::Node& n, Forms& f);
  void ReadChecks(const YAML::Node& n, Forms& f);

  void CheckSchedule(const Protocol& p, const Forms& f);
  void GenerateChecks(Forms& f);
  void Compile(Protocol& p, Forms& f);

  std::string dir_;
  std::vector<Error>* errors_;
  YAML::Node forms_;   // forms.yaml; undefined when absent or unreadable
  YAML::Node checks_;  // editchecks.yaml
  bool forms_present_ = false;
  bool checks_present_ = false;
  bool read_failed_ = false;
  std::map<std::string, std::vector<std::string>> lines_;  // each file's lines
  std::optional<Forms> forms_read_;                        // from step 2, completed in step 3
  std::map<std::string, rules::TextStart> rule_starts_;    // "derived:ID" / "check:ID" -> start
  std::map<std::string, std::string> rule_files_;          // same keys -> file name
  size_t errors_before_ = 0;
};

}  // namespace trial::protocol::internal
