// Unit tests of the rules language: parse -> bind -> evaluate, against a small hand-built catalog
// and hand-built patient records (no protocol files, no FHIR).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/catalog.h"
#include "rules/parser.h"
#include "rules/program.h"
#include "rules/value.h"

namespace trial::rules {
namespace {

using record::Coding;

const char* const kLoinc = "http://loinc.org";
const char* const kIcd = "http://hl7.org/fhir/sid/icd-10";
const char* const kRx = "http://www.nlm.nih.gov/research/umls/rxnorm";
const char* const kAtc = "http://www.whocc.no/atc";
const char* const kTrial = "urn:promis-mda5";
const char* const kSct = "http://snomed.info/sct";

Date D(const char* ymd) {
  auto d = Date::Parse(ymd);
  EXPECT_TRUE(d.has_value()) << ymd;
  return d.value_or(Date());
}

Unit U(const char* code) {
  auto u = Unit::Parse(code);
  EXPECT_TRUE(u.has_value()) << code;
  return u.value_or(Unit());
}

Quantity Q(double v, const char* unit, Comparator c = Comparator::kEq) {
  return Quantity{v, U(unit), c};
}

const Date kS = *Date::FromYmd(2026, 7, 6);   // screening
const Date kR = *Date::FromYmd(2026, 7, 13);  // randomization

CodePattern Exact(const char* system, const char* code) {
  CodePattern p;
  p.system = system;
  p.code = code;
  return p;
}

CodePattern Prefix(const char* system, const char* code) {
  CodePattern p = Exact(system, code);
  p.kind = CodePattern::Kind::kPrefix;
  return p;
}

Member M(const std::string& name, std::vector<CodePattern> codes,
         std::map<std::string, Quantity> attributes = {}) {
  Member m;
  m.name = name;
  m.any_of = std::move(codes);
  m.attributes = std::move(attributes);
  return m;
}

void AddElement(Catalog& cat, const std::string& name, const std::string& label, ValueKind kind,
                const char* unit, std::vector<Member> members,
                std::optional<double> molar_mass = std::nullopt) {
  auto e = std::make_unique<Element>();
  e->name = name;
  e->label = label;
  e->value = kind;
  if (unit) e->unit = U(unit);
  e->members = std::move(members);
  e->molar_mass_g_per_mol = molar_mass;
  e->index = static_cast<int>(cat.elements.size());
  cat.elements.push_back(std::move(e));
}

// The catalog every test uses (elements, parameters, definitions).
Catalog MakeCatalog() {
  Catalog cat;
  AddElement(cat, "weight", "body weight", ValueKind::kQuantity, "kg",
             {M("weight", {Exact(kLoinc, "29463-7")})});
  AddElement(cat, "sbp", "systolic blood pressure", ValueKind::kQuantity, "mm[Hg]",
             {M("sbp", {Exact(kLoinc, "8480-6")})});
  AddElement(cat, "creatinine", "serum creatinine", ValueKind::kQuantity, "mg/dL",
             {M("creatinine", {Exact(kLoinc, "2160-0")})}, 113.12);
  AddElement(cat, "hbv_dna", "HBV DNA", ValueKind::kQuantity, "{copies}/mL",
             {M("hbv_dna", {Exact(kLoinc, "29615-2")})});
  AddElement(cat, "alt", "ALT", ValueKind::kQuantity, "U/L", {M("alt", {Exact(kLoinc, "1742-6")})});
  AddElement(cat, "anti_mda5", "anti-MDA5 antibody", ValueKind::kQualitative, nullptr,
             {M("anti_mda5", {Exact(kLoinc, "82424-3")})});
  AddElement(cat, "cbp_flag", "childbearing potential", ValueKind::kBoolean, nullptr,
             {M("cbp_flag", {Exact(kTrial, "childbearing-potential")})});
  AddElement(cat, "dermatomyositis", "dermatomyositis", ValueKind::kNone, nullptr,
             {M("dermatomyositis", {Prefix(kIcd, "M33.1")})});
  AddElement(cat, "steroids", "glucocorticoids", ValueKind::kNone, nullptr,
             {M("prednisone", {Exact(kRx, "8640")}, {{"factor", Q(1, "1")}}),
              M("methylprednisolone", {Exact(kRx, "6902"), Exact(kAtc, "H02AB04")},
                {{"factor", Q(1.25, "1")}})});
  AddElement(cat, "cni", "calcineurin inhibitors", ValueKind::kNone, nullptr,
             {M("cyclosporine", {Exact(kRx, "3008")}), M("tacrolimus", {Exact(kRx, "42316")})});
  AddElement(cat, "antibiotics", "IV antibiotics", ValueKind::kNone, nullptr,
             {M("ceftriaxone", {Exact(kAtc, "J01DD04")}, {{"half_life", Q(8.7, "h")}}),
              M("no_half_life", {Exact(kAtc, "J01XX99")})});
  AddElement(cat, "oral_route", "oral route", ValueKind::kNone, nullptr,
             {M("oral", {Exact(kSct, "26643006")})});

  cat.parameters.push_back({"screening_window", "28 days", "screening window"});
  cat.parameters.push_back({"weight_min", "45 'kg'", "minimum weight"});
  cat.parameters.push_back({"uln_max", "3", "ULN multiple"});

  cat.definitions.push_back({"screening_value",
                             {"e"},
                             "latest(during(observations(e), S - screening_window, S))",
                             "defs: screening_value"});
  cat.definitions.push_back({"W", {}, "screening_value(weight).value", "defs: W"});
  cat.definitions.push_back({"heavy", {"w"}, "w > 100 'kg'", "defs: heavy"});
  return cat;
}

// ---- record builders ----

record::Observation Obs(const std::string& id, const char* system, const char* code,
                        const char* date) {
  record::Observation o;
  o.source = {"Observation", id};
  o.codes = {Coding{system, code}};
  o.time.date = D(date);
  o.status = "final";
  return o;
}

record::Observation QtyObs(const std::string& id, const char* system, const char* code,
                           const char* date, Quantity q) {
  record::Observation o = Obs(id, system, code, date);
  o.quantity = q;
  return o;
}

record::Observation Weight(const std::string& id, const char* date, double v,
                           const char* unit = "kg") {
  return QtyObs(id, kLoinc, "29463-7", date, Q(v, unit));
}

record::Condition Cond(const std::string& id, const char* code, bool confirmed,
                       const char* onset = nullptr) {
  record::Condition c;
  c.source = {"Condition", id};
  c.codes = {Coding{kIcd, code}};
  c.verification = confirmed ? record::Verification::kConfirmed : record::Verification::kUncertain;
  c.clinical = record::ClinicalStatus::kCurrent;
  if (onset) c.onset = D(onset);
  return c;
}

// A MedicationStatement taken `dose` x `per_day` a day over [start, end] (end null: ongoing).
record::Exposure Expo(const std::string& id, const char* system, const char* code,
                      const char* start, const char* end, std::optional<Quantity> dose,
                      double per_day = 1) {
  record::Exposure x;
  x.source = {"MedicationStatement", id};
  x.kind = record::ExposureKind::kStatement;
  x.codes = {Coding{system, code}};
  x.status = end ? "completed" : "active";
  if (start) x.start = D(start);
  if (end) {
    x.end = D(end);
  } else {
    x.end = Date::Max();
    x.ongoing = true;
  }
  record::Dosage d;
  d.dose = dose;
  d.frequency = per_day;
  d.period_days = 1;
  d.has_repeat = true;
  d.route = {Coding{kSct, "26643006"}};
  x.dosages.push_back(d);
  return x;
}

// "true" / "false" / "unknown", or the description of any other value.
std::string Show(const Value& v) {
  if (v.kind == Value::Kind::kBool) return v.b ? "true" : "false";
  if (v.kind == Value::Kind::kUnknown) return "unknown";
  return "value:" + Describe(v);
}

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_ = MakeCatalog();
    auto p = Program::Create(catalog_);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    program_ = std::move(*p);
  }

  // Compiles `text` and evaluates it on `rec`.
  Value Eval(std::string_view text, const record::PatientRecord& rec, Trace* trace = nullptr,
             RuleType type = RuleType::kAny) {
    auto id = program_->AddRule(text, "test", type);
    EXPECT_TRUE(id.has_value()) << text << ": " << (id ? "" : id.error().message);
    if (!id) return Value::Unknown();
    Session session(*program_, rec, kS, kR);
    return session.Evaluate(*id, trace);
  }
  std::string Run(std::string_view text, const record::PatientRecord& rec) {
    return Show(Eval(text, rec));
  }
  std::string Run(std::string_view text) { return Run(text, empty_); }

  // The error of compiling `text` (which must fail).
  Error Fails(std::string_view text, RuleType type = RuleType::kAny) {
    auto id = program_->AddRule(text, "test", type);
    EXPECT_FALSE(id.has_value()) << text << " compiled";
    return id ? Error{} : id.error();
  }

  Catalog catalog_;
  std::unique_ptr<Program> program_;
  record::PatientRecord empty_;
};

// ---------------------------------------------------------------------------------------------
// Kleene logic

struct Kleene {
  const char* a;
  const char* b;
  const char* and_;
  const char* or_;
  const char* implies;
};

