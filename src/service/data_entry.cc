// eCRF data entry (data_entry.h).
#include "service/data_entry.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "service/safety.h"

namespace trial::service {

namespace {

// The visit ids in schedule order, the unscheduled visit last.
std::vector<std::string> VisitOrder(const protocol::Protocol& p) {
  std::vector<std::string> out;
  if (!p.schedule) return out;
  for (const auto& v : p.schedule->visits) out.push_back(v.id);
  if (p.schedule->unscheduled_allowed) out.push_back(p.schedule->unscheduled_id);
  return out;
}

Result<void> CheckVisitAndForm(const protocol::Protocol& p, const std::string& visit,
                               const std::string& form) {
  const auto* forms = ecrf::FormsOfVisit(p, visit);
  if (!forms) return Fail(ErrorCode::kInvalidArgument, "unknown visit '" + visit + "'");
  if (std::find(forms->begin(), forms->end(), form) == forms->end()) {
    return Fail(ErrorCode::kInvalidArgument, "visit " + visit + " does not collect form " + form);
  }
  return {};
}

Result<void> Preconditions(store::TrialStore& store, const protocol::Protocol& p,
                           int64_t subject_id, const std::string& visit) {
  if (!p.forms) {
    return Fail(ErrorCode::kInvalidInput, "the protocol defines no eCRF forms (forms.yaml)");
  }
  if (!ecrf::FormsOfVisit(p, visit)) {
    return Fail(ErrorCode::kInvalidArgument, "unknown visit '" + visit + "'");
  }
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) {
    return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  }
  return {};
}

// Validates one entry (form, item, repeat, value): the normalized value or the reason.
Result<ecrf::Normalized> ValidateOne(const protocol::Protocol& p, const std::string& visit,
                                     const ImportEntry& e) {
  const protocol::FormDefinition* f = p.forms->FindForm(e.form);
  if (!f) return Fail(ErrorCode::kNotFound, "unknown form '" + e.form + "'");
  if (auto ok = CheckVisitAndForm(p, visit, e.form); !ok) return std::unexpected(ok.error());
  if (e.repeat < 0 || (!f->repeating && e.repeat != 0)) {
    return Fail(ErrorCode::kInvalidArgument,
                e.form + "." + e.item + ": repeat " + std::to_string(e.repeat) + " (form " +
                    e.form + (f->repeating ? " repeats from 0)" : " does not repeat)"));
  }
  return ecrf::ValidateEntry(p, e.form, e.item, e.value);
}

// The reject findings about one of `entries` (matching form.item and, for repeating forms, the
// instance), as messages.
std::vector<std::string> Rejections(const protocol::Protocol& p,
                                    const std::vector<ecrf::Finding>& findings,
                                    const std::vector<ImportEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& f : findings) {
    if (f.severity != protocol::CheckSeverity::kReject) continue;
    bool concerns = false;
    for (const auto& e : entries) {
      const std::string name = e.form + "." + e.item;
      const protocol::FormDefinition* form = p.forms->FindForm(e.form);
      bool same_instance = !form || !form->repeating || f.repeat == e.repeat;
      if (same_instance && std::find(f.items.begin(), f.items.end(), name) != f.items.end()) {
        concerns = true;
      }
    }
    if (concerns) out.push_back("rejected by edit check " + f.check_id + ": " + f.message);
  }
  return out;
}

// The findings of the visit, with the soft-range queries of `normalized` that the generated
// checks did not already report.
std::vector<ecrf::Finding> Merge(std::vector<ecrf::Finding> findings,
                                 const std::vector<ecrf::Normalized>& normalized,
                                 const std::string& visit) {
  for (const auto& n : normalized) {
    if (!n.query) continue;
    bool seen = std::any_of(findings.begin(), findings.end(), [&](const ecrf::Finding& f) {
      return f.check_id == n.query->check_id;
    });
    if (seen) continue;
    ecrf::Finding q = *n.query;
    q.visit = visit;
    findings.push_back(std::move(q));
  }
  return findings;
}

