// Exact rational numbers and exact quantities, for decisions at published band edges.
//
// Clinical scores are decided at edges such as "> 5 %" or "> 3.0 x ULN". A floating-point formula
// can land a value that is exactly on an edge on the wrong side of it (0.3 / 0.1 is
// 2.9999999999999996 in double), so the outcome and safety engines compute with `Rational`: an
// int64 numerator over an int64 denominator, always reduced, the denominator positive.
//
// Arithmetic operators are exact. A result whose numerator or denominator does not fit in int64
// throws `RationalOverflow`, and division by zero throws `std::domain_error`; both stay inside the
// engines, whose public functions turn them into an `Error` (never thrown across a module
// boundary). Values parsed from clinical input (a VAS in cm, an enzyme in U/L) are small, so
// overflow means bad input, not a limit of the method.
//
// `ExactQuantity` is a Rational with a UCUM unit; `ConvertExact` converts it exactly between
// units of the same dimension (the unit factor ratio is recovered as a rational, so 45 mm is
// exactly 4.5 cm and 1 ukat/L exactly 60 U/L).
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/quantity.h"

namespace trial {

struct RationalOverflow : std::overflow_error {
  using std::overflow_error::overflow_error;
};

class Rational {
 public:
  constexpr Rational() = default;                         // 0
  constexpr Rational(int64_t integer) : num_(integer) {}  // NOLINT: implicit from integers
  // num/den reduced; throws std::domain_error when den is 0, RationalOverflow when the reduced
  // value does not fit (only for INT64_MIN).
  Rational(int64_t num, int64_t den);

  // Parses decimal text: an optional sign, digits with an optional '.' and fraction, and an
  // optional exponent ("7.5", "-0.25", "10", "1e-3", "2.5E+2"). Fails with kParse naming the text
  // when it is not such a number or does not fit exactly.
  static Result<Rational> Parse(std::string_view text);
  // The value of `v` as its shortest round-trip decimal text (0.1 -> 1/10, 4.5 -> 9/2): the number
  // a person typed, not the binary approximation. Fails with kInvalidArgument when `v` is not
  // finite or its decimal does not fit.
  static Result<Rational> FromDouble(double v);
  // The simplest fraction p/q with q <= max_den within rel_tol of `v` (continued fractions); for
  // unit factors, which are ratios of small integers that double arithmetic blurs (1e-6/60).
  // Fails with kInvalidArgument when none exists.
  static Result<Rational> Approximate(double v, int64_t max_den = 1000000000,
                                      double rel_tol = 1e-12);

  int64_t num() const { return num_; }
  int64_t den() const { return den_; }
  int Sign() const { return num_ > 0 ? 1 : (num_ < 0 ? -1 : 0); }
  bool IsZero() const { return num_ == 0; }
  double ToDouble() const { return static_cast<double>(num_) / static_cast<double>(den_); }

  // Rounded half away from zero to `places` decimals (0..9): Rational(1, 3).ToDecimal(2) is
  // "0.33", Rational(10).ToDecimal(1) is "10.0". For display only: decisions use the exact value.
  std::string ToDecimal(int places) const;
  // Shortest exact text: "7.5", "-3", "40", or "1/3" when the decimal does not terminate.
  std::string ToString() const;

  friend Rational operator+(const Rational& a, const Rational& b);
  friend Rational operator-(const Rational& a, const Rational& b);
  friend Rational operator*(const Rational& a, const Rational& b);
  friend Rational operator/(const Rational& a, const Rational& b);  // throws when b is 0
  Rational operator-() const;
  friend bool operator==(const Rational&, const Rational&) = default;  // reduced: exact equality
  friend std::strong_ordering operator<=>(const Rational& a, const Rational& b);

 private:
  int64_t num_ = 0;
  int64_t den_ = 1;
};

// A quantity with an exact value.
struct ExactQuantity {
  Rational value;
  Unit unit;

  // "4.5 cm", "250 U/L", "3" (unitless: the unit 1). Fails with kParse on a bad number or unit.
  static Result<ExactQuantity> Parse(std::string_view text);
  // From a core Quantity (value read as its shortest decimal). Fails with kInvalidInput when the
  // quantity has a comparator (`<20`): a bound is not a measured value.
  static Result<ExactQuantity> From(const Quantity& q);

  std::string ToString(int places) const;  // "4.50 cm"
};

// `q` in `to`, exactly. Fails with kType when the dimensions differ ("'mg/dL' cannot be
// converted to 'U/L'"), kInvalidArgument when the factor ratio is not a usable fraction or the
// result overflows.
Result<ExactQuantity> ConvertExact(const ExactQuantity& q, const Unit& to);

}  // namespace trial