constexpr Kleene kKleene[] = {
    {"true", "true", "true", "true", "true"},
    {"true", "false", "false", "true", "false"},
    {"true", "unknown", "unknown", "true", "unknown"},
    {"false", "true", "false", "true", "true"},
    {"false", "false", "false", "false", "true"},
    {"false", "unknown", "false", "unknown", "true"},
    {"unknown", "true", "unknown", "true", "true"},
    {"unknown", "false", "false", "unknown", "unknown"},
    {"unknown", "unknown", "unknown", "unknown", "unknown"},
};

TEST_F(RulesTest, KleeneAndOrImpliesTruthTables) {
  for (const auto& row : kKleene) {
    std::string a = row.a, b = row.b;
    EXPECT_EQ(Run(a + " and " + b), row.and_) << a << " and " << b;
    EXPECT_EQ(Run(a + " or " + b), row.or_) << a << " or " << b;
    EXPECT_EQ(Run(a + " implies " + b), row.implies) << a << " implies " << b;
  }
}

TEST_F(RulesTest, KleeneWithComputedUnknowns) {
  // An unknown that comes from missing data behaves like the literal.
  const std::string u = "W >= 45 'kg'";  // no weight in the empty record
  EXPECT_EQ(Run(u), "unknown");
  EXPECT_EQ(Run(u + " and false"), "false");
  EXPECT_EQ(Run("false and " + u), "false");
  EXPECT_EQ(Run(u + " or true"), "true");
  EXPECT_EQ(Run(u + " and true"), "unknown");
  EXPECT_EQ(Run("false implies " + u), "true");
  EXPECT_EQ(Run(u + " implies true"), "true");
}

TEST_F(RulesTest, Not) {
  EXPECT_EQ(Run("not true"), "false");
  EXPECT_EQ(Run("not false"), "true");
  EXPECT_EQ(Run("not unknown"), "unknown");
  EXPECT_EQ(Run("not not unknown"), "unknown");
  EXPECT_EQ(Run("not not true"), "true");
}

TEST_F(RulesTest, IsUnknown) {
  EXPECT_EQ(Run("unknown is unknown"), "true");
  EXPECT_EQ(Run("true is unknown"), "false");
  EXPECT_EQ(Run("false is unknown"), "false");
  EXPECT_EQ(Run("unknown is not unknown"), "false");
  EXPECT_EQ(Run("false is not unknown"), "true");
  EXPECT_EQ(Run("W is unknown"), "true");
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  EXPECT_EQ(Run("W is unknown", rec), "false");
  EXPECT_EQ(Run("W is not unknown", rec), "true");
}

TEST_F(RulesTest, IfAndCaseWithUnknownConditions) {
  EXPECT_EQ(Run("if unknown then true else false"), "unknown");
  EXPECT_EQ(Run("if unknown then true else true"), "unknown");
  EXPECT_EQ(Run("if true then 1 < 2 else unknown"), "true");
  EXPECT_EQ(Run("if false then unknown else false"), "false");
  EXPECT_EQ(Show(Eval("if true then 1 else 2", empty_)), "value:1");
  EXPECT_EQ(Show(Eval("if false then 1 else 2", empty_)), "value:2");
  EXPECT_EQ(Run("case when unknown then true else false end"), "unknown");
  EXPECT_EQ(Run("case when false then false when unknown then true else false end"), "unknown");
  // A decided earlier branch wins before an unknown later condition is looked at.
  EXPECT_EQ(Run("case when true then true when unknown then false else false end"), "true");
  EXPECT_EQ(Show(Eval("case when false then 1 when true then 2 else 3 end", empty_)), "value:2");
  EXPECT_EQ(Show(Eval("case when false then 1 when false then 2 else 3 end", empty_)), "value:3");
}

TEST_F(RulesTest, Coalesce) {
  EXPECT_EQ(Show(Eval("coalesce(unknown, 3, 4)", empty_)), "value:3");
  EXPECT_EQ(Show(Eval("coalesce(5, unknown)", empty_)), "value:5");
  EXPECT_EQ(Run("coalesce(unknown, unknown)"), "unknown");
  EXPECT_EQ(Run("coalesce(W >= 45 'kg', false)"), "false");
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  EXPECT_EQ(Run("coalesce(W, 1 'kg') = 60 'kg'", rec), "true");
  EXPECT_EQ(Run("coalesce(W, 1 'kg') = 1 'kg'"), "true");
}

TEST_F(RulesTest, LetBindsAValue) {
  EXPECT_EQ(Show(Eval("let x = 2; let y = x * 3; y + 1", empty_)), "value:7");
  EXPECT_EQ(Run("let x = unknown; x is unknown"), "true");
}

// ---------------------------------------------------------------------------------------------
// Quantities and units

TEST_F(RulesTest, WeightInPoundsAndGramsIsConvertedToKg) {
  auto weight_is = [&](double v, const char* unit) {
    record::PatientRecord rec;
    rec.observations.push_back(Weight("w", "2026-07-01", v, unit));
    return Run("W >= 45 'kg'", rec);
  };
  EXPECT_EQ(weight_is(100, "[lb_av]"), "true");  // 45.36 kg
  EXPECT_EQ(weight_is(99, "[lb_av]"), "false");  // 44.91 kg
  EXPECT_EQ(weight_is(45000, "g"), "true");      // exactly 45 kg
  EXPECT_EQ(weight_is(44999, "g"), "false");
  EXPECT_EQ(weight_is(45, "kg"), "true");
  EXPECT_EQ(weight_is(44.99, "kg"), "false");
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 99.21, "[lb_av]"));  // 45.0009 kg
  EXPECT_EQ(Run("W >= weight_min", rec), "true");
  EXPECT_EQ(Run("W < 45.01 'kg'", rec), "true");
  EXPECT_EQ(Run("W > 45000 'g'", rec), "true");
}

TEST_F(RulesTest, ParameterValue) {
  auto w = program_->ParameterValue("weight_min");
  ASSERT_TRUE(w.has_value());
  ASSERT_EQ(w->kind, Value::Kind::kQuantity);
  EXPECT_EQ(w->quantity.value, 45);
  EXPECT_EQ(w->quantity.unit.code(), "kg");
  auto sw = program_->ParameterValue("screening_window");
  ASSERT_TRUE(sw.has_value());
  ASSERT_EQ(sw->kind, Value::Kind::kDuration);
  EXPECT_EQ(sw->duration, (Duration{28, Duration::Unit::kDays}));
  EXPECT_FALSE(program_->ParameterValue("nope").has_value());
}

TEST_F(RulesTest, CreatinineInMicromolPerLitreUsesTheMolarMass) {
  record::PatientRecord rec;
  // 100 umol/L x 113.12 g/mol = 11.312 mg/L = 1.1312 mg/dL
  rec.observations.push_back(QtyObs("scr", kLoinc, "2160-0", "2026-07-01", Q(100, "umol/L")));
  EXPECT_EQ(Run("latest(observations(creatinine)).value > 1.13 'mg/dL'", rec), "true");
  EXPECT_EQ(Run("latest(observations(creatinine)).value < 1.14 'mg/dL'", rec), "true");
  EXPECT_EQ(Run("latest(observations(creatinine)).value = 1.1312 'mg/dL'", rec), "true");
  EXPECT_EQ(Run("latest(observations(creatinine)).value >= 11.312 'mg/L'", rec), "true");
  // A mass concentration needs no molar mass.
  record::PatientRecord rec2;
  rec2.observations.push_back(QtyObs("scr", kLoinc, "2160-0", "2026-07-01", Q(9, "mg/L")));
  EXPECT_EQ(Run("latest(observations(creatinine)).value = 0.9 'mg/dL'", rec2), "true");
}

TEST_F(RulesTest, CopiesVersusInternationalUnitsIsUnknownAtRunTime) {
  record::PatientRecord rec;
  rec.observations.push_back(QtyObs("hbv", kLoinc, "29615-2", "2026-07-01", Q(5000, "[IU]/mL")));
  Trace trace;
  Value v = Eval("latest(observations(hbv_dna)).value > 1000 '{copies}/mL'", rec, &trace);
  EXPECT_EQ(Show(v), "unknown");
  ASSERT_FALSE(trace.missing.empty());
  EXPECT_NE(trace.missing[0].find("'{copies}/mL'"), std::string::npos) << trace.missing[0];
  EXPECT_NE(trace.missing[0].find("'[IU]/mL'"), std::string::npos) << trace.missing[0];
  EXPECT_NE(trace.missing[0].find("Observation/hbv"), std::string::npos) << trace.missing[0];
  // ... and also when negated: never a silent false.
  EXPECT_EQ(Run("not (latest(observations(hbv_dna)).value > 1000 '{copies}/mL')", rec), "unknown");
}

