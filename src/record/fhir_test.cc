#include "record/fhir.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace trial::record {
namespace {

namespace fs = std::filesystem;

fs::path SharedDir() {
  const char* env = std::getenv("TRIAL_SHARED");
  return fs::path(env != nullptr && *env != '\0' ? env : "../shared");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr const char* kPatientUrl = "urn:uuid:11111111-1111-1111-1111-111111111111";

// A collection Bundle with the standard Patient (id p1, fullUrl kPatientUrl) and `entries`
// (comma-separated entry objects, may be empty).
std::string WithPatient(const std::string& entries) {
  std::string s = R"({"resourceType":"Bundle","type":"collection","entry":[
    {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
     "resource":{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1986-05-14"}})";
  if (!entries.empty()) s += "," + entries;
  s += "]}";
  return s;
}

// An entry holding `resource`.
std::string Entry(const std::string& resource) { return R"({"resource":)" + resource + "}"; }

const std::string kSubject =
    R"("subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"})";

std::string Obs(const std::string& id, const std::string& body,
                const std::string& status = "final") {
  return Entry(R"({"resourceType":"Observation","id":")" + id + R"(","status":")" + status +
               R"(","code":{"coding":[{"system":"http://loinc.org","code":"6690-2"}]},)" +
               kSubject + (body.empty() ? "" : "," + body) + "}");
}

PatientRecord MustRead(const std::string& text) {
  Result<PatientRecord> r = ReadBundle(text);
  EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
  if (!r) return PatientRecord{};
  return std::move(*r);
}

void ExpectError(const std::string& text, ErrorCode code,
                 std::initializer_list<std::string_view> words) {
  Result<PatientRecord> r = ReadBundle(text);
  ASSERT_FALSE(r.has_value()) << "expected an error";
  EXPECT_EQ(r.error().code, code) << r.error().message;
  for (std::string_view w : words) {
    EXPECT_NE(r.error().message.find(w), std::string::npos)
        << "message '" << r.error().message << "' lacks '" << w << "'";
  }
}

// ---- shared examples and Synthea ----

struct ExampleCase {
  const char* file;
  const char* patient_id;
  Sex sex;
  size_t observations, conditions, exposures, consents;
};

TEST(FhirExamples, AllLoadWithExpectedCounts) {
  const ExampleCase cases[] = {
      {"eligible-female.json", "pat-eligible-female", Sex::kFemale, 34, 3, 3, 1},
      {"eligible-male.json", "pat-eligible-male", Sex::kMale, 28, 3, 3, 1},
      {"hbsag-positive.json", "pat-hbsag-positive", Sex::kMale, 28, 3, 3, 1},
      {"hiv-test-missing.json", "pat-hiv-test-missing", Sex::kMale, 27, 3, 3, 1},
      {"pregnant.json", "pat-pregnant", Sex::kFemale, 34, 3, 3, 1},
  };
  for (const ExampleCase& c : cases) {
    SCOPED_TRACE(c.file);
    std::string text = ReadFile(SharedDir() / "fhir" / "examples" / c.file);
    ASSERT_FALSE(text.empty()) << "cannot read example (set TRIAL_SHARED)";
    PatientRecord rec = MustRead(text);
    EXPECT_EQ(rec.patient.id, c.patient_id);
    EXPECT_EQ(rec.patient.sex, c.sex);
    EXPECT_TRUE(rec.patient.birth_date.has_value());
    EXPECT_EQ(rec.observations.size(), c.observations);
    EXPECT_EQ(rec.conditions.size(), c.conditions);
    EXPECT_EQ(rec.exposures.size(), c.exposures);
    EXPECT_EQ(rec.consents.size(), c.consents);
    EXPECT_TRUE(rec.requests.empty());
    EXPECT_TRUE(
        std::is_sorted(rec.observations.begin(), rec.observations.end(),
                       [](const Observation& a, const Observation& b) { return a.time < b.time; }));
    EXPECT_TRUE(rec.warnings.empty()) << rec.warnings.front();
  }
}

TEST(FhirExamples, EligibleFemaleDetails) {
  PatientRecord rec =
      MustRead(ReadFile(SharedDir() / "fhir" / "examples" / "eligible-female.json"));
  EXPECT_EQ(rec.patient.birth_date, Date::FromYmd(1986, 5, 14));
  const Exposure* tmp = nullptr;
  for (const Exposure& e : rec.exposures) {
    if (e.source.id == "tmpsmz") tmp = &e;
  }
  ASSERT_NE(tmp, nullptr);
  EXPECT_TRUE(tmp->ongoing);
  EXPECT_EQ(tmp->end, Date::Max());
  ASSERT_EQ(tmp->dosages.size(), 1u);
  ASSERT_TRUE(tmp->dosages[0].dose.has_value());
  EXPECT_EQ(tmp->dosages[0].dose->unit.code(), "{tbl}");
  bool mda5 = false;
  for (const Observation& o : rec.observations) {
    if (o.source.id == "mda5") {
      mda5 = true;
      EXPECT_EQ(o.qualitative, Qualitative::kPositive);
    }
  }
  EXPECT_TRUE(mda5);
}

TEST(FhirSynthea, AllBundlesLoad) {
  const fs::path dir = SharedDir() / "data" / "synthea-r4-sample";
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " (set TRIAL_SHARED)";
  int files = 0;
  size_t stays = 0;
  size_t requests = 0;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() != ".json") continue;
    ++files;
    SCOPED_TRACE(f.path().filename().string());
    Result<PatientRecord> r = ReadBundle(ReadFile(f.path()));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_FALSE(r->patient.id.empty());
    EXPECT_TRUE(r->patient.birth_date.has_value());
    EXPECT_NE(r->patient.sex, Sex::kUnknown);
    EXPECT_FALSE(r->observations.empty());
    for (const Stay& s : r->stays) EXPECT_TRUE(s.start.has_value());
    for (const Request& q : r->requests) EXPECT_FALSE(q.codes.empty());
    stays += r->stays.size();
    requests += r->requests.size();
  }
  EXPECT_EQ(files, 8);
  EXPECT_EQ(stays, 8u);      // Encounters with class IMP
  EXPECT_EQ(requests, 22u);  // all MedicationRequests
}

