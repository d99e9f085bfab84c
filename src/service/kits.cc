#include "service/kits.h"

#include <algorithm>
#include <map>
#include <set>

#include "service/access.h"

namespace trial::service {

namespace {

namespace rnd = trial::randomization;

constexpr int kMaxKits = 10000;

int RatioSum(const protocol::Protocol& p) {
  int sum = 0;
  for (const auto& a : p.arms) sum += a.ratio;
  return sum;
}

// "2 (TCZ:PBO = 1:1)"
std::string RatioText(const protocol::Protocol& p) {
  std::string ids, ratios;
  for (const auto& a : p.arms) {
    ids += (ids.empty() ? "" : ":") + a.id;
    ratios += (ratios.empty() ? "" : ":") + std::to_string(a.ratio);
  }
  return std::to_string(RatioSum(p)) + " (" + ids + " = " + ratios + ")";
}

Result<void> RequireCount(const protocol::Protocol& p, int count, const std::string& what) {
  const int sum = RatioSum(p);
  if (count < 1 || count > kMaxKits || sum < 1 || count % sum != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "the " + what + " count must be a multiple of the arms' ratio sum " + RatioText(p) +
                    " from 1 to " + std::to_string(kMaxKits) + ", not " + std::to_string(count));
  }
  return {};
}

}  // namespace

Result<std::vector<store::Kit>> GenerateKits(store::TrialStore& store,
                                             const protocol::Protocol& protocol,
                                             const std::string& actor, int count,
                                             const std::string& lot, Date expiry,
                                             const rnd::Seed& seed) {
  if (auto r = RequireCount(protocol, count, "kit"); !r) return std::unexpected(r.error());
  // The arms in ratio, shuffled.
  std::vector<std::string> arms;
  const int blocks = count / RatioSum(protocol);
  for (const auto& a : protocol.arms) arms.insert(arms.end(), a.ratio * blocks, a.id);
  rnd::Random random(seed);
  for (int i = static_cast<int>(arms.size()) - 1; i > 0; --i) {
    std::swap(arms[static_cast<size_t>(i)], arms[static_cast<size_t>(random.Uniform(i + 1))]);
  }
  // Numbers: uniform over the d-digit numbers (no leading 0), skipping those in use.
  auto existing = store.Kits(std::nullopt);
  if (!existing) return std::unexpected(existing.error());
  std::set<std::string> used;
  for (const auto& k : *existing) used.insert(k.kit_number);
  int low = 1;
  for (int i = 1; i < protocol.kits.kit_number_digits; ++i) low *= 10;
  const int span = 9 * low;  // d digits: [10^(d-1), 10^d)
  if (static_cast<int64_t>(used.size()) + count > span / 2) {
    return Fail(ErrorCode::kInvalidInput,
                "kit numbers of " + std::to_string(protocol.kits.kit_number_digits) +
                    " digits are running out (" + std::to_string(used.size()) +
                    " in use): raise kit_number_digits in kits.yaml");
  }
  std::vector<store::NewKit> kits;
  for (const auto& arm : arms) {
    std::string number;
    do {
      number = "K-" + std::to_string(low + random.Uniform(span));
    } while (!used.insert(number).second);
    kits.push_back(store::NewKit{number, arm});
  }
  return store.GenerateKits(actor, std::move(kits), lot, expiry);
}

Result<store::Shipment> ShipKitCount(store::TrialStore& store, const protocol::Protocol& protocol,
                                     const std::string& actor, const std::string& site, int count) {
  if (auto r = RequireCount(protocol, count, "shipment"); !r) return std::unexpected(r.error());
  store::ShipmentRequest request;
  for (const auto& a : protocol.arms) {
    request.per_arm.emplace_back(a.id, a.ratio * (count / RatioSum(protocol)));
  }
  return store.ShipKits(actor, site, request);
}

Result<KitListing> ListKits(store::TrialStore& store, const std::string& actor,
                            const std::optional<std::string>& site) {
  auto reader = ReaderOf(store, actor, site, "the kits");
  if (!reader) return std::unexpected(reader.error());
  auto kits = store.Kits(site);
  if (!kits) return std::unexpected(kits.error());
  KitListing out;
  out.arms_shown = store::SeesArms(reader->user.role);
  for (auto& k : *kits) {
    if (!reader->Sees(k.site)) continue;
    if (!out.arms_shown) k.arm.clear();
    out.kits.push_back(std::move(k));
  }
  return out;
}

SiteStock StockOf(const protocol::Protocol& protocol, const std::string& site, Date on,
                  const store::SupplySnapshot& snapshot) {
  const protocol::KitSupply& supply = protocol.kits;
  const Date horizon_end = on.AddDays(supply.horizon_days);
  SiteStock out;
  out.site = site;
  std::map<std::string, size_t> index;  // arm id -> position in out.arms
  for (const auto& a : protocol.arms) {
    index[a.id] = out.arms.size();
    out.arms.push_back(ArmStock{a.id, 0, supply.buffer_per_arm});
  }
  for (const auto& k : snapshot.kits) {
    if (k.site != site || k.status != store::KitStatus::kAvailable || k.expiry <= horizon_end) {
      continue;
    }
    ++out.available;
    if (auto it = index.find(k.arm); it != index.end()) ++out.arms[it->second].available;
  }
  for (const auto& s : snapshot.subjects) {
    auto it = index.find(s.arm);
    if (s.site != site || it == index.end()) continue;
    // Doses are dispensed in order: the first doses_dispensed of them are done.
    for (size_t i = static_cast<size_t>(std::max(s.doses_dispensed, 0));
         i < supply.dose_days.size(); ++i) {
      const Date due = s.allocated_on.AddDays(supply.dose_days[i]);
      if (on <= due && due <= horizon_end) ++out.arms[it->second].needed;
    }
  }
  out.low = std::any_of(out.arms.begin(), out.arms.end(),
                        [](const ArmStock& a) { return a.available < a.needed; });
  return out;
}

Result<StockReport> KitStock(store::TrialStore& store, const protocol::Protocol& protocol,
                             const std::string& actor, Date on,
                             const std::optional<std::string>& site) {
  auto reader = ReaderOf(store, actor, site, "the kits");
  if (!reader) return std::unexpected(reader.error());
  std::vector<std::string> sites;
  if (reader->sites) {
    sites = *reader->sites;
  } else {
    auto all = store.Sites();
    if (!all) return std::unexpected(all.error());
    for (const auto& s : *all) sites.push_back(s.id);
  }
  std::sort(sites.begin(), sites.end());
  auto snapshot = store.Supply(site);
  if (!snapshot) return std::unexpected(snapshot.error());
  StockReport out;
  out.arms_shown = store::SeesArms(reader->user.role);
  for (const auto& s : sites) {
    SiteStock stock = StockOf(protocol, s, on, *snapshot);
    if (!out.arms_shown) stock.arms.clear();
    out.sites.push_back(std::move(stock));
  }
  return out;
}

}  // namespace trial::service