TEST_F(RulesTest, ComparatorQuantities) {
  auto hbv = [&](Quantity q, const char* rule) {
    record::PatientRecord rec;
    rec.observations.push_back(QtyObs("hbv", kLoinc, "29615-2", "2026-07-01", q));
    return Run(rule, rec);
  };
  const char* gt = "latest(observations(hbv_dna)).value > 1000 '{copies}/mL'";
  const char* le = "latest(observations(hbv_dna)).value <= 1000 '{copies}/mL'";
  EXPECT_EQ(hbv(Q(20, "{copies}/mL", Comparator::kLt), gt), "false");
  EXPECT_EQ(hbv(Q(20, "{copies}/mL", Comparator::kLt), le), "true");
  EXPECT_EQ(hbv(Q(500, "{copies}/mL", Comparator::kGt), gt), "unknown");
  EXPECT_EQ(hbv(Q(500, "{copies}/mL", Comparator::kGt), le), "unknown");
  EXPECT_EQ(hbv(Q(5000, "{copies}/mL", Comparator::kGt), gt), "true");
  EXPECT_EQ(hbv(Q(1000, "{copies}/mL", Comparator::kGt), gt), "true");     // > 1000 is > 1000
  EXPECT_EQ(hbv(Q(1000, "{copies}/mL", Comparator::kGe), gt), "unknown");  // 1000 or more
  EXPECT_EQ(hbv(Q(1000, "{copies}/mL", Comparator::kLe), gt), "false");
  EXPECT_EQ(hbv(Q(1000, "{copies}/mL"), gt), "false");
  EXPECT_EQ(hbv(Q(1000, "{copies}/mL"), le), "true");
}

TEST_F(RulesTest, ExactBoundaries) {
  EXPECT_EQ(Run("120 'U/L' / 40 'U/L' >= 3"), "true");
  EXPECT_EQ(Run("120 'U/L' / 40 'U/L' > 3"), "false");
  EXPECT_EQ(Run("120 'U/L' / 40 'U/L' = uln_max"), "true");
  EXPECT_EQ(Run("0.1 + 0.2 = 0.3"), "true");  // snapped, no rounding surprise
  EXPECT_EQ(Run("1 'mg/dL' = 10 'mg/L'"), "true");
  EXPECT_EQ(Run("1.5 'mg/dL' * 2 = 3 'mg/dL'"), "true");
  EXPECT_EQ(Run("45 'kg' >= 45 'kg'"), "true");
  EXPECT_EQ(Run("45 'kg' > 45 'kg'"), "false");
  EXPECT_EQ(Run("-45 'kg' < 0 'kg'"), "true");
  EXPECT_EQ(Run("1 / 0 is unknown"), "true");
}

// -x for x = `<20` is `>-20`: the comparator must flip with the sign.
TEST_F(RulesTest, NegatingAComparatorQuantityFlipsTheComparator) {
  record::PatientRecord rec;
  rec.observations.push_back(
      QtyObs("hbv", kLoinc, "29615-2", "2026-07-01", Q(20, "{copies}/mL", Comparator::kLt)));
  // -x lies in (-20, inf): whether it is below -10 is not known ...
  EXPECT_EQ(Run("-latest(observations(hbv_dna)).value < -10 '{copies}/mL'", rec), "unknown");
  EXPECT_EQ(Run("-latest(observations(hbv_dna)).value > -10 '{copies}/mL'", rec), "unknown");
  // ... but it is certainly above -1000.
  EXPECT_EQ(Run("-latest(observations(hbv_dna)).value > -1000 '{copies}/mL'", rec), "true");
}

// A dimensionless quantity compared with a plain number must use its unit's factor:
// 1 mg/dL / 1 mg/L is 10 and 60 kg / 1 g is 60000 (today the raw values 1 and 60 are compared).
TEST_F(RulesTest, DimensionlessQuantityWithAFactorComparedWithANumber) {
  EXPECT_EQ(Run("1 'mg/dL' / 1 'mg/L' = 10"), "true");
  EXPECT_EQ(Run("60 'kg' / 1 'g' > 1000"), "true");
  EXPECT_EQ(Run("1 'g/L' / 1 'mg/dL' >= 100"), "true");
}