// Instances of a repeating form are numbered from 0 without gaps (LoadSubjectData reads them up to
// the first empty one): instance r > 0 needs instance r - 1 at the visit.
bool InstanceExists(const protocol::FormDefinition& form, const ecrf::VisitRecord& v, int repeat) {
  for (const auto& item : form.items) {
    if (v.Find(form.id + "." + item.id, repeat)) return true;
  }
  return false;
}

std::string GapMessage(const ImportEntry& e) {
  return e.form + "." + e.item + ": instance " + std::to_string(e.repeat) + " of form " + e.form +
         " needs instance " + std::to_string(e.repeat - 1) + " first";
}

// The safety alerts of the visit just saved (service/safety.h); a failure is reported, not
// raised: the value is stored and `trial alert scan` evaluates the signals again.
void RaiseAlertsOfVisit(store::TrialStore& store, const protocol::Protocol& protocol,
                        const std::string& actor, int64_t subject_id, const std::string& visit,
                        std::vector<store::AlertRecord>* alerts, std::string* error) {
  if (!protocol.outcomes || !protocol.outcomes->sources) return;
  auto raised = RaiseSignalAlerts(store, protocol, actor, subject_id, visit);
  if (raised) {
    *alerts = std::move(*raised);
  } else {
    *error = raised.error().message;
  }
}

}  // namespace

Result<ecrf::SubjectData> LoadSubjectData(store::TrialStore& store,
                                          const protocol::Protocol& protocol, int64_t subject_id,
                                          const std::string& visit) {
  if (!protocol.forms || !ecrf::FormsOfVisit(protocol, visit)) {
    return Fail(ErrorCode::kNotFound, "unknown visit '" + visit + "'");
  }
  auto items = store.LatestItems(subject_id);
  if (!items) return std::unexpected(items.error());
  std::map<std::tuple<std::string, std::string, int, std::string>, std::string> latest;
  for (auto& i : *items) {
    latest[{i.key.visit, i.key.form, i.key.repeat, i.key.item}] = std::move(i.value);
  }
  ecrf::SubjectData data;
  for (const auto& v : VisitOrder(protocol)) {
    ecrf::VisitRecord record;
    record.visit = v;
    for (const auto& form_id : *ecrf::FormsOfVisit(protocol, v)) {
      const protocol::FormDefinition* form = protocol.forms->FindForm(form_id);
      if (!form) continue;  // the loader guarantees every form exists
      for (int repeat = 0;; ++repeat) {
        bool any = false;
        for (const auto& item : form->items) {
          auto it = latest.find({v, form_id, repeat, item.id});
          if (it == latest.end() || it->second.empty()) continue;
          record.Set(form_id + "." + item.id, repeat, it->second);
          any = true;
        }
        if (!form->repeating || !any) break;
      }
    }
    data.visits.push_back(std::move(record));
    if (v == visit) break;
  }
  return data;
}