TEST(FhirSynthea, TimedValuesAndUsUnits) {
  PatientRecord rec = MustRead(ReadFile(SharedDir() / "data" / "synthea-r4-sample" /
                                        "Dirk_Kuhlman_1e503533-b8c2-42cb-a6d5-bbd7d70d07ad.json"));
  EXPECT_EQ(rec.patient.birth_date, Date::FromYmd(1971, 12, 7));
  size_t with_time = 0;
  for (const Observation& o : rec.observations) {
    if (o.time.utc_seconds) ++with_time;
  }
  EXPECT_EQ(with_time, rec.observations.size());
}

// ---- errors ----

TEST(FhirErrors, MalformedJsonGivesBytePosition) {
  ExpectError(R"({"resourceType":"Bundle","entry":[)", ErrorCode::kParse,
              {"malformed JSON", "byte"});
  ExpectError("", ErrorCode::kParse, {"malformed JSON", "byte"});
  ExpectError(R"({"resourceType":"Bundle" "entry":[]})", ErrorCode::kParse, {"byte 32"});
}

TEST(FhirErrors, NotABundle) {
  ExpectError(R"({"resourceType":"Patient","id":"p1"})", ErrorCode::kInvalidInput,
              {"not a FHIR Bundle", "Patient"});
  ExpectError(R"({"type":"collection","entry":[]})", ErrorCode::kInvalidInput,
              {"not a FHIR Bundle"});
  ExpectError(R"([1,2])", ErrorCode::kInvalidInput, {"not a FHIR Bundle"});
  ExpectError(R"("Bundle")", ErrorCode::kInvalidInput, {"not a FHIR Bundle"});
  ExpectError(R"({"resourceType":7})", ErrorCode::kParse, {"resourceType"});
}

TEST(FhirErrors, NoPatient) {
  ExpectError(R"({"resourceType":"Bundle","type":"collection"})", ErrorCode::kInvalidInput,
              {"no Patient"});
  ExpectError(R"({"resourceType":"Bundle","type":"collection","entry":[
                   {"resource":{"resourceType":"Observation","id":"x","status":"final",
                                "effectiveDateTime":"2026-01-01"}}]})",
              ErrorCode::kInvalidInput, {"no Patient"});
}

TEST(FhirErrors, TwoPatients) {
  ExpectError(WithPatient(Entry(R"({"resourceType":"Patient","id":"p2"})")),
              ErrorCode::kInvalidInput, {"two", "Patient"});
}

TEST(FhirErrors, ResourceAboutAnotherPatient) {
  std::string obs = Entry(R"({"resourceType":"Observation","id":"x","status":"final",
      "subject":{"reference":"Patient/other"},"effectiveDateTime":"2026-01-01"})");
  ExpectError(WithPatient(obs), ErrorCode::kInvalidInput,
              {"Observation/x", "subject", "Patient/other", "not the bundle's patient"});
  std::string consent = Entry(R"({"resourceType":"Consent","id":"c","status":"active",
      "patient":{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"}})");
  ExpectError(WithPatient(consent), ErrorCode::kInvalidInput, {"Consent/c", "patient"});
  std::string allergy = Entry(R"({"resourceType":"AllergyIntolerance","id":"a",
      "patient":{"reference":"http://example.org/fhir/Patient/p2"}})");
  ExpectError(WithPatient(allergy), ErrorCode::kInvalidInput, {"AllergyIntolerance/a"});
}

TEST(FhirErrors, UnparseableDates) {
  Result<PatientRecord> r =
      ReadBundle(WithPatient(Obs("wbc", R"("effectiveDateTime":"2026-13-01")")));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kParse);
  EXPECT_EQ(r.error().message,
            "Observation/wbc: effectiveDateTime '2026-13-01' is not a valid date");

  ExpectError(R"({"resourceType":"Bundle","entry":[{"resource":
                   {"resourceType":"Patient","id":"p1","birthDate":"1986-02-30"}}]})",
              ErrorCode::kParse, {"Patient/p1", "birthDate", "1986-02-30"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"Condition","id":"c",
                 "onsetDateTime":"yesterday"})")),
              ErrorCode::kParse, {"Condition/c", "onsetDateTime", "yesterday"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"MedicationStatement","id":"m",
                 "status":"active","effectivePeriod":{"start":"2026-01-01","end":"2026-02-31"}})")),
              ErrorCode::kParse, {"MedicationStatement/m", "effectivePeriod.end", "2026-02-31"});
}

