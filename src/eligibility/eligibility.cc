#include "eligibility/eligibility.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "rules/program.h"

namespace trial::eligibility {

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kMet:
      return "met";
    case Outcome::kNotMet:
      return "not_met";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "unknown";
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kEligible:
      return "eligible";
    case Verdict::kIneligible:
      return "ineligible";
    case Verdict::kIncomplete:
      return "incomplete";
  }
  return "incomplete";
}

namespace {

// A measurement the protocol compares needs a unit: one without is an input error, not unknown.
Result<void> CheckUnits(const protocol::Protocol& p, const record::PatientRecord& rec) {
  for (const auto& o : rec.observations) {
    if (!o.quantity_unit_missing) continue;
    for (const auto& e : p.catalog.elements) {
      if (e->value != rules::ValueKind::kQuantity || !e->unit || !e->Match(o.codes)) continue;
      if (e->unit->dim().IsDimensionless() && e->unit->code() == "1") continue;
      return Fail(ErrorCode::kInvalidInput,
                  o.source.ToString() + ": valueQuantity of " +
                      (e->label.empty() ? e->name : e->label) +
                      " has a value but no unit (expected a unit convertible to '" +
                      e->unit->code() + "')");
    }
  }
  return {};
}

// The record's warnings that concern the patient or a resource some data element matches.
std::vector<std::string> RelevantWarnings(const protocol::Protocol& p,
                                          const record::PatientRecord& rec) {
  if (rec.warnings.empty()) return {};
  std::set<std::string> used = {"Patient/" + rec.patient.id};
  auto mark = [&](const record::Source& src, const std::vector<record::Coding>& codes) {
    for (const auto& e : p.catalog.elements) {
      if (e->Match(codes)) {
        used.insert(src.ToString());
        return;
      }
    }
  };
  for (const auto& o : rec.observations) mark(o.source, o.codes);
  for (const auto& u : rec.unplaced) mark(u.source, u.codes);
  for (const auto& c : rec.conditions) mark(c.source, c.codes);
  for (const auto& a : rec.allergies) mark(a.source, a.codes);
  for (const auto& x : rec.exposures) mark(x.source, x.codes);
  for (const auto& q : rec.requests) mark(q.source, q.codes);
  for (const auto& st : rec.stays) used.insert(st.source.ToString());
  for (const auto& c : rec.consents) used.insert(c.source.ToString());
  std::vector<std::string> out;
  for (const auto& w : rec.warnings) {
    if (used.count(w.substr(0, w.find(':')))) out.push_back(w);
  }
  return out;
}

std::string Explain(Outcome o, const rules::Trace& t) {
  std::string out;
  switch (o) {
    case Outcome::kMet:
      out = "met: ";
      break;
    case Outcome::kNotMet:
      out = "not met: ";
      break;
    case Outcome::kUnknown:
      out = "unknown: ";
      break;
  }
  std::vector<std::string> seen;
  bool first = true;
  for (const auto& s : t.steps) {
    if (std::find(seen.begin(), seen.end(), s) != seen.end()) continue;
    seen.push_back(s);
    if (!first) out += "; ";
    out += s;
    first = false;
  }
  if (first) out += "no data decided this criterion";
  return out;
}

}  // namespace

