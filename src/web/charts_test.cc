// Tests of the SVG charts: coordinates, gaps, escaping, errors and well-formed XML.
#include "web/charts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "web/xml_check_test_util.h"

namespace trial::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Date D(const char* ymd) { return *Date::Parse(ymd); }

// Four visits, values 0, 50, (missing), 100 on a fixed 0..100 axis. The plot is 464 wide
// (640 - 56 - 120) and 204 high (280 - 32 - 44): x_i = 56 + (i + 0.5) * 116, y(v) = 32 + (100 -
// v) / 100 * 204.
LineChartSpec FourVisits() {
  LineChartSpec spec;
  spec.title = "TIS";
  spec.x_labels = {"D0", "W2", "W4", "W6"};
  spec.series = {{"subject 1", {0.0, 50.0, std::nullopt, 100.0}}};
  spec.y_min = 0;
  spec.y_max = 100;
  return spec;
}

TEST(LineChart, PlacesPointsAtTheirCoordinates) {
  auto svg = LineChart(FourVisits());
  ASSERT_TRUE(svg.has_value()) << svg.error().message;
  EXPECT_THAT(*svg, HasSubstr("<circle cx=\"114.0\" cy=\"236.0\""));
  EXPECT_THAT(*svg, HasSubstr("<circle cx=\"230.0\" cy=\"134.0\""));
  EXPECT_THAT(*svg, HasSubstr("<circle cx=\"462.0\" cy=\"32.0\""));
  EXPECT_THAT(*svg, HasSubstr("<title>subject 1, W2: 50</title>"));
  EXPECT_TRUE(IsWellFormedXml(*svg)) << *svg;
}

TEST(LineChart, MissingValuesAreGaps) {
  auto svg = LineChart(FourVisits());
  ASSERT_TRUE(svg.has_value());
  // The path breaks at W4 (a new "M" run), and no point is drawn there.
  EXPECT_THAT(*svg, HasSubstr("d=\"M 114.0 236.0 L 230.0 134.0 M 462.0 32.0\""));
  EXPECT_THAT(*svg, Not(HasSubstr("cx=\"346.0\"")));
  EXPECT_THAT(*svg, HasSubstr(">W4</text>"));  // the label stays
}

TEST(LineChart, TicksCarryTheUnit) {
  LineChartSpec spec = FourVisits();
  spec.unit = "%";
  auto svg = LineChart(spec);
  ASSERT_TRUE(svg.has_value());
  // 0..100 in steps of 25 (about four intervals); the unit on the top tick.
  for (const char* tick : {">0</text>", ">25</text>", ">50</text>", ">75</text>", ">100 %</text>"})
    EXPECT_THAT(*svg, HasSubstr(tick));
  EXPECT_THAT(*svg, HasSubstr("<title>subject 1, W2: 50 %</title>"));
}

TEST(LineChart, AutomaticAxisCoversTheData) {
  LineChartSpec spec;
  spec.title = "FVC";
  spec.x_labels = {"D0", "W2"};
  spec.series = {{"FVC", {61.0, 87.0}}};
  auto svg = LineChart(spec);
  ASSERT_TRUE(svg.has_value());
  // Range 26 / 4 = 6.5 -> step 10, axis 60..90.
  EXPECT_THAT(*svg, HasSubstr(">60</text>"));
  EXPECT_THAT(*svg, HasSubstr(">90</text>"));
  // 61 on a 60..90 axis: 32 + 29/30 * 204 = 229.2.
  EXPECT_THAT(*svg, HasSubstr("cy=\"229.2\""));
}

TEST(LineChart, SeveralSeriesGetALegendEach) {
  LineChartSpec spec = FourVisits();
  spec.series.push_back({"placebo", {10.0, std::nullopt, 30.0, 40.0}});
  auto svg = LineChart(spec);
  ASSERT_TRUE(svg.has_value());
  EXPECT_THAT(*svg, HasSubstr(">subject 1</text>"));
  EXPECT_THAT(*svg, HasSubstr(">placebo</text>"));
  EXPECT_THAT(*svg, HasSubstr("d=\"M 114.0 215.6 M 346.0 174.8 L 462.0 154.4\""));
  EXPECT_TRUE(IsWellFormedXml(*svg));
}

