#include "web/render.h"

#include <algorithm>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "web/charts.h"

namespace trial::web {
namespace fs = std::filesystem;
namespace mstch = kainjow::mustache;
using nlohmann::json;

namespace {

// Top-level names the renderer itself provides; data may not bring its own.
const std::set<std::string, std::less<>> kReserved = {
    "t", "tr", "sel", "chk", "svg", "content", "title", "lang", "lang_en", "lang_zh"};

// TIS runs from 0 to 100 points (FACTS.md §2.2): its chart keeps that axis.
constexpr double kTisMin = 0;
constexpr double kTisMax = 100;

Result<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kIo, path.string() + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Files of `dir` whose name ends in `ext`, sorted.
std::vector<fs::path> FilesIn(const fs::path& dir, std::string_view ext) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every `{{{name}}}` / `{{&name}}` must be `content` (in the layout) or `svg.*`, and the tag
// delimiters may not change (a changed delimiter would hide tags from this check).
std::optional<std::string> ForbiddenTag(const std::string& text, bool layout) {
  size_t at = 0;
  while ((at = text.find("{{", at)) != std::string::npos) {
    const size_t start = at + 2;
    at = start;
    if (start >= text.size()) break;
    const char kind = text[start];
    if (kind == '=') return "a delimiter change '{{=' is not allowed";
    if (kind != '{' && kind != '&') continue;
    const size_t end = text.find("}}", start);
    if (end == std::string::npos) break;
    std::string name = text.substr(start + 1, end - start - 1);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t}") + 1);
    const bool ok = (layout && name == "content") || name.starts_with("svg.");
    if (!ok) return "unescaped tag '" + name + "' (only content and svg.* may be unescaped)";
  }
  return std::nullopt;
}

// JSON → template data: objects and arrays as such, strings as strings, numbers as their
// JSON text, booleans as booleans, null as false (so a section on it is skipped).
mstch::data ToData(const json& j) {
  switch (j.type()) {
    case json::value_t::object: {
      mstch::data d{mstch::data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, ToData(v));
      return d;
    }
    case json::value_t::array: {
      mstch::data d{mstch::data::type::list};
      for (const auto& v : j) d.push_back(ToData(v));
      return d;
    }
    case json::value_t::string:
      return mstch::data{j.get<std::string>()};
    case json::value_t::boolean:
      return mstch::data{j.get<bool>()};
    case json::value_t::null:
    case json::value_t::discarded:
      return mstch::data{false};
    default:
      return mstch::data{j.dump()};
  }
}

// The flat catalog as nested objects: "nav.subjects" → t.nav.subjects.
mstch::data NestedCatalog(const std::map<std::string, std::string>& flat) {
  json nested = json::object();
  for (const auto& [key, text] : flat)
    nested[json::json_pointer("/" + [&] {
      std::string p = key;
      std::replace(p.begin(), p.end(), '.', '/');
      return p;
    }())] = text;
  return ToData(nested);
}

// A number or null at `j[i]` as an optional value; `where` names it in the error.
Result<std::vector<std::optional<double>>> Values(const json& j, const std::string& where) {
  std::vector<std::optional<double>> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return Fail(ErrorCode::kInvalidArgument, where + " must be an array");
  for (size_t i = 0; i < j.size(); ++i) {
    if (j[i].is_null()) {
      out.push_back(std::nullopt);
    } else if (j[i].is_number()) {
      out.push_back(j[i].get<double>());
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  where + "[" + std::to_string(i) + "] must be a number or null");
    }
  }
  return out;
}

Result<Date> DateField(const json& obj, const char* key, const std::string& where) {
  if (!obj.contains(key) || !obj[key].is_string()) {
    return Fail(ErrorCode::kInvalidArgument, where + "." + key + " must be a date (YYYY-MM-DD)");
  }
  auto d = Date::Parse(obj[key].get<std::string>());
  if (!d) return Fail(ErrorCode::kInvalidArgument, where + "." + key + ": " + d.error().message);
  return *d;
}

}  // namespace

struct Renderer::Impl {
  std::string layout;
  std::map<std::string, std::string, std::less<>> pages;     // name → template text
  std::map<std::string, std::string, std::less<>> partials;  // "_name" → template text
  std::map<std::string, std::map<std::string, std::string>, std::less<>> catalogs;
  std::map<std::string, mstch::data, std::less<>> nested;  // lang → `t`

