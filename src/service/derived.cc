// Outcome and safety derivations from eCRF data (derived.h, docs/outcomes.md).
#include "service/derived.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "service/access.h"
#include "service/data_entry.h"

namespace trial::service {

using protocol::ItemSource;
using protocol::SourceRef;

namespace {

// A value found for a source at one visit.
struct Found {
  ExactQuantity q;  // a number has the unit 1
  std::string text;
  DerivationInput input;
};

class DataReader {
 public:
  DataReader(const protocol::Protocol& p, const ecrf::SubjectData& data)
      : forms_(*p.forms), src_(*p.outcomes->sources), data_(data) {
    for (auto& r : ecrf::ComputeDerived(p, data, std::nullopt)) {
      derived_[{r.visit, r.id, r.repeat}] = std::move(r);
    }
    for (size_t i = 0; i < data.visits.size(); ++i) {
      if (data.visits[i].visit == src_.baseline_visit) baseline_index_ = static_cast<int>(i);
    }
  }

  int baseline_index() const { return baseline_index_; }
  const ecrf::SubjectData& data() const { return data_; }
  const protocol::OutcomeSources& src() const { return src_; }

  std::optional<Date> VisitDate(const ecrf::VisitRecord& v) const {
    if (v.date) return v.date;
    const std::string* t = v.Find(forms_.visit_date_item, 0);
    if (t == nullptr) return std::nullopt;
    auto d = Date::Parse(*t);
    if (!d) return std::nullopt;
    return *d;
  }

  // The stored text of `ref` at `v` (instance `repeat`), or nullptr.
  std::optional<Found> Text(const SourceRef& ref, const ecrf::VisitRecord& v, int repeat) const {
    Found f;
    f.input = DerivationInput{v.visit, ref.Name(), repeat, "", ""};
    if (ref.derived) {
      auto it = derived_.find({v.visit, ref.item, repeat});
      if (it == derived_.end() || !it->second.value) return std::nullopt;
      f.text = it->second.text;
      f.input.value = f.text;
      f.input.unit = it->second.unit;
      return f;
    }
    const std::string* t = v.Find(ref.Name(), repeat);
    if (t == nullptr) return std::nullopt;
    f.text = *t;
    f.input.value = *t;
    return f;
  }

  // The value of `ref` at `v` as an exact quantity (a number: unit 1).
  Result<std::optional<Found>> Value(const SourceRef& ref, const ecrf::VisitRecord& v,
                                     int repeat = 0) const {
    auto f = Text(ref, v, repeat);
    if (!f) return std::optional<Found>();
    if (ref.derived) {
      auto it = derived_.find({v.visit, ref.item, repeat});
      const double x = *it->second.value;
      if (forms_.haq && ref.item == "haq_di") {
        // The HAQ-DI is a mean of at most 8 whole category scores: recover the exact fraction
        // (fractions with denominators up to 8 are at least 1/56 apart).
        const int n_max = static_cast<int>(forms_.haq->categories.size());
        for (int n = 1; n <= n_max; ++n) {
          const double k = std::round(x * n);
          if (std::fabs(x * n - k) < 1e-6) {
            f->q = ExactQuantity{Rational(static_cast<int64_t>(k), n), Unit()};
            return std::optional<Found>(std::move(*f));
          }
        }
      }
      auto q = ExactQuantity::Parse(ecrf::FormatNumber(x) +
                                    (it->second.unit.empty() ? "" : " " + it->second.unit));
      if (!q)
        return Fail(ErrorCode::kInvalidInput,
                    v.visit + " " + ref.Name() + ": " + q.error().message);
      f->q = *q;
      return std::optional<Found>(std::move(*f));
    }
    auto q = ExactQuantity::Parse(f->text);
    if (!q) {
      return Fail(ErrorCode::kInvalidInput,
                  v.visit + " " + ref.Name() + ": '" + f->text + "' is not a number");
    }
    f->q = *q;
    if (!q->unit.code().empty()) f->input.unit = q->unit.code();
    return std::optional<Found>(std::move(*f));
  }