TEST_F(RulesTest, TimesUln) {
  record::PatientRecord rec;
  auto alt = QtyObs("alt", kLoinc, "1742-6", "2026-07-01", Q(120, "U/L"));
  alt.reference_high = Q(40, "U/L");
  rec.observations.push_back(alt);
  EXPECT_EQ(Run("times_uln(latest(observations(alt))) >= 3", rec), "true");
  EXPECT_EQ(Run("times_uln(latest(observations(alt))) >= uln_max", rec), "true");
  EXPECT_EQ(Run("times_uln(latest(observations(alt))) > 3", rec), "false");
  EXPECT_EQ(Run("latest(observations(alt)).uln = 40 'U/L'", rec), "true");

  // ULN in another unit of the same dimension.
  record::PatientRecord rec2;
  auto alt2 = QtyObs("alt", kLoinc, "1742-6", "2026-07-01", Q(2, "ukat/L"));
  alt2.reference_high = Q(40, "U/L");  // 40 U/L = 0.6667 ukat/L
  rec2.observations.push_back(alt2);
  EXPECT_EQ(Run("times_uln(latest(observations(alt))) >= 3", rec2), "true");

  // Missing ULN: unknown, and the trace says what is missing.
  record::PatientRecord rec3;
  rec3.observations.push_back(QtyObs("alt", kLoinc, "1742-6", "2026-07-01", Q(120, "U/L")));
  Trace trace;
  EXPECT_EQ(Show(Eval("times_uln(latest(observations(alt))) >= 3", rec3, &trace)), "unknown");
  ASSERT_FALSE(trace.missing.empty());
  EXPECT_NE(trace.missing[0].find("upper limit of normal"), std::string::npos) << trace.missing[0];
  EXPECT_EQ(Run("times_uln(latest(observations(alt))) < 3", rec3), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Dates

TEST_F(RulesTest, DateArithmetic) {
  EXPECT_EQ(Run("S - 28 days = @2026-06-08"), "true");
  EXPECT_EQ(Run("S - screening_window = @2026-06-08"), "true");
  EXPECT_EQ(Run("S + 1 weeks = R"), "true");
  EXPECT_EQ(Run("R - S = 7"), "true");
  EXPECT_EQ(Run("@2026-03-31 - 1 months = @2026-02-28"), "true");
  EXPECT_EQ(Run("@2026-03-31 - 1 months < @2026-03-01"), "true");
  EXPECT_EQ(Run("@2024-03-31 - 1 months = @2024-02-29"), "true");
  EXPECT_EQ(Run("@2026-01-31 + 1 months = @2026-02-28"), "true");
  EXPECT_EQ(Run("@2024-02-29 + 1 years = @2025-02-28"), "true");
  EXPECT_EQ(Run("@2026-07-06 - 3 months = @2026-04-06"), "true");
  EXPECT_EQ(Run("S > @2026-07-05 and S <= @2026-07-06"), "true");
}

TEST_F(RulesTest, WithinBeforeAndAfterIncludeBothEnds) {
  EXPECT_EQ(Run("@2026-06-08 within 28 days before S"), "true");  // far end, included
  EXPECT_EQ(Run("@2026-06-07 within 28 days before S"), "false");
  EXPECT_EQ(Run("S within 28 days before S"), "true");  // near end
  EXPECT_EQ(Run("@2026-07-07 within 28 days before S"), "false");
  EXPECT_EQ(Run("@2026-07-13 within 1 weeks after S"), "true");
  EXPECT_EQ(Run("@2026-07-14 within 1 weeks after S"), "false");
  EXPECT_EQ(Run("@2026-07-05 within 1 weeks after S"), "false");
  EXPECT_EQ(Run("@2026-04-06 within 3 months before S"), "true");
  EXPECT_EQ(Run("@2026-04-05 within 3 months before S"), "false");
  EXPECT_EQ(Run("unknown within 3 months before S"), "unknown");
}

TEST_F(RulesTest, Between) {
  EXPECT_EQ(Run("S between @2026-07-01 and @2026-07-06"), "true");
  EXPECT_EQ(Run("S between @2026-07-06 and @2026-07-10"), "true");
  EXPECT_EQ(Run("S between @2026-07-07 and @2026-07-10"), "false");
  EXPECT_EQ(Run("5 between 1 and 5"), "true");
  EXPECT_EQ(Run("6 between 1 and 5"), "false");
  EXPECT_EQ(Run("1.5 '{tbl}/d' between 1 '{tbl}/d' and 2 '{tbl}/d'"), "true");
  EXPECT_EQ(Run("unknown between 1 and 5"), "unknown");
  EXPECT_EQ(Run("W between 40 'kg' and 50 'kg'"), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Queries

record::PatientRecord Weights() {
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w1", "2026-05-01", 70));
  rec.observations.push_back(Weight("w2", "2026-06-10", 62));
  rec.observations.push_back(Weight("w3", "2026-07-01", 60));
  return rec;
}

TEST_F(RulesTest, LatestEarliestAndDuring) {
  auto rec = Weights();
  EXPECT_EQ(Run("latest(observations(weight)).value = 60 'kg'", rec), "true");
  EXPECT_EQ(Run("earliest(observations(weight)).value = 70 'kg'", rec), "true");
  EXPECT_EQ(Run("latest(observations(weight)).date = @2026-07-01", rec), "true");
  EXPECT_EQ(Run("count(observations(weight)) = 3", rec), "true");
  EXPECT_EQ(Run("count(during(observations(weight), S - 28 days, S)) = 2", rec), "true");
  EXPECT_EQ(Run("earliest(during(observations(weight), S - 28 days, S)).value = 62 'kg'", rec),
            "true");
  EXPECT_EQ(Run("count(during(observations(weight), @2026-05-01, @2026-05-01)) = 1", rec), "true");
  EXPECT_EQ(Run("count(during(observations(weight), @2026-07-02, S)) = 0", rec), "true");
  EXPECT_EQ(Run("exists(during(observations(weight), @2026-07-02, S))", rec), "false");
  EXPECT_EQ(Run("latest(during(observations(weight), @2026-07-02, S)).value > 1 'kg'", rec),
            "unknown");
  EXPECT_EQ(Run("count(observations(sbp)) = 0", rec), "true");
}

TEST_F(RulesTest, ScreeningWindowEdges) {
  auto with_weight_on = [&](const char* date) {
    record::PatientRecord rec;
    rec.observations.push_back(Weight("w", date, 60));
    return Run("W >= 45 'kg'", rec);
  };
  EXPECT_EQ(with_weight_on("2026-06-08"), "true");  // S - 28 days: inside
  EXPECT_EQ(with_weight_on("2026-06-07"), "unknown");
  EXPECT_EQ(with_weight_on("2026-07-06"), "true");  // S: inside
  EXPECT_EQ(with_weight_on("2026-07-07"), "unknown");
}

TEST_F(RulesTest, FilterAnyAllWithLambdas) {
  auto rec = Weights();
  EXPECT_EQ(Run("count(filter(observations(weight), o -> o.value > 61 'kg')) = 2", rec), "true");
  EXPECT_EQ(Run("any(observations(weight), o -> o.value > 65 'kg')", rec), "true");
  EXPECT_EQ(Run("any(observations(weight), o -> o.value > 75 'kg')", rec), "false");
  EXPECT_EQ(Run("all(observations(weight), o -> o.value >= 60 'kg')", rec), "true");
  EXPECT_EQ(Run("all(observations(weight), o -> o.value > 60 'kg')", rec), "false");
  EXPECT_EQ(Run("all(observations(sbp), o -> o.value > 1000 'mm[Hg]')", rec), "true");
  EXPECT_EQ(Run("any(observations(sbp), o -> o.value > 0 'mm[Hg]')", rec), "false");
  EXPECT_EQ(
      Run("latest(filter(observations(weight), o -> o.date < @2026-06-01)).value = 70 'kg'", rec),
      "true");
  // A lambda giving unknown for one item.
  rec.observations.push_back(QtyObs("w4", kLoinc, "29463-7", "2026-07-02", Q(5, "[IU]/mL")));
  EXPECT_EQ(Run("any(observations(weight), o -> o.value > 65 'kg')", rec), "true");
  EXPECT_EQ(Run("any(observations(weight), o -> o.value > 75 'kg')", rec), "unknown");
  EXPECT_EQ(Run("all(observations(weight), o -> o.value >= 60 'kg')", rec), "unknown");
  EXPECT_EQ(Run("all(observations(weight), o -> o.value >= 61 'kg')", rec), "false");
  EXPECT_EQ(Run("exists(filter(observations(weight), o -> o.value > 75 'kg'))", rec), "unknown");
}

TEST_F(RulesTest, ExistsCountWithUnconfirmedConditions) {
  record::PatientRecord none;
  EXPECT_EQ(Run("exists(conditions(dermatomyositis))", none), "false");
  EXPECT_EQ(Run("count(conditions(dermatomyositis)) = 0", none), "true");

  record::PatientRecord unconfirmed;
  unconfirmed.conditions.push_back(Cond("dm", "M33.10", false, "2026-01-01"));
  Trace trace;
  EXPECT_EQ(Show(Eval("exists(conditions(dermatomyositis))", unconfirmed, &trace)), "unknown");
  ASSERT_FALSE(trace.missing.empty());
  EXPECT_NE(trace.missing[0].find("confirmation of Condition/dm"), std::string::npos)
      << trace.missing[0];
  EXPECT_EQ(Run("count(conditions(dermatomyositis)) = 1", unconfirmed), "unknown");
  EXPECT_EQ(Run("any(conditions(dermatomyositis), c -> c.onset <= S)", unconfirmed), "unknown");
  EXPECT_EQ(Run("any(conditions(dermatomyositis), c -> c.onset > S)", unconfirmed), "false");
  EXPECT_EQ(Run("all(conditions(dermatomyositis), c -> c.onset <= S)", unconfirmed), "true");

  record::PatientRecord both = unconfirmed;
  both.conditions.push_back(Cond("dm2", "M33.11", true, "2026-02-01"));
  EXPECT_EQ(Run("exists(conditions(dermatomyositis))", both), "true");
  EXPECT_EQ(Run("any(conditions(dermatomyositis), c -> c.onset <= S)", both), "true");

  record::PatientRecord other;
  other.conditions.push_back(Cond("x", "M34.0", true));  // not in the value set
  EXPECT_EQ(Run("exists(conditions(dermatomyositis))", other), "false");

  record::PatientRecord two;
  two.conditions.push_back(Cond("a", "M33.10", true));
  two.conditions.push_back(Cond("b", "M33.19", true));
  EXPECT_EQ(Run("count(conditions(dermatomyositis)) = 2", two), "true");
}

TEST_F(RulesTest, DistinctCountAndMaxOf) {
  record::PatientRecord rec;
  rec.exposures.push_back(Expo("c1", kRx, "3008", "2026-05-01", "2026-05-31", Q(2, "mg")));
  rec.exposures.push_back(Expo("c2", kRx, "3008", "2026-06-01", nullptr, Q(2, "mg")));
  rec.exposures.push_back(Expo("t1", kRx, "42316", "2026-06-01", nullptr, Q(1, "mg")));
  EXPECT_EQ(Run("count(exposures(cni)) = 3", rec), "true");
  EXPECT_EQ(Run("distinct_count(exposures(cni)) = 2", rec), "true");
  EXPECT_EQ(Run("distinct_count(exposures(steroids)) = 0", rec), "true");
  rec.exposures[2].status_unknown = true;
  EXPECT_EQ(Run("distinct_count(exposures(cni)) = 2", rec), "unknown");

  auto w = Weights();
  EXPECT_EQ(Run("max_of(observations(weight), o -> o.value) = 70 'kg'", w), "true");
  EXPECT_EQ(Run("min_of(observations(weight), o -> o.value) = 60 'kg'", w), "true");
  EXPECT_EQ(Run("max_of(observations(weight), o -> o.date) = @2026-07-01", w), "true");
  EXPECT_EQ(Run("max_of(observations(sbp), o -> o.value) > 0 'mm[Hg]'", w), "unknown");
}

TEST_F(RulesTest, TiesAtTheLatestInstant) {
  record::PatientRecord agree;
  agree.observations.push_back(Weight("a", "2026-07-01", 60));
  agree.observations.push_back(Weight("b", "2026-07-01", 62));
  EXPECT_EQ(Run("W >= 45 'kg'", agree), "true");  // both >= 45
  EXPECT_EQ(Run("W < 45 'kg'", agree), "false");
  EXPECT_EQ(Run("W > 61 'kg'", agree), "unknown");  // they disagree

  record::PatientRecord disagree;
  disagree.observations.push_back(Weight("a", "2026-07-01", 40));
  disagree.observations.push_back(Weight("b", "2026-07-01", 50));
  disagree.observations.push_back(Weight("old", "2026-06-20", 80));
  EXPECT_EQ(Run("W >= 45 'kg'", disagree), "unknown");
  EXPECT_EQ(Run("W >= 30 'kg'", disagree), "true");
  // Same value twice: decided (and its date is the common date).
  record::PatientRecord same;
  same.observations.push_back(Weight("a", "2026-07-01", 50));
  same.observations.push_back(Weight("b", "2026-07-01", 50000, "g"));
  EXPECT_EQ(Run("W = 50 'kg'", same), "true");
  EXPECT_EQ(Run("screening_value(weight).date = @2026-07-01", same), "true");

  // A time of day orders values of the same date.
  record::PatientRecord timed;
  auto morning = Weight("am", "2026-07-01", 40);
  morning.time.utc_seconds = 8 * 3600;
  auto evening = Weight("pm", "2026-07-01", 50);
  evening.time.utc_seconds = 20 * 3600;
  timed.observations.push_back(morning);
  timed.observations.push_back(evening);
  EXPECT_EQ(Run("W >= 45 'kg'", timed), "true");
}

TEST_F(RulesTest, QualitativeAndBooleanValues) {
  record::PatientRecord rec;
  auto mda5 = Obs("mda5", kLoinc, "82424-3", "2026-06-01");
  mda5.qualitative = record::Qualitative::kPositive;
  rec.observations.push_back(mda5);
  auto flag = Obs("cbp", kTrial, "childbearing-potential", "2026-07-01");
  flag.boolean = false;
  rec.observations.push_back(flag);
  EXPECT_EQ(Run("is_positive(latest(observations(anti_mda5)))", rec), "true");
  EXPECT_EQ(Run("is_negative(latest(observations(anti_mda5)))", rec), "false");
  EXPECT_EQ(Run("latest(observations(cbp_flag)).value", rec), "false");
  EXPECT_EQ(Run("not latest(observations(cbp_flag)).value", rec), "true");

  record::PatientRecord other;
  auto m2 = Obs("mda5", kLoinc, "82424-3", "2026-06-01");
  m2.qualitative = record::Qualitative::kOther;
  other.observations.push_back(m2);
  other.observations.push_back(Obs("cbp", kTrial, "childbearing-potential", "2026-07-01"));
  EXPECT_EQ(Run("is_positive(latest(observations(anti_mda5)))", other), "unknown");
  EXPECT_EQ(Run("latest(observations(cbp_flag)).value", other), "unknown");
  EXPECT_EQ(Run("is_positive(latest(observations(anti_mda5)))"), "unknown");
}

// ---------------------------------------------------------------------------------------------
// Domain functions

TEST_F(RulesTest, CockcroftGault) {
  // FACTS: (140 - 40) x 60 / (72 x 0.7) x 0.85 = 101.19 mL/min
  EXPECT_EQ(Run("cockcroft_gault(40, 60 'kg', 0.7 'mg/dL', true) > 101.19 'mL/min'"), "true");
  EXPECT_EQ(Run("cockcroft_gault(40, 60 'kg', 0.7 'mg/dL', true) < 101.20 'mL/min'"), "true");
  // Male: no 0.85 factor: 119.05 mL/min.
  EXPECT_EQ(Run("cockcroft_gault(40, 60 'kg', 0.7 'mg/dL', false) > 119.04 'mL/min'"), "true");
  EXPECT_EQ(Run("cockcroft_gault(40, 60 'kg', 0.7 'mg/dL', false) < 119.05 'mL/min'"), "true");
  // Units are converted: 60000 g, 7 mg/L; a result in L/h.
  EXPECT_EQ(Run("cockcroft_gault(40, 60000 'g', 7 'mg/L', true) > 6.07 'L/h'"), "true");
  EXPECT_EQ(Run("cockcroft_gault(40, 60000 'g', 7 'mg/L', true) < 6.08 'L/h'"), "true");
  // Exactly 45 mL/min is not above 45: (140 - 50) x 45 / (72 x 1.25) = 45.
  EXPECT_EQ(Run("cockcroft_gault(50, 45 'kg', 1.25 'mg/dL', false) <= 45 'mL/min'"), "true");
  EXPECT_EQ(Run("cockcroft_gault(50, 45 'kg', 1.25 'mg/dL', false) < 45 'mL/min'"), "false");
  // Missing weight: unknown.
  EXPECT_EQ(Run("cockcroft_gault(40, W, 0.7 'mg/dL', true) > 45 'mL/min'"), "unknown");

  // Creatinine from the record in umol/L (61.88 umol/L = 0.7 mg/dL at 113.12 g/mol).
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  rec.observations.push_back(QtyObs("scr", kLoinc, "2160-0", "2026-07-01", Q(61.88, "umol/L")));
  EXPECT_EQ(
      Run("cockcroft_gault(40, W, screening_value(creatinine).value, true) > 101.18 'mL/min'", rec),
      "true");
  EXPECT_EQ(
      Run("cockcroft_gault(40, W, screening_value(creatinine).value, true) < 101.20 'mL/min'", rec),
      "true");
}

TEST_F(RulesTest, MaxDailyDoseAppliesTheFactor) {
  record::PatientRecord rec;
  // Methylprednisolone 48 mg once a day: 48 x 1.25 = 60 mg/d prednisone equivalent.
  rec.exposures.push_back(Expo("mp", kRx, "6902", "2026-05-01", nullptr, Q(48, "mg")));
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) = 60 'mg/d'", rec), "true");
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) / 60 'kg' < 1 'mg/kg/d'", rec),
            "false");
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) / 61 'kg' < 1 'mg/kg/d'", rec),
            "true");
  // Prednisone 5 mg twice a day overlapping on some days: 60 + 10 = 70 mg/d at most.
  rec.exposures.push_back(Expo("pred", kRx, "8640", "2026-06-20", "2026-06-25", Q(5, "mg"), 2));
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) = 70 'mg/d'", rec), "true");
  // ... but not when the window misses the overlap.
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), @2026-06-26, S) = 60 'mg/d'", rec), "true");
  // A dose in g is converted to mg.
  record::PatientRecord grams;
  grams.exposures.push_back(Expo("p", kRx, "8640", "2026-05-01", nullptr, Q(0.02, "g")));
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) = 20 'mg/d'", grams), "true");
  // An exposure of unknown status makes the result a lower bound.
  record::PatientRecord uncertain = rec;
  uncertain.exposures.push_back(Expo("u", kRx, "8640", "2026-07-01", nullptr, Q(100, "mg")));
  uncertain.exposures.back().status_unknown = true;
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) >= 70 'mg/d'", uncertain),
            "true");
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) > 100 'mg/d'", uncertain),
            "unknown");
  // No dose: unknown.
  record::PatientRecord nodose;
  nodose.exposures.push_back(Expo("p", kRx, "8640", "2026-05-01", nullptr, std::nullopt));
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) < 20 'mg/d'", nodose),
            "unknown");
  // No exposure at all: 0 mg/d.
  EXPECT_EQ(Run("max_daily_dose(exposures(steroids), S - 28 days, S) = 0 'mg/d'"), "true");
}

