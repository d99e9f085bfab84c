#include "core/quantity.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace trial {
namespace {

// Bounds that keep fuzzed input harmless: no exponent beyond these, no nesting deeper.
constexpr int kMaxExponent = 24;     // per written exponent ("m24", "10*24")
constexpr int kMaxDimExponent = 48;  // per base unit in a parsed code
constexpr int kMaxDepth = 8;         // nested parentheses

// 1 mm[Hg] = 101325/760 Pa = 133.3224 Pa, so that 1 kPa = 7.50062 mm[Hg] as the protocol says
// (UCUM's rounded 133.322 Pa would give 7.50064).
constexpr double kMmHgInPa = 101325.0 / 760.0;

using Exps = std::array<int, 5>;

struct Atom {
  std::string_view code;
  double factor;  // in base units g, m, s, mol, [IU]
  Exps exp;
  bool metric;  // takes a prefix
};

constexpr Exps kNone{0, 0, 0, 0, 0};
constexpr Exps kMass{1, 0, 0, 0, 0};
constexpr Exps kLength{0, 1, 0, 0, 0};
constexpr Exps kTime{0, 0, 1, 0, 0};
constexpr Exps kAmount{0, 0, 0, 1, 0};
constexpr Exps kArbitrary{0, 0, 0, 0, 1};
constexpr Exps kVolume{0, 3, 0, 0, 0};
constexpr Exps kPressure{1, -1, -2, 0, 0};
constexpr Exps kCatalytic{0, 0, -1, 1, 0};
constexpr double kDay = 86400.0;

constexpr auto kAtoms = std::to_array<Atom>({
    {"g", 1.0, kMass, true},
    {"m", 1.0, kLength, true},
    {"s", 1.0, kTime, true},
    {"mol", 1.0, kAmount, true},
    {"eq", 1.0, kAmount, true},
    {"[IU]", 1.0, kArbitrary, true},
    {"[iU]", 1.0, kArbitrary, true},
    {"%", 1e-2, kNone, false},
    {"[ppth]", 1e-3, kNone, false},
    {"[ppm]", 1e-6, kNone, false},
    {"L", 1e-3, kVolume, true},
    {"l", 1e-3, kVolume, true},
    {"Pa", 1e3, kPressure, true},
    {"bar", 1e8, kPressure, true},
    {"m[Hg]", kMmHgInPa * 1e3 * 1e3, kPressure, true},
    {"m[H2O]", 9.80665e6, kPressure, true},
    {"N", 1e3, {1, 1, -2, 0, 0}, true},
    {"U", 1e-6 / 60.0, kCatalytic, true},
    {"kat", 1.0, kCatalytic, true},
    {"min", 60.0, kTime, false},
    {"h", 3600.0, kTime, false},
    {"d", kDay, kTime, false},
    {"wk", 7 * kDay, kTime, false},
    {"mo", 30.4375 * kDay, kTime, false},
    {"mo_j", 30.4375 * kDay, kTime, false},
    {"a", 365.25 * kDay, kTime, false},
    {"a_j", 365.25 * kDay, kTime, false},
    {"[lb_av]", 453.59237, kMass, false},
    {"[oz_av]", 28.349523125, kMass, false},
    {"[in_i]", 0.0254, kLength, false},
    {"[ft_i]", 0.3048, kLength, false},
});

struct Prefix {
  std::string_view code;
  double factor;
};

// "da" first so that it wins over "d".
constexpr std::array<Prefix, 12> kPrefixes = {{{"da", 1e1},
                                               {"G", 1e9},
                                               {"M", 1e6},
                                               {"k", 1e3},
                                               {"h", 1e2},
                                               {"d", 1e-1},
                                               {"c", 1e-2},
                                               {"m", 1e-3},
                                               {"u", 1e-6},
                                               {"n", 1e-9},
                                               {"p", 1e-12},
                                               {"f", 1e-15}}};

const Atom* FindAtom(std::string_view code) {
  for (const Atom& a : kAtoms) {
    if (a.code == code) return &a;
  }
  return nullptr;
}

// Quotes `text` for an error message: non-printable bytes as \xNN, long texts cut.
std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\x%02x", c);
      out += buf.data();
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A partial product while parsing.
struct Term {
  double factor = 1.0;
  Exps exp{};
};

class UnitParser {
 public:
  explicit UnitParser(std::string_view code) : s_(code) {}

