// Protocol changes take effect without a rebuild: a copy of protocols/promis-mda5 with one
// parameter changed screens the same FHIR bundle differently. Run from the repository root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "protocol/temp_protocol_test_util.h"
#include "record/fhir.h"

namespace trial {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* const kDir = "protocols/promis-mda5";
const char* const kBundle = "examples/eligible-female.json";
const Date kS = *Date::FromYmd(2026, 7, 6);  // as in eligible-female.expected.json
const Date kR = *Date::FromYmd(2026, 7, 13);

using ::trial::protocol::testing::ReadText;
using ::trial::protocol::testing::TempProtocol;

std::unique_ptr<protocol::Protocol> LoadOrDie(const std::string& dir) {
  auto p = protocol::Load(dir);
  EXPECT_TRUE(p.has_value()) << dir << ": " << (p ? "" : p.error().message);
  return p ? std::move(*p) : nullptr;
}

json Bundle() { return json::parse(ReadText(kBundle)); }

// The bundle's body-weight Observation (id "weight").
json& WeightResource(json& bundle) {
  for (auto& e : bundle["entry"]) {
    if (e["resource"].value("id", "") == "weight") return e["resource"];
  }
  ADD_FAILURE() << "no weight Observation in " << kBundle;
  static json none;
  return none;
}

record::PatientRecord Record(const json& bundle) {
  auto r = record::ReadBundle(bundle.dump());
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  return r ? std::move(*r) : record::PatientRecord{};
}

// The outcome of criterion `id` ("met", "not_met", "unknown"), with its explanation on failure.
std::string Outcome(const protocol::Protocol& p, const record::PatientRecord& rec,
                    const std::string& id, std::vector<std::string>* missing = nullptr) {
  auto s = eligibility::Screen(p, rec, kS, kR);
  EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
  if (!s) return "error";
  for (const auto& c : s->criteria) {
    if (c.criterion->id == id) {
      if (missing) *missing = c.missing;
      return eligibility::OutcomeName(c.outcome);
    }
  }
  ADD_FAILURE() << "no criterion " << id;
  return "none";
}

TEST(ProtocolChangeTest, TheExampleIsEligibleWithTheRealProtocol) {
  auto p = LoadOrDie(kDir);
  ASSERT_NE(p, nullptr);
  auto s = eligibility::Screen(*p, Record(Bundle()), kS, kR);
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->verdict, eligibility::Verdict::kEligible) << eligibility::ToText(*p, *s);
}

TEST(ProtocolChangeTest, RaisingTheMinimumWeight) {
  TempProtocol copy;
  copy.Replace("protocol.yaml", "value: 45 'kg'", "value: 50 'kg'");
  auto p45 = LoadOrDie(kDir);
  auto p50 = LoadOrDie(copy.dir());
  ASSERT_NE(p45, nullptr);
  ASSERT_NE(p50, nullptr);

  // 60 kg: met either way, and still eligible overall.
  json bundle = Bundle();
  ASSERT_EQ(WeightResource(bundle)["valueQuantity"]["value"], 60);
  auto rec60 = Record(bundle);
  EXPECT_EQ(Outcome(*p45, rec60, "IN1"), "met");
  EXPECT_EQ(Outcome(*p50, rec60, "IN1"), "met");
  auto s = eligibility::Screen(*p50, rec60, kS, kR);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->verdict, eligibility::Verdict::kEligible);

  // 48 kg: met with 45 kg, not met with 50 kg.
  WeightResource(bundle)["valueQuantity"]["value"] = 48;
  auto rec48 = Record(bundle);
  EXPECT_EQ(Outcome(*p45, rec48, "IN1"), "met");
  EXPECT_EQ(Outcome(*p50, rec48, "IN1"), "not_met");
  auto s48 = eligibility::Screen(*p50, rec48, kS, kR);
  ASSERT_TRUE(s48.has_value());
  EXPECT_EQ(s48->verdict, eligibility::Verdict::kIneligible);

  // The boundary is inclusive: exactly 50 kg is met, also when written in grams.
  WeightResource(bundle)["valueQuantity"]["value"] = 50;
  EXPECT_EQ(Outcome(*p50, Record(bundle), "IN1"), "met");
  WeightResource(bundle)["valueQuantity"]["value"] = 49999;
  WeightResource(bundle)["valueQuantity"]["code"] = "g";
  WeightResource(bundle)["valueQuantity"]["unit"] = "g";
  EXPECT_EQ(Outcome(*p50, Record(bundle), "IN1"), "not_met");
}

TEST(ProtocolChangeTest, ShorteningTheScreeningWindow) {
  TempProtocol copy;
  copy.Replace("protocol.yaml", "value: 28 days\n    description: screening values",
               "value: 21 days\n    description: screening values");
  auto p28 = LoadOrDie(kDir);
  auto p21 = LoadOrDie(copy.dir());
  ASSERT_NE(p28, nullptr);
  ASSERT_NE(p21, nullptr);

  json bundle = Bundle();
  // The only weight, 25 days before S: a screening value with 28 days, none with 21.
  WeightResource(bundle)["effectiveDateTime"] = "2026-06-11";
  auto rec = Record(bundle);
  EXPECT_EQ(Outcome(*p28, rec, "IN1"), "met");
  std::vector<std::string> missing;
  EXPECT_EQ(Outcome(*p21, rec, "IN1", &missing), "unknown");
  ASSERT_FALSE(missing.empty());
  bool names_weight = false;
  for (const auto& m : missing) names_weight = names_weight || m.find("body weight") != m.npos;
  EXPECT_TRUE(names_weight) << ::testing::PrintToString(missing);

  // The window's far end S - 21 days is inside, the day before is not.
  WeightResource(bundle)["effectiveDateTime"] = "2026-06-15";
  EXPECT_EQ(Outcome(*p21, Record(bundle), "IN1"), "met");
  WeightResource(bundle)["effectiveDateTime"] = "2026-06-14";
  EXPECT_EQ(Outcome(*p21, Record(bundle), "IN1"), "unknown");
  EXPECT_EQ(Outcome(*p28, Record(bundle), "IN1"), "met");
}

}  // namespace
}  // namespace trial
