// The trial store: the system's memory, shaped around its use cases. Sites, users, subjects and
// their status lifecycle, stored screening evaluations and eCRF item data kept as versions, each
// change appended to a hash-chained audit trail in the same transaction (docs/audit.md).
//
// Written once against the narrow SQL interface of sql.h; runs on SQLite (store/sqlite) and
// PostgreSQL (store/postgres). Nothing is updated in place or deleted: a correction is a new
// version with a reason, a status change is a new event. (Drug kits and shipments are the
// exception: their row holds the current state and points at the event that last changed it; their
// history is that of their events, docs/kits.md.)
//
// Every write method: validates its input, then in ONE write transaction checks the database
// state, writes, and appends the audit event; on any error nothing is stored. Errors:
//   kInvalidArgument  bad input (empty id, unknown role, missing reason, forbidden transition)
//   kNotFound         unknown site, user or subject
//   kInvalidInput     a duplicate (site id, username, screening number at a site)
//   kIo               the database failed or stayed locked
// Thread-safety: one TrialStore per thread; many processes may share one database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/date.h"
#include "core/error.h"
#include "store/sql.h"

namespace trial::store {

// ---- roles (ARCHITECTURE.md §6); persisted by name ----
enum class Role : uint8_t {
  kAdministrator,
  kInvestigator,
  kCoordinator,
  kUnblindedPharmacist,
  kMonitor,
  kDataManager,
  kBlindedStatistician,
  kUnblindedStatistician,
  kDsmbMember,
  kSponsorViewer,
  kSystem,  // the system itself (migrations, automatic transitions)
};
const char* RoleName(Role r);  // "investigator", "unblinded_pharmacist", ...
std::optional<Role> ParseRole(std::string_view name);
// Roles whose users work at named sites only (coordinator, investigator, pharmacist, monitor).
bool IsSiteScoped(Role r);
// Roles unblinded by design (unblinded pharmacist, unblinded statistician): they may see arms.
// Every other role sees an arm only for one subject through an audited emergency unblinding.
bool SeesArms(Role r);

// ---- subject lifecycle ----
enum class SubjectStatus : uint8_t {
  kScreening,
  kScreenFailed,
  kEligible,
  kRandomized,
  kCompleted,
  kWithdrawn,
  kLostToFollowUp,
};
const char* StatusName(SubjectStatus s);  // "screening", "screen_failed", "lost_to_follow_up"
std::optional<SubjectStatus> ParseStatus(std::string_view name);
// screening -> screen_failed | eligible (| screening again after a new screening);
// screen_failed -> screening (rescreen) ; eligible -> randomized | screen_failed | screening;
// randomized -> completed | withdrawn | lost_to_follow_up. Everything else is forbidden.
bool TransitionAllowed(SubjectStatus from, SubjectStatus to);
// Withdrawal, loss to follow-up, rescreening and a screen failure after eligibility need a reason.
bool TransitionNeedsReason(SubjectStatus from, SubjectStatus to);

// ---- records ----
struct Site {
  std::string id;  // short code, e.g. "PUMCH"
  std::string name;
};

struct User {
  std::string username;
  std::string display_name;
  Role role = Role::kCoordinator;
  std::vector<std::string> sites;  // required for site-scoped roles, else empty
};

struct Subject {
  int64_t id = 0;
  std::string site_id;
  std::string screening_number;  // unique per site
  SubjectStatus status = SubjectStatus::kScreening;
  std::string created_at;  // UTC, RFC 3339 with microseconds
};

struct ScreeningRecord {
  int64_t id = 0;
  int64_t subject_id = 0;
  std::string bundle_json;    // the input bundle as received
  std::string bundle_sha256;  // hex, computed by the store
  std::string protocol_id;
  std::string protocol_version;
  Date screening_date;
  Date randomization_date;
  std::string verdict;       // eligible | ineligible | incomplete
  std::string results_json;  // the 26 results as `trial screen` prints them
  std::string created_at;
  std::string user;
};

// Where an eCRF item lives.
struct ItemKey {
  int64_t subject_id = 0;
  std::string visit;  // e.g. "W2"
  std::string form;   // e.g. "vitals"
  int repeat = 0;     // repeating groups, 0 for the first
  std::string item;   // e.g. "weight"
};

struct ItemVersion {
  ItemKey key;
  int version = 0;     // 1, 2, ...
  std::string value;   // as entered (text); empty with `cleared`
  std::string reason;  // required from version 2 on
  std::string user;
  std::string at;
  // Written by RecordItem only: the signatures this change voided, for people ("signature of
  // visit W2 by Dr X voided").
  std::vector<std::string> voided_signatures;
};

// One item version to write with TrialStore::RecordItems.
struct ItemWrite {
  ItemKey key;
  std::string value;
};

// ---- sign-in (docs/access.md) ----
struct Credential {
  std::string username;
  std::string hash;          // Argon2id, PHC encoded string ("$argon2id$v=19$m=...")
  int failures = 0;          // wrong passwords in a row
  int64_t locked_until = 0;  // Unix seconds; 0 = not locked
};
struct Session {
  std::string token_hash;  // SHA-256 hex of the cookie value
  std::string username;
  std::string csrf;  // the session's CSRF token (sent back in forms and X-CSRF-Token)
  int64_t created = 0, expires = 0, last_seen = 0;  // Unix seconds
  bool ended = false;
};
struct ApiToken {
  std::string token_hash;  // SHA-256 hex of the bearer token
  std::string username;
  std::string label;
  std::string created_at;
  bool revoked = false;
};

// ---- the audit trail (docs/audit.md) ----
struct AuditEvent {
  int64_t seq = 0;
  std::string at;  // UTC instant, RFC 3339 with microseconds
  std::string user;
  std::string role;
  std::string
      action;  // site.add, user.add, subject.add, subject.status, screening.save, item.record
  std::string entity;      // site | user | subject | screening | item
  std::string entity_id;   // the entity's key as text
  std::string subject_id;  // the subject concerned, when there is one (for filters)
  std::string old_value;   // canonical JSON, "" when none
  std::string new_value;   // canonical JSON
  std::string reason;
  std::string prev_hash;  // hex SHA-256 of the previous event ("0"*64 for the first)
  std::string hash;       // hex SHA-256 of this event's canonical form
};

struct AuditFilter {
  std::optional<int64_t> subject_id;
  std::optional<std::string> user;
  std::optional<std::string> from;  // UTC instants, inclusive
  std::optional<std::string> to;
  int64_t after_seq = 0;  // for paging
  int limit = 1000;
};

// ---- randomization (docs/randomization.md; written by service/randomization.h) ----
// One entry of a stratum's allocation list, as generated by the engine at go-live.
struct RandSlot {
  std::string stratum;  // the design's stratum key, e.g. "site=S1,ild_at_baseline=present"
  int position = 0;     // 1-based within the stratum
  int block = 0;
  int block_size = 0;
  std::string arm;  // arm id: never shown on blinded paths
  // Read back only: the event that wrote the slot (go-live, an extension, or under minimization
  // the allocation that drew it; such slots have block 0 and block_size 0).
  int64_t audit_seq = 0;
};

// A list extension recorded after go-live (new blocks for a stratum, or the list of a new site).
struct RandExtension {
  int64_t id = 0;
  std::string commitment;  // Commitment of the extension's own slots
  std::string at;
  int64_t audit_seq = 0;
};

// What go-live recorded: enough to recompute and verify the commitment.
struct RandSetup {
  std::string seed_hex;
  std::string design;  // the engine's canonical Describe() text
  std::string commitment;
  std::string golive_at;
  int64_t audit_seq = 0;
  std::vector<RandSlot> slots;            // sorted by stratum (bytewise), then position
  std::vector<RandExtension> extensions;  // oldest first
};

// Under minimization the arm of each allocation is drawn at allocation time, inside the
// allocating transaction: the store passes the go-live seed, every prior allocation in allocation
// order and the new allocation's ordinal (1-based) to a chooser that returns the arm id.
struct PriorArm {
  std::string stratum;
  std::string arm;
};
using ArmChooser = std::function<Result<std::string>(
    const std::string& seed_hex, const std::vector<PriorArm>& prior, int64_t ordinal)>;

// A subject's allocation, without its arm.
struct Allocation {
  int64_t subject_id = 0;
  std::string randomization_number;  // R-0001, R-0002, ... in allocation order
  std::string stratum;
  int position = 0;
  std::string request_id;
  std::string at;
  std::string user;
  std::string kit_number;  // the kit handed out with it (docs/kits.md); "" when no kits are used
};

struct Notification {
  int64_t id = 0;
  std::string kind;       // e.g. "unblind.emergency"
  std::string recipient;  // sponsor | medical_monitor
  std::string body;
  std::string created_at;
  std::string delivered_at;  // "" while queued
  int64_t audit_seq = 0;
};

// ---- drug kits (docs/kits.md; store/kit_store.cc, written by service/kits.h) ----
// Persisted by name: available, in_transit, quarantined, damaged, destroyed, dispensed.
enum class KitStatus : uint8_t {
  kAvailable,    // at the depot, or received at a site
  kInTransit,    // shipped, not yet received
  kQuarantined,  // held (e.g. temperature excursion) until released or written off
  kDamaged,
  kDestroyed,  // expired or otherwise destroyed
  kDispensed,
};
const char* KitStatusName(KitStatus s);
std::optional<KitStatus> ParseKitStatus(std::string_view name);
// The changes `ChangeKitStatus` makes: available -> quarantined | damaged | destroyed;
// quarantined -> available (release) | damaged | destroyed; damaged -> destroyed. Shipping,
// receipt and dispensing make the others.
bool KitTransitionAllowed(KitStatus from, KitStatus to);

struct NewKit {
  std::string kit_number;  // K-123456
  std::string arm;
};

struct Kit {
  std::string kit_number;
  std::string arm;  // for unblinded paths only: service/kits.h blinds listings by role
  std::string lot;
  Date expiry;  // usable up to the day before
  KitStatus status = KitStatus::kAvailable;
  std::string site;         // "" at the depot
  std::string shipment_id;  // "" until shipped
};

struct Shipment {
  std::string id;  // SH-0001, SH-0002, ...
  std::string site;
  std::string shipped_at;
  std::string shipped_by;
  std::string received_at;  // "" until received
  std::string received_by;
  std::vector<std::string> kit_numbers;  // sorted
};

// What to ship: either the kits named, or, per arm, that many kits picked at the depot.
struct ShipmentRequest {
  std::vector<std::string> kit_numbers;
  std::vector<std::pair<std::string, int>> per_arm;  // arm id, count
};

struct Dispensing {
  int64_t subject_id = 0;
  std::string visit;
  std::string kit_number;
  Date date;  // the dose date
  std::string request_id;
  std::string at;
  std::string user;
};

// A randomized subject still on treatment, for the supply forecast (never shown to blinded roles).
struct DosingSubject {
  int64_t subject_id = 0;
  std::string site;
  std::string arm;
  Date allocated_on;
  int doses_dispensed = 0;
};

// One consistent read of what the low-stock signal needs.
struct SupplySnapshot {
  std::vector<Kit> kits;
  std::vector<DosingSubject> subjects;
};

// ---- visits, doses, deviations, queries, reviews, signatures (store/visit_store.cc) ----
// Written by service/visits.h (docs/schedule.md, docs/queries.md). Every row is append-only and
// points at the event that wrote it; a current state (a query's status, an item's review state,
// a signature's validity) is the latest row about it.

// A visit as recorded: done on `date`, or missed with a reason. An unscheduled visit is stored
// under the protocol's unscheduled id numbered in order: UNS-1, UNS-2, ...
struct VisitEntry {
  int64_t subject_id = 0;
  std::string visit;
  std::optional<Date> date;  // empty when missed
  bool missed = false;
  std::string reason;  // why it was missed
  std::string user;
  std::string at;
};

// A protocol deviation found by the schedule engine or the dosing checks. Kinds, persisted by
// name: visit_out_of_window, visit_missed, dose_missed, dose_against_hold.
struct NewDeviation {
  std::string kind;
  std::string visit;
  Date date;
  int days_outside = 0;
  std::string description;
};
struct DeviationRecord {
  int64_t id = 0;
  int64_t subject_id = 0;
  std::string site;  // read back only
  NewDeviation deviation;
  std::string found_by;  // the write that revealed it: "visit 7/W4", "dose 7/W2"
  std::string at;
};

// A dose given (`given`) or withheld by the hold rules at a dosing visit.
struct DoseEntry {
  int64_t subject_id = 0;
  std::string visit;
  Date date;
  bool given = true;
  std::string level;       // "full" | "reduced" ("" when withheld)
  int64_t dose_ug = 0;     // 0 when withheld
  std::string weight;      // the weight used, as stored ("62.5 kg"); "" when withheld
  std::string kit_number;  // given: the kit dispensed (filled in by RecordDose when empty)
  std::string decision;  // the hold rules' verdict: proceed | reduce | unknown | hold | discontinue
  std::vector<std::string> causes;  // lab rule ids behind a hold or discontinuation
  std::string explanation;          // the verdict's one line
  std::string override_reason;      // required to give a dose against a hold
  std::string user;
  std::string at;
};

// A visit or dose write and the deviations it recorded (already recorded ones are not repeated).
template <class T>
struct WithDeviations {
  T entry;
  std::vector<DeviationRecord> deviations;
};

// Queries on an item: open -> answered -> closed, re-opened from answered or closed.
struct QueryRecord {
  int64_t id = 0;
  int version = 0;  // 1 = opened; one more per step
  ItemKey key;
  std::string site;        // read back only
  std::string status;      // open | answered | closed
  std::string text;        // this step's text
  std::string edit_check;  // the edit check that opened it ("" when opened by a person)
  std::string user;
  std::string at;
};
struct QueryFilter {
  std::optional<int64_t> subject_id;
  std::optional<std::string> site;
  std::optional<std::string> status;
};

// Review state of an item: entered -> verified (source-data verification, monitor) -> locked
// (data manager); unlock (data manager, reason) returns to verified. A new item version starts
// again at entered.
struct ReviewState {
  ItemKey key;
  int item_version = 0;
  std::string state;  // entered | verified | locked
  std::string user;   // who set it ("" for entered)
  std::string at;
};

// An electronic signature (21 CFR 11.50): printed name, date and time, meaning.
struct Signature {
  int64_t id = 0;
  int64_t subject_id = 0;
  std::string visit;  // "" for the whole casebook
  std::string meaning;
  std::string user;
  std::string printed_name;  // the user's display name when signing
  std::string signed_at;
  std::string voided_at;  // "" while valid
  std::string void_reason;
};

// ---- adverse events, SAE reports, safety alerts, the outbox (store/safety_store.cc) ----
// Written by service/safety.h (docs/safety.md). Append-only like the visit tables: a follow-up
// of an AE and each step of an alert are new versions; an SAE report and its acknowledgement are
// rows of their own. Nothing here holds an arm. Instants are UTC RFC 3339 with microseconds
// ("2026-07-13T10:00:00.000000Z"), as the store's clock writes them.

// One version of an adverse event. The store checks its shape (dates in order, texts, the
// roles); the protocol's term list, grades and codes are checked by service/safety.h.
struct AdverseEvent {
  int64_t id = 0;
  int version = 0;  // 1 = first report; one more per follow-up
  int64_t subject_id = 0;
  std::string site;        // read back only
  std::string term;        // a term id of safety.yaml
  std::string other_text;  // the event named in free text ("other, specify" terms only)
  int grade = 0;           // CTCAE grade 1..5
  Date onset;
  std::optional<Date> resolved;
  std::string awareness;                 // when the site became aware: an instant as above
  std::vector<std::string> seriousness;  // seriousness criteria; empty: not serious
  std::string related;                   // relatedness code
  std::string action;                    // action taken with the study drug
  std::string outcome;                   // "" while not known
  int64_t alert_id = 0;                  // the possible-AE alert this AE confirmed (0 when none)
  std::string reason;                    // why this version (required from version 2 on)
  std::string user;
  std::string at;