TEST_F(RulesTest, StableDailyDoseAcrossRecords) {
  const char* rule = "stable_daily_dose(exposures(cni), R - 4 weeks, R)";
  // 2 mg twice a day, then 4 mg once a day: the same 4 mg/d.
  record::PatientRecord rec;
  rec.exposures.push_back(Expo("c1", kRx, "3008", "2026-05-01", "2026-06-30", Q(2, "mg"), 2));
  rec.exposures.push_back(Expo("c2", kRx, "3008", "2026-07-01", nullptr, Q(4, "mg"), 1));
  EXPECT_EQ(Run(rule, rec), "true");

  // A switch to tacrolimus at the same dose is a change.
  record::PatientRecord sw;
  sw.exposures.push_back(Expo("c1", kRx, "3008", "2026-05-01", "2026-06-30", Q(2, "mg"), 2));
  sw.exposures.push_back(Expo("t2", kRx, "42316", "2026-07-01", nullptr, Q(4, "mg"), 1));
  EXPECT_EQ(Run(rule, sw), "false");

  // A dose change.
  record::PatientRecord change;
  change.exposures.push_back(Expo("c1", kRx, "3008", "2026-05-01", "2026-06-30", Q(2, "mg"), 2));
  change.exposures.push_back(Expo("c2", kRx, "3008", "2026-07-01", nullptr, Q(5, "mg"), 1));
  EXPECT_EQ(Run(rule, change), "false");

  // A gap of one day.
  record::PatientRecord gap;
  gap.exposures.push_back(Expo("c1", kRx, "3008", "2026-05-01", "2026-06-29", Q(2, "mg"), 2));
  gap.exposures.push_back(Expo("c2", kRx, "3008", "2026-07-01", nullptr, Q(4, "mg"), 1));
  EXPECT_EQ(Run(rule, gap), "false");

  // The change lies before the window: still stable.
  record::PatientRecord before;
  before.exposures.push_back(Expo("c1", kRx, "3008", "2026-04-01", "2026-06-14", Q(1, "mg"), 1));
  before.exposures.push_back(Expo("c2", kRx, "3008", "2026-06-15", nullptr, Q(4, "mg"), 1));
  EXPECT_EQ(Run(rule, before), "true");

  // Nothing at all.
  EXPECT_EQ(Run(rule), "false");
}

TEST_F(RulesTest, CoversEveryDay) {
  const char* rule = "covers_every_day(exposures(steroids), S - 28 days, S)";
  record::PatientRecord rec;
  rec.exposures.push_back(Expo("a", kRx, "8640", "2026-05-01", "2026-06-20", Q(5, "mg")));
  rec.exposures.push_back(Expo("b", kRx, "6902", "2026-06-21", nullptr, Q(4, "mg")));
  EXPECT_EQ(Run(rule, rec), "true");

  record::PatientRecord gap;
  gap.exposures.push_back(Expo("a", kRx, "8640", "2026-05-01", "2026-06-20", Q(5, "mg")));
  gap.exposures.push_back(Expo("b", kRx, "6902", "2026-06-22", nullptr, Q(4, "mg")));
  EXPECT_EQ(Run(rule, gap), "false");

  record::PatientRecord late;  // starts one day after the window opens
  late.exposures.push_back(Expo("a", kRx, "8640", "2026-06-09", nullptr, Q(5, "mg")));
  EXPECT_EQ(Run(rule, late), "false");
  record::PatientRecord exact;  // starts on the first day
  exact.exposures.push_back(Expo("a", kRx, "8640", "2026-06-08", "2026-07-06", Q(5, "mg")));
  EXPECT_EQ(Run(rule, exact), "true");

  record::PatientRecord unsure = gap;  // the gap covered by an exposure of unknown status
  unsure.exposures.push_back(Expo("u", kRx, "8640", "2026-06-21", "2026-06-21", Q(5, "mg")));
  unsure.exposures.back().status_unknown = true;
  EXPECT_EQ(Run(rule, unsure), "unknown");

  EXPECT_EQ(Run(rule), "false");
  EXPECT_EQ(Run("covers_every_day(filter(exposures(steroids), x -> x.route in oral_route), "
                "S - 28 days, S)",
                rec),
            "true");
}