  const std::string& T(const std::map<std::string, std::string>& cat,
                       const std::string& key) const {
    static const std::string kEmpty;
    auto it = cat.find(key);
    return it == cat.end() ? kEmpty : it->second;
  }

  // The svg.* slot of `page` from `data`: charts drawn here, never data text.
  Result<mstch::data> Charts(std::string_view page, const json& data,
                             const std::map<std::string, std::string>& cat) const {
    mstch::data svg{mstch::data::type::object};
    if (page == "dashboard" && data.contains("enrollment") && !data["enrollment"].is_null()) {
      const json& e = data["enrollment"];
      if (!e.is_object()) return Fail(ErrorCode::kInvalidArgument, "enrollment must be an object");
      EnrollmentSpec spec;
      spec.title = T(cat, "chart.enrollment");
      spec.randomized_label = T(cat, "chart.randomized");
      spec.target_label = T(cat, "chart.target");
      if (!e.contains("target") || !e["target"].is_number_integer()) {
        return Fail(ErrorCode::kInvalidArgument, "enrollment.target must be a whole number");
      }
      spec.target = e["target"].get<int>();
      auto start = DateField(e, "start", "enrollment");
      if (!start) return std::unexpected(start.error());
      auto end = DateField(e, "end", "enrollment");
      if (!end) return std::unexpected(end.error());
      spec.start = *start;
      spec.end = *end;
      if (e.contains("dates")) {
        if (!e["dates"].is_array()) {
          return Fail(ErrorCode::kInvalidArgument, "enrollment.dates must be an array");
        }
        for (size_t i = 0; i < e["dates"].size(); ++i) {
          const json& d = e["dates"][i];
          auto parsed = d.is_string() ? Date::Parse(d.get<std::string>())
                                      : Fail(ErrorCode::kInvalidArgument, "not a string");
          if (!parsed) {
            return Fail(ErrorCode::kInvalidArgument,
                        "enrollment.dates[" + std::to_string(i) + "]: " + parsed.error().message);
          }
          spec.randomized.push_back(*parsed);
        }
      }
      auto svg_text = EnrollmentCurve(spec);
      if (!svg_text) return std::unexpected(svg_text.error());
      svg.set("enrollment", *svg_text);
    }
    if (page == "subject" && data.contains("charts") && !data["charts"].is_null()) {
      const json& c = data["charts"];
      if (!c.is_object() || !c.contains("x") || !c["x"].is_array()) {
        return Fail(ErrorCode::kInvalidArgument, "charts.x must be an array of visit names");
      }
      LineChartSpec base;
      for (size_t i = 0; i < c["x"].size(); ++i) {
        if (!c["x"][i].is_string()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "charts.x[" + std::to_string(i) + "] must be a string");
        }
        base.x_labels.push_back(c["x"][i].get<std::string>());
      }
      base.no_data_text = T(cat, "chart.no_data");
      struct Which {
        const char* key;
        const char* unit;
        bool tis;
      };
      for (const Which& w :
           {Which{"fvc", "%", false}, Which{"spo2", "%", false}, Which{"tis", "", true}}) {
        if (!c.contains(w.key)) continue;
        auto values = Values(c[w.key], std::string("charts.") + w.key);
        if (!values) return std::unexpected(values.error());
        LineChartSpec spec = base;
        spec.title = T(cat, std::string("chart.") + w.key);
        spec.unit = w.unit;
        if (w.tis) {
          spec.y_min = kTisMin;
          spec.y_max = kTisMax;
        }
        spec.series.push_back({spec.title, *values});
        auto svg_text = LineChart(spec);
        if (!svg_text) {
          return Fail(ErrorCode::kInvalidArgument,
                      std::string("charts.") + w.key + ": " + svg_text.error().message);
        }
        svg.set(w.key, *svg_text);
      }
    }
    return svg;
  }
};

Renderer::Renderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Renderer::Renderer(Renderer&&) noexcept = default;
Renderer& Renderer::operator=(Renderer&&) noexcept = default;
Renderer::~Renderer() = default;

