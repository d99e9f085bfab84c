// FHIR R4 Bundle -> PatientRecord. See fhir.h and /work/shared/fhir/SCREENING-PROFILE.md.
//
// Implementation notes:
//  - The text is parsed once with nlohmann::json; each entry is then read through small accessors
//    that check JSON types and report "Type/id: element ..." on a mismatch. Internally a failure
//    is thrown as `ReadFailure` and turned into an `Error` at the single entry point; no
//    exception leaves ReadBundle.
//  - Unusable but harmless content (non-UCUM units, observations without a date, unresolved
//    medication references, ...) is kept as far as possible and reported in `warnings`.
#include "record/fhir.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <utility>

namespace trial::record {
namespace {

using json = nlohmann::json;

constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kSnomed = "http://snomed.info/sct";
constexpr std::string_view kInterpretation =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

struct ReadFailure {
  Error error;
};

[[noreturn]] void Throw(ErrorCode code, std::string message) {
  throw ReadFailure{Error{code, std::move(message)}};
}

std::string_view TypeName(const json& j) { return j.type_name(); }

// The resource being read, for messages.
struct Ctx {
  std::string where;                             // "Observation/wbc"
  std::vector<std::string>* warnings = nullptr;  // the record's warnings, when known
};

// An element path such as "valueQuantity.code", held in up to three parts so that nothing is
// concatenated unless an error message needs it.
struct Elem {
  std::string_view a, b, c;
  Elem(const char* s) : a(s) {}       // NOLINT(google-explicit-constructor)
  Elem(std::string_view s) : a(s) {}  // NOLINT(google-explicit-constructor)
  Elem(std::string_view x, std::string_view y, std::string_view z = {}) : a(x), b(y), c(z) {}
  std::string Str() const {
    std::string out(a);
    for (std::string_view part : {b, c}) {
      if (part.empty()) continue;
      if (!out.empty()) out += '.';
      out += part;
    }
    return out;
  }
};

[[noreturn]] void WrongType(const Ctx& ctx, const Elem& elem, std::string_view expected,
                            const json& got) {
  std::string msg = ctx.where;
  msg += ": element '";
  msg += elem.Str();
  msg += "' must be ";
  msg += expected;
  msg += ", not ";
  msg += TypeName(got);
  Throw(ErrorCode::kParse, std::move(msg));
}

// `obj[key]` when `obj` is an object holding a non-null `key`; nullptr otherwise.
const json* Field(const json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json* Object(const json& obj, std::string_view key, const Ctx& ctx, const Elem& elem) {
  const json* f = Field(obj, key);
  if (f != nullptr && !f->is_object()) WrongType(ctx, elem, "an object", *f);
  return f;
}

const json* Array(const json& obj, std::string_view key, const Ctx& ctx, const Elem& elem) {
  const json* f = Field(obj, key);
  if (f != nullptr && !f->is_array()) WrongType(ctx, elem, "an array", *f);
  return f;
}

const std::string* String(const json& obj, std::string_view key, const Ctx& ctx, const Elem& elem) {
  const json* f = Field(obj, key);
  if (f == nullptr) return nullptr;
  if (!f->is_string()) WrongType(ctx, elem, "a string", *f);
  return &f->get_ref<const std::string&>();
}

std::string_view StringOr(const json& obj, std::string_view key, const Ctx& ctx, const Elem& elem) {
  const std::string* s = String(obj, key, ctx, elem);
  return s != nullptr ? std::string_view(*s) : std::string_view();
}

std::optional<double> Number(const json& obj, std::string_view key, const Ctx& ctx,
                             const Elem& elem) {
  const json* f = Field(obj, key);
  if (f == nullptr) return std::nullopt;
  if (!f->is_number()) WrongType(ctx, elem, "a number", *f);
  return f->get<double>();
}

// ---- dates ----

TimePoint ParseTime(const std::string& text, const Ctx& ctx, const Elem& elem) {
  Result<TimePoint> t = TimePoint::Parse(text);
  if (!t) {
    std::string msg = ctx.where;
    msg += ": ";
    msg += elem.Str();
    msg += " '";
    msg += text;
    msg += "' is not a valid date";
    Throw(ErrorCode::kParse, std::move(msg));
  }
  return *t;
}

// A valid FHIR date without a day ("1975", "1975-08"): too imprecise for the protocol's day
// counts, but not malformed.
bool IsPartialDate(const std::string& t) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= t.size() || t[i] < '0' || t[i] > '9') return false;
    }
    return true;
  };
  if (t.size() == 4) return digits(0, 4);
  if (t.size() == 7 && digits(0, 4) && t[4] == '-' && digits(5, 2)) {
    int month = (t[5] - '0') * 10 + (t[6] - '0');
    return month >= 1 && month <= 12;
  }
  return false;
}

