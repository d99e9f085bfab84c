// Internal to the protocol module: reads schedule.yaml (docs/schedule.md) for loader.cc in two
// steps, because the file's parameters join the protocol's parameters before the protocol
// questions are checked, and the schedule itself needs the compiled parameter values.
// Thread-safety: one loader per load, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/parameter_file.h"
#include "protocol/protocol.h"
#include "rules/value.h"

namespace trial::protocol::internal {

class ScheduleLoader : public ParameterFile {
 public:
  // `dir` is the protocol folder; every problem found is appended to `*errors` (which must
  // outlive the loader) as "<dir>/schedule.yaml:<line>:<column>: <what>".
  ScheduleLoader(std::string dir, std::vector<Error>* errors);

  // Steps 1 and 2, ReadFile and ReadParameters, are ParameterFile's.

  // Step 3 (once p.program is compiled): builds p.schedule from the file and the parameters'
  // values. Leaves p.schedule empty when the file is absent or has errors (they are recorded).
  void Build(Protocol& p);

 private:
  std::vector<std::string> TextList(const YAML::Node& parent, const char* key);

  std::optional<int> DaysParam(const Protocol& p, const std::string& name, int min);
  std::optional<int> CountParam(const Protocol& p, const std::string& name, int min);
  std::optional<double> QuantityParam(const Protocol& p, const std::string& name, const char* unit);
  std::optional<std::string> StringParam(const Protocol& p, const std::string& name,
                                         const std::vector<std::string>& allowed);

  // A whole number written literally or as the name of a parameter (a number, or a duration in
  // days or weeks, counted in days).
  std::optional<int> Whole(const Protocol& p, const YAML::Node& n, const std::string& what);
  // A number written literally or as the name of a parameter; a parameter that is a quantity is
  // converted to `unit` when given.
  std::optional<double> Number(const Protocol& p, const YAML::Node& n, const std::string& what,
                               const std::optional<Unit>& unit);
  // "80 mg", or the name of a quantity parameter, converted to `unit` ("ug").
  std::optional<double> Amount(const Protocol& p, const YAML::Node& n, const std::string& what,
                               const char* unit);

  void BuildVisits(const Protocol& p, Schedule& s);
  void BuildUnscheduled(Schedule& s);
  void BuildDosing(const Protocol& p, Schedule& s);
  void BuildModification(const Protocol& p, Schedule& s);
  std::optional<LabRule> BuildLabRule(const Protocol& p, const YAML::Node& n);
  // The rules of one list (`where` names it in errors): ids unique across `ids` (updated),
  // analytes unique within the list.
  std::vector<LabRule> BuildLabRules(const Protocol& p, const YAML::Node& list,
                                     const std::string& where, std::set<std::string>& ids);

  size_t errors_before_ = 0;
};

}  // namespace trial::protocol::internal