TEST_F(RulesTest, WashoutEnd) {
  record::PatientRecord rec;
  // Ceftriaxone 8.7 h x 5 = 43.5 h -> 2 days after the last dose.
  rec.exposures.push_back(Expo("cef", kAtc, "J01DD04", "2026-06-20", "2026-06-25", Q(1, "g")));
  EXPECT_EQ(Run("washout_end(latest(exposures(antibiotics)), 5) = @2026-06-27", rec), "true");
  EXPECT_EQ(Run("washout_end(latest(exposures(antibiotics)), 1) = @2026-06-26", rec), "true");
  EXPECT_EQ(Run("washout_end(latest(exposures(antibiotics)), 5) < S", rec), "true");

  record::PatientRecord ongoing;
  ongoing.exposures.push_back(Expo("cef", kAtc, "J01DD04", "2026-06-20", nullptr, Q(1, "g")));
  EXPECT_EQ(Run("washout_end(latest(exposures(antibiotics)), 5) > S", ongoing), "true");

  record::PatientRecord no_half_life;
  no_half_life.exposures.push_back(
      Expo("x", kAtc, "J01XX99", "2026-06-20", "2026-06-25", Q(1, "g")));
  Trace trace;
  EXPECT_EQ(Show(Eval("washout_end(latest(exposures(antibiotics)), 5) < S", no_half_life, &trace)),
            "unknown");
  ASSERT_FALSE(trace.missing.empty());
  EXPECT_NE(trace.missing[0].find("half-life"), std::string::npos) << trace.missing[0];
}

TEST_F(RulesTest, AgeOnWithA29FebruaryBirthday) {
  record::PatientRecord rec;
  rec.patient.birth_date = D("2008-02-29");
  EXPECT_EQ(Run("age_on(@2026-02-28) = 17", rec), "true");
  EXPECT_EQ(Run("age_on(@2026-03-01) = 18", rec), "true");
  EXPECT_EQ(Run("age_on(@2028-02-28) = 19", rec), "true");
  EXPECT_EQ(Run("age_on(@2028-02-29) = 20", rec), "true");
  EXPECT_EQ(Run("age_on(S) >= 18", rec), "true");
  record::PatientRecord ordinary;
  ordinary.patient.birth_date = D("2008-07-06");
  EXPECT_EQ(Run("age_on(S) = 18", ordinary), "true");  // birthday on S
  EXPECT_EQ(Run("age_on(S - 1 days) = 17", ordinary), "true");
  // No birth date: unknown, and the trace says so.
  Trace trace;
  EXPECT_EQ(Show(Eval("age_on(S) >= 18", empty_, &trace)), "unknown");
  ASSERT_EQ(trace.missing.size(), 1u);
  EXPECT_NE(trace.missing[0].find("birth date"), std::string::npos);
}

TEST_F(RulesTest, PatientSex) {
  record::PatientRecord rec;
  rec.patient.sex = record::Sex::kFemale;
  EXPECT_EQ(Run("patient.sex = \"female\"", rec), "true");
  EXPECT_EQ(Run("patient.sex = \"female\""), "unknown");
}

TEST_F(RulesTest, DefinitionsWithParameters) {
  auto rec = Weights();
  EXPECT_EQ(Run("heavy(W)", rec), "false");
  EXPECT_EQ(Run("heavy(200 'kg')", rec), "true");
  EXPECT_EQ(Run("heavy(earliest(observations(weight)).value + 31 'kg')", rec), "true");
}

// ---------------------------------------------------------------------------------------------
// Traces

TEST_F(RulesTest, DecidedAndKeepsOnlyTheDecidingOperand) {
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  {
    Trace trace;
    Value v = Eval("W >= 45 'kg' and W < 50 'kg'", rec, &trace);
    EXPECT_EQ(Show(v), "false");
    for (const auto& s : trace.steps) EXPECT_EQ(s.find(">= 45"), std::string::npos) << s;
    ASSERT_FALSE(trace.steps.empty());
    EXPECT_EQ(trace.steps.back(), "W < 50 'kg' -> false");
    EXPECT_TRUE(trace.missing.empty());
  }
  {
    Trace trace;
    Value v = Eval("W < 50 'kg' and W >= 45 'kg'", rec, &trace);
    EXPECT_EQ(Show(v), "false");
    for (const auto& s : trace.steps) EXPECT_EQ(s.find(">= 45"), std::string::npos) << s;
    ASSERT_FALSE(trace.steps.empty());
    EXPECT_EQ(trace.steps.back(), "W < 50 'kg' -> false");
  }
  {
    // An unknown left operand and a false right operand: only the right one explains.
    Trace trace;
    Value v = Eval("latest(observations(sbp)).value > 140 'mm[Hg]' and W < 50 'kg'", rec, &trace);
    EXPECT_EQ(Show(v), "false");
    for (const auto& s : trace.steps) EXPECT_EQ(s.find("sbp"), std::string::npos) << s;
    EXPECT_TRUE(trace.missing.empty()) << ::testing::PrintToString(trace.missing);
  }
  {
    // Both operands true: both explain, each with the definition value it used (the
    // explanation merges identical steps).
    Trace trace;
    Value v = Eval("W >= 45 'kg' and W < 70 'kg'", rec, &trace);
    EXPECT_EQ(Show(v), "true");
    EXPECT_EQ(trace.steps.size(), 4u) << ::testing::PrintToString(trace.steps);
  }
}

// The deciding operand uses W, so its explanation must say what W was, even when W was first
// looked at by the operand that was dropped.
TEST_F(RulesTest, DecidedAndKeepsTheDefinitionValueItsOperandUsed) {
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  Trace trace;
  Value v = Eval("W >= 45 'kg' and W < 50 'kg'", rec, &trace);
  EXPECT_EQ(Show(v), "false");
  EXPECT_EQ(trace.steps, (std::vector<std::string>{"W = 60 kg [Observation/w 2026-07-01]",
                                                   "W < 50 'kg' -> false"}));
}

TEST_F(RulesTest, DecidedOrKeepsOnlyTheDecidingOperand) {
  record::PatientRecord rec;
  rec.observations.push_back(Weight("w", "2026-07-01", 60));
  Trace trace;
  Value v = Eval("W < 50 'kg' or W > 55 'kg'", rec, &trace);
  EXPECT_EQ(Show(v), "true");
  for (const auto& s : trace.steps) EXPECT_EQ(s.find("< 50"), std::string::npos) << s;
  ASSERT_FALSE(trace.steps.empty());
  EXPECT_EQ(trace.steps.back(), "W > 55 'kg' -> true");
}

TEST_F(RulesTest, MissingNamesTheElementOfAnUnknownLatest) {
  Trace trace;
  Value v = Eval("latest(observations(weight)).value >= 45 'kg'", empty_, &trace);
  EXPECT_EQ(Show(v), "unknown");
  ASSERT_EQ(trace.missing.size(), 1u) << ::testing::PrintToString(trace.missing);
  EXPECT_EQ(trace.missing[0], "body weight (http://loinc.org|29463-7)");

  Trace trace2;
  Eval("W >= 45 'kg'", empty_, &trace2);
  ASSERT_FALSE(trace2.missing.empty());
  EXPECT_NE(trace2.missing[0].find("body weight (http://loinc.org|29463-7)"), std::string::npos)
      << trace2.missing[0];
  EXPECT_NE(trace2.missing[0].find("2026-06-08"), std::string::npos) << trace2.missing[0];
}

TEST_F(RulesTest, SessionWithoutTraceAndBadIds) {
  auto id = program_->AddRule("true", "test", RuleType::kBool);
  ASSERT_TRUE(id.has_value());
  Session s(*program_, empty_, kS, kR);
  EXPECT_EQ(Show(s.Evaluate(*id, nullptr)), "true");
  EXPECT_EQ(Show(s.Evaluate(-1, nullptr)), "unknown");
  EXPECT_EQ(Show(s.Evaluate(*id + 100, nullptr)), "unknown");
}

TEST_F(RulesTest, AFailedRuleLeavesNothingBehind) {
  auto a = program_->AddRule("true", "test", RuleType::kBool);
  auto bad = program_->AddRule("true and foo", "test", RuleType::kBool);
  auto b = program_->AddRule("false", "test", RuleType::kBool);
  ASSERT_TRUE(a.has_value());
  ASSERT_FALSE(bad.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(*b, *a + 1);
  Session s(*program_, empty_, kS, kR);
  EXPECT_EQ(Show(s.Evaluate(*a, nullptr)), "true");
  EXPECT_EQ(Show(s.Evaluate(*b, nullptr)), "false");
}

// ---------------------------------------------------------------------------------------------
// Errors: lexer and parser (kParse)

struct ErrorCase {
  const char* rule;
  ErrorCode code;
  const char* message;  // the exact message
};

TEST(ParseTest, LexerErrors) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"1 # 2", "test:1:3: unexpected character '#'"},
      {"\"abc", "test:1:1: unterminated string"},
      {"x = \"abc\ndef\"", "test:1:5: unterminated string"},
      {"45 'kg", "test:1:4: unterminated unit string"},
      {"!true", "test:1:1: '!' must be followed by '=' (use 'not' for negation)"},
      {"true and\n  (1 # 2)", "test:2:6: unexpected character '#'"},
      {"true and \xc3\xa9", "test:1:10: unexpected character 'byte 0xc3'"},
      {"1 $", "test:1:3: unexpected character '$'"},
  };
  for (const auto& [text, message] : cases) {
    auto r = Parse(text, "test");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << text;
    EXPECT_EQ(r.error().message, message) << text;
  }
}

