// The drug-kit use cases of the trial store (store.h, docs/kits.md): kit lists generated at the
// depot, shipments and their receipt, status changes and dispensing, and the checks VerifyAudit
// runs on their rows.
//
// A kit row holds the kit's current state (status, site, shipment) and points at the event that
// last changed it (audit_seq) and at the event that generated it (generated_seq). Every event that
// changes kits records their new state in its new_value ("kits": [...]), never their arm: the
// arms, lots and expiry dates are covered by the generating event's SHA-256 of the batch.
#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store.h"
#include "store/store_internal.h"

namespace trial::store {

namespace {

using detail::Canonical;
using nlohmann::json;

constexpr std::array<std::pair<KitStatus, const char*>, 6> kKitStatuses = {{
    {KitStatus::kAvailable, "available"},
    {KitStatus::kInTransit, "in_transit"},
    {KitStatus::kQuarantined, "quarantined"},
    {KitStatus::kDamaged, "damaged"},
    {KitStatus::kDestroyed, "destroyed"},
    {KitStatus::kDispensed, "dispensed"},
}};

// The request id of the kit Randomize hands out: this prefix and the randomization's request id.
const std::string kRandomizePrefix = "randomize:";
constexpr size_t kMaxBatch = 10000;

// ---- roles ----

bool WorksAt(const User& u, const std::string& site) {
  return std::find(u.sites.begin(), u.sites.end(), site) != u.sites.end();
}

using detail::Who;

// The depot and shipping: administrators and unblinded pharmacists.
Result<void> RequireDepotRole(const User& who, const std::string& doing) {
  if (who.role == Role::kAdministrator || who.role == Role::kUnblindedPharmacist) return {};
  return Fail(ErrorCode::kPermissionDenied,
              Who(who) + " may not " + doing + ": administrators and unblinded pharmacists only");
}

// A site's kits: its investigators, coordinators and pharmacists, and administrators.
Result<void> RequireSiteRole(const User& who, const std::string& site, const std::string& doing) {
  if (who.role == Role::kAdministrator) return {};
  const bool handles_kits = who.role == Role::kInvestigator || who.role == Role::kCoordinator ||
                            who.role == Role::kUnblindedPharmacist;
  if (handles_kits && WorksAt(who, site)) return {};
  return Fail(ErrorCode::kPermissionDenied,
              Who(who) + " may not " + doing + " at site '" + site +
                  "': its investigators, coordinators and pharmacists only");
}

// ---- values ----

// "K-" and 4 to 9 digits, the first not 0.
bool IsKitNumber(const std::string& s) {
  if (s.size() < 6 || s.size() > 11 || s.compare(0, 2, "K-") != 0 || s[2] == '0') return false;
  return std::all_of(s.begin() + 2, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Result<void> RequireKitNumber(const std::string& s) {
  if (IsKitNumber(s)) return {};
  return Fail(ErrorCode::kInvalidArgument,
              "'" + s + "' is not a kit number (K- and 4 to 9 digits, e.g. K-123456)");
}

// The UTC date of an RFC 3339 instant from the clock.
std::string DayOf(const std::string& instant) { return instant.substr(0, 10); }

SqlValue OrNull(const std::string& s) { return s.empty() ? SqlValue{} : SqlValue{s}; }
json JsonOrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

std::string ShipmentNumber(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "SH-%04lld", static_cast<long long>(n));
  return buf;
}

// ---- rows and their audited form ----

constexpr const char* kKitColumns = "kit_number, arm, lot, expiry, status, site, shipment_id";

Kit KitFromRow(const Row& r) {
  Kit k;
  k.kit_number = r.Text(0);
  k.arm = r.Text(1);
  k.lot = r.Text(2);
  k.expiry = Date::Parse(r.Text(3)).value_or(Date());
  // A damaged status text is shown as dispensed (unusable); VerifyAudit reports the mismatch.
  k.status = ParseKitStatus(r.Text(4)).value_or(KitStatus::kDispensed);
  k.site = r.Text(5);
  k.shipment_id = r.Text(6);
  return k;
}

// A kit's state as the events record it: everything that changes after generation.
json KitStateJson(const std::string& number, const std::string& status, const std::string& site,
                  const std::string& shipment) {
  return {{"kit_number", number},
          {"status", status},
          {"site", JsonOrNull(site)},
          {"shipment", JsonOrNull(shipment)}};
}
json KitStateJson(const Kit& k) {
  return KitStateJson(k.kit_number, KitStatusName(k.status), k.site, k.shipment_id);
}

// SHA-256 of a batch: "number|arm|lot|expiry\n" per kit, sorted by number.
std::string BatchSha256(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return Sha256Hex(text);
}
std::string BatchLine(const std::string& number, const std::string& arm, const std::string& lot,
                      const std::string& expiry) {
  return number + "|" + arm + "|" + lot + "|" + expiry;
}

json ShipmentJson(const Shipment& s) {
  return {{"id", s.id},
          {"site", s.site},
          {"shipped_at", s.shipped_at},
          {"shipped_by", s.shipped_by},
          {"received_at", s.received_at},
          {"received_by", s.received_by}};
}

json DispensingJson(const Dispensing& d) {
  return {{"subject_id", d.subject_id},
          {"visit", d.visit},
          {"kit_number", d.kit_number},
          {"date", d.date.ToString()},
          {"request_id", d.request_id},
          {"at", d.at},
          {"user", d.user}};
}

constexpr const char* kShipmentColumns = "id, site, shipped_at, username, received_at, received_by";
Shipment ShipmentFromRow(const Row& r) {
  return Shipment{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), {}};
}

constexpr const char* kDispensingColumns =
    "subject_id, visit, kit_number, dose_date, request_id, at, username";
Dispensing DispensingFromRow(const Row& r) {
  return Dispensing{r.Int(0),  r.Text(1), r.Text(2), Date::Parse(r.Text(3)).value_or(Date()),
                    r.Text(4), r.Text(5), r.Text(6)};
}

Result<std::optional<Kit>> LoadKit(Transaction& tx, const std::string& number) {
  auto rows =
      tx.Query(std::string("SELECT ") + kKitColumns + " FROM kits WHERE kit_number = $1", {number});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Kit>();
  return std::optional<Kit>(KitFromRow((*rows)[0]));
}

// Writes a kit's new state, pointing at the event that recorded it.
Result<void> SaveKitState(Transaction& tx, const Kit& k, int64_t seq) {
  auto r = tx.Query(
      "UPDATE kits SET status = $1, site = $2, shipment_id = $3, audit_seq = $4 WHERE kit_number "
      "= $5",
      {std::string(KitStatusName(k.status)), OrNull(k.site), OrNull(k.shipment_id), seq,
       k.kit_number});
  if (!r) return std::unexpected(r.error());
  return {};
}

json StatesJson(const std::vector<Kit>& kits) {
  json out = json::array();
  for (const auto& k : kits) out.push_back(KitStateJson(k));
  return out;
}

// Why `kit` cannot be dispensed to `subject` (of `arm`) on `date`; "" when it can. The arm is
// checked last, so that its message, the one unavoidable hint (docs/kits.md), only ever concerns
// a kit that is otherwise usable.
std::string Unusable(const Kit& kit, const Subject& subject, const std::string& arm, Date date) {
  const std::string k = "kit " + kit.kit_number;
  if (kit.status == KitStatus::kDispensed) return k + " was already dispensed";
  if (kit.site.empty()) return k + " is at the depot, not at site " + subject.site_id;
  if (kit.site != subject.site_id)
    return k + " is at site " + kit.site + ", not at site " + subject.site_id;
  if (kit.status == KitStatus::kInTransit) {
    return k + " has not been received at site " + subject.site_id + " yet (shipment " +
           kit.shipment_id + ")";
  }
  if (kit.status != KitStatus::kAvailable) return k + " is " + KitStatusName(kit.status);
  if (kit.expiry <= date) {
    return k + " expires on " + kit.expiry.ToString() + ", not after the dose date " +
           date.ToString();
  }
  if (kit.arm != arm) {
    return k + " does not match subject " + std::to_string(subject.id) + "'s allocation";
  }
  return "";
}

}  // namespace

const char* KitStatusName(KitStatus s) {
  for (const auto& [v, name] : kKitStatuses) {
    if (v == s) return name;
  }
  return "dispensed";
}

std::optional<KitStatus> ParseKitStatus(std::string_view name) {
  for (const auto& [v, n] : kKitStatuses) {
    if (name == n) return v;
  }
  return std::nullopt;
}

bool KitTransitionAllowed(KitStatus from, KitStatus to) {
  using K = KitStatus;
  switch (from) {
    case K::kAvailable:
      return to == K::kQuarantined || to == K::kDamaged || to == K::kDestroyed;
    case K::kQuarantined:
      return to == K::kAvailable || to == K::kDamaged || to == K::kDestroyed;
    case K::kDamaged:
      return to == K::kDestroyed;
    case K::kInTransit:
    case K::kDestroyed:
    case K::kDispensed:
      return false;
  }
  return false;
}

Result<std::vector<Kit>> TrialStore::GenerateKits(const std::string& actor,
                                                  std::vector<NewKit> kits, const std::string& lot,
                                                  Date expiry) {
  if (kits.empty() || kits.size() > kMaxBatch) {
    return Fail(ErrorCode::kInvalidArgument, "a batch holds 1 to " + std::to_string(kMaxBatch) +
                                                 " kits, not " + std::to_string(kits.size()));
  }
  if (auto r = detail::RequireText(lot, "the lot"); !r) return std::unexpected(r.error());
  std::set<std::string> numbers;
  for (const auto& k : kits) {
    if (auto r = RequireKitNumber(k.kit_number); !r) return std::unexpected(r.error());
    if (auto r = detail::RequireText(k.arm, "the arm of a kit"); !r) {
      return std::unexpected(r.error());
    }
    if (!numbers.insert(k.kit_number).second) {
      return Fail(ErrorCode::kInvalidArgument, "kit number " + k.kit_number + " is given twice");
    }
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  if (auto r = RequireDepotRole(who, "generate kits"); !r) return std::unexpected(r.error());
  const std::string at = clock_();
  if (expiry.ToString() <= DayOf(at)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the expiry date " + expiry.ToString() + " is not after today (" + DayOf(at) + ")");
  }
  auto used = tx.Query("SELECT kit_number FROM kits");
  if (!used) return std::unexpected(used.error());
  for (const auto& r : *used) {
    if (numbers.count(r.Text(0))) {
      return Fail(ErrorCode::kInvalidInput, "kit number " + r.Text(0) + " is already in use");
    }
  }
  std::sort(kits.begin(), kits.end(),
            [](const NewKit& a, const NewKit& b) { return a.kit_number < b.kit_number; });
  std::vector<Kit> out;
  std::vector<std::string> lines;
  for (const auto& k : kits) {
    out.push_back(Kit{k.kit_number, k.arm, lot, expiry, KitStatus::kAvailable, "", ""});
    lines.push_back(BatchLine(k.kit_number, k.arm, lot, expiry.ToString()));
  }
  json event = {{"lot", lot},
                {"expiry", expiry.ToString()},
                {"count", out.size()},
                {"kits_sha256", BatchSha256(lines)},
                {"kits", StatesJson(out)}};
  auto e = Append(tx, who.username, who.role,
                  Pending{"kit.generate", "kit_batch", lot, "", "", Canonical(event), ""});
  if (!e) return std::unexpected(e.error());
  for (const auto& k : out) {
    auto r = tx.Query(
        "INSERT INTO kits (kit_number, arm, lot, expiry, status, site, shipment_id, "
        "generated_seq, audit_seq) VALUES ($1, $2, $3, $4, 'available', NULL, NULL, $5, $5)",
        {k.kit_number, k.arm, lot, expiry.ToString(), e->seq});
    if (!r) return std::unexpected(r.error());
  }
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return out;
}

Result<Shipment> TrialStore::ShipKits(const std::string& actor, const std::string& site,
                                      const ShipmentRequest& request) {
  if (auto r = detail::RequireText(site, "the site"); !r) return std::unexpected(r.error());
  const bool by_number = !request.kit_numbers.empty();
  int total = 0;
  for (const auto& [arm, n] : request.per_arm) {
    if (auto r = detail::RequireText(arm, "the arm"); !r) return std::unexpected(r.error());
    if (n < 0 || n > static_cast<int>(kMaxBatch)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "a shipment's count per arm must be 0 to " + std::to_string(kMaxBatch));
    }
    total += n;
  }
  if (by_number == (total > 0)) {
    return Fail(ErrorCode::kInvalidArgument,
                "give either the kits to ship or a count to pick at the depot (not both, not "
                "neither)");
  }
  std::set<std::string> named;
  for (const auto& k : request.kit_numbers) {
    if (auto r = RequireKitNumber(k); !r) return std::unexpected(r.error());
    if (!named.insert(k).second) {
      return Fail(ErrorCode::kInvalidArgument, "kit " + k + " is given twice");
    }
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  if (auto r = RequireDepotRole(who, "ship kits"); !r) return std::unexpected(r.error());
  auto known = tx.Query("SELECT 1 FROM sites WHERE id = $1", {site});
  if (!known) return std::unexpected(known.error());
  if (known->empty()) return Fail(ErrorCode::kNotFound, "unknown site '" + site + "'");
  const std::string at = clock_();
  const std::string today = DayOf(at);
  std::vector<Kit> kits;
  for (const auto& number : named) {
    auto kit = LoadKit(tx, number);
    if (!kit) return std::unexpected(kit.error());
    if (!*kit) return Fail(ErrorCode::kNotFound, "unknown kit " + number);
    const Kit& k = **kit;
    if (!k.site.empty()) {
      return Fail(ErrorCode::kInvalidInput, "kit " + number + " was already shipped (shipment " +
                                                k.shipment_id + " to site " + k.site + ")");
    }
    if (k.status != KitStatus::kAvailable) {
      return Fail(ErrorCode::kInvalidInput, "kit " + number + " is " + KitStatusName(k.status) +
                                                ": only available kits are shipped");
    }
    if (k.expiry.ToString() <= today) {
      return Fail(ErrorCode::kInvalidInput, "kit " + number + " expires on " + k.expiry.ToString() +
                                                " (today is " + today +
                                                "): expired kits are never shipped");
    }
    kits.push_back(k);
  }
  for (const auto& [arm, n] : request.per_arm) {
    if (n == 0) continue;
    auto rows = tx.Query(std::string("SELECT ") + kKitColumns +
                             " FROM kits WHERE site IS NULL AND status = 'available' AND arm = $1 "
                             "AND expiry > $2 ORDER BY expiry, kit_number LIMIT " +
                             std::to_string(n),
                         {arm, today});
    if (!rows) return std::unexpected(rows.error());
    if (static_cast<int>(rows->size()) < n) {
      return Fail(ErrorCode::kInvalidInput, "the depot has " + std::to_string(rows->size()) +
                                                " unexpired kit(s) of arm " + arm + ", not the " +
                                                std::to_string(n) + " to ship: generate more");
    }
    for (const auto& r : *rows) kits.push_back(KitFromRow(r));
  }
  std::sort(kits.begin(), kits.end(),
            [](const Kit& a, const Kit& b) { return a.kit_number < b.kit_number; });
  auto count = tx.Query("SELECT count(*) FROM shipments");
  if (!count) return std::unexpected(count.error());
  Shipment shipment{ShipmentNumber((*count)[0].Int(0) + 1), site, at, who.username, "", "", {}};
  for (auto& k : kits) {
    k.status = KitStatus::kInTransit;
    k.site = site;
    k.shipment_id = shipment.id;
    shipment.kit_numbers.push_back(k.kit_number);
  }
  json event = {{"shipment", ShipmentJson(shipment)}, {"kits", StatesJson(kits)}};
  auto e = Append(tx, who.username, who.role,
                  Pending{"kit.ship", "shipment", shipment.id, "", "", Canonical(event), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = tx.Query(
      "INSERT INTO shipments (id, site, shipped_at, username, received_at, received_by, "
      "audit_seq) VALUES ($1, $2, $3, $4, '', '', $5)",
      {shipment.id, site, at, who.username, e->seq});
  if (!ins) return std::unexpected(ins.error());
  for (const auto& k : kits) {
    if (auto r = SaveKitState(tx, k, e->seq); !r) return std::unexpected(r.error());
  }
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return shipment;
}

Result<Shipment> TrialStore::ReceiveShipment(const std::string& actor,
                                             const std::string& shipment_id,
                                             const std::vector<std::string>& damaged) {
  if (auto r = detail::RequireText(shipment_id, "the shipment id"); !r) {
    return std::unexpected(r.error());
  }
  std::set<std::string> broken;
  for (const auto& k : damaged) {
    if (auto r = RequireKitNumber(k); !r) return std::unexpected(r.error());
    broken.insert(k);
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto rows = tx.Query(std::string("SELECT ") + kShipmentColumns + " FROM shipments WHERE id = $1",
                       {shipment_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return Fail(ErrorCode::kNotFound, "unknown shipment '" + shipment_id + "'");
  Shipment shipment = ShipmentFromRow((*rows)[0]);
  if (auto r = RequireSiteRole(who, shipment.site, "receive kits"); !r) {
    return std::unexpected(r.error());
  }
  if (!shipment.received_at.empty()) {
    return Fail(ErrorCode::kInvalidInput, "shipment " + shipment.id + " was already received (" +
                                              shipment.received_at + ", by " +
                                              shipment.received_by + ")");
  }
  auto kit_rows = tx.Query(std::string("SELECT ") + kKitColumns +
                               " FROM kits WHERE shipment_id = $1 ORDER BY kit_number",
                           {shipment.id});
  if (!kit_rows) return std::unexpected(kit_rows.error());
  std::vector<Kit> kits;
  for (const auto& r : *kit_rows) kits.push_back(KitFromRow(r));
  for (const auto& number : broken) {
    if (std::none_of(kits.begin(), kits.end(),
                     [&](const Kit& k) { return k.kit_number == number; })) {
      return Fail(ErrorCode::kInvalidInput, "kit " + number + " is not in shipment " + shipment.id);
    }
  }
  shipment.received_at = clock_();
  shipment.received_by = who.username;
  std::string reason;
  for (auto& k : kits) {
    shipment.kit_numbers.push_back(k.kit_number);
    if (k.status != KitStatus::kInTransit) continue;  // never: status changes skip in_transit
    k.status = broken.count(k.kit_number) ? KitStatus::kDamaged : KitStatus::kAvailable;
    if (k.status == KitStatus::kDamaged) reason += (reason.empty() ? "" : ", ") + k.kit_number;
  }
  if (!reason.empty()) reason = "damaged on arrival: " + reason;
  json event = {{"shipment", ShipmentJson(shipment)}, {"kits", StatesJson(kits)}};
  auto e =
      Append(tx, who.username, who.role,
             Pending{"kit.receive", "shipment", shipment.id, "", "", Canonical(event), reason});
  if (!e) return std::unexpected(e.error());
  auto upd = tx.Query(
      "UPDATE shipments SET received_at = $1, received_by = $2, audit_seq = $3 WHERE id = $4",
      {shipment.received_at, shipment.received_by, e->seq, shipment.id});
  if (!upd) return std::unexpected(upd.error());
  for (const auto& k : kits) {
    if (auto r = SaveKitState(tx, k, e->seq); !r) return std::unexpected(r.error());
  }
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return shipment;
}

Result<Kit> TrialStore::ChangeKitStatus(const std::string& actor, const std::string& kit_number,
                                        KitStatus to, const std::string& reason) {
  if (auto r = RequireKitNumber(kit_number); !r) return std::unexpected(r.error());
  if (to == KitStatus::kInTransit || to == KitStatus::kDispensed) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string("a kit cannot be set to ") + KitStatusName(to) +
                    ": the status changes to quarantined, available, damaged or destroyed only");
  }
  if (detail::Trim(reason).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a kit status change needs a reason: give --reason");
  }
  if (reason.size() > 2000) {
    return Fail(ErrorCode::kInvalidArgument, "the reason is longer than 2000 characters");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  auto loaded = LoadKit(tx, kit_number);
  if (!loaded) return std::unexpected(loaded.error());
  if (!*loaded) return Fail(ErrorCode::kNotFound, "unknown kit " + kit_number);
  Kit kit = **loaded;
  auto allowed = kit.site.empty() ? RequireDepotRole(who, "change the status of depot kits")
                                  : RequireSiteRole(who, kit.site, "change the status of kits");
  if (!allowed) return std::unexpected(allowed.error());
  const std::string k = "kit " + kit_number;
  const KitStatus from = kit.status;
  if (from == to) {
    return Fail(ErrorCode::kInvalidInput, k + " is already " + KitStatusName(to));
  }
  if (from == KitStatus::kInTransit) {
    return Fail(ErrorCode::kInvalidInput, k + " is in transit (shipment " + kit.shipment_id +
                                              "): receive the shipment first");
  }
  if (from == KitStatus::kDispensed) {
    return Fail(ErrorCode::kInvalidInput, k + " was dispensed: its status no longer changes");
  }
  if (!KitTransitionAllowed(from, to)) {
    return Fail(ErrorCode::kInvalidInput,
                k + " cannot go from " + KitStatusName(from) + " to " + KitStatusName(to));
  }
  kit.status = to;
  auto e = Append(
      tx, who.username, who.role,
      Pending{"kit.status", "kit", kit_number, "", Canonical(json{{"status", KitStatusName(from)}}),
              Canonical(json{{"kits", StatesJson({kit})}}), reason});
  if (!e) return std::unexpected(e.error());
  if (auto r = SaveKitState(tx, kit, e->seq); !r) return std::unexpected(r.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return kit;
}

Result<Dispensing> TrialStore::DispenseKit(const std::string& actor, int64_t subject_id,
                                           const std::string& visit, Date date,
                                           const std::string& request_id,
                                           const std::string& kit_number) {
  if (auto r = detail::RequireText(visit, "the visit"); !r) return std::unexpected(r.error());
  if (auto r = detail::RequireText(request_id, "the request id"); !r) {
    return std::unexpected(r.error());
  }
  if (request_id.rfind(kRandomizePrefix, 0) == 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "request ids starting with '" + kRandomizePrefix + "' are reserved");
  }
  if (!kit_number.empty()) {
    if (auto r = RequireKitNumber(kit_number); !r) return std::unexpected(r.error());
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  Transaction& tx = *write->tx;
  const User& who = write->actor;
  const std::string id = std::to_string(subject_id);
  // A retried request returns what the first one dispensed.
  auto retry = tx.Query(
      std::string("SELECT ") + kDispensingColumns + " FROM dispensings WHERE request_id = $1",
      {request_id});
  if (!retry) return std::unexpected(retry.error());
  if (!retry->empty()) {
    Dispensing d = DispensingFromRow((*retry)[0]);
    if (d.subject_id != subject_id || d.visit != visit) {
      return Fail(ErrorCode::kInvalidInput,
                  "request id '" + request_id + "' was already used for subject " +
                      std::to_string(d.subject_id) + " at visit " + d.visit);
    }
    return d;
  }
  auto subject = detail::LoadSubject(tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + id);
  const Subject& s = **subject;
  if (auto r = RequireSiteRole(who, s.site_id, "dispense kits"); !r) {
    return std::unexpected(r.error());
  }
  auto allocation = tx.Query(
      "SELECT s.arm, a.at FROM allocations a JOIN rand_slots s ON s.stratum = a.stratum AND "
      "s.position = a.position WHERE a.subject_id = $1",
      {subject_id});
  if (!allocation) return std::unexpected(allocation.error());
  if (allocation->empty()) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is not randomized: randomize first");
  }
  if (s.status != SubjectStatus::kRandomized) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is " + StatusName(s.status) +
                                              ": kits go to subjects on treatment only");
  }
  const std::string allocated_on = DayOf((*allocation)[0].Text(1));
  if (date.ToString() < allocated_on) {
    return Fail(ErrorCode::kInvalidInput, "the dose date " + date.ToString() +
                                              " is before subject " + id + "'s randomization on " +
                                              allocated_on);
  }
  auto d = DispenseInTx(tx, who, s, (*allocation)[0].Text(0), visit, date, request_id, kit_number);
  if (!d) return std::unexpected(d.error());
  if (auto c = tx.Commit(); !c) return std::unexpected(c.error());
  return d;
}

Result<Dispensing> TrialStore::DispenseInTx(Transaction& tx, const User& who,
                                            const Subject& subject, const std::string& arm,
                                            const std::string& visit, Date date,
                                            const std::string& request_id,
                                            const std::string& kit_number) {
  const std::string id = std::to_string(subject.id);
  auto done = tx.Query("SELECT kit_number FROM dispensings WHERE subject_id = $1 AND visit = $2",
                       {subject.id, visit});
  if (!done) return std::unexpected(done.error());
  if (!done->empty()) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " already received kit " +
                                              (*done)[0].Text(0) + " at visit " + visit);
  }
  Kit kit;
  if (!kit_number.empty()) {
    auto loaded = LoadKit(tx, kit_number);
    if (!loaded) return std::unexpected(loaded.error());
    if (!*loaded) return Fail(ErrorCode::kNotFound, "unknown kit " + kit_number);
    kit = **loaded;
    if (std::string why = Unusable(kit, subject, arm, date); !why.empty()) {
      return Fail(ErrorCode::kInvalidInput, why);
    }
  } else {
    auto picked = detail::PickKit(tx, subject.site_id, arm, date);
    if (!picked) return std::unexpected(picked.error());
    if (!*picked) {
      return Fail(ErrorCode::kInvalidInput, "no kit available for this subject at site " +
                                                subject.site_id + ": resupply the site");
    }
    auto loaded = LoadKit(tx, **picked);
    if (!loaded) return std::unexpected(loaded.error());
    if (!*loaded) return Fail(ErrorCode::kInternal, "kit " + **picked + " vanished");
    kit = **loaded;
  }
  Dispensing d{subject.id, visit, kit.kit_number, date, request_id, clock_(), who.username};
  kit.status = KitStatus::kDispensed;
  json event = {{"dispensing", DispensingJson(d)}, {"kits", StatesJson({kit})}};
  auto e =
      Append(tx, who.username, who.role,
             Pending{"kit.dispense", "dispensing", id + "/" + visit, id, "", Canonical(event), ""});
  if (!e) return std::unexpected(e.error());
  auto ins = tx.Query(
      "INSERT INTO dispensings (subject_id, visit, kit_number, dose_date, username, request_id, "
      "at, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {d.subject_id, d.visit, d.kit_number, d.date.ToString(), d.user, d.request_id, d.at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  if (auto r = SaveKitState(tx, kit, e->seq); !r) return std::unexpected(r.error());
  return d;
}

Result<std::string> TrialStore::DispenseFirstKit(Transaction& tx, const User& who,
                                                 const Subject& subject,
                                                 const Allocation& allocation,
                                                 const std::string& visit) {
  auto any = tx.Query("SELECT count(*) FROM kits");
  if (!any) return std::unexpected(any.error());
  if ((*any)[0].Int(0) == 0) return std::string();  // this trial dispenses no kits
  if (auto r = detail::RequireText(visit, "the first dose visit"); !r) {
    return std::unexpected(r.error());
  }
  auto arm = tx.Query("SELECT arm FROM rand_slots WHERE stratum = $1 AND position = $2",
                      {allocation.stratum, int64_t{allocation.position}});
  if (!arm) return std::unexpected(arm.error());
  auto day = Date::Parse(DayOf(allocation.at));
  // Randomize has just read this slot and the clock gives RFC 3339 instants: both always hold.
  if (arm->empty() || !day) {
    return Fail(ErrorCode::kInternal, "the allocated slot or the allocation date is unreadable");
  }
  auto d = DispenseInTx(tx, who, subject, (*arm)[0].Text(0), visit, *day,
                        kRandomizePrefix + allocation.request_id, "");
  if (!d) return std::unexpected(d.error());
  return d->kit_number;
}

// ---- reads ----

Result<std::vector<Kit>> TrialStore::Kits(const std::optional<std::string>& site) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  std::string sql = std::string("SELECT ") + kKitColumns + " FROM kits";
  std::vector<SqlValue> params;
  if (site) {
    sql += " WHERE site = $1";
    params.push_back(*site);
  }
  auto rows = (*tx)->Query(sql + " ORDER BY kit_number", params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Kit> out;
  for (const auto& r : *rows) out.push_back(KitFromRow(r));
  return out;
}

Result<std::vector<Shipment>> TrialStore::Shipments(const std::optional<std::string>& site) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  std::string sql = std::string("SELECT ") + kShipmentColumns + " FROM shipments";
  std::vector<SqlValue> params;
  if (site) {
    sql += " WHERE site = $1";
    params.push_back(*site);
  }
  auto rows = (*tx)->Query(sql + " ORDER BY id", params);
  if (!rows) return std::unexpected(rows.error());
  std::vector<Shipment> out;
  for (const auto& r : *rows) {
    Shipment s = ShipmentFromRow(r);
    auto kits = (*tx)->Query(
        "SELECT kit_number FROM kits WHERE shipment_id = $1 ORDER BY "
        "kit_number",
        {s.id});
    if (!kits) return std::unexpected(kits.error());
    for (const auto& k : *kits) s.kit_numbers.push_back(k.Text(0));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Dispensing>> TrialStore::Dispensings(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(std::string("SELECT ") + kDispensingColumns +
                               " FROM dispensings WHERE subject_id = $1 ORDER BY audit_seq",
                           {subject_id});
  if (!rows) return std::unexpected(rows.error());
  std::vector<Dispensing> out;
  for (const auto& r : *rows) out.push_back(DispensingFromRow(r));
  return out;
}

Result<SupplySnapshot> TrialStore::Supply(const std::optional<std::string>& site) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  SupplySnapshot out;
  std::string kit_sql = std::string("SELECT ") + kKitColumns + " FROM kits";
  std::string subject_sql =
      "SELECT a.subject_id, j.site_id, s.arm, a.at, (SELECT count(*) FROM dispensings d WHERE "
      "d.subject_id = a.subject_id), (SELECT status FROM subject_status t WHERE t.subject_id = "
      "a.subject_id ORDER BY version DESC LIMIT 1) FROM allocations a JOIN subjects j ON j.id = "
      "a.subject_id JOIN rand_slots s ON s.stratum = a.stratum AND s.position = a.position";
  std::vector<SqlValue> params;
  if (site) {
    kit_sql += " WHERE site = $1";
    subject_sql += " WHERE j.site_id = $1";
    params.push_back(*site);
  }
  auto kits = (*tx)->Query(kit_sql + " ORDER BY kit_number", params);
  if (!kits) return std::unexpected(kits.error());
  for (const auto& r : *kits) out.kits.push_back(KitFromRow(r));
  auto subjects = (*tx)->Query(subject_sql + " ORDER BY a.subject_id", params);
  if (!subjects) return std::unexpected(subjects.error());
  for (const auto& r : *subjects) {
    if (r.Text(5) != StatusName(SubjectStatus::kRandomized)) continue;  // off treatment
    out.subjects.push_back(DosingSubject{r.Int(0), r.Text(1), r.Text(2),
                                         Date::Parse(DayOf(r.Text(3))).value_or(Date()),
                                         static_cast<int>(r.Int(4))});
  }
  return out;
}

// ---- for Randomize and VerifyAudit (store_internal.h) ----

namespace detail {

std::string Who(const User& u) { return "user '" + u.username + "' (" + RoleName(u.role) + ")"; }

Result<std::optional<std::string>> PickKit(Transaction& tx, const std::string& site,
                                           const std::string& arm, Date date) {
  auto rows = tx.Query(
      "SELECT kit_number FROM kits WHERE site = $1 AND status = 'available' AND arm = $2 AND "
      "expiry > $3 ORDER BY expiry, kit_number LIMIT 1",
      {site, arm, date.ToString()});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>((*rows)[0].Text(0));
}

Result<std::string> FirstKitOf(Transaction& tx, const std::string& request_id) {
  auto rows = tx.Query("SELECT kit_number FROM dispensings WHERE request_id = $1",
                       {kRandomizePrefix + request_id});
  if (!rows) return std::unexpected(rows.error());
  return rows->empty() ? std::string() : (*rows)[0].Text(0);
}

Result<std::optional<RowProblem>> VerifyKitRows(Transaction& tx,
                                                const std::map<int64_t, std::string>& new_values,
                                                const std::map<int64_t, std::string>& entities) {
  using Problem = std::optional<RowProblem>;
  auto problem = [](int64_t seq, std::string what) { return Problem(RowProblem{seq, what}); };
  // What the events say: each kit's latest state, each shipment's latest row, each batch's hash,
  // each dispensing.
  struct Recorded {
    int64_t seq = 0;
    std::string value;  // canonical JSON
  };
  std::map<std::string, Recorded> kit_state, shipment_row;
  std::map<int64_t, std::string> batch_sha;   // generate event -> kits_sha256
  std::map<int64_t, std::string> dispensing;  // dispense event -> the dispensing row
  for (const auto& [seq, entity] : entities) {
    if (entity != "kit_batch" && entity != "shipment" && entity != "kit" &&
        entity != "dispensing") {
      continue;
    }
    json j = json::parse(new_values.at(seq), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("kits") || !j["kits"].is_array()) {
      return problem(seq, "audit event " + std::to_string(seq) + " (" + entity +
                              ") does not record the kits it changed");
    }
    for (const auto& k : j["kits"]) {
      kit_state[k.value("kit_number", "")] = Recorded{seq, Canonical(k)};
    }
    if (entity == "kit_batch") batch_sha[seq] = j.value("kits_sha256", "");
    if (entity == "shipment" && j.contains("shipment")) {
      shipment_row[j["shipment"].value("id", "")] = Recorded{seq, Canonical(j["shipment"])};
    }
    if (entity == "dispensing" && j.contains("dispensing")) {
      dispensing[seq] = Canonical(j["dispensing"]);
    }
  }
  // Kits: the current state against the latest event about the kit; number, arm, lot and expiry
  // against the batch hash of the generating event.
  auto kits = tx.Query(
      "SELECT kit_number, arm, lot, expiry, status, site, shipment_id, generated_seq, audit_seq "
      "FROM kits ORDER BY kit_number");
  if (!kits) return std::unexpected(kits.error());
  std::map<int64_t, std::vector<std::string>> batches;
  std::set<std::string> present;
  for (const auto& r : *kits) {
    const std::string number = r.Text(0);
    present.insert(number);
    batches[r.Int(7)].push_back(BatchLine(number, r.Text(1), r.Text(2), r.Text(3)));
    auto it = kit_state.find(number);
    if (it == kit_state.end()) {
      return problem(r.Int(8), "kit " + number + " refers to audit event " + r.Text(8) +
                                   ", which did not write it");
    }
    const std::string state = Canonical(KitStateJson(number, r.Text(4), r.Text(5), r.Text(6)));
    if (it->second.seq != r.Int(8) || it->second.value != state) {
      return problem(it->second.seq, "kit " + number +
                                         " was changed behind the system's back: it differs "
                                         "from audit event " +
                                         std::to_string(it->second.seq));
    }
  }
  for (const auto& [seq, lines] : batches) {
    auto it = batch_sha.find(seq);
    if (it == batch_sha.end()) {
      return problem(seq, "kits refer to audit event " + std::to_string(seq) +
                              " as their generation, which it is not");
    }
    if (it->second != BatchSha256(lines)) {
      return problem(seq, "the kits generated by audit event " + std::to_string(seq) +
                              " were changed behind the system's back (a number, arm, lot or "
                              "expiry differs from audit event " +
                              std::to_string(seq) + ")");
    }
  }
  for (const auto& [number, recorded] : kit_state) {
    if (!present.count(number)) {
      return problem(recorded.seq, "kit " + number + " written by audit event " +
                                       std::to_string(recorded.seq) +
                                       " is missing from the database (deleted behind the "
                                       "system's back)");
    }
  }
  for (const auto& [seq, sha] : batch_sha) {
    if (!batches.count(seq)) {
      return problem(seq, "the kits generated by audit event " + std::to_string(seq) +
                              " are missing from the database");
    }
  }
  // Shipments: against the latest event about the shipment (its receipt once received).
  auto shipments = tx.Query(std::string("SELECT ") + kShipmentColumns +
                            ", audit_seq FROM shipments ORDER BY id");
  if (!shipments) return std::unexpected(shipments.error());
  std::set<std::string> shipment_ids;
  for (const auto& r : *shipments) {
    Shipment s = ShipmentFromRow(r);
    shipment_ids.insert(s.id);
    auto it = shipment_row.find(s.id);
    if (it == shipment_row.end()) {
      return problem(r.Int(6), "shipment " + s.id + " refers to audit event " + r.Text(6) +
                                   ", which did not write it");
    }
    if (it->second.seq != r.Int(6) || it->second.value != Canonical(ShipmentJson(s))) {
      return problem(it->second.seq, "shipment " + s.id +
                                         " was changed behind the system's back: it differs "
                                         "from audit event " +
                                         std::to_string(it->second.seq));
    }
  }
  for (const auto& [id, recorded] : shipment_row) {
    if (!shipment_ids.count(id)) {
      return problem(recorded.seq, "shipment " + id + " written by audit event " +
                                       std::to_string(recorded.seq) +
                                       " is missing from the database");
    }
  }
  // Dispensings: each against the event that wrote it.
  auto rows = tx.Query(std::string("SELECT ") + kDispensingColumns +
                       ", audit_seq FROM dispensings ORDER BY audit_seq");
  if (!rows) return std::unexpected(rows.error());
  std::set<int64_t> dispensed;
  for (const auto& r : *rows) {
    Dispensing d = DispensingFromRow(r);
    const int64_t seq = r.Int(7);
    const std::string what = "the dispensing of kit " + d.kit_number + " to subject " +
                             std::to_string(d.subject_id) + " at visit " + d.visit;
    auto it = dispensing.find(seq);
    if (it == dispensing.end()) {
      return problem(
          seq, what + " refers to audit event " + std::to_string(seq) + ", which did not write it");
    }
    json row = DispensingJson(d);
    row["date"] = r.Text(3);  // as stored, even if it is no date any more
    if (it->second != Canonical(row)) {
      return problem(seq, what +
                              " was changed behind the system's back: it differs from audit "
                              "event " +
                              std::to_string(seq));
    }
    dispensed.insert(seq);
  }
  for (const auto& [seq, value] : dispensing) {
    if (!dispensed.count(seq)) {
      return problem(seq, "the dispensing written by audit event " + std::to_string(seq) +
                              " is missing from the database (deleted behind the system's back)");
    }
  }
  return Problem();
}

}  // namespace detail
}  // namespace trial::store
