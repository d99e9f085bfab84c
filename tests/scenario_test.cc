// Runs every declarative scenario of tests/scenarios/ (format in tests/scenarios/README.md):
// cases/*.json through the FHIR reader and the eligibility engine with the real PROMIS-MDA5
// protocol, errors/*.json through the command line, expecting a non-zero exit and a one-line
// message with the expected words.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "record/fhir.h"

namespace trial {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kScenarios = fs::path("tests") / "scenarios";

json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

std::vector<std::string> Files(const std::string& sub) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kScenarios / sub)) {
    if (e.path().extension() == ".json") out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The bundle of a case: its base with `remove`, `patch` and `add` applied.
json BuildBundle(const json& c) {
  json bundle = ReadJson(kScenarios / "bases" / (c.at("base").get<std::string>() + ".json"));
  json& entries = bundle["entry"];
  if (c.contains("remove")) {
    for (const auto& id : c["remove"]) {
      entries.erase(
          std::remove_if(entries.begin(), entries.end(),
                         [&](const json& e) { return e["resource"].value("id", "") == id; }),
          entries.end());
    }
  }
  if (c.contains("patch")) {
    for (const auto& [id, patch] : c["patch"].items()) {
      bool found = false;
      for (auto& e : entries) {
        if (e["resource"].value("id", "") == id) {
          e["resource"].merge_patch(patch);
          found = true;
        }
      }
      EXPECT_TRUE(found) << "patch names no resource '" << id << "'";
    }
  }
  if (c.contains("add")) {
    int n = 0;
    for (const auto& r : c["add"]) {
      entries.push_back(
          json{{"fullUrl", "urn:uuid:scenario-added-" + std::to_string(n++)}, {"resource", r}});
    }
  }
  return bundle;
}

const protocol::Protocol& Promis() {
  static std::unique_ptr<protocol::Protocol> p = [] {
    auto loaded = protocol::Load("protocols/promis-mda5");
    if (!loaded) {
      ADD_FAILURE() << loaded.error().message;
      return std::unique_ptr<protocol::Protocol>();
    }
    return std::move(*loaded);
  }();
  return *p;
}

std::string TestName(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param.substr(0, info.param.size() - 5);
  for (char& ch : s) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return s;
}

class Case : public testing::TestWithParam<std::string> {};

TEST_P(Case, GivesExpectedVerdictAndCriteria) {
  json c = ReadJson(kScenarios / "cases" / GetParam());
  std::string base = c.at("base");
  json base_expected = ReadJson(kScenarios / "bases" / (base + ".expected.json"));
  auto s =
      Date::Parse(c.value("screening_date", base_expected["screening_date"].get<std::string>()));
  auto r = Date::Parse(
      c.value("randomization_date", base_expected["randomization_date"].get<std::string>()));
  ASSERT_TRUE(s && r);
  std::string text = BuildBundle(c).dump();
  auto record = record::ReadBundle(text);
  ASSERT_TRUE(record) << record.error().message;
  auto result = eligibility::Screen(Promis(), *record, *s, *r);
  ASSERT_TRUE(result) << result.error().message;
  json expected = base_expected["criteria"];
  for (const auto& [id, v] : c["expect"]["criteria"].items()) expected[id] = v;
  for (const auto& cr : result->criteria) {
    EXPECT_EQ(eligibility::OutcomeName(cr.outcome), expected[cr.criterion->id].get<std::string>())
        << cr.criterion->id << " — " << c.value("description", "")
        << "\n  explanation: " << cr.explanation;
  }
  EXPECT_EQ(eligibility::VerdictName(result->verdict), c["expect"]["verdict"].get<std::string>())
      << c.value("description", "");
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Case, testing::ValuesIn(Files("cases")), TestName);

class BadInput : public testing::TestWithParam<std::string> {};

TEST_P(BadInput, IsRejectedWithAOneLineMessage) {
  json c = ReadJson(kScenarios / "errors" / GetParam());
  std::string text =
      c.contains("bundle_text") ? c["bundle_text"].get<std::string>() : BuildBundle(c).dump();
  fs::path file = fs::temp_directory_path() / ("trial-scenario-" + GetParam());
  {
    std::ofstream out(file, std::ios::binary);
    out << text;
  }
  std::vector<std::string> args = {"screen",
                                   file.string(),
                                   "--screening-date",
                                   c.value("screening_date", "2026-07-06"),
                                   "--randomization-date",
                                   c.value("randomization_date", "2026-07-13"),
                                   "--protocol",
                                   "protocols/promis-mda5"};
  std::ostringstream out, err;
  int code = cli::Run(args, out, err);
  fs::remove(file);
  EXPECT_NE(code, 0) << c.value("description", "");
  EXPECT_TRUE(out.str().empty()) << "no verdict may be printed for bad input";
  std::string message = err.str();
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1) << message;
  std::string lower = message, word = c["expect"]["error"];
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  std::transform(word.begin(), word.end(), word.begin(), ::tolower);
  EXPECT_NE(lower.find(word), std::string::npos)
      << "expected '" << word << "' in: " << message << c.value("description", "");
}

INSTANTIATE_TEST_SUITE_P(Scenarios, BadInput, testing::ValuesIn(Files("errors")), TestName);

}  // namespace
}  // namespace trial