TEST(FhirErrors, WrongJsonTypesDoNotCrash) {
  ExpectError(R"({"resourceType":"Bundle","entry":{"resource":{}}})", ErrorCode::kParse,
              {"entry", "array"});
  ExpectError(R"({"resourceType":"Bundle","entry":["Patient"]})", ErrorCode::kParse, {"entry[0]"});
  ExpectError(R"({"resourceType":"Bundle","entry":[{"resource":"Patient"}]})", ErrorCode::kParse,
              {"entry[0]", "resource"});
  ExpectError(R"({"resourceType":"Bundle","entry":[{"resource":{"id":"x"}}]})",
              ErrorCode::kInvalidInput, {"entry[0]", "resourceType"});
}

TEST(FhirErrors, WrongElementTypesNameResourceAndElement) {
  ExpectError(WithPatient(Entry(R"({"resourceType":"Observation","id":"x","status":3,
                 "effectiveDateTime":"2026-01-01"})")),
              ErrorCode::kParse, {"Observation/x", "status"});
  ExpectError(WithPatient(Obs("x", R"("effectiveDateTime":"2026-01-01",
                 "valueQuantity":{"value":"12","unit":"g/L"})")),
              ErrorCode::kParse, {"Observation/x", "valueQuantity"});
  ExpectError(WithPatient(Obs("x", R"("effectiveDateTime":20260101)")), ErrorCode::kParse,
              {"Observation/x", "effectiveDateTime"});
  ExpectError(WithPatient(Obs("x", R"("effectiveDateTime":"2026-01-01","valueBoolean":"true")")),
              ErrorCode::kParse, {"Observation/x", "valueBoolean"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"Condition","id":"c",
                 "code":{"coding":"396230008"}})")),
              ErrorCode::kParse, {"Condition/c", "code"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"MedicationStatement","id":"m",
                 "status":"active","effectiveDateTime":"2026-01-01",
                 "dosage":[{"timing":{"repeat":{"frequency":"twice"}}}]})")),
              ErrorCode::kParse, {"MedicationStatement/m", "frequency"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"Encounter","id":"e","class":"IMP"})")),
              ErrorCode::kParse, {"Encounter/e", "class"});
  ExpectError(WithPatient(Entry(R"({"resourceType":"Observation","id":"x","subject":"p1"})")),
              ErrorCode::kParse, {"Observation/x", "subject"});
}

// ---- references ----

TEST(FhirReferences, AcceptedForms) {
  std::string entries =
      Entry(R"({"resourceType":"Condition","id":"a","subject":{"reference":"Patient/p1"}})") + "," +
      Entry(R"({"resourceType":"Condition","id":"b",
                 "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}})") +
      "," + Entry(R"({"resourceType":"Condition","id":"c",
                 "subject":{"reference":"https://ehr.example.org/fhir/Patient/p1"}})") +
      "," + Entry(R"({"resourceType":"Condition","id":"d"})") + "," +
      Entry(R"({"resourceType":"Condition","id":"e","subject":{"display":"Jane"}})");
  PatientRecord rec = MustRead(WithPatient(entries));
  EXPECT_EQ(rec.conditions.size(), 5u);
}

TEST(FhirReferences, PatientIdIsNotAPrefixMatch) {
  ExpectError(WithPatient(Entry(R"({"resourceType":"Condition","id":"a",
                 "subject":{"reference":"Patient/p10"}})")),
              ErrorCode::kInvalidInput, {"Condition/a"});
}

TEST(FhirReferences, SourceFallsBackToFullUrl) {
  PatientRecord rec = MustRead(WithPatient(R"({"fullUrl":"urn:uuid:abc",
      "resource":{"resourceType":"Condition"}})"));
  ASSERT_EQ(rec.conditions.size(), 1u);
  EXPECT_EQ(rec.conditions[0].source.ToString(), "Condition/urn:uuid:abc");
}

TEST(FhirReferences, MedicationReferenceResolved) {
  std::string entries =
      R"({"fullUrl":"urn:uuid:med-1","resource":{"resourceType":"Medication","id":"m1",
          "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"8640"}]}}},)" +
      Entry(R"({"resourceType":"MedicationRequest","id":"r1","status":"active","intent":"order",
                 "medicationReference":{"reference":"urn:uuid:med-1"},"authoredOn":"2026-01-02"})") +
      "," +
      Entry(R"({"resourceType":"MedicationRequest","id":"r2","status":"active","intent":"plan",
                 "medicationReference":{"reference":"Medication/m1"},"authoredOn":"2026-01-01"})") +
      "," +
      Entry(R"({"resourceType":"MedicationRequest","id":"r3","status":"active","intent":"plan",
                 "medicationReference":{"reference":"Medication/missing"},"authoredOn":"2026-01-03"})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.requests.size(), 3u);
  EXPECT_EQ(rec.requests[0].source.id, "r2");  // sorted by authoredOn
  EXPECT_EQ(rec.requests[0].intent, "plan");
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(rec.requests[i].codes.size(), 1u);
    EXPECT_EQ(rec.requests[i].codes[0].code, "8640");
  }
  EXPECT_TRUE(rec.requests[2].codes.empty());
  ASSERT_EQ(rec.warnings.size(), 1u);
  EXPECT_NE(rec.warnings[0].find("Medication/missing"), std::string::npos);
}

