// Tests of the page renderer over the real templates and catalogs of web/ (run from the source
// folder): every page in both languages from the sample data of src/web/testdata/, escaping of
// hostile data, the catalogs, the CSRF field of every POST form, and the load errors.
#include "web/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace trial::web {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const char* kWebDir = "web";
const char* kTestData = "src/web/testdata";
const std::vector<std::string> kPages = {"admin",     "ae_form",  "aes",      "alerts", "audit",
                                         "dashboard", "dispense", "error",    "login",  "randomize",
                                         "screening", "subject",  "subjects", "unblind"};
const std::vector<std::string> kLanguages = {"en", "zh-CN"};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json Sample(const std::string& page) {
  return json::parse(ReadFile(fs::path(kTestData) / (page + ".json")));
}

const Renderer& Web() {
  static const Renderer* renderer = [] {
    auto r = Renderer::Load(kWebDir);
    if (!r) {
      ADD_FAILURE() << r.error().message;
      std::abort();
    }
    return new Renderer(std::move(*r));
  }();
  return *renderer;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Renderer, LoadsEveryPageAndBothLanguages) {
  EXPECT_EQ(Web().Pages(), kPages);
  EXPECT_EQ(Web().Languages(), kLanguages);
}

TEST(Renderer, EveryPageRendersInBothLanguages) {
  for (const std::string& page : kPages) {
    for (const std::string& lang : kLanguages) {
      SCOPED_TRACE(page + " " + lang);
      auto html = Web().Page(page, Sample(page), lang);
      ASSERT_TRUE(html.has_value()) << html.error().message;
      EXPECT_THAT(*html, HasSubstr("<html lang=\"" + lang + "\">"));
      EXPECT_THAT(*html, HasSubstr("<h1>" + *Web().Text("title." + page, lang) + "</h1>"));
      EXPECT_THAT(*html, Not(HasSubstr("{{")));
      EXPECT_THAT(*html, HasSubstr("href=\"?lang=zh-CN\""));
      EXPECT_THAT(*html, HasSubstr("/static/app.css"));
      EXPECT_THAT(*html, Not(HasSubstr("<script")));  // no JavaScript
    }
  }
}

// Every form that POSTs carries the CSRF token; the layout's logout form too.
TEST(Renderer, EveryPostFormHasTheCsrfField) {
  const std::regex form("<form[^>]*method=\"post\"[^>]*>([\\s\\S]*?)</form>");
  for (const std::string& page : kPages) {
    SCOPED_TRACE(page);
    auto html = Web().Page(page, Sample(page), "en");
    ASSERT_TRUE(html.has_value()) << html.error().message;
    int forms = 0;
    for (auto it = std::sregex_iterator(html->begin(), html->end(), form);
         it != std::sregex_iterator(); ++it) {
      ++forms;
      EXPECT_THAT((*it)[1].str(),
                  HasSubstr("<input type=\"hidden\" name=\"csrf\" value=\"TOKEN123\">"))
          << (*it)[0].str();
    }
    EXPECT_EQ(forms, Count(*html, "<form"));  // no form without method="post" slipped by
    if (page != "login" && page != "error") {
      EXPECT_GE(forms, 1);
    }
  }
}

TEST(Renderer, LayoutShowsUserRoleSiteAndLogout) {
  auto html = Web().Page("subjects", Sample("subjects"), "zh-CN");
  ASSERT_TRUE(html.has_value());
  EXPECT_THAT(*html, HasSubstr("Dr Ivy (inv)"));
  EXPECT_THAT(*html, HasSubstr("角色: 研究者"));
  EXPECT_THAT(*html, HasSubstr("中心: S1"));
  EXPECT_THAT(*html, HasSubstr("action=\"/logout\""));
  EXPECT_THAT(*html, HasSubstr(">受试者</a>"));
  EXPECT_THAT(*html, HasSubstr("已随机化"));  // subject status through `tr`
  // Without a user (the login page) there is no nav and no logout.
  auto login = Web().Page("login", Sample("login"), "en");
  ASSERT_TRUE(login.has_value());
  EXPECT_THAT(*login, Not(HasSubstr("action=\"/logout\"")));
  EXPECT_THAT(*login, Not(HasSubstr("<nav class=\"main\">")));
  EXPECT_THAT(*login, HasSubstr("Wrong user name or password"));
}