  bool serious() const { return !seriousness.empty(); }
};

// A report of a serious AE: kind "initial" (one per AE) or "follow_up" (one per AE, after the
// initial). `due_at` is the clock the service computed; `on_time` = submitted_at <= due_at.
struct SaeReport {
  int64_t id = 0;
  int64_t ae_id = 0;
  int64_t subject_id = 0;
  std::string site;  // read back only
  std::string kind;
  std::string due_at;
  std::string submitted_at;
  std::string submitted_by;
  bool on_time = true;
  std::string acknowledged_at;  // "" until the sponsor acknowledged it
  std::string acknowledged_by;
};

// A safety signal to raise. `dedup_key` identifies the signal for the subject: raising a key
// again raises nothing. `details`: the values that triggered it (JSON or text, up to 4000
// characters).
struct NewAlert {
  std::string kind;   // a name: possible_ae, respiratory_failure, rp_ild, ...
  std::string visit;  // "" when none
  std::string dedup_key;
  std::string details;
};

// The current version of an alert: open -> acknowledged | confirmed | dismissed (acknowledged ->
// confirmed | dismissed). Confirming creates an AE (ae_id); dismissing needs a reason.
struct AlertRecord {
  int64_t id = 0;
  int version = 0;
  int64_t subject_id = 0;
  std::string site;  // read back only
  NewAlert alert;
  std::string status;
  std::string reason;
  int64_t ae_id = 0;
  std::string user;
  std::string at;
};
struct AlertFilter {
  std::optional<int64_t> subject_id;
  std::optional<std::string> site;
  std::optional<std::string> status;
};

// Instants of the safety clocks: "YYYY-MM-DDTHH:MM" with optional ":SS", ".ffffff" (1 to 6
// digits) and "Z", read as UTC, to microseconds since 1970-01-01; nullopt when not such a
// date-time (a civil date, hours 0-23, minutes and seconds 0-59).
std::optional<int64_t> ParseInstant(std::string_view text);
// The store clock's form of an instant: "2026-07-13T10:00:00.000000Z".
std::string FormatInstant(int64_t micros);

// SHA-256 of the canonical slot list: "stratum|position|block|block_size|arm\n" per slot, sorted
// by stratum (bytewise) then position. Recorded by the go-live event; VerifyAudit recomputes it.
std::string SlotsSha256(std::vector<RandSlot> slots);

struct VerifyReport {
  int64_t events_checked = 0;
  bool ok = true;
  int64_t first_bad_seq = 0;  // when !ok
  std::string problem;        // when !ok: what does not match, for people
};

// The wall clock, injectable so tests are exact. Returns UTC RFC 3339 with microseconds.
using Clock = std::function<std::string()>;
std::string SystemClock();

class TrialStore {
 public:
  // The current schema version this binary writes and understands.
  static constexpr int kSchemaVersion = 6;

