// Internal to the protocol module: reads outcomes.yaml (docs/outcomes.md) for loader.cc in the
// same three steps as schedule_loader.h, because the file's parameters join the protocol's
// parameters before the protocol questions are checked, and the definitions need the compiled
// parameter values.
// Thread-safety: one loader per load, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rational.h"
#include "protocol/protocol.h"
#include "rules/value.h"

namespace trial::protocol::internal {

class OutcomesLoader {
 public:
  // `dir` is the protocol folder; every problem found is appended to `*errors` (which must
  // outlive the loader) as "<dir>/outcomes.yaml:<line>:<column>: <what>".
  OutcomesLoader(std::string dir, std::vector<Error>* errors);

  // Step 1: parses outcomes.yaml if it exists. A read or YAML syntax error is recorded, and the
  // later steps then do nothing.
  void ReadFile();

  // Step 2 (before the questions are checked): appends the file's `parameters` to
  // p.catalog.parameters (origin: the outcomes.yaml path).
  void ReadParameters(Protocol& p);

  // Step 3 (once p.program is compiled): builds p.outcomes. Leaves it empty when the file is
  // absent or has errors (they are recorded).
  void Build(Protocol& p);

 private:
  std::string Path() const;
  void Fail(const YAML::Node& at, const std::string& what);
  void FailParameter(const std::string& name, const std::string& what);
  std::string Text(const YAML::Node& parent, const char* key, bool required);
  void CheckKeys(const YAML::Node& map, const std::vector<std::string>& known, const char* what);

  std::optional<rules::Value> Param(const Protocol& p, const std::string& name);
  std::optional<std::string> Choice(const Protocol& p, const std::string& name,
                                    const std::vector<std::string>& allowed);
  // A number written as decimal text or as the name of a parameter. A parameter that is a
  // quantity is converted exactly to `unit` (required then); a literal takes no unit.
  std::optional<Rational> Exact(const Protocol& p, const YAML::Node& n, const std::string& what,
                                const std::optional<Unit>& unit = std::nullopt);
  // A duration parameter in days or weeks (or a whole number of days) written at `n`.
  std::optional<int> Days(const Protocol& p, const YAML::Node& n, const std::string& what);
  std::optional<int> Count(const YAML::Node& n, const std::string& what, int min, int max);

  void BuildTis(const Protocol& p, Outcomes& o);
  std::optional<TisMeasure> BuildMeasure(const Protocol& p, const YAML::Node& n);
  void BuildBands(const Protocol& p, const YAML::Node& n, const std::string& label, TisMeasure& m);
  void BuildImprovement(const Protocol& p, Outcomes& o);
  void BuildWorsening(const Protocol& p, Outcomes& o);
  void BuildCtcae(const Protocol& p, Outcomes& o);
  std::optional<CtcaeTerm> BuildTerm(const YAML::Node& n);
  void BuildRespiratory(const Protocol& p, Outcomes& o);

  std::string dir_;
  std::vector<Error>* errors_;
  YAML::Node root_;  // the parsed file; undefined when absent or unreadable
  std::map<std::string, YAML::Node> param_nodes_;  // this file's parameters, for error positions
};

}  // namespace trial::protocol::internal
