#include "service/audit.h"

#include <nlohmann/json.hpp>

namespace trial::service {

namespace {

using nlohmann::json;

constexpr const char* kBlinded = "<blinded>";

void RedactJson(json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (IsArmKey(it.key())) {
        it.value() = kBlinded;
      } else {
        RedactJson(it.value());
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) RedactJson(v);
  }
}

std::string RedactText(const std::string& text) {
  if (text.empty()) return text;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return kBlinded;  // not JSON: nothing proves it is arm-free
  RedactJson(j);
  return j.dump();
}

}  // namespace

bool IsArmKey(std::string_view key) {
  // "design" names the arm ids (the go-live event's design text): no subject's arm, but blinded
  // outputs are kept free of arm ids altogether so a search for them proves the blind.
  return key == "arm" || key == "drawn_arm" || key == "arms" || key == "by_arm" || key == "design";
}

store::AuditEvent Redact(store::AuditEvent event) {
  event.old_value = RedactText(event.old_value);
  event.new_value = RedactText(event.new_value);
  return event;
}

Result<std::vector<store::AuditEvent>> AuditTrail(store::TrialStore& store,
                                                  const std::string& actor,
                                                  const store::AuditFilter& filter) {
  auto user = store.FindUser(actor);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(ErrorCode::kNotFound, "unknown user '" + actor + "'");
  auto events = store.AuditEvents(filter);
  if (!events) return std::unexpected(events.error());
  if (store::SeesArms((*user)->role)) return events;
  for (auto& e : *events) e = Redact(std::move(e));
  return events;
}

}  // namespace trial::service