  // Wraps an open connection. Does not touch the schema: call Init() or Check().
  TrialStore(std::unique_ptr<Connection> connection, Clock clock = SystemClock);
  ~TrialStore();

  // Creates or upgrades the schema (idempotent). Fails with kInvalidInput when the database was
  // written by a newer version ("database schema 3 is newer than this program's 1").
  Result<void> Init();
  // Verifies the schema is present and current: kNotFound "not initialised: run 'trial init'",
  // kInvalidInput for a newer schema or an older one ("run 'trial init' to upgrade").
  Result<void> Check();

  Connection& connection() { return *connection_; }

  // Creates the first administrator of an empty database (acting as the system). Fails with
  // kInvalidInput once any user exists: later users are added by an administrator.
  Result<User> CreateFirstAdministrator(const std::string& username,
                                        const std::string& display_name);

  // ---- writes: one transaction each, audited ----
  Result<Site> AddSite(const std::string& actor, const Site& site);
  Result<User> AddUser(const std::string& actor, const User& user);
  Result<Subject> AddSubject(const std::string& actor, const std::string& site_id,
                             const std::string& screening_number);
  Result<Subject> ChangeStatus(const std::string& actor, int64_t subject_id, SubjectStatus to,
                               const std::string& reason);
  // Stores an evaluation (computing the bundle's SHA-256) and moves the subject to
  // screen_failed (ineligible) or eligible (eligible); incomplete keeps it in screening. The
  // subject must be in screening, screen_failed or eligible.
  Result<ScreeningRecord> SaveScreening(const std::string& actor, ScreeningRecord record);
  // Appends a version of an item. The first version needs no reason; every later one does.
  Result<ItemVersion> RecordItem(const std::string& actor, const ItemKey& key,
                                 const std::string& value, const std::string& reason);
  // Appends a version of every item of `writes`, in order, in ONE write transaction: each with
  // exactly RecordItem's checks, audit event and signature voiding, all or nothing. The first
  // refused write (a locked item or a missing reason: the error names the item) leaves nothing
  // stored and no audit event appended. The same item twice gets two versions (the second needs
  // `reason`). kInvalidArgument for an empty list. Returns the versions in the order of `writes`.
  Result<std::vector<ItemVersion>> RecordItems(const std::string& actor,
                                               const std::vector<ItemWrite>& writes,
                                               const std::string& reason);

