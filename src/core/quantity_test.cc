#include "core/quantity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace trial {
namespace {

Unit U(std::string_view code) {
  auto u = Unit::Parse(code);
  EXPECT_TRUE(u.has_value()) << code << ": " << (u ? "" : u.error().message);
  return u.value_or(Unit());
}

Dimension Dim(int g, int m, int s, int mol, int iu) {
  Dimension d;
  d.exp = {static_cast<int8_t>(g), static_cast<int8_t>(m), static_cast<int8_t>(s),
           static_cast<int8_t>(mol), static_cast<int8_t>(iu)};
  return d;
}

// `value` in `from` converted to `to`, NaN on failure.
double In(double value, std::string_view from, std::string_view to,
          std::optional<double> molar_mass = std::nullopt) {
  auto q = Convert(Quantity{value, U(from)}, U(to), molar_mass);
  EXPECT_TRUE(q.has_value()) << from << " -> " << to << ": " << (q ? "" : q.error().message);
  return q ? q->value : std::nan("");
}

void ExpectRel(double actual, double expected, double rel = 1e-9) {
  EXPECT_NEAR(actual, expected, std::fabs(expected) * rel) << actual << " vs " << expected;
}

TEST(DimensionTest, ToString) {
  EXPECT_EQ(Dimension().ToString(), "1");
  EXPECT_TRUE(Dimension().IsDimensionless());
  EXPECT_EQ(Dim(1, -3, 0, 0, 0).ToString(), "g.m-3");
  EXPECT_EQ(Dim(1, -1, -2, 0, 0).ToString(), "g.m-1.s-2");
  EXPECT_EQ(Dim(0, -3, 0, 0, 1).ToString(), "m-3.[IU]");
  EXPECT_EQ(Dim(0, 2, 0, 1, 0).ToString(), "m2.mol");
  EXPECT_FALSE(Dim(0, 2, 0, 1, 0).IsDimensionless());
}

TEST(UnitTest, DefaultIsUnity) {
  Unit u;
  EXPECT_EQ(u.code(), "1");
  EXPECT_EQ(u.factor(), 1.0);
  EXPECT_TRUE(u.dim().IsDimensionless());
}

TEST(UnitTest, ParsesFactorsAndDimensions) {
  struct Case {
    std::string_view code;
    double factor;
    Dimension dim;
  };
  const Dimension mass = Dim(1, 0, 0, 0, 0), none, time = Dim(0, 0, 1, 0, 0),
                  per_volume = Dim(0, -3, 0, 0, 0), mass_conc = Dim(1, -3, 0, 0, 0),
                  subst_conc = Dim(0, -3, 0, 1, 0), pressure = Dim(1, -1, -2, 0, 0),
                  volume = Dim(0, 3, 0, 0, 0);
  const std::vector<Case> cases = {
      {"g", 1, mass},
      {"kg", 1e3, mass},
      {"mg", 1e-3, mass},
      {"ug", 1e-6, mass},
      {"[lb_av]", 453.59237, mass},
      {"%", 0.01, none},
      {"1", 1, none},
      {"Pa", 1e3, pressure},
      {"kPa", 1e6, pressure},
      {"mm[Hg]", 101325.0 / 760.0 * 1e3, pressure},
      {"L", 1e-3, volume},
      {"l", 1e-3, volume},
      {"dL", 1e-4, volume},
      {"mL", 1e-6, volume},
      {"uL", 1e-9, volume},
      {"mm3", 1e-9, volume},
      {"m3", 1, volume},
      {"/uL", 1e9, per_volume},
      {"/mm3", 1e9, per_volume},
      {"10*9/L", 1e12, per_volume},
      {"10^9/L", 1e12, per_volume},
      {"10*3/uL", 1e12, per_volume},
      {"10*6/uL", 1e15, per_volume},
      {"g/L", 1e3, mass_conc},
      {"g/dL", 1e4, mass_conc},
      {"mg/dL", 10, mass_conc},
      {"umol/L", 1e-3, subst_conc},
      {"mmol/L", 1, subst_conc},
      {"mol", 1, Dim(0, 0, 0, 1, 0)},
      {"U", 1e-6 / 60, Dim(0, 0, -1, 1, 0)},
      {"U/L", 1e-3 / 60, Dim(0, -3, -1, 1, 0)},
      {"{copies}/mL", 1e6, per_volume},
      {"[IU]/mL", 1e6, Dim(0, -3, 0, 0, 1)},
      {"{tbl}", 1, none},
      {"{tbl}/d", 1.0 / 86400, Dim(0, 0, -1, 0, 0)},
      {"mg/d", 1e-3 / 86400, Dim(1, 0, -1, 0, 0)},
      {"mg/kg/d", 1e-6 / 86400, Dim(0, 0, -1, 0, 0)},
      {"mL/min", 1e-6 / 60, Dim(0, 3, -1, 0, 0)},
      {"s", 1, time},
      {"min", 60, time},
      {"h", 3600, time},
      {"d", 86400, time},
      {"wk", 7 * 86400, time},
      {"mo", 30.4375 * 86400, time},
      {"a", 365.25 * 86400, time},
      {"m", 1, Dim(0, 1, 0, 0, 0)},
      {"cm", 1e-2, Dim(0, 1, 0, 0, 0)},
      {"m2", 1, Dim(0, 2, 0, 0, 0)},
      {"kg.m-2", 1e3, Dim(1, -2, 0, 0, 0)},
      {"kg/m2", 1e3, Dim(1, -2, 0, 0, 0)},
      {"mg/(kg.d)", 1e-6 / 86400, Dim(0, 0, -1, 0, 0)},
      {"ng/mL", 1e-3, mass_conc},
      {"pg", 1e-12, mass},
      {"hL", 0.1, volume},
      {"dag", 10, mass},
      {"10*-3", 1e-3, none},
      {"m[H2O]", 9806650, pressure},
  };
  for (const Case& c : cases) {
    auto u = Unit::Parse(c.code);
    ASSERT_TRUE(u.has_value()) << c.code << ": " << u.error().message;
    EXPECT_EQ(u->code(), c.code);
    ExpectRel(u->factor(), c.factor, 1e-12);
    EXPECT_EQ(u->dim(), c.dim) << c.code << " has " << u->dim().ToString();
  }
}

TEST(UnitTest, ErrorsNameTheCodeAndPosition) {
  auto u = Unit::Parse("mg/xx");
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code, ErrorCode::kParse);
  EXPECT_EQ(u.error().message, "unit 'mg/xx': unknown unit 'xx' at character 4");

