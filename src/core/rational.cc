// Exact rationals (rational.h).
#include "core/rational.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>

namespace trial {
namespace {

__extension__ typedef __int128 Wide;  // GCC and Clang: exact products of two int64

constexpr Wide kMax = std::numeric_limits<int64_t>::max();

Wide Gcd(Wide a, Wide b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    Wide t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Reduces num/den (den != 0) computed in 128 bits and narrows it, throwing when it does not fit.
Rational Narrow(Wide num, Wide den) {
  if (den == 0) throw std::domain_error("division by zero");
  if (den < 0) {
    num = -num;
    den = -den;
  }
  Wide g = Gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (num > kMax || num < -kMax || den > kMax) {
    throw RationalOverflow("number too large for exact arithmetic");
  }
  return Rational(static_cast<int64_t>(num), static_cast<int64_t>(den));
}

}  // namespace

Rational::Rational(int64_t num, int64_t den) {
  if (den == 0) throw std::domain_error("division by zero");
  Wide n = num, d = den;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  Wide g = Gcd(n, d);
  if (g > 1) {
    n /= g;
    d /= g;
  }
  if (n > kMax || n < -kMax || d > kMax) throw RationalOverflow("number too large");
  num_ = static_cast<int64_t>(n);
  den_ = static_cast<int64_t>(d);
}

Rational operator+(const Rational& a, const Rational& b) {
  return Narrow(Wide(a.num_) * b.den_ + Wide(b.num_) * a.den_, Wide(a.den_) * b.den_);
}
Rational operator-(const Rational& a, const Rational& b) {
  return Narrow(Wide(a.num_) * b.den_ - Wide(b.num_) * a.den_, Wide(a.den_) * b.den_);
}
Rational operator*(const Rational& a, const Rational& b) {
  return Narrow(Wide(a.num_) * b.num_, Wide(a.den_) * b.den_);
}
Rational operator/(const Rational& a, const Rational& b) {
  if (b.num_ == 0) throw std::domain_error("division by zero");
  return Narrow(Wide(a.num_) * b.den_, Wide(a.den_) * b.num_);
}
Rational Rational::operator-() const { return Rational(-num_, den_); }

std::strong_ordering operator<=>(const Rational& a, const Rational& b) {
  // Denominators are positive, so cross-multiplying keeps the order; 128 bits cannot overflow.
  return Wide(a.num_) * b.den_ <=> Wide(b.num_) * a.den_;
}

Result<Rational> Rational::Parse(std::string_view text) {
  auto bad = [&]() {
    return Fail(ErrorCode::kParse, "'" + std::string(text) + "' is not a number");
  };
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  Wide num = 0;
  int scale = 0;  // decimal places taken from the fraction
  int digits = 0;
  bool point = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    if (num > Wide(kMax) * 10) return bad();  // far too many digits
    num = num * 10 + (c - '0');
    ++digits;
    if (point) ++scale;
  }
  if (digits == 0) return bad();
  int exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && text[i] == '+') ++i;  // from_chars takes '-' but not '+'
    auto [ptr, ec] = std::from_chars(text.data() + i, text.data() + text.size(), exponent);
    if (ec != std::errc() || ptr != text.data() + text.size()) return bad();
    i = text.size();
  }
  if (i != text.size()) return bad();
  int power = exponent - scale;
  if (power > 18 || power < -18) return bad();
  Wide den = 1;
  for (; power > 0; --power) num *= 10;
  for (; power < 0; ++power) den *= 10;
  if (negative) num = -num;
  try {
    return Narrow(num, den);
  } catch (const RationalOverflow&) {
    return Fail(ErrorCode::kParse, "'" + std::string(text) + "' does not fit exactly");
  }
}

Result<Rational> Rational::FromDouble(double v) {
  if (!std::isfinite(v)) return Fail(ErrorCode::kInvalidArgument, "not a finite number");
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  if (ec != std::errc()) return Fail(ErrorCode::kInvalidArgument, "cannot format the number");
  auto r = Parse(std::string_view(buf, ptr - buf));
  if (!r) return Fail(ErrorCode::kInvalidArgument, r.error().message);
  return r;
}