  // ---- randomization (store/randomization_store.cc) ----
  // Records the go-live of randomization: the seed (64 hex digits), the design's canonical text,
  // the commitment and every slot of every stratum's list (none under minimization).
  // Administrators only, once (kInvalidInput for a second go-live). One event
  // `randomization.golive` whose new_value holds the commitment, the slot count and SlotsSha256
  // of the slots (never the arms or the seed).
  Result<RandSetup> GoLive(const std::string& actor, const std::string& seed_hex,
                           const std::string& design_text, const std::string& commitment,
                           std::vector<RandSlot> slots);
  // Appends slots to the lists after go-live: whole new blocks of existing strata (positions
  // continuing each list) or the lists of strata first seen (a site added later, positions from
  // 1). Administrators only. One event `randomization.extend` with the commitment of the new
  // slots, their count, SlotsSha256 and the strata touched.
  Result<RandExtension> ExtendLists(const std::string& actor, const std::string& commitment,
                                    std::vector<RandSlot> slots);
  // Allocates an eligible subject whose latest screening is eligible under `protocol_version`,
  // and moves it to randomized. Without `choose`: the lowest unused position of `stratum`'s list.
  // With `choose` (minimization): the arm it returns, written as the stratum's next slot by the
  // allocation event. A retry with the same `request_id` returns the same allocation. Errors:
  // kNotFound (subject), kInvalidArgument (no access, unknown stratum, bad input), kInvalidInput
  // (not live, not eligible, already randomized "already randomized as R-0007", list
  // exhausted). The result never holds the arm.
  // When the trial has any kit, the same transaction also dispenses a kit of the allocated arm for
  // `first_dose_visit` at the subject's site (as DispenseKit picks one) and returns its number in
  // `kit_number`; with none available it fails and stores nothing: kInvalidInput "no kit available
  // for this subject at site S1: resupply the site". A retry returns the same kit.
  Result<Allocation> Randomize(const std::string& actor, int64_t subject_id,
                               const std::string& stratum, const std::string& request_id,
                               const std::string& protocol_version,
                               const std::string& first_dose_visit = "D0",
                               const ArmChooser& choose = {});
  // Emergency unblinding by an investigator of the subject's site (or an administrator), with a
  // reason: returns the arm id, audits `unblind.emergency` (its new_value holds the arm: the audit
  // trail is for unblinded roles only) and queues notifications to the sponsor and the medical
  // monitor in the same transaction.
  Result<std::string> EmergencyUnblind(const std::string& actor, int64_t subject_id,
                                       const std::string& reason);
  // For unblinded paths only: the arm allocated to a subject (nullopt when not randomized).
  Result<std::optional<std::string>> ArmOf(int64_t subject_id);
  Result<std::optional<Allocation>> AllocationOf(int64_t subject_id);
  // The go-live record with every slot (nullopt before go-live), for verification.
  Result<std::optional<RandSetup>> RandomizationSetup();
  Result<std::vector<Notification>> Notifications();  // oldest first

