#include "rules/value.h"

namespace trial::rules {

const char* FactKindName(FactKind k) {
  switch (k) {
    case FactKind::kNone:
      return "fact";
    case FactKind::kObservation:
      return "Observation";
    case FactKind::kCondition:
      return "Condition";
    case FactKind::kAllergy:
      return "AllergyIntolerance";
    case FactKind::kExposure:
      return "medication exposure";
    case FactKind::kRequest:
      return "MedicationRequest";
    case FactKind::kStay:
      return "hospital stay";
    case FactKind::kConsent:
      return "Consent";
    case FactKind::kPatient:
      return "Patient";
  }
  return "fact";
}

const record::Source* FactRef::source() const {
  switch (kind) {
    case FactKind::kObservation:
      return &obs().source;
    case FactKind::kCondition:
      return &cond().source;
    case FactKind::kAllergy:
      return &allergy().source;
    case FactKind::kExposure:
      return &exposure().source;
    case FactKind::kRequest:
      return &request().source;
    case FactKind::kStay:
      return &stay().source;
    case FactKind::kConsent:
      return &consent().source;
    default:
      return nullptr;
  }
}

std::optional<bool> Truth(const Value& v) {
  if (v.kind == Value::Kind::kBool) return v.b;
  return std::nullopt;
}

namespace {

std::string DescribeFact(const FactRef& f) {
  const record::Source* src = f.source();
  if (!src) return FactKindName(f.kind);
  std::string out = src->ToString();
  switch (f.kind) {
    case FactKind::kObservation:
      out += " " + f.obs().time.date.ToString();
      break;
    case FactKind::kCondition:
      if (f.cond().onset) out += " onset " + f.cond().onset->ToString();
      break;
    case FactKind::kExposure: {
      const auto& e = f.exposure();
      out += " " + (e.start ? e.start->ToString() : std::string("?")) + ".." +
             (e.ongoing ? std::string("ongoing") : e.end.ToString());
      break;
    }
    case FactKind::kStay: {
      const auto& s = f.stay();
      out += " " + (s.start ? s.start->ToString() : std::string("?")) + ".." +
             (s.end ? s.end->ToString() : std::string("ongoing"));
      break;
    }
    case FactKind::kConsent:
      out +=
          " " + f.consent().status + (f.consent().date ? " " + f.consent().date->ToString() : "");
      break;
    default:
      break;
  }
  if (!f.certain) out += " (uncertain)";
  return out;
}

std::string DescribeCodes(const std::vector<record::Coding>* codes) {
  if (!codes || codes->empty()) return "no code";
  std::string out;
  for (const auto& c : *codes) {
    if (!out.empty()) out += ", ";
    out += c.code;
  }
  return out;
}

}  // namespace

std::string Describe(const Value& v) {
  std::string out;
  switch (v.kind) {
    case Value::Kind::kUnknown:
      return "unknown";
    case Value::Kind::kBool:
      out = v.b ? "true" : "false";
      break;
    case Value::Kind::kNumber: {
      Quantity q{v.number, Unit(), Comparator::kEq};
      out = q.ToString();
      if (out.size() > 2 && out.substr(out.size() - 2) == " 1") out.resize(out.size() - 2);
      break;
    }
    case Value::Kind::kQuantity:
      out = v.quantity.ToString();
      break;
    case Value::Kind::kDate:
      out = v.date == Date::Max() ? "ongoing" : v.date.ToString();
      break;
    case Value::Kind::kDuration:
      out = v.duration.ToString();
      break;
    case Value::Kind::kString:
      out = "\"" + std::string(v.str) + "\"";
      break;
    case Value::Kind::kCodes:
      out = DescribeCodes(v.codes);
      break;
    case Value::Kind::kFact:
      return DescribeFact(v.fact);
    case Value::Kind::kList: {
      if (!v.list || v.list->items.empty()) return "none";
      out = std::to_string(v.list->items.size()) + ": ";
      size_t shown = 0;
      for (const auto& item : v.list->items) {
        if (shown++ == 4) {
          out += ", ...";
          break;
        }
        if (shown > 1) out += ", ";
        out += Describe(item);
      }
      return out;
    }
    case Value::Kind::kAlternatives: {
      out = "one of {";
      for (size_t i = 0; v.list && i < v.list->items.size(); ++i) {
        out += (i ? "; " : "") + Describe(v.list->items[i]);
      }
      return out + "}";
    }
  }
  if (v.origin.kind != FactKind::kNone) out += " [" + DescribeFact(v.origin) + "]";
  return out;
}

}  // namespace trial::rules
