#include "service/screening.h"

#include "record/fhir.h"

namespace trial::service {

Result<ScreeningOutcome> ScreenSubject(const protocol::Protocol& protocol, store::TrialStore* store,
                                       const std::string& actor, int64_t subject_id,
                                       const std::string& source, const std::string& bundle_json,
                                       Date screening, Date randomization) {
  auto in_source = [&](Error e) {
    e.message = source + ": " + e.message;
    return std::unexpected(std::move(e));
  };
  auto record = record::ReadBundle(bundle_json);
  if (!record) return in_source(record.error());
  auto result = eligibility::Screen(protocol, *record, screening, randomization);
  if (!result) return in_source(result.error());
  ScreeningOutcome out;
  out.screening = std::move(*result);
  out.json = eligibility::ToJson(protocol, out.screening);
  if (store == nullptr) return out;
  store::ScreeningRecord rec;
  rec.subject_id = subject_id;
  rec.bundle_json = bundle_json;
  rec.protocol_id = protocol.id;
  rec.protocol_version = protocol.version;
  rec.screening_date = screening;
  rec.randomization_date = randomization;
  rec.verdict = eligibility::VerdictName(out.screening.verdict);
  rec.results_json = out.json;
  auto saved = store->SaveScreening(actor, std::move(rec));
  if (!saved) return std::unexpected(saved.error());
  out.saved = std::move(*saved);
  auto now = store->FindSubject(subject_id);
  if (now && *now) out.status_after = (*now)->status;
  return out;
}

}  // namespace trial::service