  // ---- drug kits (store/kit_store.cc; docs/kits.md) ----
  // Roles: the depot (generate, ship, depot kits' status) is for administrators and unblinded
  // pharmacists; a site's kits (receive, status, dispense) for its investigators, coordinators
  // and unblinded pharmacists, and administrators. kInvalidArgument otherwise.
  //
  // Stores `kits` (1 to 10000, numbers K- and 4 to 9 digits, unique) at the depot with `lot` and
  // `expiry` (after today). One event `kit.generate` records each kit's state and the SHA-256 of
  // the batch's "number|arm|lot|expiry" lines, never an arm. kInvalidInput for a number in use.
  Result<std::vector<Kit>> GenerateKits(const std::string& actor, std::vector<NewKit> kits,
                                        const std::string& lot, Date expiry);
  // Ships depot kits to `site` as a new shipment SH-nnnn; its kits become in_transit. Explicit
  // kits must be at the depot, available and unexpired today; per-arm counts pick the earliest
  // expiring such kits (then by number). kInvalidInput when a kit does not qualify or the depot
  // has too few; kNotFound for an unknown site or kit.
  Result<Shipment> ShipKits(const std::string& actor, const std::string& site,
                            const ShipmentRequest& request);
  // Receives a shipment at its site: its kits become available there, those in `damaged` (which
  // must belong to it) damaged. kInvalidInput when already received.
  Result<Shipment> ReceiveShipment(const std::string& actor, const std::string& shipment_id,
                                   const std::vector<std::string>& damaged);
  // Changes a kit's status (KitTransitionAllowed) with a reason (required); kInvalidInput for a
  // forbidden change ("kit K-123456 cannot go from damaged to available").
  Result<Kit> ChangeKitStatus(const std::string& actor, const std::string& kit_number, KitStatus to,
                              const std::string& reason);
  // Dispenses a kit to a randomized subject for `visit` dosed on `date`: the kit of the subject's
  // arm at its site, available, expiring after `date`, earliest expiry first (then by number), or
  // `kit_number` when given, which must satisfy the same checks (the wrong arm is refused as "kit
  // K-123456 does not match subject 7's allocation", naming no arm). One kit per subject and visit;
  // a retried `request_id` returns the first result. kInvalidInput for every refusal, "no kit
  // available for this subject at site S1: resupply the site" among them. Never returns an arm.
  Result<Dispensing> DispenseKit(const std::string& actor, int64_t subject_id,
                                 const std::string& visit, Date date, const std::string& request_id,
                                 const std::string& kit_number = "");
  // Reads. These return arms: callers showing them to people blind them (service/kits.h).
  Result<std::vector<Kit>> Kits(const std::optional<std::string>& site);            // by number
  Result<std::vector<Shipment>> Shipments(const std::optional<std::string>& site);  // by id
  Result<std::vector<Dispensing>> Dispensings(int64_t subject_id);  // in dispensing order
  // Kits (of `site`, or all) and the randomized subjects (status randomized) with their arm, in
  // one snapshot.
  Result<SupplySnapshot> Supply(const std::optional<std::string>& site);

