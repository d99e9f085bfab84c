// Internal to the store module: helpers shared by store.cc, randomization_store.cc and
// kit_store.cc.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/sql.h"
#include "store/store.h"

namespace trial::store {

// An audit event being written (TrialStore::Append).
struct TrialStore::Pending {
  std::string action;
  std::string entity;
  std::string entity_id;
  std::string subject_id;
  std::string old_value;
  std::string new_value;
  std::string reason;
};

namespace detail {

std::string Canonical(const nlohmann::json& j);
std::string Trim(const std::string& s);
Result<void> RequireText(const std::string& value, const char* what);
Result<void> LockChain(Transaction& tx, Backend backend);
Result<void> RequireSiteAccess(const User& actor, const std::string& site);
Result<void> RequireAdministrator(const User& actor);
Result<std::optional<Subject>> LoadSubject(Transaction& tx, int64_t id);
Result<int> NextStatusVersion(Transaction& tx, int64_t subject);
nlohmann::json StatusJson(int64_t subject, int version, const std::string& status,
                          const std::string& at);

// The audited form of randomization rows (randomization_store.cc), shared with VerifyAudit.
nlohmann::json GoLiveJson(const std::string& seed_hex, const std::string& design,
                          const std::string& commitment, const std::string& at,
                          const std::vector<RandSlot>& slots);
// `drawn_arm`: the arm a minimization drew for this allocation ("" for list allocations).
nlohmann::json AllocationJson(const Allocation& a, const std::string& drawn_arm);
nlohmann::json ExtensionJson(int64_t id, const std::string& commitment, const std::string& at,
                             const std::vector<RandSlot>& slots);
struct NotificationRow {
  int64_t id = 0;
  std::string kind;
  std::string recipient;
  std::string body;
  std::string created_at;
};
nlohmann::json UnblindJson(int64_t id, int64_t subject_id, const std::string& user,
                           const std::string& reason, const std::string& at, const std::string& arm,
                           const std::vector<NotificationRow>& notes);

// Drug kits (kit_store.cc), for Randomize and VerifyAudit.
// The kit Randomize handed out for `request_id` ("" when none).
Result<std::string> FirstKitOf(Transaction& tx, const std::string& request_id);
struct RowProblem {
  int64_t seq = 0;
  std::string what;
};
// Checks every kit, shipment and dispensing row against the events (seq -> new_value, entity)
// that wrote them; returns the first problem found, if any.
Result<std::optional<RowProblem>> VerifyKitRows(Transaction& tx,
                                                const std::map<int64_t, std::string>& new_values,
                                                const std::map<int64_t, std::string>& entities);

// Visits, doses, queries, reviews and signatures (visit_store.cc).
// Why `key` cannot change: "" when it can, else the message naming the locked item.
Result<std::string> LockedItemProblem(Transaction& tx, const ItemKey& key);
// Checks every row of the migration-4 tables against the event that wrote it and that every such
// event still has its row; returns the first problem found, if any.
Result<std::optional<RowProblem>> VerifyVisitRows(Transaction& tx,
                                                  const std::map<int64_t, std::string>& new_values,
                                                  const std::map<int64_t, std::string>& entities);
// The kit DispenseInTx picks at `site` for `arm` on `date` (kit_store.cc): the available kit
// expiring after `date`, earliest expiry first, then by number; nullopt when there is none.
Result<std::optional<std::string>> PickKit(Transaction& tx, const std::string& site,
                                           const std::string& arm, Date date);
// "user 'x' (coordinator)"
std::string Who(const User& u);

}  // namespace detail
}  // namespace trial::store