  EXPECT_EQ(Unit::Parse("").error().code, ErrorCode::kParse);
  EXPECT_NE(Unit::Parse("mg/").error().message.find("at character 4"), std::string::npos);
  EXPECT_NE(Unit::Parse("MG").error().message.find("unknown unit 'MG'"), std::string::npos);
}

TEST(UnitTest, RejectsNonUcum) {
  for (std::string_view s : {"",
                             "MG",
                             "mg/",
                             "/",
                             ".",
                             "mg//L",
                             "mg..L",
                             "mg dL",
                             " mg",
                             "mg ",
                             "kmin",
                             "k",
                             "mmHg",
                             "umol/l/",
                             "(",
                             "()",
                             "(mg",
                             "mg)",
                             "{",
                             "{tbl",
                             "{a{b}}",
                             "[lb_av",
                             "10*",
                             "10*x",
                             "m+",
                             "m-",
                             "2mg",
                             "0",
                             "0/L",
                             "mg/0",
                             "m999",
                             "10*99",
                             "μg",
                             "ug\xff",
                             "[IU",
                             "da",
                             "dmin",
                             "kd",
                             "m[Hg]]",
                             "10**3",
                             "mg/dL{",
                             "}",
                             "1234567890123456",
                             "x",
                             "L-"}) {
    auto u = Unit::Parse(s);
    EXPECT_FALSE(u.has_value()) << "'" << s << "' parsed";
    if (!u) {
      EXPECT_EQ(u.error().code, ErrorCode::kParse);
      EXPECT_EQ(u.error().message.find('\xff'), std::string::npos);
    }
  }
}

