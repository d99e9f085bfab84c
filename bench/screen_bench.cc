// Benchmarks of the screening path, per candidate (one Bundle about one patient):
//   BM_ParseTypical / BM_ParseLarge        record::ReadBundle (bytes processed reported)
//   BM_EvaluateTypical / BM_EvaluateLarge  eligibility::Screen, fast path (explain = false)
//   BM_EvaluateTypicalExplained            eligibility::Screen with explanations
//   BM_ScreenEndToEndTypical               parse + Screen with explanations
//   BM_ParseSynthea / BM_EvaluateSynthea   the largest Synthea sample (real-world shape, ignored
//                                          resource types, no trial data); skipped if absent
// Typical = examples/eligible-female.json (42 resources). Large = the typical bundle plus 420
// generated resources (Observations with protocol and other codes over two years, Conditions,
// MedicationStatements). S = 2026-07-06, R = 2026-07-13; the protocol is loaded once.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/date.h"
#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "record/fhir.h"

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace {

using nlohmann::json;
using trial::Date;
namespace eligibility = trial::eligibility;
namespace protocol = trial::protocol;
namespace record = trial::record;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "trial_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Date kScreening = *Date::FromYmd(2026, 7, 6);
const Date kRandomization = *Date::FromYmd(2026, 7, 13);

json Coding(const char* system, const std::string& code) {
  return {{"coding", json::array({{{"system", system}, {"code", code}}})}};
}

json Quantity(double value, const char* ucum) {
  return {
      {"value", value}, {"unit", ucum}, {"system", "http://unitsofmeasure.org"}, {"code", ucum}};
}

// The typical bundle plus 400 Observations, 10 Conditions and 10 MedicationStatements, dated over
// the two years before S, with unique ids; values in normal ranges so the verdict stays the same
// kind of work (every criterion still evaluated).
std::string MakeLargeBundle(const std::string& typical) {
  json bundle = json::parse(typical);
  std::string patient_ref;
  for (const auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == "Patient") patient_ref = e["fullUrl"];
  }
  if (patient_ref.empty()) Die("typical bundle has no Patient");
  const json subject = {{"reference", patient_ref}};

  struct Lab {
    const char* loinc;
    const char* unit;
    double base;
    const char* category;
  };
  const std::vector<Lab> labs = {
      {"29463-7", "kg", 60, "vital-signs"},    {"59408-5", "%", 97, "vital-signs"},
      {"8867-4", "/min", 72, "vital-signs"},   {"8480-6", "mm[Hg]", 120, "vital-signs"},
      {"6690-2", "10*9/L", 6.5, "laboratory"}, {"751-8", "10*9/L", 4.0, "laboratory"},
      {"731-0", "10*9/L", 1.8, "laboratory"},  {"718-7", "g/L", 130, "laboratory"},
      {"777-3", "10*9/L", 250, "laboratory"},  {"1742-6", "U/L", 25, "laboratory"},
      {"1920-8", "U/L", 24, "laboratory"},     {"1975-2", "umol/L", 10, "laboratory"},
      {"2160-0", "mg/dL", 0.8, "laboratory"},  {"2345-7", "mmol/L", 5.2, "laboratory"},
      {"2951-2", "mmol/L", 140, "laboratory"}, {"19872-1", "%", 85, "laboratory"},
  };
  const Date first = kScreening.AddDays(-730);
  auto& entries = bundle["entry"];
  for (int i = 0; i < 400; ++i) {
    const Lab& lab = labs[i % labs.size()];
    // Spread over [S - 730 d, S - 31 d]: older than the screening window, so the screening
    // values (and the verdict) are those of the typical bundle.
    const Date when = first.AddDays(i * 699 / 400);
    const std::string id = "bench-obs-" + std::to_string(i);
    json obs = {
        {"resourceType", "Observation"},
        {"id", id},
        {"status", "final"},
        {"category",
         json::array(
             {Coding("http://terminology.hl7.org/CodeSystem/observation-category", lab.category)})},
        {"code", Coding("http://loinc.org", lab.loinc)},
        {"subject", subject},
        {"effectiveDateTime", when.ToString() + "T09:" + (i % 2 ? "15" : "45") + ":00+08:00"},
        {"valueQuantity", Quantity(lab.base * (0.9 + 0.01 * (i % 20)), lab.unit)},
    };
    entries.push_back({{"fullUrl", "urn:uuid:" + id}, {"resource", obs}});
  }
  const std::vector<std::string> conditions = {"38341003", "44054006", "195967001", "235595009",
                                               "40055000"};
  for (int i = 0; i < 10; ++i) {
    const std::string id = "bench-cond-" + std::to_string(i);
    json cond = {
        {"resourceType", "Condition"},
        {"id", id},
        {"clinicalStatus", Coding("http://terminology.hl7.org/CodeSystem/condition-clinical",
                                  i % 3 ? "active" : "resolved")},
        {"code", Coding("http://snomed.info/sct", conditions[i % conditions.size()])},
        {"subject", subject},
        {"onsetDateTime", first.AddDays(i * 60).ToString()},
    };
    entries.push_back({{"fullUrl", "urn:uuid:" + id}, {"resource", cond}});
  }
  const std::vector<std::string> drugs = {"7646", "29046", "6809", "83367", "17767"};
  for (int i = 0; i < 10; ++i) {
    const std::string id = "bench-med-" + std::to_string(i);
    const Date start = first.AddDays(i * 45);
    json med = {
        {"resourceType", "MedicationStatement"},
        {"id", id},
        {"status", "completed"},
        {"medicationCodeableConcept",
         Coding("http://www.nlm.nih.gov/research/umls/rxnorm", drugs[i % drugs.size()])},
        {"subject", subject},
        {"effectivePeriod", {{"start", start.ToString()}, {"end", start.AddDays(30).ToString()}}},
        {"dosage",
         json::array({{
             {"timing",
              {{"repeat", {{"frequency", 1 + i % 2}, {"period", 1}, {"periodUnit", "d"}}}}},
             {"route", Coding("http://snomed.info/sct", "26643006")},
             {"doseAndRate", json::array({{{"doseQuantity", Quantity(10, "mg")}}})},
         }})},
    };
    entries.push_back({{"fullUrl", "urn:uuid:" + id}, {"resource", med}});
  }
  return bundle.dump();
}

