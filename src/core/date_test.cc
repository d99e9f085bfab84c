#include "core/date.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trial {
namespace {

Date D(std::string_view s) {
  auto d = Date::Parse(s);
  EXPECT_TRUE(d.has_value()) << s;
  return d.value_or(Date());
}

TimePoint T(std::string_view s) {
  auto t = TimePoint::Parse(s);
  EXPECT_TRUE(t.has_value()) << s << ": " << (t ? "" : t.error().message);
  return t.value_or(TimePoint{});
}

TEST(DateTest, ParsesValidDates) {
  EXPECT_EQ(D("1970-01-01").days(), 0);
  EXPECT_EQ(D("1970-01-02").days(), 1);
  EXPECT_EQ(D("1969-12-31").days(), -1);
  EXPECT_EQ(D("9999-12-31"), Date::Max());
  EXPECT_EQ(D("2024-02-29").ToString(), "2024-02-29");
  const Date d = D("2026-03-15");
  EXPECT_EQ(d.year(), 2026);
  EXPECT_EQ(d.month(), 3);
  EXPECT_EQ(d.day(), 15);
  EXPECT_EQ(D("0001-01-01").ToString(), "0001-01-01");
}

TEST(DateTest, RejectsInvalidDates) {
  for (std::string_view s : {"",
                             "2026",
                             "2026-03",
                             "2026-3-15",
                             "2026-03-5",
                             "2026-02-30",
                             "2025-02-29",
                             "1900-02-29",
                             "2026-13-01",
                             "2026-00-10",
                             "2026-01-00",
                             "2026-04-31",
                             "0000-01-01",
                             "2026-03-15T10:00:00Z",
                             " 2026-03-15",
                             "2026-03-15 ",
                             "2026/03/15",
                             "+026-03-15",
                             "2026-0a-15",
                             "20260315"}) {
    auto d = Date::Parse(s);
    ASSERT_FALSE(d.has_value()) << s;
    EXPECT_EQ(d.error().code, ErrorCode::kParse);
    EXPECT_NE(d.error().message.find("'" + std::string(s) + "'"), std::string::npos)
        << d.error().message;
  }
  EXPECT_NE(Date::Parse("2026-02-30").error().message.find("no such day"), std::string::npos);
}

TEST(DateTest, ErrorMessagesEscapeControlBytes) {
  auto d = Date::Parse(std::string_view("2026-\n3-15", 10));
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().message.find('\n'), std::string::npos);
  EXPECT_NE(d.error().message.find("\\x0a"), std::string::npos);
}

TEST(DateTest, FromYmd) {
  EXPECT_EQ(Date::FromYmd(2026, 3, 15), D("2026-03-15"));
  EXPECT_FALSE(Date::FromYmd(2026, 2, 29).has_value());
  EXPECT_TRUE(Date::FromYmd(2000, 2, 29).has_value());
  EXPECT_FALSE(Date::FromYmd(0, 1, 1).has_value());
  EXPECT_FALSE(Date::FromYmd(10000, 1, 1).has_value());
  EXPECT_FALSE(Date::FromYmd(2026, 0, 1).has_value());
  EXPECT_FALSE(Date::FromYmd(2026, 1, -1).has_value());
}

TEST(DateTest, ToStringRoundTripsEveryDayOfSomeYears) {
  for (Date d = D("1999-12-01"); d <= D("2001-03-31"); d = d.AddDays(1)) {
    EXPECT_EQ(D(d.ToString()), d);
  }
  for (int32_t n = -719162; n <= 2932896; n += 997) {
    const Date d = Date::FromDays(n);
    EXPECT_EQ(D(d.ToString()), d) << n;
  }
}

TEST(DateTest, AddMonthsClampsToMonthEnd) {
  EXPECT_EQ(D("2026-03-15").AddMonths(-6), D("2025-09-15"));
  EXPECT_EQ(D("2026-03-31").AddMonths(-1), D("2026-02-28"));
  EXPECT_EQ(D("2024-03-31").AddMonths(-1), D("2024-02-29"));
  EXPECT_EQ(D("2026-01-31").AddMonths(1), D("2026-02-28"));
  EXPECT_EQ(D("2026-05-31").AddMonths(1), D("2026-06-30"));
  EXPECT_EQ(D("2026-01-15").AddMonths(-1), D("2025-12-15"));
  EXPECT_EQ(D("2026-12-15").AddMonths(1), D("2027-01-15"));
  EXPECT_EQ(D("2026-03-15").AddMonths(0), D("2026-03-15"));
  EXPECT_EQ(D("2026-03-15").AddMonths(-27), D("2023-12-15"));
  // Saturates at the calendar's ends instead of overflowing.
  EXPECT_EQ(D("2026-03-15").AddMonths(INT32_MAX), Date::Max());
  EXPECT_EQ(D("2026-03-15").AddMonths(INT32_MIN), D("0001-01-01"));
}