// ---- status filtering ----

TEST(FhirStatus, ObservationStatuses) {
  std::string date = R"("effectiveDateTime":"2026-01-01","valueBoolean":true)";
  std::string entries = Obs("f", date, "final") + "," + Obs("a", date, "amended") + "," +
                        Obs("c", date, "corrected") + "," + Obs("p", date, "preliminary") + "," +
                        Obs("r", date, "registered") + "," + Obs("x", date, "cancelled") + "," +
                        Obs("e", date, "entered-in-error") + "," + Obs("u", date, "unknown");
  PatientRecord rec = MustRead(WithPatient(entries));
  std::string ids;
  for (const Observation& o : rec.observations) ids += o.source.id;
  EXPECT_EQ(ids, "facpu");
}

TEST(FhirStatus, ConditionVerificationAndClinical) {
  auto cond = [](const std::string& id, const std::string& ver, const std::string& clin) {
    std::string s = R"({"resourceType":"Condition","id":")" + id + "\"";
    if (!ver.empty()) s += R"(,"verificationStatus":{"coding":[{"code":")" + ver + "\"}]}";
    if (!clin.empty()) s += R"(,"clinicalStatus":{"coding":[{"code":")" + clin + "\"}]}";
    return Entry(s + "}");
  };
  std::string entries = cond("a", "refuted", "active") + "," + cond("b", "entered-in-error", "") +
                        "," + cond("c", "unconfirmed", "") + "," +
                        cond("d", "provisional", "resolved") + "," +
                        cond("e", "differential", "relapse") + "," +
                        cond("f", "confirmed", "remission") + "," + cond("g", "", "");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.conditions.size(), 5u);
  EXPECT_EQ(rec.conditions[0].source.id, "c");
  EXPECT_EQ(rec.conditions[0].verification, Verification::kUncertain);
  EXPECT_EQ(rec.conditions[0].clinical, ClinicalStatus::kNone);
  EXPECT_EQ(rec.conditions[1].verification, Verification::kUncertain);
  EXPECT_EQ(rec.conditions[1].clinical, ClinicalStatus::kPast);
  EXPECT_EQ(rec.conditions[2].clinical, ClinicalStatus::kCurrent);
  EXPECT_EQ(rec.conditions[3].verification, Verification::kConfirmed);
  EXPECT_EQ(rec.conditions[3].clinical, ClinicalStatus::kPast);
  EXPECT_EQ(rec.conditions[4].verification, Verification::kConfirmed);
  EXPECT_EQ(rec.conditions[4].clinical, ClinicalStatus::kNone);
}

TEST(FhirStatus, ConditionDatesAndSorting) {
  std::string entries =
      Entry(R"({"resourceType":"Condition","id":"late","onsetDateTime":"2020-05-01T10:00:00+08:00",
                 "abatementDateTime":"2021-01-01"})") +
      "," + Entry(R"({"resourceType":"Condition","id":"undated"})") + "," +
      Entry(R"({"resourceType":"Condition","id":"early","onsetPeriod":{"start":"2019-01-01"},
                 "abatementPeriod":{"start":"2019-02-01","end":"2019-03-01"}})") +
      "," + Entry(R"({"resourceType":"Condition","id":"age","onsetAge":{"value":40,"unit":"a"}})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.conditions.size(), 4u);
  EXPECT_EQ(rec.conditions[0].source.id, "undated");
  EXPECT_EQ(rec.conditions[1].source.id, "age");
  EXPECT_FALSE(rec.conditions[1].onset.has_value());
  EXPECT_EQ(rec.conditions[2].source.id, "early");
  EXPECT_EQ(rec.conditions[2].abatement, Date::FromYmd(2019, 3, 1));
  EXPECT_EQ(rec.conditions[3].onset, Date::FromYmd(2020, 5, 1));  // own offset, not UTC
  EXPECT_EQ(rec.conditions[3].abatement, Date::FromYmd(2021, 1, 1));
}

TEST(FhirStatus, AllergyStatuses) {
  std::string entries =
      Entry(R"({"resourceType":"AllergyIntolerance","id":"a","patient":{"reference":"Patient/p1"},
                 "clinicalStatus":{"coding":[{"code":"inactive"}]},
                 "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"612865"}]}})") +
      "," + Entry(R"({"resourceType":"AllergyIntolerance","id":"b",
                 "verificationStatus":{"coding":[{"code":"refuted"}]}})") +
      "," + Entry(R"({"resourceType":"AllergyIntolerance","id":"c",
                 "verificationStatus":{"coding":[{"code":"unconfirmed"}]},
                 "clinicalStatus":{"coding":[{"code":"active"}]}})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.allergies.size(), 2u);
  EXPECT_TRUE(rec.allergies[0].inactive);
  EXPECT_EQ(rec.allergies[0].codes,
            (std::vector<Coding>{{"http://www.nlm.nih.gov/research/umls/rxnorm", "612865"}}));
  EXPECT_FALSE(rec.allergies[1].inactive);
  EXPECT_EQ(rec.allergies[1].verification, Verification::kUncertain);
}

