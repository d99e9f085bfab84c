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
#include "protocol/parameter_file.h"
#include "protocol/protocol.h"
#include "rules/value.h"

namespace trial::protocol::internal {

class OutcomesLoader : public ParameterFile {
 public:
  // `dir` is the protocol folder; every problem found is appended to `*errors` (which must
  // outlive the loader) as "<dir>/outcomes.yaml:<line>:<column>: <what>".
  OutcomesLoader(std::string dir, std::vector<Error>* errors);

  // Steps 1 and 2, ReadFile and ReadParameters, are ParameterFile's.

  // Step 3 (once p.program is compiled): builds p.outcomes. Leaves it empty when the file is
  // absent or has errors (they are recorded).
  void Build(Protocol& p);

  // Step 4 (once p.forms is built, after Build): reads `sources` into p.outcomes->sources and
  // checks every referenced form.item or derived value against forms.yaml: it exists, and its
  // type and unit fit the input ("outcomes.yaml:336:10: tis.haq: 'total' is not an item of form
  // haq_di"). Does nothing when p.outcomes or p.forms is empty (no forms.yaml,
  // or errors already reported) or the file has no `sources`.
  void BuildSources(Protocol& p);

 private:
  // What an input must be: a quantity of the kind of `unit` ("" any quantity), a number, a
  // date, or a code / yes-no item.
  enum class Want : uint8_t { kQuantity, kNumber, kDate, kCode };
  struct Resolved {
    SourceRef ref;
    const ItemDefinition* item = nullptr;  // nullptr for a derived value
    std::optional<Unit> unit;              // a quantity's (canonical) unit
  };
  std::optional<Resolved> Resolve(const Protocol& p, const YAML::Node& n, const std::string& what,
                                  Want want, const std::string& unit);
  // A scalar (the value) or a mapping {value, and the `keys` allowed of uln, lln, fio2, date,
  // equals, when, when_equals}.
  std::optional<ItemSource> ReadSource(const Protocol& p, const YAML::Node& n,
                                       const std::string& what, Want want, const std::string& unit,
                                       const std::vector<std::string>& keys);
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
};

}  // namespace trial::protocol::internal
