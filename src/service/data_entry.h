// eCRF data entry (docs/ecrf.md): one item, or a file of items for one visit, validated against
// forms.yaml, checked by the edit checks of the visit, and stored as item versions
// (store::TrialStore::RecordItem, or RecordItems for a file: one transaction; audited there). Every
// query finding about an item that has a value is opened as a store query (OpenQueries), unless the
// same edit check already has an open or answered query on that item; findings about items without
// a value (a missing required item) are returned only.
//
// The subject's data for the edit checks is read back from the store item by item
// (TrialStore::ItemHistory) for the visit entered and the visits before it in schedule order.
// Thread-safety: as the TrialStore passed in (one per thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "ecrf/ecrf.h"
#include "protocol/protocol.h"
#include "store/store.h"

namespace trial::service {

struct EntryOutcome {
  store::ItemVersion stored;
  // The edit-check findings of the visit after the value was stored (queries to open; a reject
  // finding here is about another item, already stored before).
  std::vector<ecrf::Finding> findings;
  std::vector<store::QueryRecord> queries;  // the queries opened for them (OpenQueries)
  // The safety alerts the visit's data raised (RaiseSignalAlerts, service/safety.h), and why
  // none could be evaluated ("" when they were): the value is stored either way, and
  // `trial alert scan` evaluates them again.
  std::vector<store::AlertRecord> alerts;
  std::string alert_error;
};

// Validates and stores `value` for item `item` of form `form` at `visit` of subject `subject_id`
// (instance `repeat` of a repeating form, else 0), as `actor` with `reason` (required by the
// store when the item has a value already). Rejected, with nothing stored:
//   kNotFound         unknown subject, form or item
//   kInvalidArgument  a visit the schedule does not know, a visit that does not collect the form,
//                     a repeat of a form that does not repeat, a value that ecrf::ValidateValue
//                     rejects (type, unit, hard range), or a `reject` edit check about this item
//                     firing with the new value ("rejected by edit check ID: message")
//   kInvalidInput     the protocol has no forms
// and the store's errors (permissions, missing reason, database).
Result<EntryOutcome> SetItem(store::TrialStore& store, const protocol::Protocol& protocol,
                             const std::string& actor, int64_t subject_id, const std::string& visit,
                             const std::string& form, const std::string& item,
                             const std::string& value, const std::string& reason, int repeat = 0);

// One entry of an import file.
struct ImportEntry {
  std::string form;
  std::string item;
  std::string value;
  int repeat = 0;
};

struct ImportOutcome {
  // Every problem found, each "form.item: what" (or about the file); empty when stored.
  std::vector<std::string> rejected;
  std::vector<store::ItemVersion> stored;   // in file order, empty when rejected
  std::vector<ecrf::Finding> findings;      // of the visit after storing
  std::vector<store::QueryRecord> queries;  // opened for them (OpenQueries)
  std::vector<store::AlertRecord> alerts;   // as EntryOutcome::alerts
  std::string alert_error;
};

// Parses an import file: a JSON array of {"form", "item", "value"[, "repeat"]} objects (value a
// string or a number). kParse for malformed JSON or entries, naming the entry.
Result<std::vector<ImportEntry>> ParseImport(const std::string& json_text);

// All or nothing: validates every entry first (as SetItem does, with the edit checks run on the
// visit with all new values together; an entry listed twice, and an item that has a value
// already while `reason` is empty, are refused too). With any problem, nothing is stored and
// ImportOutcome::rejected lists them all. Otherwise stores every entry in file order in ONE store
// transaction (TrialStore::RecordItems): a write the store refuses (a locked item, no access, a
// database failure) stores none of them and is returned as its error. Errors (nothing stored):
// kNotFound for an unknown subject, kInvalidArgument for an unknown visit, kInvalidInput without
// forms, and the store's errors. The queries for the findings are opened after the items are
// stored, each in its own transaction (OpenQueries).
Result<ImportOutcome> ImportItems(store::TrialStore& store, const protocol::Protocol& protocol,
                                  const std::string& actor, int64_t subject_id,
                                  const std::string& visit, const std::vector<ImportEntry>& entries,
                                  const std::string& reason);

// Opens a store query, as `actor` and naming the edit check, for every query-severity finding on
// each of its items that has a value at the finding's visit (`visit` when the finding has none),
// unless that edit check already has an open or answered query on the item. Returns the queries
// opened. Each is its own audited transaction (TrialStore::OpenQuery).
Result<std::vector<store::QueryRecord>> OpenQueries(store::TrialStore& store,
                                                    const std::string& actor, int64_t subject_id,
                                                    const std::string& visit,
                                                    const std::vector<ecrf::Finding>& findings);

// The subject's stored eCRF data at `visit` and the visits before it (schedule order, the
// unscheduled visit last), each item's latest version. kNotFound for an unknown visit.
Result<ecrf::SubjectData> LoadSubjectData(store::TrialStore& store,
                                          const protocol::Protocol& protocol, int64_t subject_id,
                                          const std::string& visit);

}  // namespace trial::service