std::optional<TimePoint> TimeField(const json& obj, std::string_view key, const Ctx& ctx,
                                   const Elem& elem) {
  const std::string* s = String(obj, key, ctx, elem);
  if (s == nullptr) return std::nullopt;
  if (IsPartialDate(*s)) {
    // Kept as unknown (missing), not an error: the data is valid, only imprecise.
    if (ctx.warnings) {
      ctx.warnings->push_back(ctx.where + ": " + elem.Str() + " '" + *s +
                              "' has no day; treated as unknown");
    }
    return std::nullopt;
  }
  return ParseTime(*s, ctx, elem);
}

std::optional<Date> DateField(const json& obj, std::string_view key, const Ctx& ctx,
                              const Elem& elem) {
  std::optional<TimePoint> t = TimeField(obj, key, ctx, elem);
  if (!t) return std::nullopt;
  return t->date;
}

// ---- codes ----

// Appends CodeableConcept.coding[] (codings without a code are skipped). `elem` is the path of
// the CodeableConcept.
void AppendCodings(const json* cc, const Ctx& ctx, std::string_view elem,
                   std::vector<Coding>& out) {
  if (cc == nullptr) return;
  if (!cc->is_object()) WrongType(ctx, elem, "a CodeableConcept object", *cc);
  const json* codings = Array(*cc, "coding", ctx, Elem(elem, "coding"));
  if (codings == nullptr) return;
  out.reserve(out.size() + codings->size());
  for (const json& c : *codings) {
    if (!c.is_object()) WrongType(ctx, Elem(elem, "coding"), "a Coding object", c);
    const std::string* code = String(c, "code", ctx, Elem(elem, "coding", "code"));
    if (code == nullptr) continue;
    out.push_back(
        Coding{std::string(StringOr(c, "system", ctx, Elem(elem, "coding", "system"))), *code});
  }
}

std::vector<Coding> Codings(const json* cc, const Ctx& ctx, std::string_view elem) {
  std::vector<Coding> out;
  AppendCodings(cc, ctx, elem, out);
  return out;
}

// The first code of CodeableConcept `key` of `obj` ("" when there is none).
std::string_view StatusCode(const json& obj, std::string_view key, const Ctx& ctx) {
  const json* cc = Field(obj, key);
  if (cc == nullptr) return {};
  if (!cc->is_object()) WrongType(ctx, key, "a CodeableConcept object", *cc);
  const json* codings = Array(*cc, "coding", ctx, Elem(key, "coding"));
  if (codings == nullptr) return {};
  for (const json& c : *codings) {
    if (!c.is_object()) WrongType(ctx, Elem(key, "coding"), "a Coding object", c);
    std::string_view code = StringOr(c, "code", ctx, Elem(key, "coding", "code"));
    if (!code.empty()) return code;
  }
  return {};
}

// Per-call state: the patient, referenced Medications, a unit cache and the warnings.
class Reader {
 public:
  PatientRecord record;

  void Warn(std::string w) { record.warnings.push_back(std::move(w)); }

  // Parses a unit text, trying a few common non-UCUM spellings; nullopt when it is not UCUM.
  std::optional<Unit> ParseUnit(std::string_view text) {
    auto it = unit_cache_.find(std::string(text));
    if (it != unit_cache_.end()) return it->second;
    std::optional<Unit> result;
    if (Result<Unit> u = Unit::Parse(text)) {
      result = std::move(*u);
    } else if (std::string alias = Alias(text); !alias.empty()) {
      if (Result<Unit> a = Unit::Parse(alias)) result = std::move(*a);
    }
    unit_cache_.emplace(std::string(text), result);
    return result;
  }

  // Reads a FHIR Quantity. `unit_missing` (when given) is set for a value without any unit.
  std::optional<Quantity> ReadQuantity(const json* q, const Ctx& ctx, std::string_view elem,
                                       bool* unit_missing = nullptr) {
    if (q == nullptr) return std::nullopt;
    if (!q->is_object()) WrongType(ctx, elem, "a Quantity object", *q);
    std::optional<double> value = Number(*q, "value", ctx, Elem(elem, "value"));
    if (!value) return std::nullopt;
    std::string_view system = StringOr(*q, "system", ctx, Elem(elem, "system"));
    std::string_view code = StringOr(*q, "code", ctx, Elem(elem, "code"));
    std::string_view unit_text = StringOr(*q, "unit", ctx, Elem(elem, "unit"));
    if (!system.empty() && system != kUcum) code = {};  // not a UCUM code: use the text
    if (code.empty() && unit_text.empty()) {
      if (unit_missing != nullptr) {
        *unit_missing = true;
      } else {
        Warn(ctx.where + ": " + std::string(elem) + " has a value but no unit; value ignored");
      }
      return std::nullopt;
    }
    std::optional<Unit> unit;
    if (!code.empty()) unit = ParseUnit(code);
    if (!unit && !unit_text.empty()) unit = ParseUnit(unit_text);
    if (!unit) {
      Warn(ctx.where + ": " + std::string(elem) + " unit '" +
           std::string(code.empty() ? unit_text : code) + "' is not UCUM; value ignored");
      return std::nullopt;
    }
    Quantity out;
    out.value = *value;
    out.unit = std::move(*unit);
    std::string_view comparator = StringOr(*q, "comparator", ctx, Elem(elem, "comparator"));
    if (comparator.empty()) {
      out.comparator = Comparator::kEq;
    } else if (comparator == "<") {
      out.comparator = Comparator::kLt;
    } else if (comparator == "<=") {
      out.comparator = Comparator::kLe;
    } else if (comparator == ">") {
      out.comparator = Comparator::kGt;
    } else if (comparator == ">=") {
      out.comparator = Comparator::kGe;
    } else {
      Warn(ctx.where + ": " + std::string(elem) + " comparator '" + std::string(comparator) +
           "' is not understood; value ignored");
      return std::nullopt;
    }
    return out;
  }

