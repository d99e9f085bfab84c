#include "web/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <kainjow/mustache.hpp>
#include <string>

namespace trial::web {
namespace {

// Text with &, <, >, " and ' as entities: the template engine's own escaping, so pages and
// charts escape alike.
std::string XmlEscape(std::string_view text) {
  return kainjow::mustache::html_escape(std::string(text));
}

constexpr double kPlotWidth = kChartWidth - kPlotLeft - kPlotRight;
constexpr double kPlotHeight = kChartHeight - kPlotTop - kPlotBottom;
constexpr int kTargetTicks = 4;  // about this many y intervals

// Series colours, cycled; chosen to stay distinct for colour-blind readers (Okabe-Ito).
constexpr const char* kColours[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00"};

// A coordinate with one decimal ("123.4").
std::string Coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A value for people: up to 6 significant digits, no trailing zeros ("92.5", "110").
std::string Number(double v) {
  if (v == 0) v = 0;  // no "-0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

struct Axis {
  double min = 0, max = 1, step = 0.25;
};

// Ticks from min to max by step (inclusive, tolerant to rounding).
std::vector<double> Ticks(const Axis& a) {
  std::vector<double> out;
  for (int i = 0;; ++i) {
    const double v = a.min + i * a.step;
    if (v > a.max + a.step * 1e-6 || i > 100) break;
    out.push_back(std::abs(v) < a.step * 1e-9 ? 0 : v);
  }
  return out;
}

// A nice axis covering [lo, hi].
Axis NiceAxis(double lo, double hi) {
  if (lo == hi) {
    const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  Axis a;
  a.step = NiceStep((hi - lo) / kTargetTicks);
  a.min = std::floor(lo / a.step) * a.step;
  a.max = std::ceil(hi / a.step) * a.step;
  return a;
}

double YOf(const Axis& a, double v) {
  return kPlotTop + (a.max - v) / (a.max - a.min) * kPlotHeight;
}

std::string Text(double x, double y, std::string_view anchor, std::string_view cls,
                 std::string_view text) {
  return "<text x=\"" + Coord(x) + "\" y=\"" + Coord(y) + "\" text-anchor=\"" +
         std::string(anchor) + "\" class=\"" + std::string(cls) + "\">" + XmlEscape(text) +
         "</text>";
}

std::string Open(std::string_view title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 " +
         Number(kChartWidth) + " " + Number(kChartHeight) + "\" role=\"img\" aria-label=\"" +
         XmlEscape(title) + "\"><title>" + XmlEscape(title) + "</title>" +
         Text(kPlotLeft, 20, "start", "chart-title", title);
}

// The y axis: grid lines and tick labels (with the unit on the top tick).
std::string YAxis(const Axis& a, std::string_view unit) {
  std::string out;
  const std::vector<double> ticks = Ticks(a);
  for (size_t i = 0; i < ticks.size(); ++i) {
    const double y = YOf(a, ticks[i]);
    out += "<line class=\"gridline\" x1=\"" + Coord(kPlotLeft) + "\" y1=\"" + Coord(y) +
           "\" x2=\"" + Coord(kPlotLeft + kPlotWidth) + "\" y2=\"" + Coord(y) + "\"/>";
    std::string label = Number(ticks[i]);
    if (i + 1 == ticks.size() && !unit.empty()) label += " " + std::string(unit);
    out += Text(kPlotLeft - 6, y + 4, "end", "tick", label);
  }
  return out;
}

std::string Legend(size_t index, std::string_view name, std::string_view colour,
                   bool dashed = false) {
  const double x = kPlotLeft + kPlotWidth + 12;
  const double y = kPlotTop + 8 + 18 * static_cast<double>(index);
  return "<line x1=\"" + Coord(x) + "\" y1=\"" + Coord(y) + "\" x2=\"" + Coord(x + 16) +
         "\" y2=\"" + Coord(y) + "\" stroke=\"" + std::string(colour) + "\" stroke-width=\"2\"" +
         (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>" +
         Text(x + 20, y + 4, "start", "legend", name);
}

}  // namespace

Result<std::string> LineChart(const LineChartSpec& spec) {
  const size_t n = spec.x_labels.size();
  if (spec.series.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "line chart '" + spec.title + "': no series");
  }
  double lo = INFINITY, hi = -INFINITY;
  for (const Series& s : spec.series) {
    if (s.values.size() != n) {
      return Fail(ErrorCode::kInvalidArgument,
                  "line chart '" + spec.title + "': series '" + s.name + "' has " +
                      std::to_string(s.values.size()) + " value(s) for " + std::to_string(n) +
                      " x label(s)");
    }
    for (size_t i = 0; i < n; ++i) {
      if (!s.values[i]) continue;
      if (!std::isfinite(*s.values[i])) {
        return Fail(ErrorCode::kInvalidArgument, "line chart '" + spec.title + "': series '" +
                                                     s.name + "' has a non-finite value at '" +
                                                     spec.x_labels[i] + "'");
      }
      lo = std::min(lo, *s.values[i]);
      hi = std::max(hi, *s.values[i]);
    }
  }
  const bool any = lo <= hi;
  Axis axis = any ? NiceAxis(lo, hi) : Axis{};
  if (spec.y_min || spec.y_max) {
    axis.min = spec.y_min.value_or(axis.min);
    axis.max = spec.y_max.value_or(axis.max);
    if (!(axis.max > axis.min) || !std::isfinite(axis.min) || !std::isfinite(axis.max)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "line chart '" + spec.title + "': y_max must be above y_min");
    }
    axis.step = NiceStep((axis.max - axis.min) / kTargetTicks);
  }

  std::string svg = Open(spec.title) + YAxis(axis, spec.unit);
  auto x_of = [&](size_t i) {
    return kPlotLeft + (static_cast<double>(i) + 0.5) * kPlotWidth / static_cast<double>(n);
  };
  // X labels; with many points only every k-th is written so they do not overlap.
  const size_t every = std::max<size_t>(1, (n + 9) / 10);
  for (size_t i = 0; i < n; i += every) {
    svg += Text(x_of(i), kChartHeight - kPlotBottom + 18, "middle", "tick", spec.x_labels[i]);
  }
  svg += "<line class=\"axis\" x1=\"" + Coord(kPlotLeft) + "\" y1=\"" +
         Coord(kPlotTop + kPlotHeight) + "\" x2=\"" + Coord(kPlotLeft + kPlotWidth) + "\" y2=\"" +
         Coord(kPlotTop + kPlotHeight) + "\"/>";
  if (!any) {
    svg += Text(kPlotLeft + kPlotWidth / 2, kPlotTop + kPlotHeight / 2, "middle", "no-data",
                spec.no_data_text);
  }
  for (size_t k = 0; k < spec.series.size(); ++k) {
    const Series& s = spec.series[k];
    const char* colour = kColours[k % std::size(kColours)];
    std::string d;
    bool pen_down = false;
    std::string points;
    for (size_t i = 0; i < n; ++i) {
      if (!s.values[i]) {
        pen_down = false;  // a gap: the next present value starts a new run
        continue;
      }
      const double v = *s.values[i];
      const std::string x = Coord(x_of(i)), y = Coord(YOf(axis, v));
      d += (d.empty() ? "" : " ") + std::string(pen_down ? "L " : "M ") + x + " " + y;
      pen_down = true;
      std::string tip = s.name + ", " + spec.x_labels[i] + ": " + Number(v);
      if (!spec.unit.empty()) tip += " " + spec.unit;
      points += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"3.5\" fill=\"" + colour +
                "\"><title>" + XmlEscape(tip) + "</title></circle>";
    }
    if (!d.empty()) {
      svg += "<path class=\"series\" d=\"" + d + "\" fill=\"none\" stroke=\"" + colour +
             "\" stroke-width=\"2\"/>";
    }
    svg += points;
    if (spec.series.size() > 1) svg += Legend(k, s.name, colour);  // one series: the title says it
  }
  return svg + "</svg>";
}

Result<std::string> EnrollmentCurve(const EnrollmentSpec& spec) {
  if (spec.target < 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "enrollment curve '" + spec.title + "': the target is negative");
  }
  if (spec.end < spec.start) {
    return Fail(ErrorCode::kInvalidArgument, "enrollment curve '" + spec.title + "': end " +
                                                 spec.end.ToString() + " is before start " +
                                                 spec.start.ToString());
  }
  std::vector<Date> dates = spec.randomized;
  std::sort(dates.begin(), dates.end());
  for (Date& d : dates) d = std::max(d, spec.start);
  const Date end = dates.empty() ? spec.end : std::max(spec.end, dates.back());
  const double days = std::max(1, end.days() - spec.start.days());
  auto x_of = [&](Date d) {
    return kPlotLeft + (d.days() - spec.start.days()) / days * kPlotWidth;
  };
  const int count = static_cast<int>(dates.size());
  Axis axis = NiceAxis(0, std::max({spec.target, count, 1}));
  axis.min = 0;

  std::string svg = Open(spec.title) + YAxis(axis, "");
  svg += Text(kPlotLeft, kChartHeight - kPlotBottom + 18, "start", "tick", spec.start.ToString());
  svg +=
      Text(kPlotLeft + kPlotWidth, kChartHeight - kPlotBottom + 18, "end", "tick", end.ToString());
  svg += "<line class=\"axis\" x1=\"" + Coord(kPlotLeft) + "\" y1=\"" +
         Coord(kPlotTop + kPlotHeight) + "\" x2=\"" + Coord(kPlotLeft + kPlotWidth) + "\" y2=\"" +
         Coord(kPlotTop + kPlotHeight) + "\"/>";
  // The target line.
  const std::string ty = Coord(YOf(axis, spec.target));
  svg += "<line class=\"target\" x1=\"" + Coord(kPlotLeft) + "\" y1=\"" + ty + "\" x2=\"" +
         Coord(kPlotLeft + kPlotWidth) + "\" y2=\"" + ty +
         "\" stroke=\"#d55e00\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>";
  // The cumulative count as steps: flat until each randomization day, then up by that day's
  // number.
  std::string d = "M " + Coord(kPlotLeft) + " " + Coord(YOf(axis, 0));
  for (size_t i = 0; i < dates.size(); ++i) {
    if (i + 1 < dates.size() && dates[i + 1] == dates[i]) continue;  // same day: one step
    const std::string x = Coord(x_of(dates[i]));
    d += " H " + x + " V " + Coord(YOf(axis, static_cast<double>(i + 1)));
  }
  d += " H " + Coord(x_of(end));
  svg += "<path class=\"series\" d=\"" + d +
         "\" fill=\"none\" stroke=\"#0072b2\" stroke-width=\"2\"/>";
  svg += Legend(0, spec.randomized_label + ": " + std::to_string(count), "#0072b2");
  svg += Legend(1, spec.target_label + ": " + std::to_string(spec.target), "#d55e00", true);
  return svg + "</svg>";
}

}  // namespace trial::web