TEST(Renderer, ScreeningShowsEveryCriterionWithItsVerdict) {
  auto html = Web().Page("screening", Sample("screening"), "zh-CN");
  ASSERT_TRUE(html.has_value());
  EXPECT_EQ(Count(*html, "<tr class=\"result-"), 26);
  EXPECT_THAT(*html, HasSubstr("<strong>符合</strong>"));
  EXPECT_THAT(*html, HasSubstr("<strong>不符合</strong>"));
  EXPECT_THAT(*html, HasSubstr("结论: <strong>合格</strong>"));
  json unknown = Sample("screening");
  unknown["screening"]["verdict"] = "unknown";
  unknown["screening"]["criteria"][0]["result"] = "unknown";
  unknown["screening"]["criteria"][0]["missing"] = {"Observation/weight"};
  auto en = Web().Page("screening", unknown, "en");
  ASSERT_TRUE(en.has_value());
  EXPECT_THAT(*en, HasSubstr("<strong>unknown</strong>"));
  EXPECT_THAT(*en, HasSubstr("<span class=\"missing\">Observation/weight</span>"));
  EXPECT_THAT(*en, HasSubstr("unknown (data missing)"));
}

TEST(Renderer, AlertsListEveryAlertInOneTable) {
  json data = Sample("alerts");
  json second = data["alerts"]["alerts"][0];
  second["id"] = 2;
  second["kind"] = "rp_ild";
  data["alerts"]["alerts"].push_back(second);
  auto html = Web().Page("alerts", data, "zh-CN");
  ASSERT_TRUE(html.has_value()) << html.error().message;
  EXPECT_EQ(Count(*html, "<table"), 1);
  EXPECT_EQ(Count(*html, "action=\"/alerts/"), 2);
  EXPECT_THAT(*html, HasSubstr("快速进展性间质性肺病"));
  EXPECT_THAT(*html, HasSubstr("首次报告"));  // the SAE report due
}

TEST(Renderer, AeFormIsPrefilledFromTheAe) {
  auto html = Web().Page("ae_form", Sample("ae_form"), "zh-CN");
  ASSERT_TRUE(html.has_value()) << html.error().message;
  EXPECT_THAT(*html, HasSubstr("<option value=\"lung_infection\" selected>肺部感染</option>"));
  EXPECT_THAT(*html, HasSubstr("<option value=\"pneumonitis\">"));
  EXPECT_THAT(*html, HasSubstr("<option value=\"3\" selected>3</option>"));
  EXPECT_THAT(*html, HasSubstr("<option value=\"2\">2</option>"));
  EXPECT_THAT(*html, HasSubstr("value=\"hospitalization\" checked>"));
  EXPECT_THAT(*html, HasSubstr("value=\"death\">"));
  EXPECT_THAT(*html, HasSubstr("<option value=\"possibly_related\" selected>可能相关</option>"));
  EXPECT_THAT(*html, HasSubstr("<option value=\"dose_not_changed\" selected>"));
  EXPECT_THAT(*html, HasSubstr("name=\"reason\" required"));  // a new version needs a reason
  // A new AE without the term list: nothing selected, the term typed, no reason asked.
  json fresh = Sample("ae_form");
  fresh.erase("ae");
  fresh.erase("terms");
  auto blank = Web().Page("ae_form", fresh, "en");
  ASSERT_TRUE(blank.has_value());
  EXPECT_THAT(*blank, Not(HasSubstr(" selected")));
  EXPECT_THAT(*blank, Not(HasSubstr(" checked")));
  EXPECT_THAT(*blank, HasSubstr("<input name=\"term\" value=\"\" required>"));
  EXPECT_THAT(*blank, Not(HasSubstr("name=\"reason\"")));
  EXPECT_THAT(*blank, HasSubstr("action=\"/aes\""));
}