  // ---- references ----

  void SetPatient(std::string full_url, std::string id) {
    patient_full_url_ = std::move(full_url);
    patient_ref_ = "Patient/" + id;
    patient_suffix_ = "/" + patient_ref_;
  }

  bool IsPatient(std::string_view ref) const {
    if (!patient_full_url_.empty() && ref == patient_full_url_) return true;
    if (patient_ref_.size() > 8 /* "Patient/" + non-empty id */) {
      if (ref == patient_ref_) return true;
      if (ref.ends_with(patient_suffix_)) return true;
    }
    return false;
  }

  // Checks the `key` reference (subject / patient) of a resource. Missing: the bundle's patient.
  void CheckSubject(const json& res, std::string_view key, const Ctx& ctx) {
    const json* subject = Object(res, key, ctx, key);
    if (subject == nullptr) return;
    const std::string* ref = String(*subject, "reference", ctx, Elem(key, "reference"));
    if (ref == nullptr || IsPatient(*ref)) return;
    Throw(ErrorCode::kInvalidInput,
          ctx.where + ": " + std::string(key) + " '" + *ref + "' is not the bundle's patient");
  }

  void AddMedication(const std::string& key, const json* code) {
    if (code != nullptr) medications_.emplace(key, code);
  }

  // medicationCodeableConcept, or the codes of the Medication that medicationReference names.
  std::vector<Coding> MedicationCodes(const json& res, const Ctx& ctx) {
    if (const json* cc = Field(res, "medicationCodeableConcept")) {
      return Codings(cc, ctx, "medicationCodeableConcept");
    }
    const json* ref_obj = Object(res, "medicationReference", ctx, "medicationReference");
    if (ref_obj == nullptr) {
      Warn(ctx.where + ": no medication[x]; codes unknown");
      return {};
    }
    const std::string* ref = String(*ref_obj, "reference", ctx, "medicationReference.reference");
    if (ref == nullptr) {
      Warn(ctx.where + ": medicationReference without a reference; codes unknown");
      return {};
    }
    // Contained Medication ("#id").
    if (ref->starts_with('#')) {
      if (const json* contained = Array(res, "contained", ctx, "contained")) {
        std::string_view id = std::string_view(*ref).substr(1);
        for (const json& c : *contained) {
          if (c.is_object() && StringOr(c, "id", ctx, "contained.id") == id &&
              StringOr(c, "resourceType", ctx, "contained.resourceType") == "Medication") {
            return Codings(Field(c, "code"), ctx, "contained Medication.code");
          }
        }
      }
    } else {
      auto it = medications_.find(*ref);
      if (it == medications_.end()) {
        // Absolute URL ending in Medication/<id>.
        size_t pos = ref->rfind("Medication/");
        if (pos != std::string::npos && pos > 0) it = medications_.find(ref->substr(pos));
      }
      if (it != medications_.end()) return Codings(it->second, ctx, "Medication.code");
    }
    Warn(ctx.where + ": medicationReference '" + *ref + "' is not in the bundle; codes unknown");
    return {};
  }

  // ---- dosage ----

  // Element paths of a Dosage, for messages.
  struct DosagePaths {
    const char *self, *route, *timing, *repeat, *frequency, *period, *period_unit, *dose_and_rate,
        *dose_quantity, *dose_range, *dose_range_low;
  };
#define TRIAL_DOSAGE_PATHS(P)                                                                     \
  DosagePaths {                                                                                   \
    P, P ".route", P ".timing", P ".timing.repeat", P ".timing.repeat.frequency",                 \
        P ".timing.repeat.period", P ".timing.repeat.periodUnit", P ".doseAndRate",               \
        P ".doseAndRate.doseQuantity", P ".doseAndRate.doseRange", P ".doseAndRate.doseRange.low" \
  }
  static constexpr DosagePaths kDosage = TRIAL_DOSAGE_PATHS("dosage");
  static constexpr DosagePaths kDosageInstruction = TRIAL_DOSAGE_PATHS("dosageInstruction");
#undef TRIAL_DOSAGE_PATHS