TEST(FhirStatus, MedicationStatementStatuses) {
  auto stmt = [](const std::string& id, const std::string& status) {
    return Entry(R"({"resourceType":"MedicationStatement","id":")" + id + R"(","status":")" +
                 status + R"(","effectiveDateTime":"2026-01-01",
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"H02AB07"}]}})");
  };
  std::string entries = stmt("a", "active") + "," + stmt("b", "completed") + "," +
                        stmt("c", "stopped") + "," + stmt("d", "on-hold") + "," +
                        stmt("e", "unknown") + "," + stmt("x", "entered-in-error") + "," +
                        stmt("y", "intended") + "," + stmt("z", "not-taken");
  PatientRecord rec = MustRead(WithPatient(entries));
  std::string ids;
  for (const Exposure& e : rec.exposures) {
    ids += e.source.id;
    EXPECT_EQ(e.status_unknown, e.source.id == "e");
    EXPECT_EQ(e.kind, ExposureKind::kStatement);
    EXPECT_EQ(e.start, Date::FromYmd(2026, 1, 1));
    EXPECT_EQ(e.end, *Date::FromYmd(2026, 1, 1));
    EXPECT_FALSE(e.ongoing);
    ASSERT_EQ(e.codes.size(), 1u);
    EXPECT_EQ(e.codes[0].code, "H02AB07");
  }
  EXPECT_EQ(ids, "abcde");
}

TEST(FhirStatus, AdministrationRequestEncounterConsent) {
  std::string entries =
      Entry(R"({"resourceType":"MedicationAdministration","id":"ok","status":"completed",
                 "effectiveDateTime":"2026-02-03T08:00:00Z",
                 "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"J01DD04"}]},
                 "dosage":{"route":{"coding":[{"system":"http://snomed.info/sct","code":"47625008"}]},
                           "dose":{"value":2,"unit":"g","system":"http://unitsofmeasure.org","code":"g"}}})") +
      "," + Entry(R"({"resourceType":"MedicationAdministration","id":"run","status":"in-progress",
                 "effectivePeriod":{"start":"2026-02-04T22:00:00Z","end":"2026-02-05T01:00:00Z"},
                 "medicationCodeableConcept":{"coding":[{"code":"x"}]}})") +
      "," + Entry(R"({"resourceType":"MedicationAdministration","id":"no","status":"not-done",
                 "effectiveDateTime":"2026-02-03"})") +
      "," + Entry(R"({"resourceType":"MedicationRequest","id":"r-eie","status":"entered-in-error",
                 "intent":"order"})") +
      "," + Entry(R"({"resourceType":"MedicationRequest","id":"r-draft","status":"draft",
                 "intent":"plan","medicationCodeableConcept":{"coding":[{"code":"y"}]}})") +
      "," + Entry(R"({"resourceType":"Encounter","id":"imp","status":"finished",
                 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},
                 "period":{"start":"2026-01-10T10:00:00+01:00","end":"2026-01-20"},
                 "reasonCode":[{"coding":[{"system":"urn:promis-mda5","code":"severe-infection"}]},
                               {"coding":[{"system":"http://snomed.info/sct","code":"267036007"}]}]})") +
      "," + Entry(R"({"resourceType":"Encounter","id":"amb","status":"finished",
                 "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
                 "period":{"start":"2026-01-10"}})") +
      "," + Entry(R"({"resourceType":"Encounter","id":"cancel","status":"cancelled",
                 "class":{"code":"IMP"},"period":{"start":"2026-01-10"}})") +
      "," + Entry(R"({"resourceType":"Encounter","id":"open","status":"in-progress",
                 "class":{"code":"IMP"},"period":{"start":"2026-01-01"}})") +
      "," + Entry(R"({"resourceType":"Consent","id":"eie","status":"entered-in-error"})") + "," +
      Entry(R"({"resourceType":"Consent","id":"yes","status":"active","dateTime":"2026-07-05",
                 "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"research"}]}})") +
      "," + Entry(R"({"resourceType":"Procedure","id":"proc","status":"completed"})") + "," +
      Entry(R"({"resourceType":"Claim","id":"ignored","patient":{"reference":"Patient/x"}})");
  PatientRecord rec = MustRead(WithPatient(entries));

  ASSERT_EQ(rec.exposures.size(), 2u);
  const Exposure& a = rec.exposures[0];
  EXPECT_EQ(a.source.id, "ok");
  EXPECT_EQ(a.kind, ExposureKind::kAdministration);
  EXPECT_EQ(a.start, Date::FromYmd(2026, 2, 3));
  EXPECT_EQ(a.end, *Date::FromYmd(2026, 2, 3));
  ASSERT_EQ(a.dosages.size(), 1u);
  EXPECT_FALSE(a.dosages[0].has_repeat);
  ASSERT_TRUE(a.dosages[0].dose.has_value());
  EXPECT_EQ(a.dosages[0].dose->value, 2);
  EXPECT_EQ(a.dosages[0].dose->unit.code(), "g");
  EXPECT_EQ(a.dosages[0].route, (std::vector<Coding>{{"http://snomed.info/sct", "47625008"}}));
  EXPECT_EQ(rec.exposures[1].source.id, "run");
  EXPECT_EQ(rec.exposures[1].end, *Date::FromYmd(2026, 2, 5));

  ASSERT_EQ(rec.requests.size(), 1u);
  EXPECT_EQ(rec.requests[0].status, "draft");
  EXPECT_FALSE(rec.requests[0].authored.has_value());

  ASSERT_EQ(rec.stays.size(), 2u);
  EXPECT_EQ(rec.stays[0].source.id, "open");
  EXPECT_FALSE(rec.stays[0].end.has_value());
  EXPECT_EQ(rec.stays[1].start, Date::FromYmd(2026, 1, 10));
  EXPECT_EQ(rec.stays[1].end, Date::FromYmd(2026, 1, 20));
  EXPECT_EQ(rec.stays[1].reasons.size(), 2u);

  ASSERT_EQ(rec.consents.size(), 1u);
  EXPECT_EQ(rec.consents[0].status, "active");
  EXPECT_EQ(rec.consents[0].date, Date::FromYmd(2026, 7, 5));
  ASSERT_EQ(rec.consents[0].scopes.size(), 1u);
  EXPECT_EQ(rec.consents[0].scopes[0].code, "research");
}