TEST(DateTest, CompletedYears) {
  const Date birth = D("2008-03-15");
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-03-15")), 18);  // the birthday itself
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-03-14")), 17);  // the day before
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-03-16")), 18);
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-12-31")), 18);
  EXPECT_EQ(birth.CompletedYearsOn(birth), 0);
}

TEST(DateTest, CompletedYearsForLeapDayBirths) {
  const Date birth = D("2008-02-29");
  // Common year: reached on 1 March, not on 28 February.
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-02-28")), 17);
  EXPECT_EQ(birth.CompletedYearsOn(D("2026-03-01")), 18);
  // Leap year: reached on 29 February.
  EXPECT_EQ(birth.CompletedYearsOn(D("2028-02-28")), 19);
  EXPECT_EQ(birth.CompletedYearsOn(D("2028-02-29")), 20);
}

TEST(DateTest, DurationToString) {
  EXPECT_EQ((Duration{28, Duration::Unit::kDays}).ToString(), "28 days");
  EXPECT_EQ((Duration{4, Duration::Unit::kWeeks}).ToString(), "4 weeks");
  EXPECT_EQ((Duration{6, Duration::Unit::kMonths}).ToString(), "6 months");
  EXPECT_EQ((Duration{5, Duration::Unit::kYears}).ToString(), "5 years");
  EXPECT_EQ((Duration{1, Duration::Unit::kDays}).ToString(), "1 day");
}

TEST(DateTest, Shift) {
  const Date s = D("2026-03-15");
  EXPECT_EQ(Shift(s, {28, Duration::Unit::kDays}, -1), D("2026-02-15"));
  EXPECT_EQ(Shift(s, {30, Duration::Unit::kDays}, -1), D("2026-02-13"));
  EXPECT_EQ(Shift(s, {4, Duration::Unit::kWeeks}, -1), D("2026-02-15"));
  EXPECT_EQ(Shift(s, {2, Duration::Unit::kWeeks}, 1), D("2026-03-29"));
  EXPECT_EQ(Shift(s, {6, Duration::Unit::kMonths}, -1), D("2025-09-15"));
  EXPECT_EQ(Shift(D("2026-03-31"), {1, Duration::Unit::kMonths}, -1), D("2026-02-28"));
  EXPECT_EQ(Shift(s, {5, Duration::Unit::kYears}, -1), D("2021-03-15"));
  EXPECT_EQ(Shift(D("2024-02-29"), {1, Duration::Unit::kYears}, 1), D("2025-02-28"));
  EXPECT_EQ(Shift(D("2024-02-29"), {4, Duration::Unit::kYears}, 1), D("2028-02-29"));
  EXPECT_EQ(Shift(s, {0, Duration::Unit::kDays}, 1), s);
  // Extreme amounts saturate.
  EXPECT_EQ(Shift(s, {INT32_MAX, Duration::Unit::kWeeks}, 1), Date::Max());
  EXPECT_EQ(Shift(s, {INT32_MAX, Duration::Unit::kYears}, -1), D("0001-01-01"));
  EXPECT_EQ(Shift(Date::Max(), {28, Duration::Unit::kDays}, 1), Date::Max());
}

TEST(TimePointTest, ParsesDatesAndDateTimes) {
  TimePoint t = T("2026-03-15");
  EXPECT_EQ(t.date, D("2026-03-15"));
  EXPECT_FALSE(t.utc_seconds.has_value());

  t = T("2026-03-15T10:30:05Z");
  EXPECT_EQ(t.date, D("2026-03-15"));
  EXPECT_EQ(t.utc_seconds, 10 * 3600 + 30 * 60 + 5);

  // The date stays in its own offset; utc_seconds subtracts the offset.
  t = T("2026-03-15T23:30:00-05:00");
  EXPECT_EQ(t.date, D("2026-03-15"));
  EXPECT_EQ(t.utc_seconds, 23 * 3600 + 30 * 60 + 5 * 3600);
  t = T("2026-03-15T01:00:00+09:30");
  EXPECT_EQ(t.date, D("2026-03-15"));
  EXPECT_EQ(t.utc_seconds, 3600 - 9 * 3600 - 30 * 60);

  t = T("2026-03-15T10:30:05.123Z");
  EXPECT_EQ(t.utc_seconds, 10 * 3600 + 30 * 60 + 5);
  EXPECT_TRUE(TimePoint::Parse("2026-03-15T10:30:05.123456789+00:00").has_value());
  EXPECT_TRUE(TimePoint::Parse("2026-03-15T00:00:00+14:00").has_value());
  EXPECT_TRUE(TimePoint::Parse("2026-03-15T00:00:00-12:00").has_value());
}