  Dosage ReadDosage(const json& d, const Ctx& ctx, const DosagePaths& p) {
    if (!d.is_object()) WrongType(ctx, p.self, "a Dosage object", d);
    Dosage out;
    AppendCodings(Field(d, "route"), ctx, p.route, out.route);
    if (const json* timing = Object(d, "timing", ctx, p.timing)) {
      if (const json* repeat = Object(*timing, "repeat", ctx, p.repeat)) {
        out.has_repeat = true;
        out.frequency = Number(*repeat, "frequency", ctx, p.frequency).value_or(1.0);
        if (std::optional<double> period = Number(*repeat, "period", ctx, p.period)) {
          std::string_view unit = StringOr(*repeat, "periodUnit", ctx, p.period_unit);
          if (std::optional<double> days = PeriodUnitDays(unit)) {
            out.period_days = *period * *days;
          } else {
            Warn(ctx.where + ": " + p.period_unit + " '" + std::string(unit) +
                 "' is not understood; period ignored");
          }
        }
      }
    }
    if (const json* dar = Array(d, "doseAndRate", ctx, p.dose_and_rate);
        dar != nullptr && !dar->empty()) {
      const json& first = (*dar)[0];
      if (!first.is_object()) WrongType(ctx, p.dose_and_rate, "an object", first);
      if (const json* dq = Field(first, "doseQuantity")) {
        out.dose = ReadQuantity(dq, ctx, p.dose_quantity);
      } else if (const json* range = Object(first, "doseRange", ctx, p.dose_range)) {
        out.dose = ReadQuantity(Field(*range, "low"), ctx, p.dose_range_low);
      }
    }
    return out;
  }

  // Statement `dosage[]` or request `dosageInstruction[]`.
  std::vector<Dosage> ReadDosages(const json& res, std::string_view key, const Ctx& ctx) {
    std::vector<Dosage> out;
    const json* arr = Array(res, key, ctx, key);
    if (arr == nullptr) return out;
    const DosagePaths& paths = key == "dosage" ? kDosage : kDosageInstruction;
    out.reserve(arr->size());
    for (const json& d : *arr) out.push_back(ReadDosage(d, ctx, paths));
    return out;
  }

 private:
  static std::optional<double> PeriodUnitDays(std::string_view u) {
    if (u == "s") return 1.0 / 86400.0;
    if (u == "min") return 1.0 / 1440.0;
    if (u == "h") return 1.0 / 24.0;
    if (u == "d") return 1.0;
    if (u == "wk") return 7.0;
    if (u == "mo") return 30.4375;
    if (u == "a") return 365.25;
    return std::nullopt;
  }

  // Common non-UCUM spellings seen in EHR exports; "" when there is none.
  static std::string Alias(std::string_view text) {
    if (text == "mmHg" || text == "mm Hg") return "mm[Hg]";
    if (text == "tablet" || text == "tablets" || text == "tab" || text == "tabs" || text == "TAB" ||
        text == "Tablet")
      return "{tbl}";
    if (text == "mcg") return "ug";
    if (text == "IU") return "[IU]";
    if (text.starts_with("10^")) return "10*" + std::string(text.substr(3));
    return {};
  }

  std::unordered_map<std::string, std::optional<Unit>> unit_cache_;
  std::unordered_map<std::string, const json*> medications_;  // fullUrl / Medication/id -> code
  std::string patient_full_url_;
  std::string patient_ref_;
  std::string patient_suffix_;
};

// ---- resources ----