// ---- exposures and dosage ----

TEST(FhirDosage, FrequencyPeriodAndTabletDose) {
  std::string entries = Entry(R"({"resourceType":"MedicationStatement","id":"m","status":"active",
      "medicationCodeableConcept":{"coding":[{"system":"http://www.whocc.no/atc","code":"J01EE01"}]},
      "effectivePeriod":{"start":"2026-02-28"},
      "dosage":[
        {"timing":{"repeat":{"frequency":2,"period":1,"periodUnit":"d"}},
         "route":{"coding":[{"system":"http://snomed.info/sct","code":"26643006"}]},
         "doseAndRate":[{"doseQuantity":{"value":1,"unit":"tablet","system":"http://unitsofmeasure.org","code":"{tbl}"}}]},
        {"timing":{"repeat":{"period":1,"periodUnit":"wk"}},
         "doseAndRate":[{"doseQuantity":{"value":3,"unit":"tablets"}}]},
        {"timing":{"repeat":{"frequency":3,"period":8,"periodUnit":"h"}},
         "doseAndRate":[{"doseRange":{"low":{"value":5,"code":"mg"},"high":{"value":10,"code":"mg"}}}]},
        {"doseAndRate":[{"doseQuantity":{"value":30,"unit":"mg"}}]},
        {"timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"mo"}}},
        {"timing":{"repeat":{"frequency":1}}}
      ]})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.exposures.size(), 1u);
  const Exposure& e = rec.exposures[0];
  EXPECT_TRUE(e.ongoing);
  EXPECT_EQ(e.start, Date::FromYmd(2026, 2, 28));
  EXPECT_EQ(e.end, Date::Max());
  ASSERT_EQ(e.dosages.size(), 6u);

  const Dosage& d0 = e.dosages[0];
  EXPECT_TRUE(d0.has_repeat);
  EXPECT_EQ(d0.frequency, 2.0);
  EXPECT_EQ(d0.period_days, 1.0);
  ASSERT_TRUE(d0.dose.has_value());
  EXPECT_EQ(d0.dose->value, 1);
  EXPECT_EQ(d0.dose->unit.code(), "{tbl}");
  EXPECT_EQ(d0.route, (std::vector<Coding>{{"http://snomed.info/sct", "26643006"}}));

  const Dosage& d1 = e.dosages[1];
  EXPECT_EQ(d1.frequency, 1.0);  // missing frequency with a repeat
  EXPECT_EQ(d1.period_days, 7.0);
  ASSERT_TRUE(d1.dose.has_value());  // non-UCUM "tablets" read as {tbl}
  EXPECT_EQ(d1.dose->unit.code(), "{tbl}");

  const Dosage& d2 = e.dosages[2];
  ASSERT_TRUE(d2.period_days.has_value());
  EXPECT_DOUBLE_EQ(*d2.period_days, 8.0 / 24.0);
  ASSERT_TRUE(d2.dose.has_value());
  EXPECT_EQ(d2.dose->value, 5);
  EXPECT_EQ(d2.dose->unit.code(), "mg");

  const Dosage& d3 = e.dosages[3];
  EXPECT_FALSE(d3.has_repeat);
  EXPECT_FALSE(d3.frequency.has_value());
  EXPECT_FALSE(d3.period_days.has_value());
  ASSERT_TRUE(d3.dose.has_value());
  EXPECT_EQ(d3.dose->value, 30);

  EXPECT_DOUBLE_EQ(e.dosages[4].period_days.value_or(0), 30.4375);
  EXPECT_TRUE(e.dosages[5].has_repeat);
  EXPECT_FALSE(e.dosages[5].period_days.has_value());
  EXPECT_TRUE(rec.warnings.empty());
}

TEST(FhirDosage, DoseWithoutUnitIsDroppedWithWarning) {
  std::string entries = Entry(R"({"resourceType":"MedicationRequest","id":"r","status":"active",
      "intent":"order","medicationCodeableConcept":{"coding":[{"code":"1"}]},
      "dosageInstruction":[{"timing":{"repeat":{"frequency":1,"period":4,"periodUnit":"h"}},
                            "doseAndRate":[{"doseQuantity":{"value":1}}]}]})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.requests.size(), 1u);
  ASSERT_EQ(rec.requests[0].dosages.size(), 1u);
  EXPECT_FALSE(rec.requests[0].dosages[0].dose.has_value());
  EXPECT_DOUBLE_EQ(rec.requests[0].dosages[0].period_days.value_or(0), 4.0 / 24.0);
  EXPECT_EQ(rec.warnings.size(), 1u);
}