Result<EntryOutcome> SetItem(store::TrialStore& store, const protocol::Protocol& protocol,
                             const std::string& actor, int64_t subject_id, const std::string& visit,
                             const std::string& form, const std::string& item,
                             const std::string& value, const std::string& reason, int repeat) {
  if (auto ok = Preconditions(store, protocol, subject_id, visit); !ok) {
    return std::unexpected(ok.error());
  }
  ImportEntry entry{form, item, value, repeat};
  auto normalized = ValidateOne(protocol, visit, entry);
  if (!normalized) return std::unexpected(normalized.error());
  auto data = LoadSubjectData(store, protocol, subject_id, visit);
  if (!data) return std::unexpected(data.error());
  ecrf::VisitRecord* v = data->FindVisit(visit);
  if (!v) return Fail(ErrorCode::kInternal, "visit " + visit + " missing from the loaded data");
  if (repeat > 0 && !InstanceExists(*protocol.forms->FindForm(form), *v, repeat - 1)) {
    return Fail(ErrorCode::kInvalidArgument, GapMessage(entry));
  }
  v->Set(form + "." + item, repeat, normalized->text);
  auto findings = ecrf::RunEditChecks(protocol, *data, visit);
  auto rejected = Rejections(protocol, findings, {entry});
  if (!rejected.empty()) {
    std::string message = rejected.front();
    for (size_t i = 1; i < rejected.size(); ++i) message += "; " + rejected[i];
    return Fail(ErrorCode::kInvalidArgument, message);
  }
  auto stored =
      store.RecordItem(actor, {subject_id, visit, form, repeat, item}, normalized->text, reason);
  if (!stored) return std::unexpected(stored.error());
  EntryOutcome out;
  out.stored = std::move(*stored);
  out.findings = Merge(std::move(findings), {*normalized}, visit);
  auto opened = OpenQueries(store, actor, subject_id, visit, out.findings);
  if (!opened) return std::unexpected(opened.error());
  out.queries = std::move(*opened);
  RaiseAlertsOfVisit(store, protocol, actor, subject_id, visit, &out.alerts, &out.alert_error);
  return out;
}