  // ---- visits, doses and their deviations (store/visit_store.cc; docs/schedule.md) ----
  // Site roles: visits for the subject's site's investigators and coordinators; doses also for
  // its unblinded pharmacists. The subject must be randomized; day 0 is its allocation date.
  //
  // Records a visit done on `date` (between day 0 and `today`) or missed (with a reason), with
  // `deviations` (those not yet recorded for the subject, visit and kind) in the same
  // transaction. `unscheduled`: stored as `visit`-N, numbered per subject. kInvalidInput for a
  // visit already recorded; kInvalidArgument for a date in the future or before day 0.
  Result<WithDeviations<VisitEntry>> RecordVisit(const std::string& actor, VisitEntry visit,
                                                 bool unscheduled, Date today,
                                                 const std::vector<NewDeviation>& deviations);
  // Records a dose given or withheld at a visit recorded as done on the dose date, with
  // `deviations`. A given dose needs a kit dispensed to the subject for that visit: the one
  // already dispensed (a different `kit_number` is refused), else one dispensed now through the
  // same path as DispenseKit (`kit_number` or the earliest-expiring kit of the subject's arm;
  // the blinded refusals of DispenseKit). Refused (kInvalidInput): a second dose record for the
  // visit; a given dose against `discontinue` or `unknown`; against `hold` without an override
  // reason; an override reason without a hold; a withheld dose that is not a hold or
  // discontinuation.
  Result<WithDeviations<DoseEntry>> RecordDose(const std::string& actor, DoseEntry dose, Date today,
                                               const std::vector<NewDeviation>& deviations);
  Result<std::vector<VisitEntry>> Visits(int64_t subject_id);  // in recording order
  Result<std::vector<DoseEntry>> Doses(int64_t subject_id);    // in recording order
  Result<std::vector<DeviationRecord>> Deviations(const std::optional<int64_t>& subject_id,
                                                  const std::optional<std::string>& site);
  // The allocation date (day 0) of a randomized subject; nullopt when not randomized.
  Result<std::optional<Date>> DayZero(int64_t subject_id);
  // The kit a dose at `visit` on `date` would use: the one dispensed for the visit, else the one
  // RecordDose would dispense (never its arm); "" when none is available.
  Result<std::string> KitForDose(int64_t subject_id, const std::string& visit, Date date);
  // The latest version of every item of `form` for the subject, any visit (by visit, repeat, item).
  Result<std::vector<ItemVersion>> FormItems(int64_t subject_id, const std::string& form);