Result<Rational> Rational::Approximate(double v, int64_t max_den, double rel_tol) {
  if (!std::isfinite(v) || std::fabs(v) > 9e18) {
    return Fail(ErrorCode::kInvalidArgument, "not a finite number in range");
  }
  // Convergents h/k of the continued fraction of |v|; the first within tolerance is the simplest.
  const double x0 = std::fabs(v);
  double x = x0;
  Wide h_prev = 1, h = static_cast<Wide>(std::floor(x));
  Wide k_prev = 0, k = 1;
  for (int step = 0; step < 64; ++step) {
    const double approx = static_cast<double>(h) / static_cast<double>(k);
    if (std::fabs(approx - x0) <= rel_tol * std::max(x0, 1e-300)) {
      return Narrow(v < 0 ? -h : h, k);
    }
    const double frac = x - std::floor(x);
    if (frac == 0) break;
    x = 1.0 / frac;
    const Wide a = static_cast<Wide>(std::floor(x));
    const Wide h_next = a * h + h_prev, k_next = a * k + k_prev;
    if (k_next > max_den || h_next > kMax) break;
    h_prev = h;
    h = h_next;
    k_prev = k;
    k = k_next;
  }
  return Fail(ErrorCode::kInvalidArgument, "no simple fraction is close enough to this number");
}

std::string Rational::ToDecimal(int places) const {
  if (places < 0) places = 0;
  if (places > 9) places = 9;
  Wide scale = 1;
  for (int i = 0; i < places; ++i) scale *= 10;
  Wide n = Wide(num_) * scale;
  const bool negative = n < 0;
  if (negative) n = -n;
  Wide q = n / den_, r = n % den_;
  if (2 * r >= den_) ++q;  // half away from zero
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(q % 10)));
    q /= 10;
  } while (q > 0);
  while (static_cast<int>(digits.size()) <= places) digits.insert(digits.begin(), '0');
  if (places > 0) digits.insert(digits.end() - places, '.');
  const bool all_zero = digits.find_first_not_of("0.") == std::string::npos;
  return (negative && !all_zero ? "-" : "") + digits;
}

std::string Rational::ToString() const {
  // Terminating decimals have a denominator of the form 2^a 5^b.
  int64_t d = den_;
  int twos = 0, fives = 0;
  while (d % 2 == 0) d /= 2, ++twos;
  while (d % 5 == 0) d /= 5, ++fives;
  if (d != 1 || std::max(twos, fives) > 9) {
    return std::to_string(num_) + "/" + std::to_string(den_);
  }
  std::string s = ToDecimal(std::max(twos, fives));
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

Result<ExactQuantity> ExactQuantity::Parse(std::string_view text) {
  const size_t space = text.find(' ');
  auto value = Rational::Parse(text.substr(0, space));
  if (!value) return std::unexpected(value.error());
  ExactQuantity q{*value, Unit()};
  if (space != std::string_view::npos) {
    auto unit = Unit::Parse(text.substr(space + 1));
    if (!unit) return std::unexpected(unit.error());
    q.unit = *unit;
  }
  return q;
}

Result<ExactQuantity> ExactQuantity::From(const Quantity& q) {
  if (q.comparator != Comparator::kEq) {
    return Fail(ErrorCode::kInvalidInput,
                "'" + q.ToString() + "' is a bound, not a measured value");
  }
  auto v = Rational::FromDouble(q.value);
  if (!v) return std::unexpected(v.error());
  return ExactQuantity{*v, q.unit};
}

std::string ExactQuantity::ToString(int places) const {
  std::string s = value.ToDecimal(places);
  if (unit.code().empty() || unit.code() == "1") return s;
  return s + " " + unit.code();
}

Result<ExactQuantity> ConvertExact(const ExactQuantity& q, const Unit& to) {
  if (!(q.unit.dim() == to.dim())) {
    return Fail(ErrorCode::kType,
                "'" + q.unit.code() + "' cannot be converted to '" + to.code() + "'");
  }
  if (q.unit.factor() == to.factor()) return ExactQuantity{q.value, to};
  auto ratio = Rational::Approximate(q.unit.factor() / to.factor());
  if (!ratio) {
    return Fail(ErrorCode::kInvalidArgument,
                "no exact factor from '" + q.unit.code() + "' to '" + to.code() + "'");
  }
  try {
    return ExactQuantity{q.value * *ratio, to};
  } catch (const std::exception&) {
    return Fail(ErrorCode::kInvalidArgument, "'" + q.ToString(6) + "' is too large");
  }
}

}  // namespace trial