void ReadObservation(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  if (status == "registered" || status == "cancelled" || status == "entered-in-error") return;

  std::optional<TimePoint> time = TimeField(res, "effectiveDateTime", ctx, "effectiveDateTime");
  if (!time) {
    if (const json* p = Object(res, "effectivePeriod", ctx, "effectivePeriod")) {
      time = TimeField(*p, "start", ctx, "effectivePeriod.start");
    }
  }
  if (!time) time = TimeField(res, "effectiveInstant", ctx, "effectiveInstant");
  if (!time) time = TimeField(res, "issued", ctx, "issued");
  if (!time) {
    r.Warn(ctx.where + ": no effective date or issued time; observation ignored");
    r.record.unplaced.push_back({std::move(source), Codings(Field(res, "code"), ctx, "code")});
    return;
  }

  Observation obs;
  obs.source = std::move(source);
  obs.status = std::string(status);
  obs.time = *time;
  obs.codes = Codings(Field(res, "code"), ctx, "code");
  obs.quantity =
      r.ReadQuantity(Field(res, "valueQuantity"), ctx, "valueQuantity", &obs.quantity_unit_missing);
  if (const json* b = Field(res, "valueBoolean")) {
    if (!b->is_boolean()) WrongType(ctx, "valueBoolean", "a boolean", *b);
    obs.boolean = b->get<bool>();
  }
  obs.date_value = TimeField(res, "valueDateTime", ctx, "valueDateTime");
  AppendCodings(Field(res, "valueCodeableConcept"), ctx, "valueCodeableConcept", obs.value_codes);

  if (!obs.value_codes.empty()) {
    obs.qualitative = Qualitative::kOther;
    for (const Coding& c : obs.value_codes) {
      if (c.system != kSnomed) continue;
      if (c.code == "10828004") {
        obs.qualitative = Qualitative::kPositive;
        break;
      }
      if (c.code == "260385009") {
        obs.qualitative = Qualitative::kNegative;
        break;
      }
    }
  } else if (const json* interp = Array(res, "interpretation", ctx, "interpretation")) {
    for (const json& cc : *interp) {
      std::vector<Coding> codes = Codings(&cc, ctx, "interpretation");
      for (const Coding& c : codes) {
        if (!c.system.empty() && c.system != kInterpretation) continue;
        if (c.code == "POS") obs.qualitative = Qualitative::kPositive;
        if (c.code == "NEG") obs.qualitative = Qualitative::kNegative;
        if (obs.qualitative != Qualitative::kNone) break;
      }
      if (obs.qualitative != Qualitative::kNone) break;
    }
  }

  if (const json* ranges = Array(res, "referenceRange", ctx, "referenceRange");
      ranges != nullptr && !ranges->empty()) {
    const json& first = (*ranges)[0];
    if (!first.is_object()) WrongType(ctx, "referenceRange", "an object", first);
    obs.reference_high = r.ReadQuantity(Field(first, "high"), ctx, "referenceRange.high");
  }
  r.record.observations.push_back(std::move(obs));
}

// Verification of a Condition / AllergyIntolerance; false when the resource must be dropped.
bool ReadVerification(const json& res, const Ctx& ctx, Verification& out) {
  std::string_view v = StatusCode(res, "verificationStatus", ctx);
  if (v == "refuted" || v == "entered-in-error") return false;
  out = (v == "unconfirmed" || v == "provisional" || v == "differential")
            ? Verification::kUncertain
            : Verification::kConfirmed;
  return true;
}

void ReadCondition(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  Condition c;
  if (!ReadVerification(res, ctx, c.verification)) return;
  std::string_view clinical = StatusCode(res, "clinicalStatus", ctx);
  if (clinical == "active" || clinical == "recurrence" || clinical == "relapse") {
    c.clinical = ClinicalStatus::kCurrent;
  } else if (clinical == "inactive" || clinical == "remission" || clinical == "resolved") {
    c.clinical = ClinicalStatus::kPast;
  }
  c.source = std::move(source);
  c.codes = Codings(Field(res, "code"), ctx, "code");
  c.onset = DateField(res, "onsetDateTime", ctx, "onsetDateTime");
  if (!c.onset) {
    if (const json* p = Object(res, "onsetPeriod", ctx, "onsetPeriod")) {
      c.onset = DateField(*p, "start", ctx, "onsetPeriod.start");
    }
  }
  c.abatement = DateField(res, "abatementDateTime", ctx, "abatementDateTime");
  if (!c.abatement) {
    if (const json* p = Object(res, "abatementPeriod", ctx, "abatementPeriod")) {
      c.abatement = DateField(*p, "end", ctx, "abatementPeriod.end");
    }
  }
  r.record.conditions.push_back(std::move(c));
}

void ReadAllergy(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "patient", ctx);
  Allergy a;
  if (!ReadVerification(res, ctx, a.verification)) return;
  std::string_view clinical = StatusCode(res, "clinicalStatus", ctx);
  a.inactive = clinical == "inactive" || clinical == "resolved";
  a.source = std::move(source);
  a.codes = Codings(Field(res, "code"), ctx, "code");
  r.record.allergies.push_back(std::move(a));
}

