// Civil dates, calendar durations and time stamps as FHIR writes them.
//
// The protocol speaks of days, so clinical time is a civil `Date` (no time zone). A FHIR
// `dateTime` keeps its calendar date in its own offset (never converted to UTC); its time of day
// only orders values that fall on the same date (`TimePoint`).
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trial {

// A day of the proleptic Gregorian calendar, stored as days since 1970-01-01.
class Date {
 public:
  constexpr Date() = default;
  static constexpr Date FromDays(int32_t days) {
    Date d;
    d.days_ = days;
    return d;
  }
  // Fails with kParse unless `ymd` is a valid YYYY-MM-DD (year 0001..9999).
  static Result<Date> Parse(std::string_view ymd);
  // Returns nullopt when the fields do not name a real day.
  static std::optional<Date> FromYmd(int year, int month, int day);

  constexpr int32_t days() const { return days_; }
  int year() const;
  int month() const;
  int day() const;
  std::string ToString() const;  // YYYY-MM-DD

  constexpr Date AddDays(int32_t n) const { return FromDays(days_ + n); }
  // Calendar months; a day past the end of the target month is clamped to its last day
  // (2026-03-31 minus 1 month is 2026-02-28).
  Date AddMonths(int32_t n) const;

  // Completed years of life on `on` for someone born on `*this`. A 29 February birthday is
  // reached on 1 March in common years.
  int CompletedYearsOn(Date on) const;

  static constexpr Date Max() { return FromDays(2932896); }  // 9999-12-31: an open end

  friend constexpr auto operator<=>(Date, Date) = default;

 private:
  int32_t days_ = 0;
};

// A calendar duration as the protocol writes it: `28 days`, `4 weeks`, `6 months`, `5 years`.
struct Duration {
  enum class Unit : uint8_t { kDays, kWeeks, kMonths, kYears };
  int32_t amount = 0;
  Unit unit = Unit::kDays;

  std::string ToString() const;  // "28 days"
  friend bool operator==(const Duration&, const Duration&) = default;
};

// `d` moved forward (sign +1) or back (sign -1) by `dur`, months and years by the calendar.
Date Shift(Date d, Duration dur, int sign);

// A FHIR date or dateTime: its civil date and, when given, the time of day in its own offset.
// Ordering: by date, then a date-only value is the earliest instant of its day, then by the
// instant (time of day minus offset) for values that carry a time.
struct TimePoint {
  Date date;
  std::optional<int32_t>
      utc_seconds;  // seconds of the instant relative to the date's local midnight
                    // corrected by the offset; nullopt for a date-only value

  // Parses FHIR date / dateTime: YYYY, YYYY-MM (both rejected: the protocol needs days),
  // YYYY-MM-DD, YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm). Fails with kParse naming the text.
  static Result<TimePoint> Parse(std::string_view text);

  friend bool operator==(const TimePoint&, const TimePoint&) = default;
  friend std::strong_ordering operator<=>(const TimePoint& a, const TimePoint& b);
};

}  // namespace trial
