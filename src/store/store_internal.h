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

// An append-only table whose every row is written by its own audit event, whose new_value is the
// row as canonical JSON (every column but audit_seq, integers as numbers): its audit entity and
// its columns (audit_seq excluded), in order. TrialStore::InsertAudited writes such rows and
// VerifyTables checks them (visit_store.cc; the tables of migrations 4 and 5).
struct Column {
  const char* name;
  bool integer;
};
struct TableDef {
  const char* table;
  const char* entity;
  std::vector<Column> columns;
};
std::string ColumnList(const TableDef& t);
// The audited form of a row: {column: value}, integers as numbers.
nlohmann::json RowJson(const TableDef& t, const std::vector<SqlValue>& values);
// A row read back with the columns of `t` (then audit_seq), typed as `t` says.
std::vector<SqlValue> TypedValues(const TableDef& t, const Row& r);
// Checks every row of `tables` against the event that wrote it and that every event of their
// entities still has its row; the first problem found, if any.
Result<std::optional<RowProblem>> VerifyTables(Transaction& tx,
                                               const std::vector<const TableDef*>& tables,
                                               const std::map<int64_t, std::string>& new_values,
                                               const std::map<int64_t, std::string>& entities);
// Adverse events, SAE reports, alerts, SAE notifications and deliveries (safety_store.cc).
Result<std::optional<RowProblem>> VerifySafetyRows(Transaction& tx,
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
// `who` holds one of `roles` and, for a site-scoped role, works at `site`; else kInvalidArgument
// "user 'x' (monitor) may not DOING at site 'S1': investigators and coordinators (of the site)
// only" (visit_store.cc).
Result<void> RequireRoleAtSite(const User& who, const std::string& site,
                               const std::vector<Role>& roles, const std::string& doing);
// "user 'x' (coordinator)"
std::string Who(const User& u);

}  // namespace detail

// One row to write with its audit event (TrialStore::InsertAudited, visit_store.cc).
struct TrialStore::AuditedRow {
  const detail::TableDef* table = nullptr;
  std::vector<SqlValue> values;  // one per column of `table`, integers as int64_t
  std::string action;
  std::string entity_id;
  std::string subject_id;
  std::string old_value;
  std::string reason;
};

}  // namespace trial::store