void ReadStatement(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  if (status == "entered-in-error" || status == "intended" || status == "not-taken") return;
  const bool active = status == "active";

  Exposure e;
  e.source = std::move(source);
  e.kind = ExposureKind::kStatement;
  e.status = std::string(status);
  e.status_unknown = status == "unknown";
  e.codes = r.MedicationCodes(res, ctx);

  std::optional<Date> end;
  bool dated = false;
  if (std::optional<Date> day = DateField(res, "effectiveDateTime", ctx, "effectiveDateTime")) {
    e.start = day;
    end = day;
    dated = true;
  } else if (const json* p = Object(res, "effectivePeriod", ctx, "effectivePeriod")) {
    e.start = DateField(*p, "start", ctx, "effectivePeriod.start");
    end = DateField(*p, "end", ctx, "effectivePeriod.end");
    dated = e.start.has_value() || end.has_value();
  }
  if (end) {
    e.end = *end;
    if (!e.start) r.Warn(ctx.where + ": effectivePeriod has an end but no start");
  } else if (active) {
    e.end = Date::Max();
    e.ongoing = true;
  } else if (e.status_unknown) {
    e.end = Date::Max();  // whether and until when it was taken is unknown: it may go on
  } else if (e.start) {
    e.end = *e.start;  // a non-active statement without an end: one day on its start
  } else {
    e.end = Date::Max();  // never dated: when it was taken is unknown
  }
  if (!dated) r.Warn(ctx.where + ": no effective date");
  e.dosages = r.ReadDosages(res, "dosage", ctx);
  r.record.exposures.push_back(std::move(e));
}

void ReadAdministration(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  if (status != "completed" && status != "in-progress") return;

  Exposure e;
  e.source = std::move(source);
  e.kind = ExposureKind::kAdministration;
  e.status = std::string(status);
  e.codes = r.MedicationCodes(res, ctx);
  std::optional<Date> end;
  if (std::optional<Date> day = DateField(res, "effectiveDateTime", ctx, "effectiveDateTime")) {
    e.start = day;
    end = day;
  } else if (const json* p = Object(res, "effectivePeriod", ctx, "effectivePeriod")) {
    e.start = DateField(*p, "start", ctx, "effectivePeriod.start");
    end = DateField(*p, "end", ctx, "effectivePeriod.end");
  }
  if (!end) end = e.start;
  if (!e.start && !end) r.Warn(ctx.where + ": no effective date");
  e.end = end.value_or(Date::Max());

  if (const json* d = Object(res, "dosage", ctx, "dosage")) {
    Dosage dosage;
    AppendCodings(Field(*d, "route"), ctx, "dosage.route", dosage.route);
    dosage.dose = r.ReadQuantity(Field(*d, "dose"), ctx, "dosage.dose");
    e.dosages.push_back(std::move(dosage));
  }
  r.record.exposures.push_back(std::move(e));
}

void ReadRequest(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  if (status == "entered-in-error") return;
  Request q;
  q.source = std::move(source);
  q.status = std::string(status);
  q.intent = std::string(StringOr(res, "intent", ctx, "intent"));
  q.codes = r.MedicationCodes(res, ctx);
  q.authored = DateField(res, "authoredOn", ctx, "authoredOn");
  q.dosages = r.ReadDosages(res, "dosageInstruction", ctx);
  r.record.requests.push_back(std::move(q));
}

bool IsInpatientCoding(const json& c, const Ctx& ctx) {
  if (!c.is_object()) WrongType(ctx, "class", "a Coding object", c);
  std::string_view system = StringOr(c, "system", ctx, "class.system");
  return StringOr(c, "code", ctx, "class.code") == "IMP" && (system.empty() || system == kActCode);
}

// Encounter.class: a Coding in R4; tolerate a CodeableConcept or an array of either (R5).
bool IsInpatientClass(const json& cls, const Ctx& ctx) {
  if (cls.is_array()) {
    for (const json& c : cls) {
      if (IsInpatientClass(c, ctx)) return true;
    }
    return false;
  }
  if (!cls.is_object()) WrongType(ctx, "class", "a Coding object", cls);
  if (const json* codings = Array(cls, "coding", ctx, "class.coding")) {
    for (const json& c : *codings) {
      if (IsInpatientCoding(c, ctx)) return true;
    }
    return false;
  }
  return IsInpatientCoding(cls, ctx);
}

void ReadEncounter(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "subject", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  // A planned or cancelled encounter is no stay.
  if (status == "entered-in-error" || status == "cancelled" || status == "planned") return;
  const json* cls = Field(res, "class");
  if (cls == nullptr || !IsInpatientClass(*cls, ctx)) return;
  Stay s;
  s.source = std::move(source);
  if (const json* p = Object(res, "period", ctx, "period")) {
    s.start = DateField(*p, "start", ctx, "period.start");
    s.end = DateField(*p, "end", ctx, "period.end");
  }
  if (const json* reasons = Array(res, "reasonCode", ctx, "reasonCode")) {
    for (const json& cc : *reasons) AppendCodings(&cc, ctx, "reasonCode", s.reasons);
  }
  r.record.stays.push_back(std::move(s));
}

void ReadConsent(Reader& r, const json& res, Ctx& ctx, Source source) {
  r.CheckSubject(res, "patient", ctx);
  std::string_view status = StringOr(res, "status", ctx, "status");
  if (status == "entered-in-error") return;
  Consent c;
  c.source = std::move(source);
  c.status = std::string(status);
  c.date = DateField(res, "dateTime", ctx, "dateTime");
  c.scopes = Codings(Field(res, "scope"), ctx, "scope");
  r.record.consents.push_back(std::move(c));
}