Result<Renderer> Renderer::Load(const fs::path& dir) {
  auto impl = std::make_unique<Impl>();
  const fs::path templates = dir / "templates";
  const fs::path i18n = dir / "i18n";
  if (!fs::is_directory(templates)) {
    return Fail(ErrorCode::kNotFound, templates.string() + ": no such folder");
  }
  for (const fs::path& path : FilesIn(templates, ".mustache")) {
    auto text = ReadText(path);
    if (!text) return std::unexpected(text.error());
    const std::string name = path.stem().string();
    mstch::mustache parsed{*text};
    if (!parsed.is_valid()) {
      return Fail(ErrorCode::kParse, path.string() + ": " + parsed.error_message());
    }
    if (auto bad = ForbiddenTag(*text, name == "layout")) {
      return Fail(ErrorCode::kInvalidInput, path.string() + ": " + *bad);
    }
    if (name == "layout") {
      impl->layout = *text;
    } else if (name.starts_with("_")) {
      impl->partials[name] = *text;
    } else {
      impl->pages[name] = *text;
    }
  }
  if (impl->layout.empty()) {
    return Fail(ErrorCode::kNotFound, (templates / "layout.mustache").string() + ": missing");
  }
  const std::vector<fs::path> catalogs = FilesIn(i18n, ".json");
  if (catalogs.empty()) {
    return Fail(ErrorCode::kNotFound, i18n.string() + ": no translation catalog (<lang>.json)");
  }
  const std::map<std::string, std::string>* first = nullptr;
  std::string first_name;
  for (const fs::path& path : catalogs) {
    auto text = ReadText(path);
    if (!text) return std::unexpected(text.error());
    json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return Fail(ErrorCode::kParse, path.string() + ": not a JSON object");
    }
    std::map<std::string, std::string> cat;
    for (const auto& [key, value] : j.items()) {
      if (!value.is_string()) {
        return Fail(ErrorCode::kParse, path.string() + ": '" + key + "' is not a string");
      }
      if (value.get<std::string>().empty()) {
        return Fail(ErrorCode::kInvalidInput, path.string() + ": '" + key + "' is empty");
      }
      if (key.empty() || key.front() == '.' || key.back() == '.' ||
          key.find("..") != std::string::npos || key.find('/') != std::string::npos ||
          key.find('~') != std::string::npos) {
        return Fail(ErrorCode::kInvalidInput,
                    path.string() + ": bad key '" + key + "' (dot-separated names, no '/' or '~')");
      }
      cat[key] = value.get<std::string>();
    }
    // "a.b" and "a.b.c" cannot both be keys: t.a.b would be a text and an object.
    for (auto it = cat.begin(); it != cat.end(); ++it) {
      auto next = std::next(it);
      if (next != cat.end() && next->first.starts_with(it->first + ".")) {
        return Fail(ErrorCode::kInvalidInput, path.string() + ": key '" + it->first +
                                                  "' is a prefix of '" + next->first + "'");
      }
    }
    const std::string lang = path.stem().string();
    if (first) {
      for (const auto& [key, _] : *first) {
        if (!cat.contains(key)) {
          return Fail(ErrorCode::kInvalidInput, path.string() + ": key '" + key +
                                                    "' is missing (it is in " + first_name + ")");
        }
      }
      for (const auto& [key, _] : cat) {
        if (!first->contains(key)) {
          return Fail(ErrorCode::kInvalidInput,
                      path.string() + ": key '" + key + "' is not in " + first_name);
        }
      }
    }
    impl->nested.emplace(lang, NestedCatalog(cat));
    auto [it, _] = impl->catalogs.emplace(lang, std::move(cat));
    if (!first) {
      first = &it->second;
      first_name = path.filename().string();
    }
  }
  for (const auto& [page, _] : impl->pages) {
    if (!first->contains("title." + page)) {
      return Fail(ErrorCode::kInvalidInput, (i18n / first_name).string() + ": no 'title." + page +
                                                "' for templates/" + page + ".mustache");
    }
  }
  return Renderer(std::move(impl));
}