TEST(Renderer, ChartsGoThroughTheSvgSlot) {
  auto subject = Web().Page("subject", Sample("subject"), "en");
  ASSERT_TRUE(subject.has_value()) << subject.error().message;
  EXPECT_EQ(Count(*subject, "<svg "), 3);
  EXPECT_THAT(*subject, HasSubstr("FVC % predicted"));
  EXPECT_THAT(*subject, HasSubstr("aria-label=\"SpO₂\""));
  EXPECT_THAT(*subject, HasSubstr(">100</text>"));  // the TIS axis stops at 100 (FACTS §2.2)
  auto dashboard = Web().Page("dashboard", Sample("dashboard"), "zh-CN");
  ASSERT_TRUE(dashboard.has_value()) << dashboard.error().message;
  EXPECT_EQ(Count(*dashboard, "<svg "), 1);
  EXPECT_THAT(*dashboard, HasSubstr(">已随机化: 3</text>"));
  EXPECT_THAT(*dashboard, HasSubstr(">目标: 110</text>"));
  // Without chart data, no chart and no error.
  json plain = Sample("subject");
  plain.erase("charts");
  auto no_charts = Web().Page("subject", plain, "en");
  ASSERT_TRUE(no_charts.has_value());
  EXPECT_EQ(Count(*no_charts, "<svg "), 0);
}

// Replaces every string of `j` with `hostile`, except under the keys whose values must parse
// (chart data), whose text the charts escape on their own.
void Poison(json& j, const std::string& hostile) {
  if (j.is_string()) {
    j = hostile;
  } else if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k != "enrollment" && k != "charts") Poison(v, hostile);
    }
  } else if (j.is_array()) {
    for (auto& v : j) Poison(v, hostile);
  }
}

