// Internal to the protocol module: reads safety.yaml (docs/safety.md) for loader.cc in the same
// three steps as outcomes_loader.h: the file's parameters join the protocol's parameters before
// the protocol questions are checked, and the SAE clocks need the compiled parameter values.
// Errors: every problem is appended to the loader's error list as
// "<dir>/safety.yaml:<line>:<column>: <what>"; p.safety stays empty then.
// Thread-safety: one loader per load, on one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "protocol/parameter_file.h"
#include "protocol/protocol.h"

namespace trial::protocol::internal {

class SafetyLoader : public ParameterFile {
 public:
  SafetyLoader(std::string dir, std::vector<Error>* errors);

  // Steps 1 and 2, ReadFile and ReadParameters, are ParameterFile's.

  // Step 3 (once p.program is compiled): builds p.safety. Leaves it empty when the file is
  // absent or has errors (they are recorded).
  void Build(Protocol& p);

 private:
  std::vector<std::string> Codes(const char* key);
  std::optional<AeTerm> Term(const YAML::Node& n, const std::vector<std::string>& categories);
  std::optional<int> WholeParameter(const Protocol& p, const std::string& name, int min, int max);
  std::optional<int> DaysParameter(const Protocol& p, const std::string& name);
};

}  // namespace trial::protocol::internal