  Result<Term> Run() {
    if (s_.empty()) return Fail(ErrorCode::kParse, "unit '': empty unit code");
    auto t = ParseTerm(0);
    if (!t) return t;
    if (i_ != s_.size()) return Bad("unexpected ')'", i_);
    return t;
  }

 private:
  std::unexpected<Error> Bad(std::string_view what, size_t pos) const {
    return Fail(ErrorCode::kParse, "unit " + Quote(s_) + ": " + std::string(what) +
                                       " at character " + std::to_string(pos + 1));
  }
  std::unexpected<Error> Unexpected(size_t pos) const {
    return Bad("unexpected character " + Quote(s_.substr(pos, 1)), pos);
  }

  Result<Term> Combine(Term acc, const Term& c, char op, size_t pos) const {
    acc.factor = op == '/' ? acc.factor / c.factor : acc.factor * c.factor;
    for (size_t k = 0; k < acc.exp.size(); ++k) {
      acc.exp[k] += op == '/' ? -c.exp[k] : c.exp[k];
      if (std::abs(acc.exp[k]) > kMaxDimExponent) return Bad("exponent out of range", pos);
    }
    if (!std::isfinite(acc.factor) || acc.factor <= 0) return Bad("factor out of range", pos);
    return acc;
  }

  // term := ['/'] component (('.' | '/') component)*
  Result<Term> ParseTerm(int depth) {
    Term acc;
    char op = '.';
    if (i_ < s_.size() && s_[i_] == '/') {
      op = '/';
      ++i_;
    }
    while (true) {
      const size_t start = i_;
      auto c = ParseComponent(depth);
      if (!c) return c;
      auto next = Combine(acc, *c, op, start);
      if (!next) return next;
      acc = *next;
      if (i_ == s_.size() || s_[i_] == ')') return acc;
      if (s_[i_] != '.' && s_[i_] != '/') return Unexpected(i_);
      op = s_[i_++];
    }
  }

  // Skips an annotation `{...}` at i_ when there is one.
  Result<bool> SkipAnnotation() {
    if (i_ >= s_.size() || s_[i_] != '{') return false;
    const size_t open = i_;
    for (++i_; i_ < s_.size(); ++i_) {
      const auto ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '}') {
        ++i_;
        return true;
      }
      if (ch == '{' || ch < 0x20 || ch >= 0x7f) return Unexpected(i_);
    }
    return Bad("unclosed annotation '{'", open);
  }

