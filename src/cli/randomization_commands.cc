// The randomization verbs (docs/randomization.md): `randomization simulate`, `randomization
// golive`, `randomization verify`, `randomize` and `unblind`. A seed without --seed comes from
// FreshSeed, the only call into the OS random generator. `randomize` prints the randomization
// number only, never the arm; `unblind` is the one verb that prints an arm.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "randomization/design.h"
#include "randomization/fresh_seed.h"
#include "randomization/random.h"
#include "randomization/simulate.h"
#include "service/randomization.h"
#include "store/store.h"

namespace trial::cli {

namespace {

namespace rnd = trial::randomization;

// A whole number in [1, max] or nullopt.
std::optional<int> Bounded(const std::string& text, int max) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > max)
    return std::nullopt;
  return v;
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

nlohmann::ordered_json DistJson(const rnd::Distribution& d) {
  return {{"mean", d.mean}, {"median", d.median}, {"p95", d.p95}, {"max", d.max}};
}

int Simulate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  if (!ParseArgs(
          args, 2,
          {"subjects", "sites", "runs", "seed", "method", "format", "protocol", "ild-probability"},
          &a, err, {"progress"})) {
    return kExitUsage;
  }
  if (!a.positional.empty()) {
    err << "trial randomization simulate: unexpected argument '" << a.positional[0] << "'\n";
    return kExitUsage;
  }
  struct Limit {
    const char* name;
    int max;
    int* value;
  };
  rnd::SimulationOptions o;
  for (Limit l : {Limit{"subjects", 100000, &o.subjects}, Limit{"sites", 1000, &o.sites},
                  Limit{"runs", 1000000, &o.runs}}) {
    if (!a.Has(l.name)) {
      err << "trial randomization simulate: --" << l.name << " is required\n";
      return kExitUsage;
    }
    auto v = Bounded(a.Get(l.name), l.max);
    if (!v) {
      err << "trial randomization simulate: --" << l.name << " must be a whole number from 1 to "
          << l.max << ", not '" << a.Get(l.name) << "'\n";
      return kExitUsage;
    }
    *l.value = *v;
  }
  if (a.Has("ild-probability")) {
    const std::string t = a.Get("ild-probability");
    double p = -1;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), p);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !(p >= 0 && p <= 1)) {
      err << "trial randomization simulate: --ild-probability must be a number in [0, 1], not '"
          << t << "'\n";
      return kExitUsage;
    }
    o.first_level_probability = p;
  }
  const std::string format = a.Get("format", "text");
  if (format != "text" && format != "json") {
    err << "trial randomization simulate: --format must be text or json, not '" << format << "'\n";
    return kExitUsage;
  }
  const std::string method = a.Get("method", "");
  if (!method.empty() && method != "permuted_blocks" && method != "minimization") {
    err << "trial randomization simulate: --method must be permuted_blocks or minimization, not '"
        << method << "'\n";
    return kExitUsage;
  }
  rnd::Seed seed{};
  bool fresh = false;
  if (a.Has("seed")) {
    auto s = rnd::SeedFromHex(a.Get("seed"));
    if (!s) {
      err << "trial randomization simulate: --seed: " << s.error().message << "\n";
      return kExitUsage;
    }
    seed = *s;
  } else {
    auto s = rnd::FreshSeed();
    if (!s) {
      err << "trial randomization simulate: " << s.error().message << "\n";
      return kExitInput;
    }
    seed = *s;
    fresh = true;
  }

  auto protocol = protocol::Load(ProtocolDir(a));
  if (!protocol) {
    err << "trial: protocol error: " << protocol.error().message << "\n";
    return kExitProtocol;
  }
  std::vector<std::string> sites;
  for (int s = 1; s <= o.sites; ++s) sites.push_back("S" + std::to_string(s));
  auto design = rnd::FromProtocol(**protocol, sites);
  if (!design) {
    err << "trial: protocol error: randomization.yaml: " << design.error().message << "\n";
    return kExitProtocol;
  }
  if (method == "permuted_blocks") design->method = rnd::RandomizationMethod::kPermutedBlocks;
  if (method == "minimization") design->method = rnd::RandomizationMethod::kMinimization;
  const char* method_name = design->method == rnd::RandomizationMethod::kMinimization
                                ? "minimization"
                                : "permuted_blocks";

  const bool show_progress = a.Flag("progress") || isatty(STDERR_FILENO) == 1;
  std::function<void(int)> progress;
  if (show_progress) {
    progress = [&err](int percent) {
      err << "\rsimulating: " << percent << "%" << std::flush;
      if (percent == 100) err << "\n";
    };
  }
  auto report = rnd::Simulate(*design, o, seed, progress);
  if (!report) {
    err << "trial randomization simulate: " << report.error().message << "\n";
    return kExitInput;
  }
  const std::string seed_hex = rnd::SeedToHex(seed);
  if (fresh) err << "seed: " << seed_hex << " (repeat with --seed " << seed_hex << ")\n";

  if (format == "json") {
    nlohmann::ordered_json j;
    j["method"] = method_name;
    j["design"] = rnd::Describe(*design);
    j["subjects"] = o.subjects;
    j["sites"] = o.sites;
    j["runs"] = o.runs;
    j["ild_probability"] = o.first_level_probability;
    j["seed"] = seed_hex;
    j["overall_imbalance"] = DistJson(report->overall_imbalance);
    j["within_stratum_imbalance"] = DistJson(report->stratum_imbalance);
    j["predictability"] = DistJson(report->predictability);
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << "randomization simulation: " << method_name << ", " << o.subjects << " subjects, "
      << o.sites << " sites, " << o.runs << " runs\n";
  out << "design: " << rnd::Describe(*design) << "\n";
  out << "seed:   " << seed_hex << "\n\n";
  out << "metric                        mean   median      p95      max\n";
  auto row = [&](const char* name, const rnd::Distribution& d, int digits) {
    std::string line = name;
    line.resize(26, ' ');
    for (double v : {d.mean, d.median, d.p95, d.max}) {
      std::string cell = Fixed(v, digits);
      line += std::string(cell.size() < 9 ? 9 - cell.size() : 1, ' ') + cell;
    }
    out << line << "\n";
  };
  row("overall imbalance", report->overall_imbalance, 2);
  row("within-stratum imbalance", report->stratum_imbalance, 2);
  row("predictability", report->predictability, 3);
  out << "\nimbalance: max - min of subjects per arm / ratio (|n_TCZ - n_PBO| for 1:1), at the "
         "end;\n"
         "within-stratum: the largest over strata; predictability: share of allocations guessed\n"
         "by picking the arm with fewer allocations so far (in the stratum for blocks, overall\n"
         "for minimization).\n";
  return kExitOk;
}

