#include "core/date.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace trial {
namespace {

constexpr int64_t kMinDays = -719162;  // 0001-01-01
constexpr int64_t kMaxDays = 2932896;  // 9999-12-31

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

// Reads exactly `n` ASCII digits at `pos`; nullopt when any of them is not a digit or missing.
std::optional<int> Digits(std::string_view s, size_t pos, size_t n) {
  if (pos > s.size() || s.size() - pos < n) return std::nullopt;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!IsDigit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int LastDay(int64_t y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Ymd {
  int64_t y;
  int m;
  int d;
};

Ymd CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

Date Saturated(int64_t days) {
  return Date::FromDays(static_cast<int32_t>(std::clamp(days, kMinDays, kMaxDays)));
}

constexpr std::string_view kDateTimeForm =
    "expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)";

}  // namespace

Result<Date> Date::Parse(std::string_view ymd) {
  const auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kParse, "date " + Quote(ymd) + ": " + std::string(why));
  };
  if (ymd.size() != 10 || ymd[4] != '-' || ymd[7] != '-') return bad("expected YYYY-MM-DD");
  const auto y = Digits(ymd, 0, 4), m = Digits(ymd, 5, 2), d = Digits(ymd, 8, 2);
  if (!y || !m || !d) return bad("expected YYYY-MM-DD");
  const auto date = FromYmd(*y, *m, *d);
  if (!date) return bad("no such day");
  return *date;
}

std::optional<Date> Date::FromYmd(int year, int month, int day) {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1 || day > LastDay(year, month)) {
    return std::nullopt;
  }
  return FromDays(static_cast<int32_t>(DaysFromCivil(year, month, day)));
}

int Date::year() const { return static_cast<int>(CivilFromDays(days_).y); }
int Date::month() const { return CivilFromDays(days_).m; }
int Date::day() const { return CivilFromDays(days_).d; }

std::string Date::ToString() const {
  const Ymd c = CivilFromDays(days_);
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%04lld-%02d-%02d", static_cast<long long>(c.y), c.m, c.d);
  return buf.data();
}

// Saturates at 0001-01-01 and 9999-12-31.
Date Date::AddMonths(int32_t n) const {
  const Ymd c = CivilFromDays(days_);
  const int64_t total = c.y * 12 + (c.m - 1) + n;
  const int64_t y = (total >= 0 ? total : total - 11) / 12;
  const int m = static_cast<int>(total - y * 12) + 1;
  if (y < 1) return Saturated(kMinDays);
  if (y > 9999) return Saturated(kMaxDays);
  return Saturated(DaysFromCivil(y, m, std::min(c.d, LastDay(y, m))));
}

int Date::CompletedYearsOn(Date on) const {
  const Ymd b = CivilFromDays(days_), o = CivilFromDays(on.days_);
  int64_t years = o.y - b.y;
  if (o.m < b.m || (o.m == b.m && o.d < b.d)) --years;  // 29 Feb: reached on 1 Mar
  return static_cast<int>(years);
}

std::string Duration::ToString() const {
  std::string_view name;
  switch (unit) {
    case Unit::kDays:
      name = "day";
      break;
    case Unit::kWeeks:
      name = "week";
      break;
    case Unit::kMonths:
      name = "month";
      break;
    case Unit::kYears:
      name = "year";
      break;
  }
  std::string out = std::to_string(amount) + " " + std::string(name);
  if (amount != 1 && amount != -1) out += "s";
  return out;
}

// Saturates at 0001-01-01 and 9999-12-31; a `sign` of 0 leaves `d` unchanged.
Date Shift(Date d, Duration dur, int sign) {
  const int64_t s = sign < 0 ? -1 : (sign > 0 ? 1 : 0);
  const int64_t amount = static_cast<int64_t>(dur.amount) * s;
  switch (dur.unit) {
    case Duration::Unit::kDays:
      return Saturated(d.days() + amount);
    case Duration::Unit::kWeeks:
      return Saturated(d.days() + 7 * amount);
    case Duration::Unit::kMonths:
    case Duration::Unit::kYears: {
      const int64_t months = dur.unit == Duration::Unit::kYears ? 12 * amount : amount;
      if (months > int64_t{12} * 10000) return Saturated(kMaxDays);
      if (months < -int64_t{12} * 10000) return Saturated(kMinDays);
      return d.AddMonths(static_cast<int32_t>(months));
    }
  }
  return d;
}

Result<TimePoint> TimePoint::Parse(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::kParse, "dateTime " + Quote(text) + ": " + std::string(why));
  };
  if (text.size() == 4 && Digits(text, 0, 4)) {
    return bad("a year alone is not precise enough; the protocol needs a day (YYYY-MM-DD)");
  }
  if (text.size() == 7 && Digits(text, 0, 4) && text[4] == '-' && Digits(text, 5, 2)) {
    return bad("a year and month are not precise enough; the protocol needs a day (YYYY-MM-DD)");
  }
  if (text.size() < 10) return bad(kDateTimeForm);
  auto date = Date::Parse(text.substr(0, 10));
  if (!date) {
    const bool shaped = text[4] == '-' && text[7] == '-' && Digits(text, 0, 4) &&
                        Digits(text, 5, 2) && Digits(text, 8, 2);
    return bad(shaped ? "no such day" : kDateTimeForm);
  }
  TimePoint tp{*date, std::nullopt};
  if (text.size() == 10) return tp;

  if (text[10] != 'T' || text.size() < 19 || text[13] != ':' || text[16] != ':') {
    return bad(kDateTimeForm);
  }
  const auto hh = Digits(text, 11, 2), mm = Digits(text, 14, 2), ss = Digits(text, 17, 2);
  if (!hh || !mm || !ss) return bad(kDateTimeForm);
  if (*hh > 23 || *mm > 59 || *ss > 60) return bad("no such time of day");  // 60: leap second
  size_t i = 19;
  if (i < text.size() && text[i] == '.') {
    const size_t start = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    if (i == start || i - start > 9) return bad("fractional seconds need 1 to 9 digits");
  }
  // Fractional seconds do not take part in the ordering.
  if (i == text.size()) return bad("a time of day needs an offset (Z, +hh:mm or -hh:mm)");
  int offset = 0;
  if (text[i] == 'Z') {
    ++i;
  } else if (text[i] == '+' || text[i] == '-') {
    const int sign = text[i] == '-' ? -1 : 1;
    const auto oh = Digits(text, i + 1, 2), om = Digits(text, i + 4, 2);
    if (!oh || !om || text[i + 3] != ':') return bad(kDateTimeForm);
    if (*oh > 14 || *om > 59 || (*oh == 14 && *om != 0)) return bad("no such offset");
    offset = sign * (*oh * 3600 + *om * 60);
    i += 6;
  } else {
    return bad(kDateTimeForm);
  }
  if (i != text.size()) return bad(kDateTimeForm);
  tp.utc_seconds = *hh * 3600 + *mm * 60 + *ss - offset;
  return tp;
}

std::strong_ordering operator<=>(const TimePoint& a, const TimePoint& b) {
  if (auto c = a.date <=> b.date; c != 0) return c;
  // A date-only value (nullopt) is the earliest instant of its day.
  return a.utc_seconds <=> b.utc_seconds;
}

}  // namespace trial