TEST(Renderer, HostileDataComesOutEscaped) {
  for (const std::string hostile : {"<script>alert(1)</script>", "' OR 1=1 --"}) {
    for (const std::string& page : kPages) {
      SCOPED_TRACE(page + " " + hostile);
      json data = Sample(page);
      Poison(data, hostile);
      if (data.contains("charts")) data["charts"]["x"][0] = hostile;  // a chart label too
      auto html = Web().Page(page, data, "en");
      ASSERT_TRUE(html.has_value()) << html.error().message;
      EXPECT_THAT(*html, Not(HasSubstr(hostile)));
      EXPECT_THAT(*html, Not(HasSubstr("<script")));
      EXPECT_THAT(*html, Not(HasSubstr("' OR")));
      if (hostile.front() == '<') {
        EXPECT_THAT(*html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
      } else {
        EXPECT_THAT(*html, HasSubstr("&apos; OR 1=1 --"));
      }
    }
  }
}

TEST(Renderer, RefusesUnknownPagesLanguagesAndReservedKeys) {
  auto lang = Web().Page("subjects", Sample("subjects"), "fr");
  ASSERT_FALSE(lang.has_value());
  EXPECT_EQ(lang.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(lang.error().message, HasSubstr("unknown language 'fr' (one of en, zh-CN)"));
  auto page = Web().Page("nope", json::object(), "en");
  ASSERT_FALSE(page.has_value());
  EXPECT_EQ(page.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(page.error().message, HasSubstr("unknown page 'nope'"));
  EXPECT_FALSE(Web().Page("layout", json::object(), "en").has_value());
  EXPECT_FALSE(Web().Page("_csrf", json::object(), "en").has_value());
  for (const char* key : {"svg", "t", "content", "tr", "sel", "chk", "_csrf"}) {
    json data = Sample("subjects");
    data[key] = "<svg onload=alert(1)>";
    auto reserved = Web().Page("subjects", data, "en");
    ASSERT_FALSE(reserved.has_value()) << key;
    EXPECT_EQ(reserved.error().code, ErrorCode::kInvalidArgument);
    EXPECT_THAT(reserved.error().message, HasSubstr(std::string("data key '") + key + "'"));
  }
  auto array = Web().Page("subjects", json::array(), "en");
  ASSERT_FALSE(array.has_value());
  EXPECT_THAT(array.error().message, HasSubstr("data must be a JSON object"));
}

TEST(Renderer, RefusesChartDataThatCannotBeDrawn) {
  json data = Sample("subject");
  data["charts"]["fvc"][1] = "70";
  auto bad = Web().Page("subject", data, "en");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message, HasSubstr("charts.fvc[1] must be a number or null"));
  data = Sample("subject");
  data["charts"]["tis"].push_back(1);
  EXPECT_THAT(Web().Page("subject", data, "en").error().message,
              HasSubstr("charts.tis: line chart"));
  data = Sample("dashboard");
  data["enrollment"]["dates"][1] = "2026-13-01";
  EXPECT_THAT(Web().Page("dashboard", data, "en").error().message,
              HasSubstr("enrollment.dates[1]"));
  data = Sample("dashboard");
  data["enrollment"].erase("target");
  EXPECT_THAT(Web().Page("dashboard", data, "en").error().message,
              HasSubstr("enrollment.target must be a whole number"));
}

// ---- the catalogs ----

json Catalog(const std::string& lang) {
  return json::parse(ReadFile(fs::path(kWebDir) / "i18n" / (lang + ".json")));
}

TEST(Catalogs, SameKeysAndNoEmptyText) {
  const json en = Catalog("en"), zh = Catalog("zh-CN");
  std::set<std::string> en_keys, zh_keys;
  for (const auto& [k, v] : en.items()) {
    en_keys.insert(k);
    EXPECT_TRUE(v.is_string() && !v.get<std::string>().empty()) << "en " << k;
  }
  for (const auto& [k, v] : zh.items()) {
    zh_keys.insert(k);
    EXPECT_TRUE(v.is_string() && !v.get<std::string>().empty()) << "zh-CN " << k;
  }
  EXPECT_EQ(en_keys, zh_keys);
  EXPECT_GT(en_keys.size(), 200u);
  // Real translations of the clinical terms.
  EXPECT_EQ(zh["nav.subjects"], "受试者");
  EXPECT_EQ(zh["nav.screening"], "筛选");
  EXPECT_EQ(zh["nav.randomize"], "随机化");
  EXPECT_EQ(zh["nav.aes"], "不良事件");
  EXPECT_EQ(zh["aes.sae"], "严重不良事件");
  EXPECT_EQ(zh["field.query"], "质疑");
  EXPECT_EQ(zh["field.visit"], "访视");
  EXPECT_EQ(zh["nav.audit"], "稽查轨迹");
  EXPECT_EQ(zh["nav.unblind"], "紧急揭盲");
}

// Every {{t.key}} a template uses is in the catalog (a missing one would render as nothing).
TEST(Catalogs, CoverEveryKeyTheTemplatesUse) {
  const json en = Catalog("en");
  const std::regex tag("\\{\\{\\s*t\\.([A-Za-z0-9_.]+)\\s*\\}\\}");
  int used = 0;
  for (const auto& e : fs::directory_iterator(fs::path(kWebDir) / "templates")) {
    const std::string text = ReadFile(e.path());
    for (auto it = std::sregex_iterator(text.begin(), text.end(), tag);
         it != std::sregex_iterator(); ++it) {
      ++used;
      EXPECT_TRUE(en.contains((*it)[1].str())) << e.path() << ": t." << (*it)[1].str();
    }
  }
  EXPECT_GT(used, 100);
}

// ---- load errors, on a copy of web/ in a temporary folder ----

class LoadErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("trial-web-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::copy(kWebDir, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file) << text;
  }
  Error LoadError() {
    auto r = Renderer::Load(dir_);
    EXPECT_FALSE(r.has_value());
    return r.has_value() ? Error{} : r.error();
  }
  fs::path dir_;
};

TEST_F(LoadErrors, TheCopyLoads) { EXPECT_TRUE(Renderer::Load(dir_).has_value()); }

TEST_F(LoadErrors, MissingFolderOrLayout) {
  auto missing = Renderer::Load(dir_ / "nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("nope/templates: no such folder"));
  fs::remove(dir_ / "templates" / "layout.mustache");
  Error e = LoadError();
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_THAT(e.message, HasSubstr("layout.mustache: missing"));
}

TEST_F(LoadErrors, TemplateThatDoesNotParse) {
  Write("templates/subjects.mustache", "{{#subjects}}<p>{{id}}</p>");
  Error e = LoadError();
  EXPECT_EQ(e.code, ErrorCode::kParse);
  EXPECT_THAT(e.message, HasSubstr("templates/subjects.mustache: "));
}

TEST_F(LoadErrors, UnescapedDataIsRefused) {
  Write("templates/subjects.mustache", "{{#subjects}}<p>{{{site}}}</p>{{/subjects}}");
  Error e = LoadError();
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_THAT(e.message, HasSubstr("subjects.mustache: unescaped tag 'site'"));
  Write("templates/subjects.mustache", "{{& site}}");
  EXPECT_THAT(LoadError().message, HasSubstr("unescaped tag 'site'"));
  Write("templates/subjects.mustache", "{{=<% %>=}}<%{site}%>");
  EXPECT_THAT(LoadError().message, HasSubstr("delimiter change"));
  Write("templates/subjects.mustache", "{{{content}}}");  // content only in the layout
  EXPECT_THAT(LoadError().message, HasSubstr("unescaped tag 'content'"));
}

TEST_F(LoadErrors, CatalogsThatDisagree) {
  json zh = Catalog("zh-CN");
  zh.erase("nav.subjects");
  Write("i18n/zh-CN.json", zh.dump());
  Error e = LoadError();
  EXPECT_EQ(e.code, ErrorCode::kInvalidInput);
  EXPECT_THAT(e.message, HasSubstr("zh-CN.json: key 'nav.subjects' is missing (it is in en.json)"));

  zh = Catalog("zh-CN");
  zh["nav.extra"] = "多余";
  Write("i18n/zh-CN.json", zh.dump());
  EXPECT_THAT(LoadError().message, HasSubstr("zh-CN.json: key 'nav.extra' is not in en.json"));

  zh = Catalog("zh-CN");
  zh["nav.subjects"] = "";
  Write("i18n/zh-CN.json", zh.dump());
  EXPECT_THAT(LoadError().message, HasSubstr("zh-CN.json: 'nav.subjects' is empty"));

  Write("i18n/zh-CN.json", "{\"nav\": ");
  Error parse = LoadError();
  EXPECT_EQ(parse.code, ErrorCode::kParse);
  EXPECT_THAT(parse.message, HasSubstr("zh-CN.json: not a JSON object"));
}

TEST_F(LoadErrors, KeyThatIsAPrefixOrAPageWithoutTitle) {
  json en = Catalog("en");
  en["nav"] = "Navigation";
  Write("i18n/en.json", en.dump());
  EXPECT_THAT(LoadError().message, HasSubstr("en.json: key 'nav' is a prefix of 'nav.admin'"));
  fs::copy_file(kWebDir + std::string("/i18n/en.json"), dir_ / "i18n" / "en.json",
                fs::copy_options::overwrite_existing);
  Write("templates/newpage.mustache", "<p>new</p>");
  EXPECT_THAT(LoadError().message, HasSubstr("no 'title.newpage' for templates/newpage.mustache"));
}

}  // namespace
}  // namespace trial::web
