// Edit checks, derived values and the HAQ-DI (ecrf.h).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "ecrf/ecrf.h"
#include "record/record.h"
#include "rules/program.h"
#include "rules/value.h"

namespace trial::ecrf {

const std::string* VisitRecord::Find(const std::string& name, int repeat) const {
  auto it = items.find(name);
  if (it == items.end()) return nullptr;
  auto r = it->second.find(repeat);
  return r == it->second.end() ? nullptr : &r->second;
}

void VisitRecord::Set(const std::string& name, int repeat, std::string text) {
  items[name][repeat] = std::move(text);
}

VisitRecord* SubjectData::FindVisit(const std::string& visit) {
  for (auto& v : visits) {
    if (v.visit == visit) return &v;
  }
  return nullptr;
}

const VisitRecord* SubjectData::FindVisit(const std::string& visit) const {
  for (const auto& v : visits) {
    if (v.visit == visit) return &v;
  }
  return nullptr;
}

const std::vector<std::string>* FormsOfVisit(const protocol::Protocol& protocol,
                                             const std::string& visit) {
  if (!protocol.schedule) return nullptr;
  if (const auto* v = protocol.schedule->FindVisit(visit)) return &v->forms;
  if (protocol.schedule->unscheduled_allowed && visit == protocol.schedule->unscheduled_id) {
    return &protocol.schedule->unscheduled_forms;
  }
  return nullptr;
}

namespace {

std::string FormOf(const std::string& name) { return name.substr(0, name.find('.')); }

bool Collects(const protocol::Protocol& p, const std::string& visit, const std::string& form) {
  const auto* forms = FormsOfVisit(p, visit);
  return forms && std::find(forms->begin(), forms->end(), form) != forms->end();
}

// The repeats of `form` that hold data at `v` (ascending); {0} for a form without data only
// when `include_empty`.
std::vector<int> RepeatsWithData(const protocol::FormDefinition& form, const VisitRecord& v) {
  std::set<int> repeats;
  for (const auto& item : form.items) {
    auto it = v.items.find(form.id + "." + item.id);
    if (it == v.items.end()) continue;
    for (const auto& [r, text] : it->second) {
      if (!text.empty()) repeats.insert(r);
    }
  }
  return {repeats.begin(), repeats.end()};
}

std::optional<Date> DateOf(const protocol::Forms& forms, const VisitRecord& v) {
  if (v.date) return v.date;
  const std::string* t = v.Find(forms.visit_date_item, 0);
  if (!t) return std::nullopt;
  auto d = Date::Parse(*t);
  if (!d) return std::nullopt;
  return *d;
}

// The rules engine's view of one visit (and one instance of a repeating form) of SubjectData.
class VisitView : public rules::VisitData {
 public:
  VisitView(const protocol::Forms& forms, const SubjectData& data, size_t index, int repeat)
      : forms_(forms), data_(data), index_(index), repeat_(repeat) {}

  const std::string* ItemText(const std::string& name, bool previous) const override {
    // Items of a repeating form are read in the instance being checked; others in instance 0.
    const protocol::FormDefinition* form = forms_.FindForm(FormOf(name));
    int repeat = form && form->repeating ? repeat_ : 0;
    if (!previous) return Nonempty(data_.visits[index_].Find(name, repeat));
    for (size_t i = index_; i-- > 0;) {
      if (const std::string* t = Nonempty(data_.visits[i].Find(name, repeat))) {
        previous_visit_ = data_.visits[i].visit;
        return t;
      }
    }
    return nullptr;
  }

  std::optional<Date> VisitDate() const override { return DateOf(forms_, data_.visits[index_]); }

  // The visit previous() last read from, for messages.
  const std::string& previous_visit() const { return previous_visit_; }

 private:
  static const std::string* Nonempty(const std::string* t) {
    return t && !t->empty() ? t : nullptr;
  }