  // The baseline value of `ref`: at the baseline visit, else (baseline_missing_d0 =
  // latest_before) at the latest visit before it that has one. Returns the visit used too.
  Result<std::optional<std::pair<Found, const ecrf::VisitRecord*>>> Baseline(
      const SourceRef& ref) const {
    using Out = std::optional<std::pair<Found, const ecrf::VisitRecord*>>;
    if (baseline_index_ < 0) return Out();
    for (int i = baseline_index_; i >= 0; --i) {
      if (i < baseline_index_ && src_.fallback != protocol::BaselineFallback::kLatestBeforeDay0) {
        break;
      }
      const ecrf::VisitRecord& v = data_.visits[i];
      auto f = Value(ref, v);
      if (!f) return std::unexpected(f.error());
      if (*f) return Out(std::pair{std::move(**f), &v});
    }
    return Out();
  }

  // The date of a sample: the source's date item, else the visit date.
  std::optional<Date> SampleDate(const ItemSource& s, const ecrf::VisitRecord& v, int repeat,
                                 std::vector<DerivationInput>* inputs) const {
    if (s.date) {
      if (auto t = Text(*s.date, v, repeat)) {
        if (auto d = Date::Parse(t->text)) {
          inputs->push_back(t->input);
          return *d;
        }
      }
    }
    return VisitDate(v);
  }