void ReadPatient(Reader& r, const json& res, const Ctx& ctx, const std::string& id) {
  Patient& p = r.record.patient;
  p.id = id;
  p.birth_date = DateField(res, "birthDate", ctx, "birthDate");
  std::string_view gender = StringOr(res, "gender", ctx, "gender");
  if (gender == "female") {
    p.sex = Sex::kFemale;
  } else if (gender == "male") {
    p.sex = Sex::kMale;
  } else if (gender == "other") {
    p.sex = Sex::kOther;
  } else {
    p.sex = Sex::kUnknown;
  }
}

enum class Kind : uint8_t {
  kIgnored,
  kPatient,
  kMedication,
  kObservation,
  kCondition,
  kAllergy,
  kStatement,
  kAdministration,
  kRequest,
  kEncounter,
  kProcedure,
  kConsent,
};

Kind KindOf(std::string_view type) {
  if (type == "Observation") return Kind::kObservation;
  if (type == "Condition") return Kind::kCondition;
  if (type == "Patient") return Kind::kPatient;
  if (type == "MedicationStatement") return Kind::kStatement;
  if (type == "MedicationRequest") return Kind::kRequest;
  if (type == "MedicationAdministration") return Kind::kAdministration;
  if (type == "AllergyIntolerance") return Kind::kAllergy;
  if (type == "Encounter") return Kind::kEncounter;
  if (type == "Procedure") return Kind::kProcedure;
  if (type == "Consent") return Kind::kConsent;
  if (type == "Medication") return Kind::kMedication;
  return Kind::kIgnored;
}

struct EntryRef {
  const json* resource;
  const std::string* full_url;  // may be null
  const std::string* type;
  Kind kind;
};