TEST(UnitTest, CapsExponentsAndNesting) {
  EXPECT_TRUE(Unit::Parse("m24").has_value());
  EXPECT_FALSE(Unit::Parse("m25").has_value());
  EXPECT_FALSE(Unit::Parse("m24.m24.m24").has_value());
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "(";
  deep += "g";
  for (int i = 0; i < 100; ++i) deep += ")";
  EXPECT_FALSE(Unit::Parse(deep).has_value());
  EXPECT_TRUE(Unit::Parse("((g))").has_value());
  std::string chain = "10*24";
  for (int i = 0; i < 40; ++i) chain += ".10*24";
  EXPECT_FALSE(Unit::Parse(chain).has_value());  // factor overflows
}

TEST(UnitTest, NeverCrashesOnArbitraryText) {
  const std::string alphabet("mgkLd/.()[]{}*^+-0129Hu%_ \xff\0", 28);
  std::vector<std::string> inputs;
  for (char a : alphabet) {
    for (char b : alphabet) {
      for (char c : alphabet) inputs.push_back(std::string{a, b, c});
    }
  }
  for (const auto& s : inputs) {
    auto u = Unit::Parse(s);
    if (u) {
      EXPECT_TRUE(std::isfinite(u->factor()) && u->factor() > 0) << s;
    } else {
      EXPECT_EQ(u.error().code, ErrorCode::kParse);
    }
  }
}

TEST(UnitTest, TimesAndOver) {
  const Unit mg_kg_d = U("mg").Over(U("kg")).Over(U("d"));
  const Unit parsed = U("mg/kg/d");
  ExpectRel(mg_kg_d.factor(), parsed.factor(), 1e-15);
  EXPECT_EQ(mg_kg_d.dim(), parsed.dim());
  EXPECT_EQ(mg_kg_d.code(), "mg/kg/d");

  const Unit mg_per_d = U("mg").Times(U("/d"));
  ExpectRel(mg_per_d.factor(), U("mg/d").factor(), 1e-15);
  EXPECT_EQ(mg_per_d.dim(), U("mg/d").dim());

  const Unit dose = U("mg/kg/d").Times(U("kg"));
  ExpectRel(dose.factor(), U("mg/d").factor(), 1e-15);
  EXPECT_EQ(dose.dim(), U("mg/d").dim());
  // Every code Times/Over writes parses back to the same unit.
  for (const Unit& u : {mg_kg_d, mg_per_d, dose, U("mg").Over(U("kg.d")), U("1").Over(U("uL")),
                        U("g").Over(U("/L")), U("kg").Times(U("1"))}) {
    const Unit back = U(u.code());
    ExpectRel(back.factor(), u.factor(), 1e-15);
    EXPECT_EQ(back.dim(), u.dim()) << u.code();
  }
  ExpectRel(U("mg").Over(U("kg.d")).factor(), U("mg/kg/d").factor(), 1e-15);
}

TEST(ConvertTest, SameDimension) {
  ExpectRel(In(6.5, "10*9/L", "10*3/uL"), 6.5);
  ExpectRel(In(6.5, "10*9/L", "/uL"), 6500);
  ExpectRel(In(6500, "/uL", "/mm3"), 6500);
  ExpectRel(In(6500, "/mm3", "10*9/L"), 6.5);
  ExpectRel(In(6.5, "10^9/L", "10*9/L"), 6.5);
  ExpectRel(In(125, "g/L", "g/dL"), 12.5);
  ExpectRel(In(60, "mm[Hg]", "kPa"), 7.99934, 1e-6);
  ExpectRel(In(1, "kPa", "mm[Hg]"), 7.50062, 1e-6);
  ExpectRel(In(100, "[lb_av]", "kg"), 45.359237);
  ExpectRel(In(70000, "g", "kg"), 70);
  ExpectRel(In(1, "a", "mo"), 12);
  ExpectRel(In(1, "wk", "d"), 7);
  ExpectRel(In(50, "%", "1"), 0.5);
  ExpectRel(In(3, "{tbl}/d", "/d"), 3);
  ExpectRel(In(1, "U/L", "umol/min/L"), 1);
}