 private:
  const protocol::Forms& forms_;
  const protocol::OutcomeSources& src_;
  const ecrf::SubjectData& data_;
  std::map<std::tuple<std::string, std::string, int>, ecrf::DerivedResult> derived_;
  int baseline_index_ = -1;
};

// ---- TIS, IMACS, worsening ----

struct CoreSetRead {
  outcomes::CoreSet values;
  std::vector<DerivationInput> inputs;
  bool any_assessment = false;  // a value of one of the five non-enzyme measures
};

// The core set at visit `v`, or the baseline (with its fallback) when `v` is null.
Result<CoreSetRead> ReadCoreSet(const DataReader& r, const ecrf::VisitRecord* v,
                                std::vector<std::string>* notes) {
  const auto& s = r.src();
  CoreSetRead out;
  struct Slot {
    const ItemSource* src;
    std::optional<ExactQuantity> outcomes::CoreSet::*field;
  };
  const Slot slots[] = {{&s.physician_global, &outcomes::CoreSet::physician_global},
                        {&s.patient_global, &outcomes::CoreSet::patient_global},
                        {&s.mmt, &outcomes::CoreSet::mmt},
                        {&s.haq, &outcomes::CoreSet::haq},
                        {&s.extramuscular, &outcomes::CoreSet::extramuscular}};
  for (const auto& slot : slots) {
    if (v != nullptr) {
      auto f = r.Value(slot.src->value, *v);
      if (!f) return std::unexpected(f.error());
      if (!*f) continue;
      out.values.*slot.field = (*f)->q;
      out.inputs.push_back((*f)->input);
    } else {
      auto f = r.Baseline(slot.src->value);
      if (!f) return std::unexpected(f.error());
      if (!*f) continue;
      out.values.*slot.field = (*f)->first.q;
      out.inputs.push_back((*f)->first.input);
    }
    out.any_assessment = true;
  }
  for (const auto& [id, e] : s.enzymes) {
    std::optional<Found> value;
    const ecrf::VisitRecord* at = v;
    if (v != nullptr) {
      auto f = r.Value(e.value, *v);
      if (!f) return std::unexpected(f.error());
      value = std::move(*f);
    } else {
      auto f = r.Baseline(e.value);
      if (!f) return std::unexpected(f.error());
      if (*f) {
        value = std::move((*f)->first);
        at = (*f)->second;
      }
    }
    if (!value) continue;
    auto uln = r.Value(*e.uln, *at);
    if (!uln) return std::unexpected(uln.error());
    if (!*uln) {
      notes->push_back(at->visit + ": " + e.value.Name() + " without " + e.uln->Name() +
                       ": not used for the TIS enzyme");
      continue;
    }
    out.values.enzymes.push_back(outcomes::EnzymeValue{id, value->q, (*uln)->q});
    out.inputs.push_back(value->input);
    out.inputs.push_back((*uln)->input);
  }
  return out;
}

// ---- labs ----

Result<void> GradeLabs(const protocol::Protocol& p, const DataReader& r, Derivations& d) {
  const auto& s = r.src();
  const auto& o = *p.outcomes;
  // Baselines by term (value and where it came from).
  std::map<std::string, std::optional<std::pair<Found, const ecrf::VisitRecord*>>> baselines;
  for (const auto& [term, src] : s.labs) {
    auto b = r.Baseline(src.value);
    if (!b) return std::unexpected(b.error());
    baselines[term] = std::move(*b);
  }
  const auto& visits = r.data().visits;
  for (int i = 0; i < static_cast<int>(visits.size()); ++i) {
    const ecrf::VisitRecord& v = visits[i];
    const bool after = r.baseline_index() >= 0 && i > r.baseline_index();
    for (const auto& [term, src] : s.labs) {
      auto value = r.Value(src.value, v);
      if (!value) return std::unexpected(value.error());
      if (!*value) continue;
      LabAtVisit lab;
      lab.visit = v.visit;
      lab.term_id = term;
      protocol::ItemSource dated;
      dated.date = s.lab_date;
      lab.date = r.SampleDate(dated, v, 0, &lab.inputs);
      lab.inputs.insert(lab.inputs.begin(), (*value)->input);
      safety::LabValue in{term, (*value)->q, std::nullopt, std::nullopt, std::nullopt};
      for (auto [ref, out] : {std::pair{&src.uln, &in.uln}, std::pair{&src.lln, &in.lln}}) {
        if (!*ref) continue;
        auto f = r.Value(**ref, v);
        if (!f) return std::unexpected(f.error());
        if (!*f) continue;
        *out = (*f)->q;
        lab.inputs.push_back((*f)->input);
      }
      const auto& b = baselines[term];
      if (after && b) {
        in.baseline = b->first.q;
        DerivationInput bi = b->first.input;
        bi.item += " (baseline)";
        lab.inputs.push_back(bi);
      }
      auto g = safety::GradeLab(o, in);
      if (g) {
        lab.grade = *g;
      } else if (g.error().code == ErrorCode::kInvalidInput &&
                 g.error().message.find("is needed") != std::string::npos) {
        lab.problem = "unknown: " + g.error().message;  // a missing reference range
      } else {
        return Fail(g.error().code, v.visit + " " + src.value.Name() + ": " + g.error().message);
      }
      if (after && lab.grade) {
        auto it = std::find_if(d.lab_worst.begin(), d.lab_worst.end(),
                               [&](const LabWorst& w) { return w.term_id == term; });
        if (it == d.lab_worst.end()) {
          d.lab_worst.push_back({term, lab.grade->term, lab.grade->grade, v.visit});
        } else if (lab.grade->grade > it->grade) {
          it->grade = lab.grade->grade;
          it->visit = v.visit;
        }
      }
      d.labs.push_back(std::move(lab));
    }
  }
  return {};
}

// ---- respiratory ----

Result<std::vector<OxygenationAtVisit>> ReadOxygenation(const DataReader& r,
                                                        std::vector<std::string>* notes) {
  const auto& s = r.src();
  std::vector<OxygenationAtVisit> out;
  for (const auto& v : r.data().visits) {
    for (const ItemSource* src : {&s.pao2, &s.spo2}) {
      auto value = r.Value(src->value, v);
      if (!value) return std::unexpected(value.error());
      if (!*value) continue;
      OxygenationAtVisit o;
      o.visit = v.visit;
      o.source = src->value.Name();
      o.inputs.push_back((*value)->input);
      auto date = r.SampleDate(*src, v, 0, &o.inputs);
      if (!date) {
        notes->push_back(v.visit + ": " + o.source + " has no date (no visit date): not used");
        continue;
      }
      o.sample.date = *date;
      (src == &s.pao2 ? o.sample.pao2 : o.sample.spo2) = (*value)->q;
      if (src->fio2) {
        auto f = r.Value(*src->fio2, v);
        if (!f) return std::unexpected(f.error());
        if (*f) {
          o.sample.fio2 = (*f)->q;
          o.inputs.push_back((*f)->input);
        }
      }
      out.push_back(std::move(o));
    }
  }
  return out;
}

Result<std::vector<safety::DatedValue>> Dated(const DataReader& r, const ItemSource& src,
                                              std::vector<DerivationInput>* inputs) {
  std::vector<safety::DatedValue> out;
  for (const auto& v : r.data().visits) {
    auto value = r.Value(src.value, v);
    if (!value) return std::unexpected(value.error());
    if (!*value) continue;
    std::vector<DerivationInput> in{(*value)->input};
    auto date = r.SampleDate(src, v, 0, &in);
    if (!date) continue;
    out.push_back({*date, (*value)->q});
    inputs->insert(inputs->end(), in.begin(), in.end());
  }
  return out;
}

// The dates at which a code/yes-no source equals its `equals`.
std::vector<Date> EventDates(const DataReader& r, const ItemSource& src,
                             std::vector<DerivationInput>* inputs) {
  std::vector<Date> out;
  if (src.value.Empty()) return out;  // a source the protocol does not give
  for (const auto& v : r.data().visits) {
    auto t = r.Text(src.value, v, 0);
    if (!t || t->text != src.equals) continue;
    std::vector<DerivationInput> in{t->input};
    auto date = r.SampleDate(src, v, 0, &in);
    if (!date) continue;
    out.push_back(*date);
    inputs->insert(inputs->end(), in.begin(), in.end());
  }
  return out;
}

// The periods at which a yes/no source equals its `equals`: from `date` (else the visit date) to
// `end` (else the visit date: still in hospital at the visit, as far as the eCRF says).
std::vector<safety::DateRange> StayRanges(const DataReader& r, const ItemSource& src,
                                          std::vector<DerivationInput>* inputs) {
  std::vector<safety::DateRange> out;
  if (src.value.Empty()) return out;
  for (const auto& v : r.data().visits) {
    auto t = r.Text(src.value, v, 0);
    if (!t || t->text != src.equals) continue;
    std::vector<DerivationInput> in{t->input};
    auto start = r.SampleDate(src, v, 0, &in);
    if (!start) continue;
    std::optional<Date> end = r.VisitDate(v);
    if (src.end) {
      if (auto e = r.Text(*src.end, v, 0)) {
        if (auto date = Date::Parse(e->text)) {
          end = *date;
          in.push_back(e->input);
        }
      }
    }
    out.push_back({*start, end ? std::max(*start, *end) : *start});
    inputs->insert(inputs->end(), in.begin(), in.end());
  }
  return out;
}

Result<void> Respiratory(const protocol::Protocol& p, const DataReader& r, Derivations& d) {
  const auto& o = *p.outcomes;
  const auto& s = r.src();
  auto samples = ReadOxygenation(r, &d.notes);
  if (!samples) return std::unexpected(samples.error());
  if (!d.day0) {
    d.notes.push_back("no date for " + d.baseline_visit +
                      ": the respiratory derivations are unknown");
    return {};
  }
  const Date day0 = *d.day0;
  // Respiratory failure, sample by sample (to keep each event's visit and inputs).
  for (const auto& x : *samples) {
    auto events = safety::DetectRespiratoryFailure(o, day0, {x.sample});
    if (!events)
      return Fail(events.error().code, x.visit + " " + x.source + ": " + events.error().message);
    for (const auto& e : *events)
      d.respiratory_failures.push_back({x.visit, x.source, e, x.inputs});
  }
  // P/F: the samples with PaO2 and FiO2, in date order (TrackPf keeps that order).
  std::vector<const OxygenationAtVisit*> with_pf;
  for (const auto& x : *samples) {
    if (x.sample.pao2 && x.sample.fio2) with_pf.push_back(&x);
  }
  std::stable_sort(with_pf.begin(), with_pf.end(),
                   [](auto* a, auto* b) { return a->sample.date < b->sample.date; });
  std::vector<safety::OxygenationSample> pf_samples;
  for (auto* x : with_pf) pf_samples.push_back(x->sample);
  auto series = safety::TrackPf(day0, pf_samples);
  if (!series) return std::unexpected(series.error());
  size_t k = 0;
  for (auto* x : with_pf) {
    if (x->sample.date <= day0) {
      if (series->baseline && series->baseline->date == x->sample.date) {
        d.pf_baseline = PfAtVisit{x->visit, *series->baseline, x->inputs};
      }
      continue;
    }
    if (k < series->points.size()) d.pf.push_back({x->visit, series->points[k++], x->inputs});
  }
  // On-study RP-ILD.
  std::vector<DerivationInput>& rp_inputs = d.rp_ild_inputs;
  safety::RespiratoryTimeline t;
  for (const auto& v : r.data().visits) {
    auto on = r.Text(s.symptom_onset.value, v, 0);
    if (!on) continue;
    if (auto date = Date::Parse(on->text)) {
      t.symptom_onsets.push_back(*date);
      rp_inputs.push_back(on->input);
    }
  }
  t.supplemental_oxygen = EventDates(r, s.supplemental_oxygen, &rp_inputs);
  t.rp_ild_diagnoses = EventDates(r, s.rp_ild_diagnosis, &rp_inputs);
  t.respiratory_stays = StayRanges(r, s.respiratory_stay, &rp_inputs);
  for (auto [src, out] :
       {std::pair{&s.fvc_percent, &t.fvc_percent}, std::pair{&s.hrct_extent, &t.hrct_extent}}) {
    auto values = Dated(r, *src, &rp_inputs);
    if (!values) return std::unexpected(values.error());
    *out = std::move(*values);
  }
  for (const auto& x : *samples) {
    if (!x.sample.pao2) continue;
    t.pao2.push_back({x.sample.date, *x.sample.pao2});
    rp_inputs.insert(rp_inputs.end(), x.inputs.begin(), x.inputs.end());
  }
  auto rp = safety::DetectRpIld(o, day0, t);
  if (!rp) return std::unexpected(rp.error());
  d.rp_ild = *rp;
  // Time to the first respiratory failure or death.
  std::optional<Date> first_failure, death;
  for (const auto& f : d.respiratory_failures) {
    if (!first_failure || f.event.date < *first_failure) first_failure = f.event.date;
  }
  for (Date x : EventDates(r, s.death, &d.time_inputs)) {
    if (!death || x < *death) death = x;
  }
  Date last = day0;
  for (const auto& v : r.data().visits) {
    if (auto date = r.VisitDate(v); date && *date > last) last = *date;
  }
  auto tte = outcomes::TimeToRespiratoryFailureOrDeath(o, day0, first_failure, death, last);
  if (!tte) return std::unexpected(tte.error());
  d.time_to_failure_or_death = *tte;
  // Week-8 changes.
  const ecrf::VisitRecord* w8 = r.data().FindVisit(s.week8_visit);
  outcomes::LungAssessment base, week8;
  struct Part {
    const ItemSource* src;
    std::optional<ExactQuantity> outcomes::LungAssessment::*field;
  };
  for (const Part& part : {Part{&s.fvc_percent, &outcomes::LungAssessment::fvc_percent},
                           Part{&s.dlco_percent, &outcomes::LungAssessment::dlco_percent},
                           Part{&s.hrct_extent, &outcomes::LungAssessment::hrct_extent},
                           Part{&s.pao2, &outcomes::LungAssessment::pao2}}) {
    auto b = r.Baseline(part.src->value);
    if (!b) return std::unexpected(b.error());
    const ecrf::VisitRecord* base_visit = nullptr;
    if (*b) {
      base.*part.field = (*b)->first.q;
      DerivationInput in = (*b)->first.input;
      in.item += " (baseline)";
      d.week8_inputs.push_back(in);
      base_visit = (*b)->second;
    }
    std::optional<Found> wv;
    if (w8 != nullptr) {
      auto f = r.Value(part.src->value, *w8);
      if (!f) return std::unexpected(f.error());
      if (*f) {
        week8.*part.field = (*f)->q;
        d.week8_inputs.push_back((*f)->input);
      }
    }
    // PaO2's FiO2 comes from the visit the PaO2 was taken at.
    if (part.src == &s.pao2 && s.pao2.fio2) {
      for (auto [visit, out] :
           {std::pair{base_visit, &base.fio2}, std::pair{week8.pao2 ? w8 : nullptr, &week8.fio2}}) {
        if (visit == nullptr) continue;
        auto f = r.Value(*s.pao2.fio2, *visit);
        if (!f) return std::unexpected(f.error());
        if (!*f) continue;
        *out = (*f)->q;
        d.week8_inputs.push_back((*f)->input);
      }
    }
  }
  auto changes = outcomes::RespiratoryChangesAtWeek8(base, week8);
  if (!changes) return std::unexpected(changes.error());
  d.week8 = *changes;
  return {};
}

// ---- prednisone equivalent ----

Result<void> Prednisone(const DataReader& r, Derivations& d) {
  const ItemSource& s = r.src().prednisone_equivalent;
  const std::string prefix = s.value.form + ".";
  for (const auto& v : r.data().visits) {
    std::set<int> repeats;
    for (const auto& [name, by_repeat] : v.items) {
      if (name.rfind(prefix, 0) != 0) continue;
      for (const auto& [rep, text] : by_repeat) repeats.insert(rep);
    }
    if (repeats.empty()) continue;
    PrednisoneAtVisit at;
    at.visit = v.visit;
    Rational total;
    for (int rep : repeats) {
      if (s.when) {
        auto w = r.Text(*s.when, v, rep);
        if (!w || w->text != s.when_equals) continue;
        at.inputs.push_back(w->input);
      }
      auto f = r.Value(s.value, v, rep);
      if (!f) return std::unexpected(f.error());
      if (!*f) {
        at.unknown.push_back(s.value.form + " #" + std::to_string(rep));
        continue;
      }
      auto mg = ConvertExact((*f)->q, *Unit::Parse("mg/d"));
      if (!mg)
        return Fail(mg.error().code, v.visit + " " + s.value.Name() + ": " + mg.error().message);
      total = total + mg->value;
      at.inputs.push_back((*f)->input);
    }
    if (at.unknown.empty()) at.total_mg_per_day = total;
    d.prednisone.push_back(std::move(at));
  }
  return {};
}

template <class F>
auto Exactly(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput,
                std::string("a value is too large for exact arithmetic: ") + e.what());
  }
}