bool NoPositional(const Args& a, const std::string& verb, std::ostream& err) {
  if (a.positional.empty()) return true;
  err << "trial " << verb << ": unexpected argument '" << a.positional[0] << "'\n";
  return false;
}

// The protocol and the store a store-backed randomization verb needs; on failure the message
// is printed and `exit_code` says how the command ends.
struct ProtocolAndStore {
  Result<std::shared_ptr<const protocol::Protocol>> protocol =
      Fail(ErrorCode::kInternal, "not loaded");
  Result<std::unique_ptr<store::TrialStore>> store = Fail(ErrorCode::kInternal, "not opened");
  int exit_code = kExitOk;
  bool ok() const { return protocol.has_value() && store.has_value(); }
};

ProtocolAndStore OpenProtocolAndStore(const Args& a, const Environment& env,
                                      const std::string& verb, std::ostream& err) {
  ProtocolAndStore out;
  out.protocol = LoadProtocol(a, env);
  if (!out.protocol) {
    err << "trial: protocol error: " << out.protocol.error().message << "\n";
    out.exit_code = kExitProtocol;
    return out;
  }
  out.store = OpenStore(a, env, false);
  if (!out.store) {
    err << "trial " << verb << ": " << out.store.error().message << "\n";
    out.exit_code = ExitForStoreError(out.store.error());
  }
  return out;
}