TEST(ConvertTest, MolarMass) {
  // creatinine: 1 mg/dL = 88.4 umol/L
  const double creatinine = 10000.0 / 88.4;
  ExpectRel(creatinine, 113.12217194570135);
  ExpectRel(In(1, "mg/dL", "umol/L", creatinine), 88.4);
  ExpectRel(In(88.4, "umol/L", "mg/dL", creatinine), 1);
  // bilirubin: 1 mg/dL = 17.1 umol/L
  const double bilirubin = 10000.0 / 17.1;
  ExpectRel(In(1, "mg/dL", "umol/L", bilirubin), 17.1);
  ExpectRel(In(17.1, "umol/L", "mg/dL", bilirubin), 1);
  // hemoglobin: 1 mmol/L = 16.11 g/L
  const double hemoglobin = 16110.0;
  ExpectRel(In(1, "mmol/L", "g/L", hemoglobin), 16.11);
  ExpectRel(In(16.11, "g/L", "mmol/L", hemoglobin), 1);
  ExpectRel(In(8.5, "mmol/L", "g/dL", hemoglobin), 13.6935);

  // Without a molar mass they do not convert.
  auto q = Convert(Quantity{1, U("mg/dL")}, U("umol/L"));
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, ErrorCode::kType);
  // A molar mass does not make other dimensions convert.
  EXPECT_EQ(Convert(Quantity{1, U("mg")}, U("mol"), 100.0).error().code, ErrorCode::kType);
  // A nonsense molar mass is the caller's error.
  EXPECT_EQ(Convert(Quantity{1, U("mg/dL")}, U("umol/L"), 0.0).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Convert(Quantity{1, U("mg/dL")}, U("umol/L"), std::nan("")).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(ConvertTest, IncompatibleDimensionsFail) {
  auto q = Convert(Quantity{20, U("{copies}/mL")}, U("[IU]/mL"));
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, ErrorCode::kType);
  EXPECT_NE(q.error().message.find("{copies}/mL"), std::string::npos);
  EXPECT_NE(q.error().message.find("[IU]/mL"), std::string::npos);

  EXPECT_EQ(Convert(Quantity{1, U("mg")}, U("mm[Hg]")).error().code, ErrorCode::kType);
  EXPECT_EQ(Convert(Quantity{1, U("[IU]/mL")}, U("{copies}/mL"), 100.0).error().code,
            ErrorCode::kType);
  EXPECT_EQ(Convert(Quantity{1, U("%")}, U("mg")).error().code, ErrorCode::kType);
}

TEST(ConvertTest, KeepsComparator) {
  auto q = Convert(Quantity{20, U("{copies}/mL"), Comparator::kLt}, U("{copies}/L"));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->comparator, Comparator::kLt);
  ExpectRel(q->value, 20000);
  EXPECT_EQ(q->unit.code(), "{copies}/L");
}

TEST(QuantityTest, ToString) {
  EXPECT_EQ((Quantity{60, U("kg")}).ToString(), "60 kg");
  EXPECT_EQ((Quantity{0.7, U("mg/dL")}).ToString(), "0.7 mg/dL");
  EXPECT_EQ((Quantity{20, U("{copies}/mL"), Comparator::kLt}).ToString(), "<20 {copies}/mL");
  EXPECT_EQ((Quantity{6.5, U("10*9/L")}).ToString(), "6.5 10*9/L");
  EXPECT_EQ((Quantity{500, U("[IU]/mL"), Comparator::kGt}).ToString(), ">500 [IU]/mL");
  EXPECT_EQ((Quantity{1, U("g"), Comparator::kLe}).ToString(), "<=1 g");
  EXPECT_EQ((Quantity{1, U("g"), Comparator::kGe}).ToString(), ">=1 g");
  EXPECT_EQ((Quantity{7.99934123, U("kPa")}).ToString(), "7.99934 kPa");
  EXPECT_EQ((Quantity{6500000, U("/uL")}).ToString(), "6500000 /uL");
  EXPECT_EQ((Quantity{0.000125, U("g")}).ToString(), "0.000125 g");
  EXPECT_EQ((Quantity{-3.25, U("s")}).ToString(), "-3.25 s");
  EXPECT_EQ((Quantity{0, U("g")}).ToString(), "0 g");
  EXPECT_EQ((Quantity{0.1 + 0.2, U("g")}).ToString(), "0.3 g");
  EXPECT_EQ((Quantity{2, Unit()}).ToString(), "2");
  EXPECT_EQ((Quantity{12.5, U("%")}).ToString(), "12.5 %");
}

}  // namespace
}  // namespace trial
