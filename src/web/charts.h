// SVG charts for the web pages: pure functions from numbers and labels to one standalone
// `<svg>` element (UTF-8 text, no script, no external references), ready to be placed in a page.
// Every text that comes in (title, labels, series names, units) is XML-escaped.
//
// Geometry (so tests and callers can reason about coordinates): the chart is `kChartWidth` x
// `kChartHeight` user units; the plot area spans x in [kPlotLeft, kChartWidth - kPlotRight] and
// y in [kPlotTop, kChartHeight - kPlotBottom]. A line chart puts point i of n at
// x = kPlotLeft + (i + 0.5) * plot_width / n and value v at
// y = kPlotTop + (y_max - v) / (y_max - y_min) * plot_height. Coordinates are printed with one
// decimal.
//
// Errors: `kInvalidArgument` naming the series or field when the input cannot be drawn (a series
// whose length differs from the x labels, a non-finite value, an empty axis range, a negative
// target); nothing is produced then.
// Thread-safety: pure functions, safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.h"
#include "core/error.h"

namespace trial::web {

inline constexpr double kChartWidth = 640;
inline constexpr double kChartHeight = 280;
inline constexpr double kPlotLeft = 56;
inline constexpr double kPlotRight = 120;  // room for the legend
inline constexpr double kPlotTop = 32;
inline constexpr double kPlotBottom = 44;

// One line: one value per x label; std::nullopt is a missing value, drawn as a gap (the line
// breaks; no point is drawn there).
struct Series {
  std::string name;
  std::vector<std::optional<double>> values;
};

struct LineChartSpec {
  std::string title;                  // drawn above the plot
  std::string unit;                   // y-axis unit, e.g. "%" (may be empty)
  std::vector<std::string> x_labels;  // visit names or dates, one per point
  std::vector<Series> series;         // one or more
  // Fixed y range; when absent the range is the data's, widened to "nice" tick steps (and to
  // [0, 1] when there is no value at all).
  std::optional<double> y_min, y_max;
  std::string no_data_text = "no data";  // shown when every value is missing
};

// A line chart of `spec`: y ticks with the unit, x labels under the points, a legend with the
// series names (when there are two or more), one <path> per series (a gap breaks it into separate
// "M ... L ..." runs) and one <circle> per present value carrying a <title> "series, x label: value
// unit".
Result<std::string> LineChart(const LineChartSpec& spec);

struct EnrollmentSpec {
  std::string title;
  std::vector<Date> randomized;  // one randomization date per subject, any order
  int target = 0;                // the enrollment target, drawn as a horizontal line
  Date start;                    // first day of the x axis
  Date end;                      // last day of the x axis (widened to the last date if later)
  std::string randomized_label = "randomized";  // legend texts (translated by the caller)
  std::string target_label = "target";
};

// The cumulative number randomized by date (a step line) against the target: x is days from
// `start` to `end` (linear), y runs from 0 to the larger of the target and the count. Dates
// before `start` count from `start`. Errors: `end` before `start`, a negative target.
Result<std::string> EnrollmentCurve(const EnrollmentSpec& spec);

}  // namespace trial::web