PatientRecord ReadParsed(const json& bundle) {
  if (!bundle.is_object()) {
    Throw(ErrorCode::kInvalidInput, std::string("not a FHIR Bundle: the JSON text is ") +
                                        bundle.type_name() + ", not an object");
  }
  const Ctx bundle_ctx{"Bundle"};
  const std::string* rt = String(bundle, "resourceType", bundle_ctx, "resourceType");
  if (rt == nullptr) Throw(ErrorCode::kInvalidInput, "not a FHIR Bundle: no resourceType");
  if (*rt != "Bundle") {
    Throw(ErrorCode::kInvalidInput, "not a FHIR Bundle: resourceType is '" + *rt + "'");
  }

  Reader r;
  std::vector<EntryRef> entries;
  const json* entry_arr = Array(bundle, "entry", bundle_ctx, "entry");
  if (entry_arr != nullptr) entries.reserve(entry_arr->size());

  // Pass 1: shapes, the Patient, Medications and counts.
  std::optional<size_t> patient;  // index into `entries`
  size_t patient_index = 0;       // index into Bundle.entry
  size_t counts[static_cast<size_t>(Kind::kConsent) + 1] = {};
  if (entry_arr != nullptr) {
    size_t i = 0;
    for (const json& entry : *entry_arr) {
      const Ctx ectx{"Bundle.entry[" + std::to_string(i) + "]"};
      if (!entry.is_object()) {
        Throw(ErrorCode::kParse,
              ectx.where + " must be an object, not " + std::string(TypeName(entry)));
      }
      const std::string* full_url = String(entry, "fullUrl", ectx, "fullUrl");
      const json* res = Field(entry, "resource");
      ++i;
      if (res == nullptr) continue;  // e.g. a transaction DELETE
      if (!res->is_object()) WrongType(ectx, "resource", "an object", *res);
      const std::string* type = String(*res, "resourceType", ectx, "resource.resourceType");
      if (type == nullptr) {
        Throw(ErrorCode::kInvalidInput, ectx.where + ": resource has no resourceType");
      }
      Kind kind = KindOf(*type);
      if (kind == Kind::kIgnored) continue;
      entries.push_back(EntryRef{res, full_url, type, kind});
      ++counts[static_cast<size_t>(kind)];
      if (kind == Kind::kPatient) {
        if (patient) {
          Throw(ErrorCode::kInvalidInput,
                "the Bundle holds two or more Patient resources (entries " +
                    std::to_string(patient_index) + " and " + std::to_string(i - 1) +
                    "); exactly one is required");
        }
        patient = entries.size() - 1;
        patient_index = i - 1;
      } else if (kind == Kind::kMedication) {
        const std::string* id = String(*res, "id", Ctx{"Medication"}, "id");
        const Ctx mctx{"Medication/" + (id != nullptr         ? *id
                                        : full_url != nullptr ? *full_url
                                                              : std::string())};
        const json* code = Object(*res, "code", mctx, "code");
        if (full_url != nullptr) r.AddMedication(*full_url, code);
        if (id != nullptr) r.AddMedication("Medication/" + *id, code);
      }
    }
  }
  if (!patient) {
    Throw(ErrorCode::kInvalidInput,
          "the Bundle holds no Patient resource; exactly one is required");
  }
  {
    const EntryRef& pe = entries[*patient];
    const json& res = *pe.resource;
    const Ctx pre{"Patient"};
    std::string id(StringOr(res, "id", pre, "id"));
    std::string full_url = pe.full_url != nullptr ? *pe.full_url : std::string();
    const Ctx ctx{"Patient/" + (id.empty() ? full_url : id), &r.record.warnings};
    ReadPatient(r, res, ctx, id);
    r.SetPatient(std::move(full_url), id);
  }

  PatientRecord& rec = r.record;
  rec.observations.reserve(counts[static_cast<size_t>(Kind::kObservation)]);
  rec.conditions.reserve(counts[static_cast<size_t>(Kind::kCondition)]);
  rec.allergies.reserve(counts[static_cast<size_t>(Kind::kAllergy)]);
  rec.exposures.reserve(counts[static_cast<size_t>(Kind::kStatement)] +
                        counts[static_cast<size_t>(Kind::kAdministration)]);
  rec.requests.reserve(counts[static_cast<size_t>(Kind::kRequest)]);
  rec.stays.reserve(counts[static_cast<size_t>(Kind::kEncounter)]);
  rec.consents.reserve(counts[static_cast<size_t>(Kind::kConsent)]);

  // Pass 2: the clinical resources.
  for (const EntryRef& e : entries) {
    if (e.kind == Kind::kPatient || e.kind == Kind::kMedication) continue;
    const json& res = *e.resource;
    Source source;
    source.resource_type = *e.type;
    const Ctx pre{*e.type};
    if (const std::string* id = String(res, "id", pre, "id")) {
      source.id = *id;
    } else if (e.full_url != nullptr) {
      source.id = *e.full_url;
    }
    Ctx ctx{source.ToString(), &r.record.warnings};
    try {
      switch (e.kind) {
        case Kind::kObservation:
          ReadObservation(r, res, ctx, std::move(source));
          break;
        case Kind::kCondition:
          ReadCondition(r, res, ctx, std::move(source));
          break;
        case Kind::kAllergy:
          ReadAllergy(r, res, ctx, std::move(source));
          break;
        case Kind::kStatement:
          ReadStatement(r, res, ctx, std::move(source));
          break;
        case Kind::kAdministration:
          ReadAdministration(r, res, ctx, std::move(source));
          break;
        case Kind::kRequest:
          ReadRequest(r, res, ctx, std::move(source));
          break;
        case Kind::kEncounter:
          ReadEncounter(r, res, ctx, std::move(source));
          break;
        case Kind::kProcedure:
          r.CheckSubject(res, "subject", ctx);
          break;  // nothing in the model
        case Kind::kConsent:
          ReadConsent(r, res, ctx, std::move(source));
          break;
        default:
          break;
      }
    } catch (const json::exception& ex) {
      // A JSON type the accessors did not anticipate: still name the resource.
      Throw(ErrorCode::kParse, ctx.where + ": unexpected JSON content: " + ex.what());
    }
  }

  std::stable_sort(rec.observations.begin(), rec.observations.end(),
                   [](const Observation& a, const Observation& b) { return a.time < b.time; });
  std::stable_sort(rec.conditions.begin(), rec.conditions.end(),
                   [](const Condition& a, const Condition& b) { return a.onset < b.onset; });
  std::stable_sort(rec.exposures.begin(), rec.exposures.end(),
                   [](const Exposure& a, const Exposure& b) { return a.start < b.start; });
  std::stable_sort(rec.requests.begin(), rec.requests.end(),
                   [](const Request& a, const Request& b) { return a.authored < b.authored; });
  std::stable_sort(rec.stays.begin(), rec.stays.end(),
                   [](const Stay& a, const Stay& b) { return a.start < b.start; });
  std::stable_sort(rec.consents.begin(), rec.consents.end(),
                   [](const Consent& a, const Consent& b) { return a.date < b.date; });
  return std::move(r.record);
}

}  // namespace

Result<PatientRecord> ReadBundle(std::string_view text) {
  try {
    json bundle;
    try {
      bundle = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/true);
    } catch (const json::parse_error& e) {
      return Fail(ErrorCode::kParse,
                  "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
    }
    return ReadParsed(bundle);
  } catch (const ReadFailure& f) {
    return std::unexpected<Error>(f.error);
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kParse, std::string("Bundle: unexpected JSON content: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kInternal, "out of memory while reading the Bundle");
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("reading the Bundle failed: ") + e.what());
  } catch (...) {
    return Fail(ErrorCode::kInternal, "reading the Bundle failed");
  }
}

}  // namespace trial::record
