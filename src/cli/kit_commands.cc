// The drug-kit verbs (docs/kits.md): `kit generate|ship|receive|status|dispense|list|stock`.
// Outputs meant for blinded users (list, stock, receive, dispense) never name an arm unless the
// reading user's role may see arms (store::SeesArms). A seed without --seed comes from FreshSeed.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/cli.h"
#include "cli/common.h"
#include "protocol/protocol.h"
#include "randomization/fresh_seed.h"
#include "randomization/random.h"
#include "service/kits.h"
#include "store/store.h"

namespace trial::cli {

namespace {

namespace rnd = trial::randomization;
using nlohmann::ordered_json;

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

std::string Padded(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s + "  ";
}

int Generate(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const Environment& env) {
  Verb v("kit generate", err, env);
  if (!v.Parse(args, {"count", "lot", "expiry", "seed"}) ||
      !v.Require({"count", "lot", "expiry", "user"})) {
    return v.exit_code();
  }
  auto count = v.CountOption("count");
  auto expiry = v.DateOption("expiry");
  if (!count || !expiry) return v.exit_code();
  rnd::Seed seed{};
  if (v.args().Has("seed")) {
    auto s = rnd::SeedFromHex(v.args().Get("seed"));
    if (!s) {
      err << "trial kit generate: --seed: " << s.error().message << "\n";
      return kExitUsage;
    }
    seed = *s;
  } else {
    auto s = rnd::FreshSeed();
    if (!s) return v.Failed(s.error());
    seed = *s;
  }
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto kits = service::GenerateKits(v.store(), v.protocol(), v.user(), *count, v.args().Get("lot"),
                                    *expiry, seed);
  if (!kits) return v.Failed(kits.error());
  out << "generated " << kits->size() << " kits at the depot: lot " << v.args().Get("lot")
      << ", expiry " << expiry->ToString() << "\n";
  return kExitOk;
}

int Ship(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
         const Environment& env) {
  Verb v("kit ship", err, env);
  if (!v.Parse(args, {"site", "count", "kits"}) || !v.Require({"site", "user"})) {
    return v.exit_code();
  }
  if (v.args().Has("count") == v.args().Has("kits")) {
    err << "trial kit ship: give either --count N or --kits K-1,K-2\n";
    return kExitUsage;
  }
  std::optional<int> count;
  if (v.args().Has("count") && !(count = v.CountOption("count"))) return v.exit_code();
  if (count && !v.OpenProtocol()) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  const std::string site = v.args().Get("site");
  auto shipment =
      count ? service::ShipKitCount(v.store(), v.protocol(), v.user(), site, *count)
            : v.store().ShipKits(v.user(), site,
                                 store::ShipmentRequest{SplitList(v.args().Get("kits")), {}});
  if (!shipment) return v.Failed(shipment.error());
  out << "shipment " << shipment->id << " to site " << shipment->site << ": "
      << shipment->kit_numbers.size() << " kits (" << Joined(shipment->kit_numbers) << ")\n";
  return kExitOk;
}

int Receive(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            const Environment& env) {
  Verb v("kit receive", err, env);
  if (!v.Parse(args, {"shipment", "damaged"}) || !v.Require({"shipment", "user"})) {
    return v.exit_code();
  }
  if (!v.OpenStore()) return v.exit_code();
  const std::vector<std::string> damaged = SplitList(v.args().Get("damaged"));
  auto shipment = v.store().ReceiveShipment(v.user(), v.args().Get("shipment"), damaged);
  if (!shipment) return v.Failed(shipment.error());
  std::vector<std::string> available;
  for (const auto& k : shipment->kit_numbers) {
    if (std::find(damaged.begin(), damaged.end(), k) == damaged.end()) available.push_back(k);
  }
  if (v.json()) {
    ordered_json j;
    j["shipment"] = shipment->id;
    j["site"] = shipment->site;
    j["received_at"] = shipment->received_at;
    j["available"] = available;
    j["damaged"] = damaged;
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << "shipment " << shipment->id << " received at site " << shipment->site << ": "
      << available.size() << " kits available, " << damaged.size() << " damaged\n";
  return kExitOk;
}

int Status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const Environment& env) {
  Verb v("kit status", err, env);
  if (!v.Parse(args, {"to", "reason"}, 1) || !v.Require({"to", "reason", "user"})) {
    return v.exit_code();
  }
  if (v.args().positional.empty()) {
    err << "trial kit status: give the kit number (trial kit status K-123456 --to ...)\n";
    return kExitUsage;
  }
  const std::string to_text = v.args().Get("to");
  auto to = store::ParseKitStatus(to_text);
  if (!to || *to == store::KitStatus::kInTransit || *to == store::KitStatus::kDispensed) {
    err << "trial kit status: --to must be quarantined, available, damaged or destroyed, not '"
        << to_text << "'\n";
    return kExitUsage;
  }
  if (!v.OpenStore()) return v.exit_code();
  auto kit =
      v.store().ChangeKitStatus(v.user(), v.args().positional[0], *to, v.args().Get("reason"));
  if (!kit) return v.Failed(kit.error());
  out << "kit " << kit->kit_number << " is now " << store::KitStatusName(kit->status) << "\n";
  return kExitOk;
}

int Dispense(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const Environment& env) {
  Verb v("kit dispense", err, env);
  if (!v.Parse(args, {"subject", "visit", "date", "kit", "request-id"}) ||
      !v.Require({"subject", "visit", "date", "user"})) {
    return v.exit_code();
  }
  auto subject = ParsePositive(v.args().Get("subject"));
  if (!subject) {
    err << "trial kit dispense: --subject must be a subject id, not '" << v.args().Get("subject")
        << "'\n";
    return kExitUsage;
  }
  auto date = v.DateOption("date");
  if (!date) return v.exit_code();
  std::string request_id = v.args().Get("request-id");
  if (!v.args().Has("request-id")) {
    auto s = rnd::FreshSeed();
    if (!s) return v.Failed(s.error());
    request_id = rnd::SeedToHex(*s).substr(0, 32);
  }
  if (!v.OpenStore()) return v.exit_code();
  auto d = v.store().DispenseKit(v.user(), *subject, v.args().Get("visit"), *date, request_id,
                                 v.args().Get("kit"));
  if (!d) return v.Failed(d.error());
  if (v.json()) {
    ordered_json j;
    j["subject_id"] = d->subject_id;
    j["visit"] = d->visit;
    j["kit_number"] = d->kit_number;
    j["date"] = d->date.ToString();
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << d->kit_number << "\n";  // never the arm
  return kExitOk;
}

int List(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
         const Environment& env) {
  Verb v("kit list", err, env);
  if (!v.Parse(args, {"site"}) || !v.Require({"user"})) return v.exit_code();
  if (!v.OpenStore()) return v.exit_code();
  auto listing = service::ListKits(v.store(), v.user(), v.site());
  if (!listing) return v.Failed(listing.error());
  if (v.json()) {
    ordered_json j = ordered_json::array();
    for (const auto& k : listing->kits) {
      ordered_json kit;
      kit["kit_number"] = k.kit_number;
      kit["lot"] = k.lot;
      kit["expiry"] = k.expiry.ToString();
      kit["status"] = store::KitStatusName(k.status);
      kit["site"] = k.site.empty() ? ordered_json(nullptr) : ordered_json(k.site);
      if (listing->arms_shown) kit["arm"] = k.arm;
      j.push_back(kit);
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << Padded("kit", 11) << Padded("lot", 12) << Padded("expiry", 10) << Padded("status", 11)
      << (listing->arms_shown ? Padded("site", 8) + "arm" : "site") << "\n";
  for (const auto& k : listing->kits) {
    const std::string site = k.site.empty() ? "depot" : k.site;
    out << Padded(k.kit_number, 11) << Padded(k.lot, 12) << Padded(k.expiry.ToString(), 10)
        << Padded(store::KitStatusName(k.status), 11)
        << (listing->arms_shown ? Padded(site, 8) + k.arm : site) << "\n";
  }
  out << listing->kits.size() << " kit(s)\n";
  return kExitOk;
}

int Stock(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
          const Environment& env) {
  Verb v("kit stock", err, env);
  if (!v.Parse(args, {"site", "date"}) || !v.Require({"date", "user"})) return v.exit_code();
  auto date = v.DateOption("date");
  if (!date) return v.exit_code();
  if (!v.OpenProtocol() || !v.OpenStore()) return v.exit_code();
  auto report = service::KitStock(v.store(), v.protocol(), v.user(), *date, v.site());
  if (!report) return v.Failed(report.error());
  if (v.json()) {
    ordered_json j = ordered_json::array();
    for (const auto& s : report->sites) {
      ordered_json site;
      site["site"] = s.site;
      site["available"] = s.available;
      site["signal"] = s.low ? "LOW" : "OK";
      if (report->arms_shown) {
        ordered_json arms = ordered_json::array();
        for (const auto& a : s.arms) {
          arms.push_back({{"arm", a.arm}, {"available", a.available}, {"needed", a.needed}});
        }
        site["arms"] = arms;
      }
      j.push_back(site);
    }
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << "kit stock on " << date->ToString() << " (horizon " << v.protocol().kits.horizon_days
      << " days)\n";
  for (const auto& s : report->sites) {
    out << "site " << s.site << ": " << s.available << " kits available: " << (s.low ? "LOW" : "OK")
        << "\n";
    for (const auto& a : s.arms) {
      out << "  " << a.arm << ": " << a.available << " available, " << a.needed << " needed\n";
    }
  }
  return kExitOk;
}

}  // namespace

int RunKitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                  const Environment& env) {
  if (args.empty() || args[0] != "kit") return -1;
  const std::string sub = args.size() >= 2 ? args[1] : "";
  if (sub == "generate") return Generate(args, out, err, env);
  if (sub == "ship") return Ship(args, out, err, env);
  if (sub == "receive") return Receive(args, out, err, env);
  if (sub == "status") return Status(args, out, err, env);
  if (sub == "dispense") return Dispense(args, out, err, env);
  if (sub == "list") return List(args, out, err, env);
  if (sub == "stock") return Stock(args, out, err, env);
  err << "trial kit: expected 'generate', 'ship', 'receive', 'status', 'dispense', 'list' or "
         "'stock'\n";
  return kExitUsage;
}

}  // namespace trial::cli
