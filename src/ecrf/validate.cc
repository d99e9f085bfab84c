// ValidateValue and the number format of stored values (ecrf.h).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "ecrf/ecrf.h"

namespace trial::ecrf {

namespace {

using protocol::ItemType;

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::optional<double> ParseDecimal(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

// "µ" (U+00B5) and "μ" (U+03BC) typed for the UCUM prefix "u".
std::string AsciiMicro(std::string s) {
  for (const char* micro : {"\xC2\xB5", "\xCE\xBC"}) {
    for (size_t at; (at = s.find(micro)) != std::string::npos;) s.replace(at, 2, "u");
  }
  return s;
}

std::string Units(const protocol::ItemDefinition& item) {
  std::string out;
  for (const auto& u : item.units) out += (out.empty() ? "" : ", ") + u.code();
  return out;
}

std::string Codes(const protocol::ItemDefinition& item) {
  std::string out;
  for (const auto& c : item.codes) out += (out.empty() ? "" : ", ") + c.code;
  return out;
}

}  // namespace

std::string FormatNumber(double v) {
  if (v == 0) return "0";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  double rounded = std::strtod(buf, nullptr);
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, rounded, std::chars_format::fixed);
  std::string s = ec == std::errc() ? std::string(buf, end) : std::to_string(rounded);
  return s;
}

Result<Normalized> ValidateValue(const protocol::FormDefinition& form,
                                 const protocol::ItemDefinition& item, std::string_view text) {
  const std::string name = form.id + "." + item.id;
  const std::string value = Trim(text);
  auto bad = [&](const std::string& what) {
    return Fail(ErrorCode::kInvalidArgument, name + ": " + what);
  };
  if (value.empty()) return bad("no value given");
  Normalized out;
  std::optional<double> number;  // numbers and quantities, for the ranges
  std::string unit_shown;        // " kg" for quantities
  switch (item.type) {
    case ItemType::kQuantity: {
      const char* begin = value.data();
      const char* end = value.data() + value.size();
      const char* p = begin;
      if (p < end && *p == '+') ++p;
      double v = 0;
      auto [ptr, ec] = std::from_chars(p, end, v);
      if (ec != std::errc() || !std::isfinite(v)) {
        return bad("'" + value + "' is not a quantity: write a number and a unit (" + Units(item) +
                   ")");
      }
      std::string unit_text = AsciiMicro(Trim(std::string_view(ptr, end - ptr)));
      if (unit_text.empty()) {
        return bad("'" + value + "' has no unit: write it with one of " + Units(item));
      }
      auto unit = Unit::Parse(unit_text);
      if (!unit) return bad(unit.error().message + " (allowed: " + Units(item) + ")");
      bool allowed = std::any_of(item.units.begin(), item.units.end(),
                                 [&](const Unit& u) { return u.code() == unit->code(); });
      if (!allowed) {
        return bad("unit '" + unit->code() + "' is not accepted (allowed: " + Units(item) + ")");
      }
      auto converted =
          Convert(Quantity{v, *unit, Comparator::kEq}, item.canonical, item.molar_mass_g_per_mol);
      if (!converted) return bad(converted.error().message);
      number = converted->value;
      unit_shown = " " + item.canonical.code();
      out.text = FormatNumber(*number) + unit_shown;
      break;
    }
    case ItemType::kInteger: {
      std::string_view s = value;
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      long long v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
        return bad("'" + value + "' is not a whole number");
      }
      number = static_cast<double>(v);
      out.text = std::to_string(v);
      break;
    }
    case ItemType::kDecimal: {
      number = ParseDecimal(value);
      if (!number) return bad("'" + value + "' is not a number");
      out.text = FormatNumber(*number);
      break;
    }
    case ItemType::kDate: {
      auto d = Date::Parse(value);
      if (!d) return bad("'" + value + "' is not a date YYYY-MM-DD");
      out.text = d->ToString();
      break;
    }
    case ItemType::kCode: {
      auto it = std::find_if(item.codes.begin(), item.codes.end(),
                             [&](const protocol::CodeOption& c) { return c.code == value; });
      if (it == item.codes.end()) {
        return bad("'" + value + "' is not one of the codes " + Codes(item));
      }
      out.text = it->code;
      break;
    }
    case ItemType::kYesNo: {
      std::string lower = value;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "yes" || lower == "true") {
        out.text = "yes";
      } else if (lower == "no" || lower == "false") {
        out.text = "no";
      } else {
        return bad("'" + value + "' is not yes or no");
      }
      break;
    }
    case ItemType::kText:
      out.text = value;
      break;
  }
  if (number) {
    const std::string shown = FormatNumber(*number) + unit_shown;
    if (!item.hard.Contains(*number)) {
      return bad(shown + " is outside the hard range " + item.hard.ToString() + unit_shown);
    }
    if (!item.soft.Contains(*number)) {
      Finding f;
      f.check_id = name + ".soft";
      f.kind = protocol::CheckKind::kRange;
      f.severity = protocol::CheckSeverity::kQuery;
      f.items = {name};
      f.message = item.label + " outside the soft range " + item.soft.ToString() + unit_shown +
                  " (" + name + " = " + shown + ")";
      out.query = std::move(f);
    }
  }
  return out;
}

Result<Normalized> ValidateEntry(const protocol::Protocol& protocol, const std::string& form,
                                 const std::string& item, std::string_view text) {
  if (!protocol.forms) {
    return Fail(ErrorCode::kInvalidInput, "the protocol defines no eCRF forms (forms.yaml)");
  }
  const protocol::FormDefinition* f = protocol.forms->FindForm(form);
  if (!f) return Fail(ErrorCode::kNotFound, "unknown form '" + form + "'");
  const protocol::ItemDefinition* i = f->FindItem(item);
  if (!i) return Fail(ErrorCode::kNotFound, "form " + form + " has no item '" + item + "'");
  return ValidateValue(*f, *i, text);
}

}  // namespace trial::ecrf