Result<std::string> Renderer::Page(std::string_view page, const json& data,
                                   std::string_view lang) const {
  auto cat = impl_->catalogs.find(lang);
  if (cat == impl_->catalogs.end()) {
    std::string known;
    for (const auto& [l, _] : impl_->catalogs) known += (known.empty() ? "" : ", ") + l;
    return Fail(ErrorCode::kInvalidArgument,
                "unknown language '" + std::string(lang) + "' (one of " + known + ")");
  }
  auto tmpl = impl_->pages.find(page);
  if (tmpl == impl_->pages.end()) {
    return Fail(ErrorCode::kInvalidArgument, "unknown page '" + std::string(page) + "'");
  }
  if (!data.is_object() && !data.is_null()) {
    return Fail(ErrorCode::kInvalidArgument,
                "page '" + std::string(page) + "': data must be a JSON object");
  }
  if (data.is_object()) {
    for (const auto& [key, _] : data.items()) {
      if (kReserved.contains(key) || key.starts_with("_")) {
        return Fail(ErrorCode::kInvalidArgument, "page '" + std::string(page) + "': data key '" +
                                                     key + "' is reserved for the renderer");
      }
    }
  }
  const json empty = json::object();
  const json& d = data.is_object() ? data : empty;
  auto svg = impl_->Charts(page, d, cat->second);
  if (!svg) {
    return Fail(svg.error().code, "page '" + std::string(page) + "': " + svg.error().message);
  }

  mstch::data ctx = ToData(d);
  ctx.set("t", impl_->nested.find(lang)->second);
  ctx.set("lang", std::string(lang));
  ctx.set("lang_en", mstch::data{lang == "en"});
  ctx.set("lang_zh", mstch::data{lang.starts_with("zh")});
  ctx.set("title", impl_->T(cat->second, "title." + std::string(page)));
  ctx.set("svg", *svg);
  const std::map<std::string, std::string>& flat = cat->second;
  ctx.set("tr", mstch::lambda2{[&flat](const std::string& text, const mstch::renderer& render) {
            const std::string key = render(text, false);
            const size_t bar = key.find('|');
            const std::string value = bar == std::string::npos ? key : key.substr(bar + 1);
            // Catalog keys use '_' where data values have spaces ("done in window").
            std::string id = value;
            std::replace(id.begin(), id.end(), ' ', '_');
            const std::string full = bar == std::string::npos ? id : key.substr(0, bar) + "." + id;
            auto it = flat.find(full);
            return mstch::html_escape(it == flat.end() ? value : it->second);
          }});
  // `{{#sel}}{{value}}=code{{/sel}}` is " selected" when the rendered value (or one element of
  // a comma-separated list) is `code`; `chk` the same with " checked". Constant output only.
  auto marker = [](const char* attribute) {
    return mstch::lambda2{[attribute](const std::string& text, const mstch::renderer& render) {
      const std::string rendered = render(text, false);
      const size_t eq = rendered.rfind('=');
      if (eq == std::string::npos) return std::string();
      const std::string want = rendered.substr(eq + 1);
      std::istringstream values(rendered.substr(0, eq));
      for (std::string v; std::getline(values, v, ',');) {
        if (v == want) return std::string(attribute);
      }
      return std::string();
    }};
  };
  ctx.set("sel", marker(" selected"));
  ctx.set("chk", marker(" checked"));
  for (const auto& [name, text] : impl_->partials) {
    ctx.set(name, mstch::partial{[&text] { return text; }});
  }

  mstch::mustache body_tmpl{tmpl->second};
  const std::string body = body_tmpl.render(ctx);
  if (!body_tmpl.is_valid()) {
    return Fail(ErrorCode::kInternal,
                "templates/" + std::string(page) + ".mustache: " + body_tmpl.error_message());
  }
  ctx.set("content", body);
  mstch::mustache layout{impl_->layout};
  std::string html = layout.render(ctx);
  if (!layout.is_valid()) {
    return Fail(ErrorCode::kInternal, "templates/layout.mustache: " + layout.error_message());
  }
  return html;
}

Result<std::string> Renderer::Text(std::string_view key, std::string_view lang) const {
  auto cat = impl_->catalogs.find(lang);
  if (cat == impl_->catalogs.end()) {
    return Fail(ErrorCode::kInvalidArgument, "unknown language '" + std::string(lang) + "'");
  }
  auto it = cat->second.find(std::string(key));
  if (it == cat->second.end()) {
    return Fail(ErrorCode::kNotFound, "no text '" + std::string(key) + "' in " + std::string(lang));
  }
  return it->second;
}

std::vector<std::string> Renderer::Pages() const {
  std::vector<std::string> out;
  for (const auto& [p, _] : impl_->pages) out.push_back(p);
  return out;
}

std::vector<std::string> Renderer::Languages() const {
  std::vector<std::string> out;
  for (const auto& [l, _] : impl_->catalogs) out.push_back(l);
  return out;
}

}  // namespace trial::web