TEST(TimePointTest, RejectsYearAndMonthOnly) {
  for (std::string_view s : {"2026", "2026-03"}) {
    auto t = TimePoint::Parse(s);
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error().code, ErrorCode::kParse);
    EXPECT_NE(t.error().message.find("'" + std::string(s) + "'"), std::string::npos);
    EXPECT_NE(t.error().message.find("day"), std::string::npos) << t.error().message;
  }
}

TEST(TimePointTest, RejectsMalformed) {
  for (std::string_view s : {"",
                             "2026-02-30",
                             "2026-02-30T10:00:00Z",
                             "2026-03-15T24:00:00Z",
                             "2026-03-15T23:60:00Z",
                             "2026-03-15T23:59:61Z",
                             "2026-03-15T10:00:00",
                             "2026-03-15T10:00Z",
                             "2026-03-15T10:00:00.Z",
                             "2026-03-15T10:00:00+15:00",
                             "2026-03-15T10:00:00+05:60",
                             "2026-03-15T10:00:00+0500",
                             "2026-03-15T10:00:00Zx",
                             "2026-03-15T",
                             "2026-03-15Z",
                             "2026-03-15 10:00:00Z",
                             "2026-03-15T1:00:00Z",
                             "2026-03-15T10:00:00.1234567890Z",
                             "2026-03-15T10:00:00+05:0",
                             "abcd",
                             "2026-3",
                             "20260315"}) {
    auto t = TimePoint::Parse(s);
    ASSERT_FALSE(t.has_value()) << s;
    EXPECT_EQ(t.error().code, ErrorCode::kParse);
    EXPECT_NE(t.error().message.find("'" + std::string(s) + "'"), std::string::npos)
        << t.error().message;
  }
}

TEST(TimePointTest, Ordering) {
  // Date first, regardless of time or offset.
  EXPECT_LT(T("2026-03-14T23:59:59+14:00"), T("2026-03-15"));
  EXPECT_LT(T("2026-03-14T23:59:59-12:00"), T("2026-03-15T00:00:00+14:00"));
  // A date-only value is the earliest instant of its day.
  EXPECT_LT(T("2026-03-15"), T("2026-03-15T00:00:00Z"));
  EXPECT_LT(T("2026-03-15"), T("2026-03-15T00:00:00+14:00"));
  EXPECT_EQ(T("2026-03-15"), T("2026-03-15"));
  // Same date, by instant: 10:00+02:00 is 08:00Z.
  EXPECT_LT(T("2026-03-15T10:00:00+02:00"), T("2026-03-15T09:00:00Z"));
  EXPECT_GT(T("2026-03-15T10:00:00-02:00"), T("2026-03-15T11:00:00Z"));
  EXPECT_EQ(T("2026-03-15T10:00:00+02:00"), T("2026-03-15T08:00:00Z"));
  EXPECT_EQ(T("2026-03-15T10:00:00+02:00") <=> T("2026-03-15T08:00:00Z"),
            std::strong_ordering::equal);
  EXPECT_LT(T("2026-03-15T08:00:00Z"), T("2026-03-15T08:00:01Z"));
}

TEST(TimePointTest, NeverCrashesOnArbitraryText) {
  std::vector<std::string> inputs = {std::string("2026-03-15T10:00:00\0Z", 21),
                                     std::string(1000, '9'),
                                     "2026-03-15T10:00:00+",
                                     "2026-03-15T10:00:00+05",
                                     "2026-03-15T10:00:00-05:",
                                     "\xff\xfe-03-15",
                                     "2026-03-15T10:00:00.",
                                     "-001-01-01"};
  std::string base = "2026-03-15T10:00:00.5+05:30";
  for (size_t n = 0; n <= base.size(); ++n) inputs.push_back(base.substr(0, n));
  for (const auto& s : inputs) {
    auto t = TimePoint::Parse(s);
    if (!t) {
      EXPECT_EQ(t.error().code, ErrorCode::kParse);
    }
    (void)Date::Parse(s);
  }
}

}  // namespace
}  // namespace trial
