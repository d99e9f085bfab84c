// libFuzzer target: arbitrary bytes as rules-language text.
//
// Every input goes to rules::Parse. When it parses, it is also compiled against the real
// PROMIS-MDA5 catalog (binder: names, types, units) and, when that succeeds, evaluated with a
// rules::Session on a fixed patient record (evaluator, with a trace), so the whole rule pipeline
// is fuzzed. The protocol comes from $TRIAL_PROTOCOL or TRIAL_SOURCE_DIR/protocols/promis-mda5,
// the record from TRIAL_SOURCE_DIR/examples/eligible-female.json.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "core/date.h"
#include "protocol/protocol.h"
#include "record/fhir.h"
#include "record/record.h"
#include "rules/parser.h"
#include "rules/program.h"

#ifndef TRIAL_SOURCE_DIR
#define TRIAL_SOURCE_DIR "."
#endif

namespace {

using trial::Date;
namespace protocol = trial::protocol;
namespace record = trial::record;
namespace rules = trial::rules;

// AddRule keeps every compiled rule; reload the protocol now and then to bound memory.
constexpr int kReloadEvery = 10000;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rules_parser_fuzz: %s\n", what.c_str());
  std::abort();
}

std::string ProtocolDir() {
  if (const char* env = std::getenv("TRIAL_PROTOCOL"); env && *env) return env;
  return TRIAL_SOURCE_DIR "/protocols/promis-mda5";
}

std::unique_ptr<protocol::Protocol> LoadProtocol() {
  auto loaded = protocol::Load(ProtocolDir());
  if (!loaded) Die("cannot load protocol " + ProtocolDir() + ": " + loaded.error().message);
  return std::move(*loaded);
}

record::PatientRecord LoadRecord() {
  const std::string path = TRIAL_SOURCE_DIR "/examples/eligible-female.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto parsed = record::ReadBundle(ss.str());
  if (!parsed) Die(path + ": " + parsed.error().message);
  return std::move(*parsed);
}

struct State {
  std::unique_ptr<protocol::Protocol> protocol = LoadProtocol();  // non-const: AddRule
  const record::PatientRecord record = LoadRecord();
  const Date screening = *Date::FromYmd(2026, 7, 6);
  const Date randomization = *Date::FromYmd(2026, 7, 13);
  int added = 0;
};

State& GetState() {
  static State* state = new State();  // never destroyed: no exit-time ordering issues
  return *state;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  GetState();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ast = rules::Parse(text, "fuzz");
  if (!ast) return 0;

  State& st = GetState();
  if (st.added >= kReloadEvery) {
    st.protocol = LoadProtocol();
    st.added = 0;
  }
  auto id = st.protocol->program->AddRule(text, "fuzz", rules::RuleType::kAny);
  if (!id) return 0;
  ++st.added;

  rules::Session session(*st.protocol->program, st.record, st.screening, st.randomization);
  rules::Trace trace;
  (void)session.Evaluate(*id, &trace);
  // Also the fast path (no trace), on a fresh session so caches do not hide work.
  rules::Session plain(*st.protocol->program, st.record, st.screening, st.randomization);
  (void)plain.Evaluate(*id, nullptr);
  return 0;
}