Result<Derivations> Derive(const protocol::Protocol& p, const ecrf::SubjectData& data) {
  if (!p.outcomes || !p.forms || !p.outcomes->sources) {
    return Fail(ErrorCode::kInvalidInput,
                "the protocol has no outcome sources (outcomes.yaml 'sources' and forms.yaml)");
  }
  const auto& src = *p.outcomes->sources;
  DataReader r(p, data);
  Derivations d;
  d.baseline_visit = src.baseline_visit;
  d.week8_visit = src.week8_visit;
  d.baseline_rule =
      src.fallback == protocol::BaselineFallback::kLatestBeforeDay0
          ? "baseline = the value at " + src.baseline_visit +
                "; when missing there, the latest value at a visit before it "
                "(baseline_missing_d0: latest_before)"
          : "baseline = the value at " + src.baseline_visit + " (baseline_missing_d0: none)";
  if (r.baseline_index() < 0) {
    return Fail(ErrorCode::kInvalidInput, "no " + src.baseline_visit + " visit in the data");
  }
  d.day0 = r.VisitDate(data.visits[r.baseline_index()]);

  // TIS, IMACS, worsening.
  auto base = ReadCoreSet(r, nullptr, &d.notes);
  if (!base) return std::unexpected(base.error());
  for (auto& in : base->inputs) in.item += " (baseline)";
  std::vector<outcomes::VisitCoreSet> assessed;
  for (size_t i = r.baseline_index() + 1; i < data.visits.size(); ++i) {
    const ecrf::VisitRecord& v = data.visits[i];
    auto cs = ReadCoreSet(r, &v, &d.notes);
    if (!cs) return std::unexpected(cs.error());
    if (!cs->any_assessment) continue;
    auto tis = outcomes::ScoreTis(*p.outcomes, base->values, cs->values);
    if (!tis) return Fail(tis.error().code, v.visit + ": " + tis.error().message);
    auto imacs = outcomes::ImacsImprovement(*p.outcomes, base->values, cs->values);
    if (!imacs) return Fail(imacs.error().code, v.visit + ": " + imacs.error().message);
    TisAtVisit t{v.visit, std::move(*tis), std::move(*imacs), base->inputs};
    t.inputs.insert(t.inputs.end(), cs->inputs.begin(), cs->inputs.end());
    d.tis.push_back(std::move(t));
    assessed.push_back({v.visit, cs->values});
  }
  auto worsening = outcomes::ConfirmedWorsening(*p.outcomes, base->values, assessed);
  if (!worsening) return std::unexpected(worsening.error());
  d.worsening = std::move(*worsening);

  if (auto ok = GradeLabs(p, r, d); !ok) return std::unexpected(ok.error());
  if (auto ok = Respiratory(p, r, d); !ok) return std::unexpected(ok.error());
  if (auto ok = Prednisone(r, d); !ok) return std::unexpected(ok.error());
  return d;
}

}  // namespace