  // Reads [+|-]digits at i_; nullopt when there is no exponent.
  Result<std::optional<int>> ParseExponent() {
    const size_t start = i_;
    int sign = 1;
    if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) {
      sign = s_[i_] == '-' ? -1 : 1;
      ++i_;
    }
    const size_t digits = i_;
    int v = 0;
    while (i_ < s_.size() && IsDigit(s_[i_])) {
      v = v * 10 + (s_[i_] - '0');
      if (v > kMaxExponent) return Bad("exponent out of range", start);
      ++i_;
    }
    if (i_ == digits) {
      if (i_ == start) return std::optional<int>();
      return Bad("expected digits of an exponent", i_);
    }
    return std::optional<int>(sign * v);
  }

  // component := '(' term ')' | annotation | number | 10*exp | symbol [exponent], then an
  // optional annotation.
  Result<Term> ParseComponent(int depth) {
    if (i_ >= s_.size()) return Bad("expected a unit", i_);
    const size_t start = i_;
    const char c = s_[i_];
    Term t;
    if (c == '(') {
      if (depth >= kMaxDepth) return Bad("parentheses nested too deeply", i_);
      ++i_;
      auto inner = ParseTerm(depth + 1);
      if (!inner) return inner;
      if (i_ >= s_.size() || s_[i_] != ')') return Bad("missing ')'", i_);
      ++i_;
      t = *inner;
    } else if (c == '{') {
      // An annotation alone is the unity.
    } else if (IsDigit(c)) {
      size_t end = i_;
      while (end < s_.size() && IsDigit(s_[end])) ++end;
      const std::string_view digits = s_.substr(i_, end - i_);
      if (digits == "10" && end < s_.size() && (s_[end] == '*' || s_[end] == '^')) {
        i_ = end + 1;
        auto e = ParseExponent();
        if (!e) return std::unexpected(e.error());
        if (!*e) return Bad("expected an exponent after '10*'", i_);
        t.factor = std::pow(10.0, **e);
      } else {
        if (digits.size() > 15) return Bad("number too long", i_);
        t.factor = std::strtod(std::string(digits).c_str(), nullptr);
        if (t.factor <= 0) return Bad("a factor must be positive", i_);
        i_ = end;
      }
    } else {
      // A symbol: printable ASCII up to a delimiter, a digit or a sign; [...] taken whole.
      while (i_ < s_.size()) {
        const auto ch = static_cast<unsigned char>(s_[i_]);
        if (ch <= 0x20 || ch >= 0x7f || IsDigit(ch) ||
            std::string_view(".()/{}+-").find(static_cast<char>(ch)) != std::string_view::npos) {
          break;
        }
        if (ch == '[') {
          const size_t close = s_.find(']', i_);
          if (close == std::string_view::npos) return Bad("unclosed '['", i_);
          i_ = close + 1;
        } else {
          ++i_;
        }
      }
      const std::string_view symbol = s_.substr(start, i_ - start);
      if (symbol.empty()) return Unexpected(i_);
      auto resolved = Resolve(symbol);
      if (!resolved) return Bad("unknown unit " + Quote(symbol), start);
      auto e = ParseExponent();
      if (!e) return std::unexpected(e.error());
      const int n = e->value_or(1);
      t.factor = std::pow(resolved->factor, n);
      for (size_t k = 0; k < t.exp.size(); ++k) t.exp[k] = resolved->exp[k] * n;
      if (!std::isfinite(t.factor) || t.factor <= 0) return Bad("factor out of range", start);
    }
    auto annotated = SkipAnnotation();
    if (!annotated) return std::unexpected(annotated.error());
    if (c == '{' && !*annotated) return Unexpected(start);
    return t;
  }

  // An atom, or a prefix and a metric atom.
  static std::optional<Term> Resolve(std::string_view symbol) {
    if (const Atom* a = FindAtom(symbol)) return Term{a->factor, a->exp};
    for (const Prefix& p : kPrefixes) {
      if (symbol.size() > p.code.size() && symbol.starts_with(p.code)) {
        const Atom* a = FindAtom(symbol.substr(p.code.size()));
        if (a && a->metric) return Term{p.factor * a->factor, a->exp};
      }
    }
    return std::nullopt;
  }

  std::string_view s_;
  size_t i_ = 0;
};

int8_t SaturatedExp(int v) { return static_cast<int8_t>(std::clamp(v, -127, 127)); }

bool NeedsParentheses(const std::string& code) {
  return code.find_first_of("./") != std::string::npos;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return "0";
  std::array<char, 64> buf{};
  const double mag = std::fabs(v);
  if (mag >= 1e15 || mag < 1e-9) {
    std::snprintf(buf.data(), buf.size(), "%.6g", v);
    return buf.data();
  }
  const int e = static_cast<int>(std::floor(std::log10(mag)));
  const int decimals = std::max(0, 5 - e);
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
  std::string out = buf.data();
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

}  // namespace

bool Dimension::IsDimensionless() const {
  return std::all_of(exp.begin(), exp.end(), [](int8_t e) { return e == 0; });
}

std::string Dimension::ToString() const {
  static constexpr std::array<std::string_view, 5> kNames = {"g", "m", "s", "mol", "[IU]"};
  std::string out;
  for (size_t k = 0; k < exp.size(); ++k) {
    if (exp[k] == 0) continue;
    if (!out.empty()) out += '.';
    out += kNames[k];
    if (exp[k] != 1) out += std::to_string(exp[k]);
  }
  return out.empty() ? "1" : out;
}

Unit::Unit() : code_("1") {}

Result<Unit> Unit::Parse(std::string_view ucum) {
  auto t = UnitParser(ucum).Run();
  if (!t) return std::unexpected(t.error());
  Unit u;
  u.code_ = std::string(ucum);
  u.factor_ = t->factor;
  for (size_t k = 0; k < t->exp.size(); ++k) u.dim_.exp[k] = static_cast<int8_t>(t->exp[k]);
  return u;
}