TEST(LineChart, EscapesEveryText) {
  LineChartSpec spec = FourVisits();
  spec.title = "<script>alert(1)</script>";
  spec.unit = "' OR 1=1 --";
  spec.x_labels[0] = "<b>D0</b>";
  spec.series[0].name = "a & \"b\"";
  auto svg = LineChart(spec);
  ASSERT_TRUE(svg.has_value());
  EXPECT_THAT(*svg, Not(HasSubstr("<script")));
  EXPECT_THAT(*svg, Not(HasSubstr("<b>")));
  EXPECT_THAT(*svg, Not(HasSubstr("' OR")));
  EXPECT_THAT(*svg, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(*svg, HasSubstr("&apos; OR 1=1 --"));
  EXPECT_THAT(*svg, HasSubstr("a &amp; &quot;b&quot;"));
  EXPECT_TRUE(IsWellFormedXml(*svg)) << *svg;
}

TEST(LineChart, NoValueAtAllSaysSo) {
  LineChartSpec spec;
  spec.title = "SpO2";
  spec.x_labels = {"D0", "W2"};
  spec.series = {{"SpO2", {std::nullopt, std::nullopt}}};
  spec.no_data_text = "no data yet";
  auto svg = LineChart(spec);
  ASSERT_TRUE(svg.has_value());
  EXPECT_THAT(*svg, HasSubstr(">no data yet</text>"));
  EXPECT_THAT(*svg, Not(HasSubstr("<path")));
  EXPECT_THAT(*svg, Not(HasSubstr("<circle")));
  EXPECT_TRUE(IsWellFormedXml(*svg));
}

TEST(LineChart, RefusesWhatCannotBeDrawn) {
  LineChartSpec spec = FourVisits();
  spec.series[0].values.pop_back();
  auto short_series = LineChart(spec);
  ASSERT_FALSE(short_series.has_value());
  EXPECT_EQ(short_series.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(short_series.error().message,
              HasSubstr("series 'subject 1' has 3 value(s) for 4 x label(s)"));

  spec = FourVisits();
  spec.series[0].values[1] = std::numeric_limits<double>::infinity();
  auto inf = LineChart(spec);
  ASSERT_FALSE(inf.has_value());
  EXPECT_THAT(inf.error().message, HasSubstr("non-finite value at 'W2'"));

  spec = FourVisits();
  spec.y_max = 0;
  auto empty_range = LineChart(spec);
  ASSERT_FALSE(empty_range.has_value());
  EXPECT_THAT(empty_range.error().message, HasSubstr("y_max must be above y_min"));

  spec.series.clear();
  EXPECT_FALSE(LineChart(spec).has_value());
}

// 10 days on the x axis (464 wide: 46.4 per day), a target of 10 on a 0..10 axis (20.4 per
// subject), three randomized (two on day 2, one on day 7).
EnrollmentSpec TenDays() {
  EnrollmentSpec spec;
  spec.title = "Enrollment";
  spec.start = D("2026-01-01");
  spec.end = D("2026-01-11");
  spec.target = 10;
  spec.randomized = {D("2026-01-08"), D("2026-01-03"), D("2026-01-03")};
  return spec;
}

TEST(EnrollmentCurve, StepsUpOnEachRandomizationDay) {
  auto svg = EnrollmentCurve(TenDays());
  ASSERT_TRUE(svg.has_value()) << svg.error().message;
  EXPECT_THAT(*svg, HasSubstr("d=\"M 56.0 236.0 H 148.8 V 195.2 H 380.8 V 174.8 H 520.0\""));
  // The target line at 10, the top of the axis.
  EXPECT_THAT(*svg, HasSubstr("class=\"target\" x1=\"56.0\" y1=\"32.0\" x2=\"520.0\" y2=\"32.0\""));
  EXPECT_THAT(*svg, HasSubstr(">randomized: 3</text>"));
  EXPECT_THAT(*svg, HasSubstr(">target: 10</text>"));
  EXPECT_THAT(*svg, HasSubstr(">2026-01-01</text>"));
  EXPECT_THAT(*svg, HasSubstr(">2026-01-11</text>"));
  EXPECT_TRUE(IsWellFormedXml(*svg)) << *svg;
}

TEST(EnrollmentCurve, AxisGrowsPastTheTargetAndTheEnd) {
  EnrollmentSpec spec = TenDays();
  spec.target = 2;
  spec.end = D("2026-01-05");  // before the last randomization: widened to 2026-01-08
  auto svg = EnrollmentCurve(spec);
  ASSERT_TRUE(svg.has_value());
  EXPECT_THAT(*svg, HasSubstr(">2026-01-08</text>"));
  EXPECT_THAT(*svg, HasSubstr(">3</text>"));  // the y axis reaches the count
}

TEST(EnrollmentCurve, EscapesAndRefuses) {
  EnrollmentSpec spec = TenDays();
  spec.title = "<script>alert(1)</script>";
  spec.randomized_label = "' OR 1=1 --";
  auto svg = EnrollmentCurve(spec);
  ASSERT_TRUE(svg.has_value());
  EXPECT_THAT(*svg, Not(HasSubstr("<script")));
  EXPECT_THAT(*svg, Not(HasSubstr("' OR")));
  EXPECT_TRUE(IsWellFormedXml(*svg));

  spec = TenDays();
  spec.end = D("2025-12-31");
  auto backwards = EnrollmentCurve(spec);
  ASSERT_FALSE(backwards.has_value());
  EXPECT_EQ(backwards.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(backwards.error().message, HasSubstr("end 2025-12-31 is before start 2026-01-01"));
  spec = TenDays();
  spec.target = -1;
  EXPECT_THAT(EnrollmentCurve(spec).error().message, HasSubstr("the target is negative"));
}

TEST(XmlCheck, CatchesBrokenMarkup) {
  EXPECT_TRUE(IsWellFormedXml("<a x=\"1\"><b/>t &amp; u</a>"));
  EXPECT_FALSE(IsWellFormedXml("<a><b></a></b>"));
  EXPECT_FALSE(IsWellFormedXml("<a>x < y</a>"));
  EXPECT_FALSE(IsWellFormedXml("<a>x & y</a>"));
  EXPECT_FALSE(IsWellFormedXml("<a x=1></a>"));
  EXPECT_FALSE(IsWellFormedXml("<a>"));
}

}  // namespace
}  // namespace trial::web