Result<Derivations> DeriveOutcomes(const protocol::Protocol& p, const ecrf::SubjectData& data) {
  return Exactly([&]() { return Derive(p, data); });
}

Result<std::vector<SafetySignal>> SafetySignals(const protocol::Protocol& p,
                                                const ecrf::SubjectData& data,
                                                const std::string& subject,
                                                const std::string& visit) {
  size_t index = 0;
  while (index < data.visits.size() && data.visits[index].visit != visit) ++index;
  if (index == data.visits.size()) {
    return Fail(ErrorCode::kNotFound, "no visit '" + visit + "' in the data");
  }
  // The data up to this visit, and up to the one before: RP-ILD is new at this visit when only
  // the first detects it.
  ecrf::SubjectData upto{{data.visits.begin(), data.visits.begin() + index + 1}};
  if (p.outcomes && p.outcomes->sources &&
      upto.FindVisit(p.outcomes->sources->baseline_visit) == nullptr) {
    return std::vector<SafetySignal>{};  // before day 0: screening values are not on-study signals
  }
  auto d = DeriveOutcomes(p, upto);
  if (!d) return std::unexpected(d.error());
  std::vector<SafetySignal> out;
  auto add = [&](std::string kind, std::string term, std::string text) {
    out.push_back({subject + "/" + visit + "/" + kind + "/" + term, subject, visit, kind, term,
                   std::move(text)});
  };
  for (const auto& lab : d->labs) {
    if (lab.visit != visit || !lab.grade || !lab.grade->possible_ae) continue;
    std::string values;
    for (const auto& in : lab.inputs) {
      values += (values.empty() ? "" : ", ") + in.item + " = " + in.value;
    }
    add("possible_ae", lab.term_id,
        "possible adverse event at " + visit + ": " + lab.grade->term + " " + lab.grade->rule +
            (lab.grade->branch.empty() ? "" : " [" + lab.grade->branch + "]") + " (" + values +
            ")");
  }
  for (const auto& f : d->respiratory_failures) {
    if (f.visit != visit) continue;
    add("respiratory_failure", f.source,
        "respiratory failure at " + visit + " on " + f.event.date.ToString() + " (day " +
            std::to_string(f.event.day) + "): " + f.event.reason);
  }
  if (d->rp_ild && d->rp_ild->detected) {
    bool before = false;
    if (index > 0) {
      ecrf::SubjectData prior{{data.visits.begin(), data.visits.begin() + index}};
      const bool has_baseline =
          std::any_of(prior.visits.begin(), prior.visits.end(),
                      [&](const ecrf::VisitRecord& v) { return v.visit == d->baseline_visit; });
      if (has_baseline) {
        auto e = DeriveOutcomes(p, prior);
        if (!e) return std::unexpected(e.error());
        before = e->rp_ild && e->rp_ild->detected;
      }
    }
    if (!before) {
      add("rp_ild", "rp_ild",
          "on-study RP-ILD detected at " + visit +
              (d->rp_ild->date ? " (" + d->rp_ild->date->ToString() + ")" : "") + ": " +
              d->rp_ild->reason);
    }
  }
  return out;
}