TEST(ParseTest, ParseErrors) {
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"(1 + 2", "test:1:7: expected ')' to close '(', found end of rule"},
      {"f(1, 2", "test:1:7: expected ')' to close the argument list, found end of rule"},
      {"[1, 2", "test:1:6: expected ']' to close the list, found end of rule"},
      {"if true 1 else 2", "test:1:9: expected 'then' after the 'if' condition, found number 1"},
      {"if true then 1 2", "test:1:16: expected 'else' in 'if ... then ... else', found number 2"},
      {"case else 1 end", "test:1:6: 'case' needs at least one 'when'"},
      {"case when true 1 else 2 end",
       "test:1:16: expected 'then' after the 'when' condition, found number 1"},
      {"case when true then 1 end",
       "test:1:23: expected 'else' after the last 'when' of 'case', found 'end'"},
      {"case when true then 1 else 2",
       "test:1:29: expected 'end' to close 'case', found end of rule"},
      {"true and then", "test:1:10: unexpected keyword 'then'"},
      {"else", "test:1:1: unexpected keyword 'else'"},
      {"let and = 1; true", "test:1:5: expected a name after 'let', found 'and'"},
      {"let x 1; x", "test:1:7: expected '=' after the let name, found number 1"},
      {"let x = 1 x", "test:1:11: expected ';' after the let value, found 'x'"},
      {"any(observations(w), in -> true)", "test:1:22: 'in' is a keyword"},
      {"'kg' > 1", "test:1:1: a unit string 'kg' must follow a number"},
      {"W >= 'kg'", "test:1:6: a unit string 'kg' must follow a number"},
      {"1.5 days", "test:1:1: a duration needs a whole number of at most 100000, found 1.5"},
      {"S - 200000 days",
       "test:1:5: a duration needs a whole number of at most 100000, found 200000"},
      {"@2026-02-30 < S", "test:1:1: '@2026-02-30' is not a date (write @YYYY-MM-DD)"},
      {"1 2", "test:1:3: unexpected number 2"},
      {"S within 3 days S", "test:1:17: expected 'before' or 'after' in 'within', found 'S'"},
      {"1 between 0 or 2", "test:1:13: expected 'and' in 'between', found 'or'"},
      {"unknown is true", "test:1:12: expected 'unknown' after 'is', found 'true'"},
      {"latest(observations(weight)).",
       "test:1:30: expected a field name after '.', found end of rule"},
      {"x -> true", "test:1:3: unexpected '->'"},
      {"", "test:1:1: expected an expression, found end of rule"},
      {"1 +", "test:1:4: expected an expression, found end of rule"},
      {"true and\n      )", "test:2:7: expected an expression, found ')'"},
  };
  for (const auto& [text, message] : cases) {
    auto r = Parse(text, "test");
    ASSERT_FALSE(r.has_value()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << text;
    EXPECT_EQ(r.error().message, message) << text;
  }
}

TEST(ParseTest, NestingDeeperThanMaxDepthIsAnErrorNotACrash) {
  for (const char* open : {"(", "not ", "-", "[", "f(", "if true then "}) {
    std::string text;
    for (int i = 0; i < 300; ++i) text += open;
    text += "1";
    auto r = Parse(text, "test");
    ASSERT_FALSE(r.has_value()) << open;
    EXPECT_EQ(r.error().code, ErrorCode::kParse) << open;
    EXPECT_EQ(r.error().message.rfind("test:1:", 0), 0u) << r.error().message;
    EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos) << r.error().message;
  }
  // Far deeper input does not overflow the stack either.
  std::string deep(100000, '(');
  auto r = Parse(deep, "test");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
  // Moderate nesting is fine.
  std::string ok;
  for (int i = 0; i < 50; ++i) ok += "(";
  ok += "1";
  for (int i = 0; i < 50; ++i) ok += ")";
  EXPECT_TRUE(Parse(ok, "test").has_value());
}

TEST(ParseTest, LongFlatChainsAreNotNesting) {
  std::string text = "true";
  for (int i = 0; i < 1000; ++i) text += " and true";
  EXPECT_TRUE(Parse(text, "test").has_value());
}

TEST_F(RulesTest, ParseErrorsThroughAddRuleKeepTheOrigin) {
  Error e = Fails("true and\n      (1 + ");
  EXPECT_EQ(e.code, ErrorCode::kParse);
  EXPECT_EQ(e.message, "test:2:12: expected an expression, found end of rule");
  std::string deep(300, '(');
  Error d = Fails(deep + "1" + std::string(300, ')'));
  EXPECT_EQ(d.code, ErrorCode::kParse);
  EXPECT_NE(d.message.find("nested too deeply"), std::string::npos) << d.message;
}

// ---------------------------------------------------------------------------------------------
// Errors: binder (kType, kNotFound, kParse for units)

TEST_F(RulesTest, BinderErrors) {
  const std::vector<ErrorCase> cases = {
      {"foo > 1", ErrorCode::kNotFound, "test:1:1: unknown name 'foo'"},
      {"true and\n      foo", ErrorCode::kNotFound, "test:2:7: unknown name 'foo'"},
      {"true and foo(1)", ErrorCode::kNotFound, "test:1:10: unknown function 'foo'"},
      {"true and latest", ErrorCode::kType,
       "test:1:10: 'latest' is a function: call it with (...)"},
      {"exists()", ErrorCode::kType, "test:1:1: exists() takes 1 argument(s), found 0"},
      {"age_on(S, S) > 1", ErrorCode::kType, "test:1:1: age_on() takes 1 argument(s), found 2"},
      {"coalesce() is unknown", ErrorCode::kType,
       "test:1:1: coalesce() takes 1 to 16 argument(s), found 0"},
      {"45 'kg' > 120 'mm[Hg]'", ErrorCode::kType,
       "test:1:1: cannot compare 'kg' with 'mm[Hg]': the units measure different things (g vs "
       "g.m-1.s-2)"},
      {"true and W > 120 'mm[Hg]'", ErrorCode::kType,
       "test:1:10: cannot compare 'W' (g) with 'mm[Hg]': the units measure different things (g vs "
       "g.m-1.s-2)"},
      {"45 'kg' + 3 'mm[Hg]' > 0 'kg'", ErrorCode::kType,
       "test:1:1: cannot add 'kg' and 'mm[Hg]': the units measure different things"},
      {"W - 3 'mm[Hg]' > 0 'kg'", ErrorCode::kType,
       "test:1:1: cannot subtract 'W' (g) and 'mm[Hg]': the units measure different things"},
      {"W > 45", ErrorCode::kType,
       "test:1:1: cannot compare a number with a quantity in 'W' (g): write the unit, e.g. 45 "
       "'kg'"},
      {"S < 5", ErrorCode::kType, "test:1:1: cannot compare a date with a number"},
      {"S + 5 > S", ErrorCode::kType, "test:1:1: cannot add a number to a date"},
      {"\"a\" < \"b\"", ErrorCode::kType, "test:1:1: '<' cannot order a string"},
      {"true and not 5", ErrorCode::kType, "test:1:10: 'not' needs a condition, found a number"},
      {"1 and true", ErrorCode::kType,
       "test:1:1: 'and' needs conditions on both sides, found a number"},
      {"-S < S", ErrorCode::kType, "test:1:1: '-' needs a number or quantity, found a date"},
      {"if 1 then true else false", ErrorCode::kType,
       "test:1:4: the 'if' condition must be a condition, found a number"},
      {"if true then 1 else \"a\"", ErrorCode::kType,
       "test:1:1: 'then' gives a number but 'else' gives a string"},
      {"latest(conditions(dermatomyositis)).value = 1", ErrorCode::kType,
       "test:1:1: 'value' is not a field of a Condition of dermatomyositis"},
      {"latest(observations(weight)).onset < S", ErrorCode::kType,
       "test:1:1: 'onset' is not a field of an Observation of weight"},
      {"latest(observations(weight)).colour = 1", ErrorCode::kType,
       "test:1:1: 'colour' is not a field of an Observation of weight"},
      {"S.value = 1", ErrorCode::kType,
       "test:1:1: '.value' needs a fact (e.g. latest(...)), found a date"},
      {"W.value = 1", ErrorCode::kType,
       "test:1:1: '.value' needs a fact (e.g. latest(...)), found a quantity of dimension g"},
      {"exists(x -> true)", ErrorCode::kType, "test:1:8: exists() does not take a function here"},
      {"age_on(x -> S) > 1", ErrorCode::kType, "test:1:8: age_on() does not take a function here"},
      {"coalesce(x -> true)", ErrorCode::kType, "test:1:10: coalesce() does not take a function"},
      {"any(observations(weight), true)", ErrorCode::kType,
       "test:1:27: any() needs a function 'x -> ...' as argument 2"},
      {"any(observations(weight), o -> o.value)", ErrorCode::kType,
       "test:1:32: any() needs a condition after '->', found a quantity of dimension g"},
      {"heavy(x -> true)", ErrorCode::kType,
       "test:1:7: a definition's argument cannot be a function"},
      {"screening_value(weight, weight).date < S", ErrorCode::kType,
       "test:1:1: 'screening_value' takes 1 argument(s), found 2"},
      {"screening_value().date < S", ErrorCode::kType,
       "test:1:1: 'screening_value' takes 1 argument(s), found 0"},
      {"screening_value.date < S", ErrorCode::kType,
       "test:1:1: 'screening_value' needs 1 argument(s): write screening_value(...)"},
      {"W(1) > 45 'kg'", ErrorCode::kType, "test:1:1: 'W' takes 0 argument(s), found 1"},
      {"W() > 45 'kg'", ErrorCode::kType, "test:1:1: 'W' takes no arguments: write W"},
      {"exists(observations(dermatomyositis))", ErrorCode::kType,
       "test:1:21: data element 'dermatomyositis' has no value type, so it cannot be read as "
       "observations"},
      {"exists(conditions(S))", ErrorCode::kType,
       "test:1:19: conditions() needs the name of a data element, found a date"},
      {"is_positive(latest(observations(weight)))", ErrorCode::kType,
       "test:1:13: is_positive() needs a qualitative result, but 'weight' is not qualitative"},
      {"times_uln(latest(observations(anti_mda5))) > 1", ErrorCode::kType,
       "test:1:11: times_uln() needs a quantitative result"},
      {"cockcroft_gault(40, 60 'mm[Hg]', 1 'mg/dL', true) > 1 'mL/min'", ErrorCode::kType,
       "test:1:21: cockcroft_gault() needs a body weight (a mass) as argument 2"},
      {"cockcroft_gault(40, 60 'kg', 88 'umol/L', true) > 1 'mL/min'", ErrorCode::kType,
       "test:1:30: cockcroft_gault() needs a serum creatinine as a mass concentration (e.g. "
       "mg/dL) as argument 3"},
      {"1 in weight", ErrorCode::kType,
       "test:1:1: 'in weight' needs codes on the left (e.g. x.route), found a number"},
      {"1 in 2", ErrorCode::kType,
       "test:1:6: 'in' needs a value set or a list on the right, found a number"},
      {"\"a\" in [1, 2]", ErrorCode::kType,
       "test:1:1: cannot look for a string in a list of numbers"},
      {"[1, \"a\"] is unknown", ErrorCode::kType, "test:1:5: list items differ in type"},
      {"latest(S) is unknown", ErrorCode::kType,
       "test:1:8: latest() needs a list as argument 1, found a date"},
      {"45 'kgg' > W", ErrorCode::kParse,
       "test:1:1: unit 'kgg': unknown unit 'kgg' at character 1"},
  };
  for (const auto& c : cases) {
    Error e = Fails(c.rule);
    EXPECT_EQ(e.code, c.code) << c.rule << " -> " << e.message;
    EXPECT_EQ(e.message, c.message) << c.rule;
  }
}