TEST(FhirExposure, PeriodsAndOngoing) {
  auto stmt = [](const std::string& id, const std::string& status, const std::string& eff) {
    return Entry(R"({"resourceType":"MedicationStatement","id":")" + id + R"(","status":")" +
                 status + R"(","medicationCodeableConcept":{"coding":[{"code":"1"}]})" +
                 (eff.empty() ? "" : "," + eff) + "}");
  };
  std::string entries =
      stmt("open", "active", R"("effectivePeriod":{"start":"2026-01-05"})") + "," +
      stmt("closed", "active", R"("effectivePeriod":{"start":"2026-01-04","end":"2026-01-20"})") +
      "," + stmt("oneday", "completed", R"("effectivePeriod":{"start":"2026-01-03"})") + "," +
      stmt("nodate-active", "active", "") + "," + stmt("nodate-done", "completed", "");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.exposures.size(), 5u);
  // Sorted by start, undated first (stable).
  EXPECT_EQ(rec.exposures[0].source.id, "nodate-active");
  EXPECT_FALSE(rec.exposures[0].start.has_value());
  EXPECT_TRUE(rec.exposures[0].ongoing);
  EXPECT_EQ(rec.exposures[0].end, Date::Max());
  EXPECT_EQ(rec.exposures[1].source.id, "nodate-done");
  EXPECT_FALSE(rec.exposures[1].ongoing);
  EXPECT_EQ(rec.exposures[2].source.id, "oneday");
  EXPECT_EQ(rec.exposures[2].end, *Date::FromYmd(2026, 1, 3));
  EXPECT_FALSE(rec.exposures[2].ongoing);
  EXPECT_EQ(rec.exposures[3].source.id, "closed");
  EXPECT_EQ(rec.exposures[3].end, *Date::FromYmd(2026, 1, 20));
  EXPECT_FALSE(rec.exposures[3].ongoing);
  EXPECT_EQ(rec.exposures[4].source.id, "open");
  EXPECT_TRUE(rec.exposures[4].ongoing);
  EXPECT_EQ(rec.exposures[4].end, Date::Max());
  EXPECT_EQ(rec.warnings.size(), 2u);  // the two undated statements
}

// ---- observations ----

TEST(FhirObservation, QualitativeMapping) {
  std::string d = R"("effectiveDateTime":"2026-01-01",)";
  std::string entries =
      Obs("pos",
          d + R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"10828004"}]})") +
      "," +
      Obs("neg",
          d + R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]})") +
      "," +
      Obs("other",
          d + R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"419984006"}]},
                        "interpretation":[{"coding":[{"code":"POS"}]}])") +
      "," +
      Obs("ipos",
          d + R"("valueQuantity":{"value":3.2,"code":"[IU]/mL","system":"http://unitsofmeasure.org"},
                       "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"POS"}]}])") +
      "," + Obs("ineg", d + R"("interpretation":[{"coding":[{"code":"NEG"}]}])") + "," +
      Obs("ihigh",
          d + R"("interpretation":[{"coding":[{"code":"H"}]},{"coding":[{"code":"pos"}]}])") +
      "," + Obs("none", d + R"("valueBoolean":true)");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.observations.size(), 7u);
  auto q = [&](const std::string& id) {
    for (const Observation& o : rec.observations) {
      if (o.source.id == id) return o.qualitative;
    }
    ADD_FAILURE() << id;
    return Qualitative::kNone;
  };
  EXPECT_EQ(q("pos"), Qualitative::kPositive);
  EXPECT_EQ(q("neg"), Qualitative::kNegative);
  EXPECT_EQ(q("other"), Qualitative::kOther);
  EXPECT_EQ(q("ipos"), Qualitative::kPositive);
  EXPECT_EQ(q("ineg"), Qualitative::kNegative);
  EXPECT_EQ(q("ihigh"), Qualitative::kNone);
  EXPECT_EQ(q("none"), Qualitative::kNone);
}

TEST(FhirObservation, ComparatorAndReferenceRange) {
  std::string entries = Obs("hbv", R"("effectiveDateTime":"2026-01-01",
           "valueQuantity":{"value":20,"comparator":"<","unit":"copies/mL","system":"http://unitsofmeasure.org","code":"{copies}/mL"})") +
                        "," + Obs("alt", R"("effectiveDateTime":"2026-01-02",
           "valueQuantity":{"value":50,"comparator":">=","unit":"U/L"},
           "referenceRange":[{"low":{"value":7,"unit":"U/L"},"high":{"value":40,"unit":"U/L","code":"U/L"}}])");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.observations.size(), 2u);
  const Observation& hbv = rec.observations[0];
  ASSERT_TRUE(hbv.quantity.has_value());
  EXPECT_EQ(hbv.quantity->value, 20);
  EXPECT_EQ(hbv.quantity->comparator, Comparator::kLt);
  EXPECT_EQ(hbv.quantity->unit.code(), "{copies}/mL");
  EXPECT_FALSE(hbv.reference_high.has_value());
  const Observation& alt = rec.observations[1];
  ASSERT_TRUE(alt.quantity.has_value());
  EXPECT_EQ(alt.quantity->comparator, Comparator::kGe);
  ASSERT_TRUE(alt.reference_high.has_value());
  EXPECT_EQ(alt.reference_high->value, 40);
  EXPECT_EQ(alt.reference_high->unit.code(), "U/L");
}