int GoLive(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  const std::string verb = "randomization golive";
  Args a;
  if (!ParseArgs(args, 2, {"db", "user", "seed", "protocol"}, &a, err)) return kExitUsage;
  if (!NoPositional(a, verb, err) || !RequireOptions(a, {"user"}, verb, err)) return kExitUsage;
  rnd::Seed seed{};
  if (a.Has("seed")) {
    auto s = rnd::SeedFromHex(a.Get("seed"));
    if (!s) {
      err << "trial " << verb << ": --seed: " << s.error().message << "\n";
      return kExitUsage;
    }
    seed = *s;
  } else {
    auto s = rnd::FreshSeed();
    if (!s) {
      err << "trial " << verb << ": " << s.error().message << "\n";
      return kExitInput;
    }
    seed = *s;
  }
  auto opened = OpenProtocolAndStore(a, env, verb, err);
  if (!opened.ok()) return opened.exit_code;
  auto& protocol = opened.protocol;
  auto& st = opened.store;
  auto sites = (*st)->Sites();
  if (!sites) {
    err << "trial " << verb << ": " << sites.error().message << "\n";
    return ExitForStoreError(sites.error());
  }
  std::vector<std::string> ids;
  for (const auto& s : *sites) ids.push_back(s.id);
  auto commitment = service::GoLive(**st, **protocol, ids, a.Get("user"), seed);
  if (!commitment) {
    err << "trial " << verb << ": " << commitment.error().message << "\n";
    return ExitForStoreError(commitment.error());
  }
  out << "randomization is live; commitment: " << *commitment << "\n";
  return kExitOk;
}

int VerifyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  const std::string verb = "randomization verify";
  Args a;
  if (!ParseArgs(args, 2, {"db", "protocol"}, &a, err)) return kExitUsage;
  if (!NoPositional(a, verb, err)) return kExitUsage;
  auto opened = OpenProtocolAndStore(a, env, verb, err);
  if (!opened.ok()) return opened.exit_code;
  auto& protocol = opened.protocol;
  auto& st = opened.store;
  auto check = service::VerifyRandomization(**st, **protocol);
  if (!check) {
    err << "trial " << verb << ": " << check.error().message << "\n";
    return ExitForStoreError(check.error());
  }
  if (!check->ok) {
    err << "trial " << verb << ": commitment NOT verified: " << check->detail << "\n";
    return kExitAuditBroken;
  }
  out << "commitment verified: " << check->slots << " slots";
  if (check->extensions > 0) out << ", " << check->extensions << " extension(s)";
  out << "\n";
  return kExitOk;
}

int ExtendCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  const std::string verb = "randomization extend";
  Args a;
  if (!ParseArgs(args, 2, {"db", "user", "stratum", "free", "protocol"}, &a, err)) {
    return kExitUsage;
  }
  if (!NoPositional(a, verb, err) || !RequireOptions(a, {"user"}, verb, err)) return kExitUsage;
  auto opened = OpenProtocolAndStore(a, env, verb, err);
  if (!opened.ok()) return opened.exit_code;
  auto& protocol = opened.protocol;
  auto& st = opened.store;
  int free = std::max((*protocol)->target_enrollment, 1);
  if (a.Has("free")) {
    auto v = Bounded(a.Get("free"), 100000);
    if (!v) {
      err << "trial " << verb << ": --free must be a whole number from 1 to 100000, not '"
          << a.Get("free") << "'\n";
      return kExitUsage;
    }
    free = *v;
  }
  auto added = service::ExtendLists(**st, **protocol, a.Get("user"), free, a.Get("stratum"));
  if (!added) {
    err << "trial " << verb << ": " << added.error().message << "\n";
    return ExitForStoreError(added.error());
  }
  if (*added == 0) {
    out << "every stratum already has at least " << free << " unused slots: nothing added\n";
  } else {
    out << *added << " slots added; every stratum now has at least " << free << " unused slots\n";
  }
  return kExitOk;
}

int RandomizeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const Environment& env) {
  const std::string verb = "randomize";
  Args a;
  if (!ParseArgs(args, 1, {"db", "user", "subject", "ild", "request-id", "protocol", "format"}, &a,
                 err)) {
    return kExitUsage;
  }
  if (!NoPositional(a, verb, err) || !RequireOptions(a, {"subject", "ild", "user"}, verb, err)) {
    return kExitUsage;
  }
  auto subject = ParsePositive(a.Get("subject"));
  if (!subject) {
    err << "trial " << verb << ": --subject must be a subject id, not '" << a.Get("subject")
        << "'\n";
    return kExitUsage;
  }
  const std::string ild = a.Get("ild");
  if (ild != "present" && ild != "absent") {
    err << "trial " << verb << ": --ild must be present or absent, not '" << ild << "'\n";
    return kExitUsage;
  }
  const std::string format = a.Get("format", "text");
  if (format != "text" && format != "json") {
    err << "trial " << verb << ": --format must be text or json, not '" << format << "'\n";
    return kExitUsage;
  }
  std::string request_id = a.Get("request-id");
  if (!a.Has("request-id")) {
    auto s = rnd::FreshSeed();
    if (!s) {
      err << "trial " << verb << ": " << s.error().message << "\n";
      return kExitInput;
    }
    request_id = rnd::SeedToHex(*s).substr(0, 32);
  }
  auto opened = OpenProtocolAndStore(a, env, verb, err);
  if (!opened.ok()) return opened.exit_code;
  auto& protocol = opened.protocol;
  auto& st = opened.store;
  auto allocation = service::Randomize(**st, **protocol, a.Get("user"), *subject, ild, request_id);
  if (!allocation) {
    err << "trial " << verb << ": " << allocation.error().message << "\n";
    return ExitForStoreError(allocation.error());
  }
  // Never the arm. The kit number, when the trial uses kits, reveals nothing (docs/kits.md).
  if (format == "json") {
    nlohmann::ordered_json j;
    j["randomization_number"] = allocation->randomization_number;
    j["kit_number"] = allocation->kit_number;
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << allocation->randomization_number;
  if (!allocation->kit_number.empty()) out << " " << allocation->kit_number;
  out << "\n";
  return kExitOk;
}

int UnblindCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                   const Environment& env) {
  const std::string verb = "unblind";
  Args a;
  if (!ParseArgs(args, 1, {"db", "user", "subject", "reason"}, &a, err)) return kExitUsage;
  if (!NoPositional(a, verb, err) || !RequireOptions(a, {"subject", "reason", "user"}, verb, err)) {
    return kExitUsage;
  }
  auto subject = ParsePositive(a.Get("subject"));
  if (!subject) {
    err << "trial " << verb << ": --subject must be a subject id, not '" << a.Get("subject")
        << "'\n";
    return kExitUsage;
  }
  auto st = OpenStore(a, env, false);
  if (!st) {
    err << "trial " << verb << ": " << st.error().message << "\n";
    return ExitForStoreError(st.error());
  }
  auto arm = (*st)->EmergencyUnblind(a.Get("user"), *subject, a.Get("reason"));
  if (!arm) {
    err << "trial " << verb << ": " << arm.error().message << "\n";
    return ExitForStoreError(arm.error());
  }
  out << *arm << "\n";
  return kExitOk;
}

}  // namespace

int RunRandomizationCommand(const std::vector<std::string>& args, std::ostream& out,
                            std::ostream& err, const Environment& env) {
  if (args.empty()) return -1;
  if (args[0] == "randomize") return RandomizeCommand(args, out, err, env);
  if (args[0] == "unblind") return UnblindCommand(args, out, err, env);
  if (args[0] != "randomization") return -1;
  const std::string sub = args.size() >= 2 ? args[1] : "";
  if (sub == "simulate") return Simulate(args, out, err);
  if (sub == "golive") return GoLive(args, out, err, env);
  if (sub == "verify") return VerifyCommand(args, out, err, env);
  if (sub == "extend") return ExtendCommand(args, out, err, env);
  err << "trial randomization: expected 'simulate', 'golive', 'verify' or 'extend'\n";
  return kExitUsage;
}

}  // namespace trial::cli