Result<ecrf::SubjectData> LoadOutcomeData(store::TrialStore& store, const protocol::Protocol& p,
                                          const std::string& actor, int64_t subject_id) {
  if (!p.schedule || !p.forms || !p.outcomes || !p.outcomes->sources) {
    return Fail(ErrorCode::kInvalidInput,
                "the protocol has no outcome sources (schedule.yaml, forms.yaml and outcomes.yaml "
                "'sources')");
  }
  auto subject = store.FindSubject(subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  auto reader = ReaderOf(store, actor, (*subject)->site_id, "the subjects");
  if (!reader) return std::unexpected(reader.error());
  const std::string last =
      p.schedule->unscheduled_allowed ? p.schedule->unscheduled_id : p.schedule->visits.back().id;
  auto data = LoadSubjectData(store, p, subject_id, last);
  if (!data) return std::unexpected(data.error());
  ecrf::VisitRecord* base = data->FindVisit(p.outcomes->sources->baseline_visit);
  if (base != nullptr && !base->Find(p.forms->visit_date_item, 0)) {
    auto day0 = store.DayZero(subject_id);
    if (!day0) return std::unexpected(day0.error());
    if (*day0) base->date = **day0;
  }
  return data;
}

Result<ecrf::SubjectData> ParseOutcomeInput(const protocol::Protocol& p,
                                            const std::string& json_text) {
  if (!p.forms || !p.schedule) {
    return Fail(ErrorCode::kInvalidInput, "the protocol defines no eCRF forms (forms.yaml)");
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kParse, std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("visits") || !doc["visits"].is_array()) {
    return Fail(ErrorCode::kParse, "the file must be an object {\"visits\": [...]}");
  }
  std::map<std::string, ecrf::VisitRecord> visits;
  const auto& list = doc["visits"];
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& jv = list[i];
    std::string where = "visits[" + std::to_string(i) + "]";
    if (!jv.is_object() || !jv.contains("visit") || !jv["visit"].is_string()) {
      return Fail(ErrorCode::kParse, where + ": needs \"visit\" (a visit id)");
    }
    for (const auto& [key, value] : jv.items()) {
      if (key != "visit" && key != "date" && key != "items") {
        return Fail(ErrorCode::kParse,
                    where + ": unknown key '" + key + "' (expected visit, date, items)");
      }
    }
    const std::string id = jv["visit"].get<std::string>();
    where += " (" + id + ")";
    const std::vector<std::string>* forms = ecrf::FormsOfVisit(p, id);
    if (forms == nullptr) {
      return Fail(ErrorCode::kInvalidArgument, where + ": unknown visit '" + id + "'");
    }
    if (visits.count(id)) return Fail(ErrorCode::kInvalidArgument, where + ": visit listed twice");
    ecrf::VisitRecord record;
    record.visit = id;
    if (jv.contains("date")) {
      auto date = jv["date"].is_string() ? Date::Parse(jv["date"].get<std::string>())
                                         : Result<Date>(std::unexpected(Error{}));
      if (!date) return Fail(ErrorCode::kInvalidArgument, where + ": \"date\" must be YYYY-MM-DD");
      record.date = *date;
    }
    if (jv.contains("items")) {
      auto entries = ParseImport(jv["items"].dump());
      if (!entries) return Fail(ErrorCode::kParse, where + " items: " + entries.error().message);
      for (size_t k = 0; k < entries->size(); ++k) {
        const ImportEntry& e = (*entries)[k];
        const std::string at = where + " items[" + std::to_string(k) + "] " + e.form + "." + e.item;
        const protocol::FormDefinition* form = p.forms->FindForm(e.form);
        if (form != nullptr && std::find(forms->begin(), forms->end(), e.form) == forms->end()) {
          return Fail(ErrorCode::kInvalidArgument,
                      at + ": visit " + id + " does not collect form " + e.form);
        }
        if (form != nullptr && (e.repeat < 0 || (!form->repeating && e.repeat != 0))) {
          return Fail(ErrorCode::kInvalidArgument,
                      at + ": repeat " + std::to_string(e.repeat) + " (form " + e.form +
                          (form->repeating ? " repeats from 0)" : " does not repeat)"));
        }
        auto normalized = ecrf::ValidateEntry(p, e.form, e.item, e.value);
        if (!normalized) {
          // ValidateValue's messages start with form.item already: not twice.
          const std::string& m = normalized.error().message;
          const std::string name = e.form + "." + e.item + ": ";
          return Fail(ErrorCode::kInvalidArgument,
                      m.rfind(name, 0) == 0 ? where + " items[" + std::to_string(k) + "] " + m
                                            : at + ": " + m);
        }
        if (record.Find(e.form + "." + e.item, e.repeat)) {
          return Fail(ErrorCode::kInvalidArgument, at + ": listed twice");
        }
        record.Set(e.form + "." + e.item, e.repeat, normalized->text);
      }
    }
    visits[id] = std::move(record);
  }
  // Schedule order, the unscheduled visit last (as LoadSubjectData).
  ecrf::SubjectData data;
  std::vector<std::string> order;
  for (const auto& v : p.schedule->visits) order.push_back(v.id);
  if (p.schedule->unscheduled_allowed) order.push_back(p.schedule->unscheduled_id);
  for (const auto& id : order) {
    auto it = visits.find(id);
    if (it != visits.end()) data.visits.push_back(std::move(it->second));
  }
  for (const auto& f : ecrf::RunEditChecks(p, data, std::nullopt)) {
    if (f.severity != protocol::CheckSeverity::kReject) continue;
    return Fail(ErrorCode::kInvalidArgument,
                f.visit + ": rejected by edit check " + f.check_id + ": " + f.message);
  }
  return data;
}

}  // namespace trial::service
