// Respiratory endpoints: time to respiratory failure or death, week-8 changes.
#include "outcomes/respiratory.h"

#include <gtest/gtest.h>

#include <string>

namespace trial::outcomes {
namespace {

const protocol::Outcomes& Promis() {
  static const protocol::Outcomes* o = [] {
    auto p = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    return new protocol::Outcomes(*(*p)->outcomes);
  }();
  return *o;
}

const Date kDay0 = *Date::Parse("2026-03-02");
Date Day(int n) { return kDay0.AddDays(n); }

std::optional<ExactQuantity> Q(const std::string& text) {
  auto q = ExactQuantity::Parse(text);
  EXPECT_TRUE(q.has_value()) << text;
  return q ? std::optional<ExactQuantity>(*q) : std::nullopt;
}

TEST(TimeToEventTest, FirstOfFailureOrDeathOrCensored) {
  auto t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(30), Day(20), Day(60));
  EXPECT_TRUE(t->event);
  EXPECT_EQ(t->days, 20);
  EXPECT_EQ(t->kind, "death");
  t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(30), std::nullopt, Day(60));
  EXPECT_EQ(t->days, 30);
  EXPECT_EQ(t->kind, "respiratory failure");
  t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(30), Day(30), Day(30));
  EXPECT_EQ(t->kind, "respiratory failure and death");
  t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, std::nullopt, std::nullopt, Day(60));
  EXPECT_FALSE(t->event);
  EXPECT_EQ(t->days, 60);
  EXPECT_EQ(t->kind, "censored");
  // Follow-up ends on day 84 (resp_follow_up): later events do not count.
  t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(85), std::nullopt, Day(100));
  EXPECT_FALSE(t->event);
  EXPECT_EQ(t->days, 84);
  t = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(84), std::nullopt, Day(100));
  EXPECT_TRUE(t->event);
  EXPECT_EQ(t->days, 84);
  auto bad = TimeToRespiratoryFailureOrDeath(Promis(), kDay0, Day(-1), std::nullopt, Day(10));
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("before day 0"), std::string::npos);
}

TEST(Week8ChangesTest, ChangesAndMissingParts) {
  LungAssessment b{Q("70 %"), Q("50 %"), Q("84 mm[Hg]"), Q("21 %"), Q("20 %")};
  LungAssessment w{Q("65.5 %"), std::nullopt, Q("10 kPa"), Q("0.21"), Q("25 %")};
  auto c = RespiratoryChangesAtWeek8(b, w);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(*c->fvc.change, *Rational::Parse("-4.5"));
  EXPECT_FALSE(c->dlco.change.has_value());
  EXPECT_EQ(c->dlco.missing, "week 8");
  EXPECT_EQ(*c->hrct.change, Rational(5));
  EXPECT_EQ(*c->pf.baseline, Rational(400));  // 84 / 0.21
  // 10 kPa = 75.006... mm[Hg] (1 mm[Hg] = 101325/760 Pa), / 0.21.
  EXPECT_GT(*c->pf.week8, *Rational::Parse("357.17"));
  EXPECT_LT(*c->pf.week8, *Rational::Parse("357.18"));
  w.hrct_extent = Q("101 %");
  auto bad = RespiratoryChangesAtWeek8(b, w);
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("week 8 hrct_extent 101.00 % is out of range"),
            std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace trial::outcomes