TEST(FhirObservation, UnitsFromCodeOrTextOrNone) {
  std::string d = R"("effectiveDateTime":"2026-01-01",)";
  std::string entries =
      Obs("code",
          d + R"("valueQuantity":{"value":5.1,"unit":"10^9/L","system":"http://unitsofmeasure.org","code":"10*9/L"})") +
      "," + Obs("text", d + R"("valueQuantity":{"value":120,"unit":"g/L"})") + "," +
      Obs("mmhg", d + R"("valueQuantity":{"value":80,"unit":"mmHg"})") + "," +
      Obs("local",
          d + R"("valueQuantity":{"value":80,"unit":"g/L","system":"http://local","code":"GPL"})") +
      "," + Obs("missing", d + R"("valueQuantity":{"value":7})") + "," +
      Obs("bad", d + R"("valueQuantity":{"value":7,"unit":"furlongs per fortnight"})") + "," +
      Obs("novalue", d + R"("valueQuantity":{"unit":"g/L"})");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.observations.size(), 7u);
  auto get = [&](const std::string& id) -> const Observation& {
    for (const Observation& o : rec.observations) {
      if (o.source.id == id) return o;
    }
    ADD_FAILURE() << id;
    return rec.observations[0];
  };
  ASSERT_TRUE(get("code").quantity.has_value());
  EXPECT_EQ(get("code").quantity->unit.code(), "10*9/L");
  ASSERT_TRUE(get("text").quantity.has_value());
  EXPECT_EQ(get("text").quantity->unit.code(), "g/L");
  ASSERT_TRUE(get("mmhg").quantity.has_value());
  EXPECT_EQ(get("mmhg").quantity->unit.code(), "mm[Hg]");
  ASSERT_TRUE(get("local").quantity.has_value());
  EXPECT_EQ(get("local").quantity->unit.code(), "g/L");
  EXPECT_FALSE(get("missing").quantity.has_value());
  EXPECT_TRUE(get("missing").quantity_unit_missing);
  EXPECT_FALSE(get("bad").quantity.has_value());
  EXPECT_FALSE(get("bad").quantity_unit_missing);
  EXPECT_FALSE(get("novalue").quantity.has_value());
  ASSERT_EQ(rec.warnings.size(), 1u);
  EXPECT_NE(rec.warnings[0].find("Observation/bad"), std::string::npos);
  EXPECT_NE(rec.warnings[0].find("furlongs"), std::string::npos);
}

TEST(FhirObservation, TimeSourcesAndOrdering) {
  std::string entries =
      Obs("timed", R"("effectiveDateTime":"2026-01-02T09:00:00+02:00")") + "," +
      Obs("dateonly", R"("effectiveDateTime":"2026-01-02")") + "," +
      Obs("period", R"("effectivePeriod":{"start":"2026-01-01T23:00:00-05:00"})") + "," +
      Obs("instant", R"("effectiveInstant":"2025-12-31T10:00:00Z")") + "," +
      Obs("issued", R"("issued":"2025-12-30T10:00:00.123Z")") + "," + Obs("undated", "") + "," +
      Obs("value-date", R"("effectiveDateTime":"2026-01-03","valueDateTime":"2026-01-01")");
  PatientRecord rec = MustRead(WithPatient(entries));
  std::string order;
  for (const Observation& o : rec.observations) order += o.source.id + " ";
  EXPECT_EQ(order, "issued instant period dateonly timed value-date ");
  EXPECT_EQ(rec.observations[2].time.date, *Date::FromYmd(2026, 1, 1));  // own offset
  ASSERT_TRUE(rec.observations.back().date_value.has_value());
  EXPECT_EQ(rec.observations.back().date_value->date, *Date::FromYmd(2026, 1, 1));
  ASSERT_EQ(rec.warnings.size(), 1u);
  EXPECT_NE(rec.warnings[0].find("Observation/undated"), std::string::npos);
  // The undated observation is kept aside with its codes, so users can be told it mattered.
  ASSERT_EQ(rec.unplaced.size(), 1u);
  EXPECT_EQ(rec.unplaced[0].source.ToString(), "Observation/undated");
  EXPECT_FALSE(rec.unplaced[0].codes.empty());
}

TEST(FhirObservation, BooleanAndComponentsIgnored) {
  std::string entries = Obs("flag", R"("effectiveDateTime":"2026-01-01","valueBoolean":false)") +
                        "," + Obs("bp", R"("effectiveDateTime":"2026-01-01",
          "component":[{"code":{"coding":[{"code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}}])");
  PatientRecord rec = MustRead(WithPatient(entries));
  ASSERT_EQ(rec.observations.size(), 2u);
  EXPECT_EQ(rec.observations[0].boolean, false);
  EXPECT_FALSE(rec.observations[1].quantity.has_value());
  EXPECT_FALSE(rec.observations[1].boolean.has_value());
}

}  // namespace
}  // namespace trial::record