Result<std::vector<ImportEntry>> ParseImport(const std::string& json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  if (doc.is_discarded()) return Fail(ErrorCode::kParse, "the import file is not valid JSON");
  if (!doc.is_array()) {
    return Fail(ErrorCode::kParse,
                "the import file must be a JSON array of {\"form\", \"item\", \"value\"}");
  }
  std::vector<ImportEntry> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& e = doc[i];
    const std::string at = "entry " + std::to_string(i + 1);
    if (!e.is_object()) return Fail(ErrorCode::kParse, at + ": expected an object");
    for (const auto& [key, unused] : e.items()) {
      if (key != "form" && key != "item" && key != "value" && key != "repeat") {
        return Fail(ErrorCode::kParse, at + ": unknown key '" + key + "'");
      }
    }
    ImportEntry entry;
    if (!e.contains("form") || !e["form"].is_string() || !e.contains("item") ||
        !e["item"].is_string()) {
      return Fail(ErrorCode::kParse, at + ": \"form\" and \"item\" must be strings");
    }
    entry.form = e["form"].get<std::string>();
    entry.item = e["item"].get<std::string>();
    if (!e.contains("value")) return Fail(ErrorCode::kParse, at + ": \"value\" is missing");
    const auto& v = e["value"];
    if (v.is_string()) {
      entry.value = v.get<std::string>();
    } else if (v.is_number()) {
      entry.value = v.dump();
    } else {
      return Fail(ErrorCode::kParse, at + ": \"value\" must be a string or a number");
    }
    if (e.contains("repeat")) {
      if (!e["repeat"].is_number_integer()) {
        return Fail(ErrorCode::kParse, at + ": \"repeat\" must be a whole number");
      }
      entry.repeat = e["repeat"].get<int>();
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<ImportOutcome> ImportItems(store::TrialStore& store, const protocol::Protocol& protocol,
                                  const std::string& actor, int64_t subject_id,
                                  const std::string& visit, const std::vector<ImportEntry>& entries,
                                  const std::string& reason) {
  if (auto ok = Preconditions(store, protocol, subject_id, visit); !ok) {
    return std::unexpected(ok.error());
  }
  ImportOutcome out;
  if (entries.empty()) {
    out.rejected.push_back("the import file holds no entries");
    return out;
  }
  auto data = LoadSubjectData(store, protocol, subject_id, visit);
  if (!data) return std::unexpected(data.error());
  ecrf::VisitRecord* v = data->FindVisit(visit);
  if (!v) return Fail(ErrorCode::kInternal, "visit " + visit + " missing from the loaded data");
  std::vector<ecrf::Normalized> normalized;  // of the valid entries
  std::vector<ImportEntry> valid;
  std::set<std::tuple<std::string, std::string, int>> seen;
  for (const auto& e : entries) {
    const std::string name = e.form + "." + e.item;
    if (!seen.insert({e.form, e.item, e.repeat}).second) {
      out.rejected.push_back(name + ": listed twice");
      continue;
    }
    auto n = ValidateOne(protocol, visit, e);
    if (!n) {
      out.rejected.push_back(n.error().message);
      continue;
    }
    if (reason.empty() && v->Find(name, e.repeat)) {
      out.rejected.push_back(name + ": has a value already (" + *v->Find(name, e.repeat) +
                             "): a correction needs --reason");
      continue;
    }
    normalized.push_back(*n);
    valid.push_back(e);
  }
  // The edit checks run with every valid entry in place, so that their rejections are listed
  // with the other problems.
  for (size_t i = 0; i < valid.size(); ++i) {
    v->Set(valid[i].form + "." + valid[i].item, valid[i].repeat, normalized[i].text);
  }
  for (const auto& e : valid) {
    if (e.repeat > 0 && !InstanceExists(*protocol.forms->FindForm(e.form), *v, e.repeat - 1)) {
      out.rejected.push_back(GapMessage(e));
    }
  }
  auto findings = ecrf::RunEditChecks(protocol, *data, visit);
  for (auto& r : Rejections(protocol, findings, valid)) out.rejected.push_back(std::move(r));
  if (!out.rejected.empty()) return out;
  std::vector<store::ItemWrite> writes;
  writes.reserve(valid.size());
  for (size_t i = 0; i < valid.size(); ++i) {
    const auto& e = valid[i];
    writes.push_back({{subject_id, visit, e.form, e.repeat, e.item}, normalized[i].text});
  }
  auto stored = store.RecordItems(actor, writes, reason);  // one transaction: all or nothing
  if (!stored) return std::unexpected(stored.error());
  out.stored = std::move(*stored);
  out.findings = Merge(std::move(findings), normalized, visit);
  auto opened = OpenQueries(store, actor, subject_id, visit, out.findings);
  if (!opened) return std::unexpected(opened.error());
  out.queries = std::move(*opened);
  RaiseAlertsOfVisit(store, protocol, actor, subject_id, visit, &out.alerts, &out.alert_error);
  return out;
}

Result<std::vector<store::QueryRecord>> OpenQueries(store::TrialStore& store,
                                                    const std::string& actor, int64_t subject_id,
                                                    const std::string& visit,
                                                    const std::vector<ecrf::Finding>& findings) {
  auto existing = store.Queries(store::QueryFilter{subject_id, std::nullopt, std::nullopt});
  if (!existing) return std::unexpected(existing.error());
  auto already_open = [&](const store::ItemKey& key, const std::string& check) {
    return std::any_of(existing->begin(), existing->end(), [&](const store::QueryRecord& q) {
      return q.status != "closed" && q.edit_check == check && q.key.visit == key.visit &&
             q.key.form == key.form && q.key.item == key.item && q.key.repeat == key.repeat;
    });
  };
  std::vector<store::QueryRecord> opened;
  for (const auto& f : findings) {
    if (f.severity != protocol::CheckSeverity::kQuery) continue;
    for (const auto& name : f.items) {
      const size_t dot = name.find('.');
      if (dot == std::string::npos) continue;
      store::ItemKey key{subject_id, f.visit.empty() ? visit : f.visit, name.substr(0, dot),
                         f.repeat, name.substr(dot + 1)};
      if (already_open(key, f.check_id)) continue;
      auto history = store.ItemHistory(key);
      if (!history) return std::unexpected(history.error());
      if (history->empty() || history->back().value.empty()) continue;  // nothing to query yet
      auto q = store.OpenQuery(actor, key, f.message, f.check_id);
      if (!q) return std::unexpected(q.error());
      opened.push_back(std::move(*q));
      existing->push_back(opened.back());
    }
  }
  return opened;
}

}  // namespace trial::service