  // ---- queries, review states, signatures (store/visit_store.cc; docs/queries.md) ----
  // Opens a query on an item that has a value. By an edit check (`edit_check` not empty): any
  // user who may enter the subject's data; by a person: monitors of the site and data managers.
  Result<QueryRecord> OpenQuery(const std::string& actor, const ItemKey& key,
                                const std::string& text, const std::string& edit_check);
  // Answers an open query (investigators and coordinators of the site, with a text).
  Result<QueryRecord> AnswerQuery(const std::string& actor, int64_t id, const std::string& text);
  // Closes an open or answered query (monitors of the site, data managers; text optional).
  Result<QueryRecord> CloseQuery(const std::string& actor, int64_t id, const std::string& text);
  // Re-opens an answered or closed query (monitors of the site, data managers, with a text).
  Result<QueryRecord> ReopenQuery(const std::string& actor, int64_t id, const std::string& text);
  // The current version of each query `filter` selects, by id.
  Result<std::vector<QueryRecord>> Queries(const QueryFilter& filter);
  Result<std::vector<QueryRecord>> QueryHistory(int64_t id);  // oldest first

  // Review steps on an item with a value: "verify" (entered -> verified: monitors of the site,
  // data managers), "lock" (verified -> locked: data managers), "unlock" (locked -> verified:
  // data managers, with a reason). kInvalidInput for a step its state does not allow.
  Result<ReviewState> ReviewItem(const std::string& actor, const ItemKey& key,
                                 const std::string& step, const std::string& reason);
  Result<ReviewState> ReviewOf(const ItemKey& key);

  // An investigator of the subject's site signs a recorded visit (`visit`) or the whole casebook
  // (`visit` empty) with a meaning; the signature keeps the user's display name. RecordItem voids
  // the valid signatures of the item's visit and of the casebook in its transaction.
  Result<Signature> Sign(const std::string& actor, int64_t subject_id, const std::string& visit,
                         const std::string& meaning);
  Result<std::vector<Signature>> Signatures(int64_t subject_id);  // by id, voided ones too

  // ---- adverse events, SAE reports, alerts, outbox (store/safety_store.cc; docs/safety.md) ----
  // Records an AE (`ae.id` 0: version 1 of a new AE) or a follow-up (`ae.id` set: the next
  // version, with a reason). Investigators and coordinators of the subject's site. A serious
  // version queues one notification per `recipients` entry (kind "sae") in the same transaction.
  // kInvalidArgument for bad input (empty term or codes, grade outside 1..5, resolution before
  // onset, awareness not an instant "YYYY-MM-DDTHH:MM[...]", a follow-up without a reason, a
  // criterion list with duplicates); kNotFound for an unknown subject or AE.
  Result<AdverseEvent> RecordAdverseEvent(const std::string& actor, AdverseEvent ae,
                                          const std::vector<std::string>& recipients);
  // Submits the initial or follow-up report of a serious AE (its latest version serious) with
  // the due time the service computed. Investigators and coordinators of the site. kInvalidInput
  // for a second report of a kind, a follow-up before the initial, or a non-serious AE.
  Result<SaeReport> SubmitSaeReport(const std::string& actor, int64_t ae_id,
                                    const std::string& kind, const std::string& due_at);
  // The sponsor's acknowledgement of a report (sponsor viewers and administrators), once.
  Result<SaeReport> AcknowledgeSaeReport(const std::string& actor, int64_t report_id);
  // Raises the alerts whose dedup key the subject has not had yet; returns those raised (one
  // audited row each). Users who may change the subject's data (RequireSiteAccess).
  Result<std::vector<AlertRecord>> RaiseAlerts(const std::string& actor, int64_t subject_id,
                                               const std::vector<NewAlert>& alerts);
  // Steps of an open (or acknowledged) alert. Acknowledge: investigators and coordinators of the
  // site. Dismiss (with a reason) and confirm: investigators of the site; confirming records `ae`
  // (version 1, alert_id set, same subject) as RecordAdverseEvent does, in the same transaction.
  Result<AlertRecord> AcknowledgeAlert(const std::string& actor, int64_t id);
  Result<AlertRecord> DismissAlert(const std::string& actor, int64_t id, const std::string& reason);
  Result<std::pair<AlertRecord, AdverseEvent>> ConfirmAlert(
      const std::string& actor, int64_t id, AdverseEvent ae,
      const std::vector<std::string>& recipients);
  // Marks a queued notification delivered into `file` (administrators), once; audited.
  Result<Notification> MarkDelivered(const std::string& actor, int64_t notification_id,
                                     const std::string& file);
  // Reads (unchecked: service/safety.h checks who reads what).
  Result<std::vector<AdverseEvent>> AdverseEvents(const std::optional<int64_t>& subject_id,
                                                  const std::optional<std::string>& site);
  Result<std::vector<AdverseEvent>> AdverseEventHistory(int64_t id);  // oldest first
  Result<std::vector<SaeReport>> SaeReports(const std::optional<std::string>& site);  // by id
  Result<std::vector<AlertRecord>> Alerts(const AlertFilter& filter);  // current versions, by id

