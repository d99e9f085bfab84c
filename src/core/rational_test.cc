#include "core/rational.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace trial {
namespace {

Rational R(std::string_view text) {
  auto r = Rational::Parse(text);
  EXPECT_TRUE(r.has_value()) << text;
  return r.value_or(Rational());
}

TEST(RationalTest, ParsesDecimalTextExactly) {
  EXPECT_EQ(R("7.5"), Rational(15, 2));
  EXPECT_EQ(R("-0.25"), Rational(-1, 4));
  EXPECT_EQ(R("10"), Rational(10));
  EXPECT_EQ(R("1e-3"), Rational(1, 1000));
  EXPECT_EQ(R("2.5E+2"), Rational(250));
  EXPECT_EQ(R("+3.10"), Rational(31, 10));
  for (const char* bad : {"", "-", ".", "1.2.3", "abc", "1e", "1e+", "12cm", "1e40"}) {
    EXPECT_FALSE(Rational::Parse(bad).has_value()) << bad;
  }
  EXPECT_EQ(Rational::Parse("x").error().code, ErrorCode::kParse);
}

TEST(RationalTest, ArithmeticIsExactWhereDoubleIsNot) {
  // (1.1 - 0.6) / 10 x 100 is 5.000000000000001 in double, exactly 5 here.
  EXPECT_GT((1.1 - 0.6) / 10 * 100, 5.0);
  EXPECT_EQ((R("1.1") - R("0.6")) / Rational(10) * Rational(100), Rational(5));
  EXPECT_EQ(R("0.3") / R("0.1"), Rational(3));
  EXPECT_EQ(Rational(1, 3) + Rational(1, 6), Rational(1, 2));
  EXPECT_EQ(-Rational(2, 4), Rational(-1, 2));
  EXPECT_LT(Rational(1, 3), Rational(34, 100));
  EXPECT_GT(Rational(-1, 3), Rational(-34, 100));
}

TEST(RationalTest, OverflowAndDivisionByZeroThrow) {
  const Rational big(std::numeric_limits<int64_t>::max());
  EXPECT_THROW(big * Rational(2), RationalOverflow);
  EXPECT_THROW(big + Rational(1), RationalOverflow);
  EXPECT_THROW(Rational(1) / Rational(0), std::domain_error);
  EXPECT_THROW(Rational(1, 0), std::domain_error);
  // Reduction keeps large but reducible products in range.
  EXPECT_EQ(Rational(1, 1000000000) * Rational(1000000000), Rational(1));
}

TEST(RationalTest, FromDoubleReadsTheShortestDecimal) {
  EXPECT_EQ(*Rational::FromDouble(0.1), Rational(1, 10));
  EXPECT_EQ(*Rational::FromDouble(4.5), Rational(9, 2));
  EXPECT_EQ(*Rational::FromDouble(1e-6), Rational(1, 1000000));
  EXPECT_FALSE(Rational::FromDouble(std::numeric_limits<double>::infinity()).has_value());
}

TEST(RationalTest, ApproximateRecoversUnitFactors) {
  EXPECT_EQ(*Rational::Approximate(1e-6 / (1e-6 / 60.0)), Rational(60));
  EXPECT_EQ(*Rational::Approximate(0.001 / 0.01), Rational(1, 10));
  EXPECT_EQ(*Rational::Approximate(-0.75), Rational(-3, 4));
}

TEST(RationalTest, PrintsFixedDecimalsAndExactText) {
  EXPECT_EQ(Rational(1, 3).ToDecimal(2), "0.33");
  EXPECT_EQ(Rational(2, 3).ToDecimal(2), "0.67");
  EXPECT_EQ(Rational(10).ToDecimal(1), "10.0");
  EXPECT_EQ(Rational(-1, 8).ToDecimal(2), "-0.13");  // half away from zero
  EXPECT_EQ(Rational(-1, 1000).ToDecimal(2), "0.00");
  EXPECT_EQ(Rational(7).ToDecimal(0), "7");
  EXPECT_EQ(Rational(15, 2).ToString(), "7.5");
  EXPECT_EQ(Rational(-3).ToString(), "-3");
  EXPECT_EQ(Rational(1, 3).ToString(), "1/3");
}

TEST(ExactQuantityTest, ParsesAndConvertsExactly) {
  auto mm = ExactQuantity::Parse("45 mm");
  ASSERT_TRUE(mm.has_value());
  auto cm = ConvertExact(*mm, *Unit::Parse("cm"));
  ASSERT_TRUE(cm.has_value());
  EXPECT_EQ(cm->value, Rational(9, 2));
  auto ukat = ConvertExact(*ExactQuantity::Parse("1.5 ukat/L"), *Unit::Parse("U/L"));
  ASSERT_TRUE(ukat.has_value());
  EXPECT_EQ(ukat->value, Rational(90));
  auto bad = ConvertExact(*ExactQuantity::Parse("1 kg"), *Unit::Parse("cm"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kType);
  EXPECT_FALSE(ExactQuantity::Parse("1 xx").has_value());
  auto unitless = ExactQuantity::Parse("3");
  ASSERT_TRUE(unitless.has_value());
  EXPECT_TRUE(unitless->unit.dim().IsDimensionless());
  EXPECT_EQ(ExactQuantity::Parse("4.5 cm")->ToString(2), "4.50 cm");
}

TEST(ExactQuantityTest, FromQuantityRejectsBounds) {
  Quantity q{20, *Unit::Parse("U/L"), Comparator::kLt};
  auto r = ExactQuantity::From(q);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  q.comparator = Comparator::kEq;
  q.value = 0.1;
  EXPECT_EQ(ExactQuantity::From(q)->value, Rational(1, 10));
}

}  // namespace
}  // namespace trial