// The largest Synthea sample bundle by size, or "" when the shared data is not there.
std::string LargestSyntheaPath() {
  namespace fs = std::filesystem;
  std::string dir = TRIAL_SOURCE_DIR "/../shared/data/synthea-r4-sample";
  if (const char* env = std::getenv("TRIAL_SHARED"); env && *env) {
    dir = std::string(env) + "/data/synthea-r4-sample";
  }
  std::error_code ec;
  std::string best;
  uintmax_t best_size = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".json") continue;
    const uintmax_t size = fs::file_size(it->path(), ec);
    if (!ec && size > best_size) {
      best_size = size;
      best = it->path().string();
    }
  }
  return best;
}

struct Fixture {
  std::unique_ptr<protocol::Protocol> protocol;
  std::string typical_json;
  std::string large_json;
  std::string synthea_json;  // empty when absent
  record::PatientRecord typical;
  record::PatientRecord large;
  record::PatientRecord synthea;

  Fixture() {
    const std::string dir = TRIAL_SOURCE_DIR "/protocols/promis-mda5";
    auto loaded = protocol::Load(dir);
    if (!loaded) Die("cannot load protocol " + dir + ": " + loaded.error().message);
    protocol = std::move(*loaded);

    typical_json = ReadFile(TRIAL_SOURCE_DIR "/examples/eligible-female.json");
    large_json = MakeLargeBundle(typical_json);
    typical = Parse(typical_json, "typical");
    large = Parse(large_json, "large");
    if (const std::string path = LargestSyntheaPath(); !path.empty()) {
      synthea_json = ReadFile(path);
      synthea = Parse(synthea_json, path);
    }
  }

  static record::PatientRecord Parse(const std::string& text, const std::string& what) {
    auto rec = record::ReadBundle(text);
    if (!rec) Die(what + ": " + rec.error().message);
    return std::move(*rec);
  }
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

void Parse(benchmark::State& state, const std::string& text) {
  if (text.empty()) {
    state.SkipWithError("bundle not available");
    return;
  }
  for (auto _ : state) {
    auto rec = record::ReadBundle(text);
    if (!rec) {
      state.SkipWithError(rec.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(rec);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.SetItemsProcessed(state.iterations());
}

void Evaluate(benchmark::State& state, const record::PatientRecord& rec, bool explain) {
  const protocol::Protocol& p = *F().protocol;
  for (auto _ : state) {
    auto s = eligibility::Screen(p, rec, kScreening, kRandomization,
                                 eligibility::Options{.explain = explain});
    if (!s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseTypical(benchmark::State& state) { Parse(state, F().typical_json); }
void BM_ParseLarge(benchmark::State& state) { Parse(state, F().large_json); }
void BM_ParseSynthea(benchmark::State& state) { Parse(state, F().synthea_json); }

void BM_EvaluateTypical(benchmark::State& state) { Evaluate(state, F().typical, false); }
void BM_EvaluateLarge(benchmark::State& state) { Evaluate(state, F().large, false); }
void BM_EvaluateTypicalExplained(benchmark::State& state) { Evaluate(state, F().typical, true); }
void BM_EvaluateSynthea(benchmark::State& state) {
  if (F().synthea_json.empty()) {
    state.SkipWithError("bundle not available");
    return;
  }
  Evaluate(state, F().synthea, false);
}

void BM_ScreenEndToEndTypical(benchmark::State& state) {
  const protocol::Protocol& p = *F().protocol;
  const std::string& text = F().typical_json;
  for (auto _ : state) {
    auto rec = record::ReadBundle(text);
    if (!rec) {
      state.SkipWithError(rec.error().message.c_str());
      return;
    }
    auto s = eligibility::Screen(p, *rec, kScreening, kRandomization,
                                 eligibility::Options{.explain = true});
    if (!s) {
      state.SkipWithError(s.error().message.c_str());
      return;
    }
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ParseTypical)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseSynthea)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EvaluateTypical)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EvaluateLarge)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EvaluateSynthea)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EvaluateTypicalExplained)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ScreenEndToEndTypical)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