  // ---- reads ----
  Result<std::optional<User>> FindUser(const std::string& username);
  Result<std::vector<Site>> Sites();
  Result<std::optional<Subject>> FindSubject(int64_t id);
  Result<std::optional<Subject>> FindSubjectByNumber(const std::string& site_id,
                                                     const std::string& screening_number);
  Result<std::vector<Subject>> Subjects(const std::optional<std::string>& site_id);
  Result<std::vector<ScreeningRecord>> Screenings(int64_t subject_id);
  Result<std::vector<ItemVersion>> ItemHistory(const ItemKey& key);  // oldest first
  // The latest version of every item of the subject, in one read (any order).
  Result<std::vector<ItemVersion>> LatestItems(int64_t subject_id);
  Result<std::vector<AuditEvent>> AuditEvents(const AuditFilter& filter);

  // Recomputes the chain from the first event and checks every data row against the event that
  // wrote it. Never fails for a broken chain: that is the report's `ok = false`.
  Result<VerifyReport> VerifyAudit();

  // ---- sign-in (auth_store.cc, docs/access.md). Hashing is the caller's (http/auth.h): the
  // store keeps an Argon2id encoded hash and SHA-256 hashes of tokens, never a secret. `now`
  // is Unix seconds from the caller's clock. ----
  // Sets `username`'s password hash. The actor is an administrator or the user themself;
  // audited as "user.password" without the hash. kNotFound for an unknown user.
  Result<void> SetPasswordHash(const std::string& actor, const std::string& username,
                               const std::string& hash);
  Result<std::optional<Credential>> FindCredential(const std::string& username);
  // A wrong password for a known user: counts it (audited "auth.login_failed"); the
  // `max_failures`-th in a row locks the account until now + lock_seconds (audited
  // "auth.locked"). Returns true when the account is locked now.
  Result<bool> RecordLoginFailure(const std::string& username, int64_t now, int max_failures,
                                  int64_t lock_seconds);
  // A successful sign-in: clears the failure count, stores the session, audited "auth.login".
  Result<void> StartSession(const Session& session);
  Result<std::optional<Session>> FindSession(const std::string& token_hash);
  // Records the session's last use (for the idle timeout).
  Result<void> TouchSession(const std::string& token_hash, int64_t now);
  // Ends a session (sign-out or expiry), audited "auth.logout" with `why`.
  Result<void> EndSession(const std::string& token_hash, const std::string& why);
  // An API token for `token.username`, made by an administrator or that user; audited.
  Result<void> AddApiToken(const std::string& actor, const ApiToken& token);
  Result<std::optional<ApiToken>> FindApiToken(const std::string& token_hash);

 private:
  struct Pending;  // an audit event being written
  // An open write transaction with the chain locked and the acting user loaded: the start of
  // every audited write.
  struct Write {
    std::unique_ptr<Transaction> tx;
    User actor;
  };
  Result<Write> BeginWrite(const std::string& actor);
  Result<AuditEvent> Append(Transaction& tx, const std::string& actor, Role role, Pending event);
  Result<User> Actor(Transaction& tx, const std::string& username);
  // The dispensing both DispenseKit and Randomize make, inside their transaction (kit_store.cc).
  Result<Dispensing> DispenseInTx(Transaction& tx, const User& who, const Subject& subject,
                                  const std::string& arm, const std::string& visit, Date date,
                                  const std::string& request_id, const std::string& kit_number);
  // Randomize's first kit: "" when the trial has no kits (kit_store.cc).
  Result<std::string> DispenseFirstKit(Transaction& tx, const User& who, const Subject& subject,
                                       const Allocation& allocation, const std::string& visit);

  // Visits, doses and reviews (visit_store.cc): one audited row (store_internal.h AuditedRow).
  struct AuditedRow;
  Result<AuditEvent> InsertAudited(Transaction& tx, const User& who, const AuditedRow& row);
  // The write RecordItem and RecordItems make for one item, inside their transaction: the
  // subject and site access, the lock, the reason, the version, its audit event and the
  // signatures it voids.
  Result<ItemVersion> RecordItemInTx(Transaction& tx, const User& who, const ItemKey& key,
                                     const std::string& value, const std::string& reason);
  // RecordItem's part: voids the valid signatures covering `key` (its visit, the casebook);
  // returns one line per signature voided.
  Result<std::vector<std::string>> VoidSignatures(Transaction& tx, const User& who,
                                                  const ItemKey& key, int version);
  Result<std::vector<DeviationRecord>> RecordDeviations(Transaction& tx, const User& who,
                                                        int64_t subject_id,
                                                        const std::string& found_by,
                                                        const std::vector<NewDeviation>& list);
  Result<QueryRecord> QueryStep(const std::string& actor, int64_t id, const std::string& to,
                                const std::string& text);

  // AE versions and alert steps (safety_store.cc).
  Result<AdverseEvent> InsertAdverseEvent(Transaction& tx, const User& who, AdverseEvent ae,
                                          const std::vector<std::string>& recipients);
  Result<AlertRecord> AlertStep(const std::string& actor, int64_t id, const std::string& to,
                                const std::string& reason, const AdverseEvent* ae,
                                const std::vector<std::string>& recipients, AdverseEvent* recorded);

  std::unique_ptr<Connection> connection_;
  Clock clock_;
};

// SHA-256 of `data` as 64 lowercase hex digits (OpenSSL).
std::string Sha256Hex(std::string_view data);

}  // namespace trial::store