TEST_F(RulesTest, ACriterionMustBeACondition) {
  for (const char* text : {"1 + 2", "W", "S", "\"x\"", "observations(weight)"}) {
    Error e = Fails(text, RuleType::kBool);
    EXPECT_EQ(e.code, ErrorCode::kType) << text;
    EXPECT_EQ(e.message.rfind(
                  "test:1:1: a criterion must be a condition (true, false or unknown), but this "
                  "rule gives ",
                  0),
              0u)
        << e.message;
  }
  EXPECT_EQ(Fails("1 + 2", RuleType::kBool).message,
            "test:1:1: a criterion must be a condition (true, false or unknown), but this rule "
            "gives a number");
  // The literal unknown and conditions are fine.
  EXPECT_TRUE(program_->AddRule("unknown", "test", RuleType::kBool).has_value());
  EXPECT_TRUE(program_->AddRule("W >= 45 'kg'", "test", RuleType::kBool).has_value());
}

TEST_F(RulesTest, ErrorsInsideADefinitionNameTheDefinition) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"bad_def", {"x"}, "x > 120 'mm[Hg]'", "defs: bad_def"});
  auto p = Program::Create(cat);
  ASSERT_TRUE(p.has_value()) << p.error().message;  // bound at each use
  auto r = (*p)->AddRule("true and bad_def(45 'kg')", "test", RuleType::kBool);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kType);
  EXPECT_EQ(r.error().message.rfind("defs: bad_def:1:1: cannot compare 'kg' with 'mm[Hg]'", 0), 0u)
      << r.error().message;
}

// ---------------------------------------------------------------------------------------------
// Errors: catalog (Program::Create)

Error CreateFails(Catalog& cat) {
  auto p = Program::Create(cat);
  EXPECT_FALSE(p.has_value());
  return p ? Error{} : p.error();
}

TEST(CatalogErrorTest, SelfReferentialDefinition) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"loop", {}, "true and loop", "defs: loop"});
  Error e = CreateFails(cat);
  EXPECT_EQ(e.code, ErrorCode::kType);
  EXPECT_EQ(e.message, "defs: loop:1:10: definition 'loop' refers to itself");
}

TEST(CatalogErrorTest, MutuallyRecursiveDefinitions) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"ping", {}, "pong", "defs: ping"});
  cat.definitions.push_back({"pong", {}, "not ping", "defs: pong"});
  Error e = CreateFails(cat);
  EXPECT_EQ(e.code, ErrorCode::kType);
  EXPECT_EQ(e.message, "defs: pong:1:5: definition 'ping' refers to itself");
}

TEST(CatalogErrorTest, RecursiveDefinitionWithParametersDoesNotHang) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"grow", {"x"}, "grow(x + 1)", "defs: grow"});
  auto p = Program::Create(cat);
  ASSERT_TRUE(p.has_value()) << p.error().message;  // unused: only its syntax is checked
  auto r = (*p)->AddRule("grow(1) is unknown", "test", RuleType::kBool);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos) << r.error().message;
}

// The guard against runaway definition expansion is per rule: many rules that each expand a
// definition a legitimate number of times must all compile.
TEST(CatalogErrorTest, ExpansionLimitIsPerRuleNotPerProgram) {
  Catalog cat = MakeCatalog();
  auto ten = [](const std::string& f) {
    std::string body;
    for (int i = 0; i < 10; ++i) body += (i ? " and " : "") + f + "(x)";
    return body;
  };
  cat.definitions.push_back({"e1", {"x"}, "x > 1 'kg'", "defs: e1"});
  cat.definitions.push_back({"e2", {"x"}, ten("e1"), "defs: e2"});
  cat.definitions.push_back({"e3", {"x"}, ten("e2"), "defs: e3"});
  cat.definitions.push_back({"e4", {"x"}, ten("e3"), "defs: e4"});  // 1111 expansions a use
  auto p = Program::Create(cat);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  for (int i = 0; i < 100; ++i) {
    auto r = (*p)->AddRule("e4(W)", "rule " + std::to_string(i), RuleType::kBool);
    ASSERT_TRUE(r.has_value()) << r.error().message;
  }
}

TEST(CatalogErrorTest, ParameterThatIsNotAConstant) {
  Catalog cat = MakeCatalog();
  cat.parameters.push_back({"cutoff", "S - 28 days", ""});
  Error e = CreateFails(cat);
  EXPECT_EQ(e.code, ErrorCode::kType);
  EXPECT_EQ(e.message,
            "parameter cutoff:1:1: a parameter must be a constant (a number, quantity, duration, "
            "date, string, boolean or list), found 'S - 28 days'");
}

TEST(CatalogErrorTest, ParameterWithASyntaxErrorOrBadUnit) {
  {
    Catalog cat = MakeCatalog();
    cat.parameters.push_back({"window", "28 dayz", ""});
    Error e = CreateFails(cat);
    EXPECT_EQ(e.code, ErrorCode::kParse);
    EXPECT_EQ(e.message, "parameter window:1:4: unexpected 'dayz'");
  }
  {
    Catalog cat = MakeCatalog();
    cat.parameters.push_back({"floor", "45 'kgg'", ""});
    Error e = CreateFails(cat);
    EXPECT_EQ(e.code, ErrorCode::kParse);
    EXPECT_EQ(e.message.rfind("parameter floor:1:1: unit 'kgg'", 0), 0u) << e.message;
  }
  {
    // A parameter may use an earlier one.
    Catalog cat = MakeCatalog();
    cat.parameters.push_back({"double_min", "weight_min", ""});
    auto p = Program::Create(cat);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    auto v = (*p)->ParameterValue("double_min");
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->quantity.value, 45);
  }
}

TEST(CatalogErrorTest, DefinitionWithASyntaxErrorIsReportedEvenIfUnused) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"f", {"x"}, "x +", "defs: f"});
  Error e = CreateFails(cat);
  EXPECT_EQ(e.code, ErrorCode::kParse);
  EXPECT_EQ(e.message, "defs: f:1:4: expected an expression, found end of rule");
}

TEST(CatalogErrorTest, DefinitionWithATypeError) {
  Catalog cat = MakeCatalog();
  cat.definitions.push_back({"bad", {}, "W > 1 'mm[Hg]'", "defs: bad"});
  Error e = CreateFails(cat);
  EXPECT_EQ(e.code, ErrorCode::kType);
  EXPECT_EQ(e.message.rfind("defs: bad:1:1: cannot compare 'W' (g) with 'mm[Hg]'", 0), 0u)
      << e.message;
}

}  // namespace
}  // namespace trial::rules