Result<Screening> Screen(const protocol::Protocol& p, const record::PatientRecord& rec,
                         Date screening, Date randomization, const Options& options) {
  if (randomization < screening) {
    return Fail(ErrorCode::kInvalidArgument, "the randomization date " + randomization.ToString() +
                                                 " is before the screening date " +
                                                 screening.ToString());
  }
  if (auto r = CheckUnits(p, rec); !r) return std::unexpected(r.error());
  Screening s;
  s.screening_date = screening;
  s.randomization_date = randomization;
  rules::Session session(*p.program, rec, screening, randomization);
  bool any_fail = false, all_pass = true;
  s.criteria.reserve(p.criteria.size());
  for (const auto& c : p.criteria) {
    CriterionResult r;
    r.criterion = &c;
    rules::Trace trace;
    rules::Value v = session.Evaluate(c.rule_id, options.explain ? &trace : nullptr);
    auto truth = rules::Truth(v);
    r.outcome = !truth ? Outcome::kUnknown : *truth ? Outcome::kMet : Outcome::kNotMet;
    if (options.explain) {
      r.explanation = Explain(r.outcome, trace);
      if (r.outcome == Outcome::kUnknown) r.missing = std::move(trace.missing);
    }
    bool pass = c.kind == protocol::CriterionKind::kInclusion ? r.outcome == Outcome::kMet
                                                              : r.outcome == Outcome::kNotMet;
    bool fail = c.kind == protocol::CriterionKind::kInclusion ? r.outcome == Outcome::kNotMet
                                                              : r.outcome == Outcome::kMet;
    any_fail = any_fail || fail;
    all_pass = all_pass && pass;
    s.criteria.push_back(std::move(r));
  }
  s.verdict = any_fail   ? Verdict::kIneligible
              : all_pass ? Verdict::kEligible
                         : Verdict::kIncomplete;
  if (options.explain) s.warnings = RelevantWarnings(p, rec);
  return s;
}

std::string ToJson(const protocol::Protocol& p, const Screening& s) {
  nlohmann::ordered_json j;
  j["protocol"] = p.id;
  j["screening_date"] = s.screening_date.ToString();
  j["randomization_date"] = s.randomization_date.ToString();
  j["verdict"] = VerdictName(s.verdict);
  auto& list = j["criteria"] = nlohmann::ordered_json::array();
  for (const auto& r : s.criteria) {
    nlohmann::ordered_json c;
    c["id"] = r.criterion->id;
    c["kind"] =
        r.criterion->kind == protocol::CriterionKind::kInclusion ? "inclusion" : "exclusion";
    c["result"] = OutcomeName(r.outcome);
    c["text"] = r.criterion->text;
    c["explanation"] = r.explanation;
    c["missing"] = r.missing;
    list.push_back(std::move(c));
  }
  // Replace invalid UTF-8 from the input rather than throwing.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

// Splits `text` into lines of at most `width` characters (UTF-8 aware enough for our text).
std::vector<std::string> Wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t line_chars = 0;
  size_t i = 0;
  auto chars = [](const std::string& w) {
    size_t n = 0;
    for (unsigned char ch : w) n += (ch & 0xC0) != 0x80;
    return n;
  };
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    std::string word = text.substr(i, j - i);
    size_t wc = chars(word);
    if (line_chars > 0 && line_chars + 1 + wc > width) {
      lines.push_back(line);
      line.clear();
      line_chars = 0;
    }
    if (line_chars > 0) {
      line += ' ';
      ++line_chars;
    }
    line += word;
    line_chars += wc;
    i = j + 1;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

std::string ToText(const protocol::Protocol& p, const Screening& s) {
  std::string out;
  out += p.id + " screening " + s.screening_date.ToString() + ", randomization " +
         s.randomization_date.ToString() + "\n\n";
  out += "ID    KIND       RESULT   EXPLANATION\n";
  out += "----  ---------  -------  " + std::string(70, '-') + "\n";
  const std::string indent(27, ' ');
  for (const auto& r : s.criteria) {
    std::string id = r.criterion->id;
    id.resize(6, ' ');
    std::string kind =
        r.criterion->kind == protocol::CriterionKind::kInclusion ? "inclusion  " : "exclusion  ";
    std::string result = OutcomeName(r.outcome);
    result.resize(9, ' ');
    auto lines = Wrap(r.explanation, 70);
    out += id + kind + result + lines[0] + "\n";
    for (size_t i = 1; i < lines.size(); ++i) out += indent + lines[i] + "\n";
    for (const auto& m : r.missing) {
      auto ml = Wrap("missing: " + m, 70);
      for (const auto& l : ml) out += indent + l + "\n";
    }
  }
  out += "\nVERDICT: " + std::string(VerdictName(s.verdict)) + "\n";
  if (!s.warnings.empty()) {
    out += "\nData present but not usable:\n";
    for (const auto& w : s.warnings) out += "  " + w + "\n";
  }
  return out;
}

}  // namespace trial::eligibility