  const protocol::Forms& forms_;
  const SubjectData& data_;
  size_t index_;
  int repeat_;
  mutable std::string previous_visit_;
};

const record::PatientRecord& EmptyRecord() {
  static const record::PatientRecord kEmpty;
  return kEmpty;
}

// "weight.weight = 70 kg, previous 60 kg (W2)": the values a finding is about.
std::string Values(const protocol::EditCheck& check, const VisitView& view) {
  std::string out;
  bool uses_previous = check.rule.find("previous(") != std::string::npos;
  bool uses_date = check.rule.find("visit_date()") != std::string::npos;
  for (const auto& name : check.items) {
    const std::string* t = view.ItemText(name, false);
    out += (out.empty() ? "" : ", ") + name + " = " + (t ? *t : "missing");
    if (uses_previous) {
      const std::string* p = view.ItemText(name, true);
      if (p) out += ", previous " + *p + " (" + view.previous_visit() + ")";
    }
  }
  if (uses_date) {
    auto d = view.VisitDate();
    out += ", visit date " + (d ? d->ToString() : std::string("missing"));
  }
  return out;
}

}  // namespace

std::vector<Finding> RunEditChecks(const protocol::Protocol& protocol, const SubjectData& data,
                                   const std::optional<std::string>& visit) {
  std::vector<Finding> out;
  if (!protocol.forms || !protocol.program) return out;
  const protocol::Forms& forms = *protocol.forms;
  for (size_t vi = 0; vi < data.visits.size(); ++vi) {
    const VisitRecord& v = data.visits[vi];
    if (visit && v.visit != *visit) continue;
    for (const auto& check : forms.checks) {
      if (check.rule_id < 0 || check.items.empty()) continue;
      const std::string form_id = FormOf(check.items.front());
      const protocol::FormDefinition* form = forms.FindForm(form_id);
      if (!form || !Collects(protocol, v.visit, form_id)) continue;
      std::vector<int> repeats = RepeatsWithData(*form, v);
      if (repeats.empty()) {
        // A form without data: only non-required checks could fire, and they read its items,
        // which are all missing, except cross-form checks; run instance 0 for those.
        if (check.kind == protocol::CheckKind::kRequired) continue;
        repeats = {0};
      } else if (!form->repeating) {
        repeats = {0};
      }
      for (int r : repeats) {
        VisitView view(forms, data, vi, r);
        std::optional<Date> date = view.VisitDate();
        Date d = date.value_or(Date());
        rules::Session session(*protocol.program, EmptyRecord(), d, d, &view);
        rules::Value result = session.Evaluate(check.rule_id, nullptr);
        if (rules::Truth(result) != std::optional<bool>(true)) continue;
        Finding f;
        f.check_id = check.id;
        f.kind = check.kind;
        f.severity = check.severity;
        f.visit = v.visit;
        f.repeat = r;
        f.items = check.items;
        f.message = check.message + " (" + Values(check, view) + ")";
        out.push_back(std::move(f));
      }
    }
  }
  return out;
}

std::optional<double> HaqDi(const protocol::HaqScoring& scoring,
                            const std::map<std::string, std::string>& items) {
  double sum = 0;
  int answered = 0;
  for (const auto& cat : scoring.categories) {
    std::optional<int> score;
    for (const auto& id : cat.items) {
      auto it = items.find(id);
      if (it == items.end()) continue;
      int v = 0;
      const std::string& t = it->second;
      auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || ptr != t.data() + t.size() || v < 0 || v > 3) continue;
      score = std::max(score.value_or(0), v);
    }
    if (!score) continue;  // a category without an answered item is not answered
    for (const auto& id : cat.aids) {
      auto it = items.find(id);
      if (it != items.end() && it->second == "yes") score = std::max(*score, scoring.aid_minimum);
    }
    sum += *score;
    ++answered;
  }
  if (answered == 0 || answered < scoring.min_categories) return std::nullopt;
  return sum / answered;
}

std::vector<DerivedResult> ComputeDerived(const protocol::Protocol& protocol,
                                          const SubjectData& data,
                                          const std::optional<std::string>& visit) {
  std::vector<DerivedResult> out;
  if (!protocol.forms || !protocol.program) return out;
  const protocol::Forms& forms = *protocol.forms;
  for (size_t vi = 0; vi < data.visits.size(); ++vi) {
    const VisitRecord& v = data.visits[vi];
    if (visit && v.visit != *visit) continue;
    for (const auto& d : forms.derived) {
      const protocol::FormDefinition* form = forms.FindForm(d.form);
      if (!form || d.rule_id < 0 || !Collects(protocol, v.visit, d.form)) continue;
      for (int r : RepeatsWithData(*form, v)) {
        if (!form->repeating && r != 0) continue;
        VisitView view(forms, data, vi, r);
        Date date = view.VisitDate().value_or(Date());
        rules::Session session(*protocol.program, EmptyRecord(), date, date, &view);
        rules::Value value = session.Evaluate(d.rule_id, nullptr);
        DerivedResult res{d.id, v.visit, r, std::nullopt, d.unit, "unknown"};
        if (value.kind == rules::Value::Kind::kNumber) {
          res.value = value.number;
        } else if (value.kind == rules::Value::Kind::kQuantity &&
                   value.quantity.comparator == Comparator::kEq) {
          if (d.unit.empty()) {
            res.value = value.quantity.value;
            res.unit = value.quantity.unit.code();
          } else if (auto u = Unit::Parse(d.unit)) {
            if (auto c = Convert(value.quantity, *u)) res.value = c->value;
          }
        }
        if (res.value)
          res.text = FormatNumber(*res.value) + (res.unit.empty() ? "" : " " + res.unit);
        out.push_back(std::move(res));
      }
    }
    if (forms.haq && Collects(protocol, v.visit, forms.haq->form)) {
      const protocol::FormDefinition* form = forms.FindForm(forms.haq->form);
      if (form && !RepeatsWithData(*form, v).empty()) {
        std::map<std::string, std::string> items;
        for (const auto& item : form->items) {
          if (const std::string* t = v.Find(form->id + "." + item.id, 0)) items[item.id] = *t;
        }
        DerivedResult res{"haq_di", v.visit, 0, HaqDi(*forms.haq, items), "", "unknown"};
        if (res.value) res.text = FormatNumber(*res.value);
        out.push_back(std::move(res));
      }
    }
  }
  return out;
}

}  // namespace trial::ecrf