// Exponents saturate at +-127 (unreachable from parsed units, which stay within +-48).
Unit Unit::Times(const Unit& other) const {
  Unit u;
  u.factor_ = factor_ * other.factor_;
  for (size_t k = 0; k < dim_.exp.size(); ++k) {
    u.dim_.exp[k] = SaturatedExp(int{dim_.exp[k]} + int{other.dim_.exp[k]});
  }
  if (other.code_ == "1") {
    u.code_ = code_;
  } else if (code_ == "1") {
    u.code_ = other.code_;
  } else if (other.code_.starts_with('/')) {
    u.code_ = code_ + other.code_;
  } else {
    // a.b/c reads (a.b)/c, which equals a.(b/c): no parentheses needed.
    u.code_ = code_ + "." + other.code_;
  }
  return u;
}

Unit Unit::Over(const Unit& other) const {
  Unit u;
  u.factor_ = factor_ / other.factor_;
  for (size_t k = 0; k < dim_.exp.size(); ++k) {
    u.dim_.exp[k] = SaturatedExp(int{dim_.exp[k]} - int{other.dim_.exp[k]});
  }
  if (other.code_ == "1") {
    u.code_ = code_;
  } else {
    const std::string right = NeedsParentheses(other.code_) ? "(" + other.code_ + ")" : other.code_;
    u.code_ = (code_ == "1" ? "" : code_) + "/" + right;
  }
  return u;
}

// The value with up to 6 significant digits, no trailing zeros, then the unit code (omitted for
// the unity "1").
std::string Quantity::ToString() const {
  std::string out;
  switch (comparator) {
    case Comparator::kEq:
      break;
    case Comparator::kLt:
      out = "<";
      break;
    case Comparator::kLe:
      out = "<=";
      break;
    case Comparator::kGt:
      out = ">";
      break;
    case Comparator::kGe:
      out = ">=";
      break;
  }
  out += FormatNumber(value);
  if (!unit.code().empty() && unit.code() != "1") out += " " + unit.code();
  return out;
}

namespace {

// The annotations of a unit code in order ("{tbl}/d" -> "{tbl}"): what is counted.
std::string Annotations(const std::string& code) {
  std::string out;
  size_t i = 0;
  while ((i = code.find('{', i)) != std::string::npos) {
    size_t j = code.find('}', i);
    if (j == std::string::npos) break;
    out.append(code, i, j - i + 1);
    i = j + 1;
  }
  return out;
}

}  // namespace

Result<Quantity> Convert(const Quantity& q, const Unit& to,
                         std::optional<double> molar_mass_g_per_mol) {
  // Annotations are dimensionless in UCUM, but tablets are not capsules: two units that both
  // name what they count must name the same thing.
  if (q.unit.code().find('{') != std::string::npos && to.code().find('{') != std::string::npos) {
    std::string a = Annotations(q.unit.code()), b = Annotations(to.code());
    if (a != b) {
      return Fail(ErrorCode::kType, "cannot convert " + Quote(q.unit.code()) + " to " +
                                        Quote(to.code()) + ": they count different things");
    }
  }
  const Dimension& from_dim = q.unit.dim();
  double base = q.value * q.unit.factor();
  if (from_dim != to.dim()) {
    const Dimension mass_conc{{1, -3, 0, 0, 0}};
    const Dimension substance_conc{{0, -3, 0, 1, 0}};
    const bool mass_to_substance = from_dim == mass_conc && to.dim() == substance_conc;
    const bool substance_to_mass = from_dim == substance_conc && to.dim() == mass_conc;
    if (!molar_mass_g_per_mol || !(mass_to_substance || substance_to_mass)) {
      return Fail(ErrorCode::kType, "cannot convert " + Quote(q.unit.code()) + " (" +
                                        from_dim.ToString() + ") to " + Quote(to.code()) + " (" +
                                        to.dim().ToString() + ")");
    }
    const double mm = *molar_mass_g_per_mol;
    if (!std::isfinite(mm) || mm <= 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "molar mass " + FormatNumber(mm) + " g/mol: must be a positive number");
    }
    base = mass_to_substance ? base / mm : base * mm;
  }
  Quantity out = q;
  out.unit = to;
  out.value = base / to.factor();
  return out;
}

}  // namespace trial
