// UCUM units and quantities.
//
// A `Unit` is parsed from its UCUM code (case-sensitive form, e.g. `mg/dL`, `10*9/L`, `mm[Hg]`,
// `{copies}/mL`, `[IU]/mL`, `mg/kg/d`) into a factor and a dimension over the base units
// g, m, s, mol and the arbitrary unit [IU]. Annotations (`{tbl}`, `{copies}`) are dimensionless.
// Two units convert when their dimensions are equal; mass and substance concentrations convert
// only with the substance's molar mass (creatinine, bilirubin, hemoglobin: see the protocol's data
// elements). Arbitrary units never convert to anything else: `{copies}/mL` vs `[IU]/mL` fails.
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trial {

// Exponents of the base units, in the order g, m, s, mol, [IU].
struct Dimension {
  static constexpr int kMass = 0, kLength = 1, kTime = 2, kAmount = 3, kArbitrary = 4;
  std::array<int8_t, 5> exp{};

  bool IsDimensionless() const;
  std::string ToString() const;  // "g.m-3", "1" when dimensionless
  friend bool operator==(const Dimension&, const Dimension&) = default;
};

class Unit {
 public:
  Unit();  // the unity `1`
  // Parses a UCUM code. Fails with kParse naming the code and the character where it stops
  // being UCUM ("unit 'mg/xx': unknown unit 'xx' at character 4").
  static Result<Unit> Parse(std::string_view ucum);

  const std::string& code() const { return code_; }
  double factor() const { return factor_; }  // multiply to get base units
  const Dimension& dim() const { return dim_; }

  Unit Times(const Unit& other) const;
  Unit Over(const Unit& other) const;

 private:
  std::string code_;
  double factor_ = 1.0;
  Dimension dim_;
};

enum class Comparator : uint8_t { kEq, kLt, kLe, kGt, kGe };  // FHIR Quantity.comparator

struct Quantity {
  double value = 0;
  Unit unit;
  Comparator comparator = Comparator::kEq;  // `<20 {copies}/mL` is {20, {copies}/mL, kLt}

  std::string ToString() const;  // "<20 {copies}/mL", "60 kg" (shortest exact-looking decimal)
};

// `q` expressed in `to`. Fails with kType when the dimensions differ, unless
// `molar_mass_g_per_mol` is given and one side is a mass concentration (g.m-3) and the other a
// substance concentration (mol.m-3). The comparator is kept.
Result<Quantity> Convert(const Quantity& q, const Unit& to,
                         std::optional<double> molar_mass_g_per_mol = std::nullopt);

}  // namespace trial
