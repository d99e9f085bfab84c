// libFuzzer target: arbitrary bytes as a FHIR R4 Bundle.
//
// Every input goes to record::ReadBundle; when it yields a record, the whole screening path runs
// on it: eligibility::Screen with the real PROMIS-MDA5 protocol (S = 2026-07-06, R = 2026-07-13,
// with explanations), then the JSON and text renderings. The protocol comes from $TRIAL_PROTOCOL
// or TRIAL_SOURCE_DIR/protocols/promis-mda5.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/date.h"
#include "eligibility/eligibility.h"
#include "protocol/protocol.h"
#include "record/fhir.h"

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace {

using trial::Date;
namespace eligibility = trial::eligibility;
namespace protocol = trial::protocol;
namespace record = trial::record;

std::string ProtocolDir() {
  if (const char* env = std::getenv("TRIAL_PROTOCOL"); env && *env) return env;
  return TRIAL_SOURCE_DIR "/protocols/promis-mda5";
}

const protocol::Protocol& GetProtocol() {
  static const protocol::Protocol* p = [] {
    auto loaded = protocol::Load(ProtocolDir());
    if (!loaded) {
      std::fprintf(stderr, "fhir_reader_fuzz: cannot load protocol %s: %s\n", ProtocolDir().c_str(),
                   loaded.error().message.c_str());
      std::abort();
    }
    return loaded->release();  // never destroyed
  }();
  return *p;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  GetProtocol();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto rec = record::ReadBundle(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!rec) return 0;

  const protocol::Protocol& p = GetProtocol();
  const Date s = *Date::FromYmd(2026, 7, 6);
  const Date r = *Date::FromYmd(2026, 7, 13);
  auto screening = eligibility::Screen(p, *rec, s, r, eligibility::Options{.explain = true});
  if (!screening) return 0;
  (void)eligibility::ToJson(p, *screening);
  (void)eligibility::ToText(p, *screening);
  return 0;
}
