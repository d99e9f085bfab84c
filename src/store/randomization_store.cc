// The randomization use cases of the trial store (store.h): go-live, allocation, emergency
// unblinding. The store never runs the engine: the caller (service/randomization.h) generates
// the lists and the commitment; the store persists, allocates and audits.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "store/store.h"
#include "store/store_internal.h"

namespace trial::store {

namespace {

using detail::Canonical;
using nlohmann::json;

bool SlotLess(const RandSlot& a, const RandSlot& b) {
  if (a.stratum != b.stratum) return a.stratum < b.stratum;  // bytewise
  return a.position < b.position;
}

std::string Number(int64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "R-%04lld", static_cast<long long>(n));
  return buf;
}

bool PlainName(const std::string& s) {
  if (s.empty() || s.size() > 200) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == '|') return false;
  }
  return true;
}

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Checks a commitment and its slots; sorts `slots` and checks each is well formed and none is
// duplicated.
Result<void> CheckCommitted(const std::string& commitment, std::vector<RandSlot>& slots) {
  if (!IsHex64(commitment)) {
    return Fail(ErrorCode::kInvalidArgument, "the commitment must be 64 lowercase hex digits");
  }
  std::sort(slots.begin(), slots.end(), SlotLess);
  for (size_t i = 0; i < slots.size(); ++i) {
    const RandSlot& s = slots[i];
    if (!PlainName(s.stratum) || !PlainName(s.arm) || s.position < 1 || s.block < 1 ||
        s.block_size < 1) {
      return Fail(ErrorCode::kInvalidArgument,
                  "slot " + std::to_string(i + 1) + " is malformed (stratum '" + s.stratum + "')");
    }
    if (i > 0 && slots[i - 1].stratum == s.stratum && slots[i - 1].position == s.position) {
      return Fail(ErrorCode::kInvalidArgument, "slot " + std::to_string(s.position) +
                                                   " of stratum " + s.stratum + " is duplicated");
    }
  }
  return {};
}

// The go-live seed; kInvalidInput before go-live.
Result<std::string> LiveSeed(Transaction& tx) {
  auto live = tx.Query("SELECT seed_hex FROM rand_setup");
  if (!live) return std::unexpected(live.error());
  if (live->empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "randomization is not live yet: run 'trial randomization golive'");
  }
  return (*live)[0].Text(0);
}

Result<void> InsertSlot(Transaction& tx, const RandSlot& s, int64_t audit_seq) {
  auto r = tx.Query(
      "INSERT INTO rand_slots (stratum, position, block, block_size, arm, audit_seq) VALUES ($1, "
      "$2, $3, $4, $5, $6)",
      {s.stratum, int64_t{s.position}, int64_t{s.block}, int64_t{s.block_size}, s.arm, audit_seq});
  if (!r) return std::unexpected(r.error());
  return {};
}

Allocation AllocationFromRow(const Row& r) {
  return Allocation{r.Int(0),  r.Text(1), r.Text(2), static_cast<int>(r.Int(3)),
                    r.Text(4), r.Text(5), r.Text(6), ""};
}

constexpr const char* kAllocationColumns =
    "subject_id, randomization_number, stratum, position, request_id, at, username";

}  // namespace

std::string SlotsSha256(std::vector<RandSlot> slots) {
  std::sort(slots.begin(), slots.end(), SlotLess);
  std::string text;
  for (const auto& s : slots) {
    text += s.stratum + "|" + std::to_string(s.position) + "|" + std::to_string(s.block) + "|" +
            std::to_string(s.block_size) + "|" + s.arm + "\n";
  }
  return Sha256Hex(text);
}

namespace detail {

json GoLiveJson(const std::string& seed_hex, const std::string& design,
                const std::string& commitment, const std::string& at,
                const std::vector<RandSlot>& slots) {
  return {{"commitment", commitment},
          {"design", design},
          {"golive_at", at},
          {"seed_sha256", Sha256Hex(seed_hex)},
          {"slot_count", slots.size()},
          {"slots_sha256", SlotsSha256(slots)}};
}

json AllocationJson(const Allocation& a, const std::string& drawn_arm) {
  json j = {{"subject_id", a.subject_id},
            {"randomization_number", a.randomization_number},
            {"stratum", a.stratum},
            {"position", a.position},
            {"request_id", a.request_id},
            {"at", a.at},
            {"user", a.user}};
  if (!drawn_arm.empty()) j["drawn_arm"] = drawn_arm;
  return j;
}

json ExtensionJson(int64_t id, const std::string& commitment, const std::string& at,
                   const std::vector<RandSlot>& slots) {
  std::set<std::string> strata;
  for (const auto& s : slots) strata.insert(s.stratum);
  return {{"id", id},
          {"commitment", commitment},
          {"at", at},
          {"slot_count", slots.size()},
          {"slots_sha256", SlotsSha256(slots)},
          {"strata", strata}};
}

json UnblindJson(int64_t id, int64_t subject_id, const std::string& user, const std::string& reason,
                 const std::string& at, const std::string& arm,
                 const std::vector<NotificationRow>& notes) {
  json n = json::array();
  for (const auto& x : notes) {
    n.push_back({{"id", x.id},
                 {"kind", x.kind},
                 {"recipient", x.recipient},
                 {"body", x.body},
                 {"created_at", x.created_at}});
  }
  return {{"id", id},   {"subject_id", subject_id}, {"user", user}, {"reason", reason}, {"at", at},
          {"arm", arm}, {"notifications", n}};
}

}  // namespace detail

Result<RandSetup> TrialStore::GoLive(const std::string& actor, const std::string& seed_hex,
                                     const std::string& design_text, const std::string& commitment,
                                     std::vector<RandSlot> slots) {
  if (!IsHex64(seed_hex)) {
    return Fail(ErrorCode::kInvalidArgument, "the seed must be 64 lowercase hex digits");
  }
  if (detail::Trim(design_text).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the design description is empty");
  }
  if (auto ok = CheckCommitted(commitment, slots); !ok) return std::unexpected(ok.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  if (auto r = detail::RequireAdministrator(*who); !r) return std::unexpected(r.error());
  auto live = (*tx)->Query("SELECT golive_at FROM rand_setup");
  if (!live) return std::unexpected(live.error());
  if (!live->empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "randomization is already live (since " + (*live)[0].Text(0) + ")");
  }
  RandSetup setup;
  setup.seed_hex = seed_hex;
  setup.design = design_text;
  setup.commitment = commitment;
  setup.golive_at = clock_();
  auto e = Append(**tx, who->username, who->role,
                  Pending{"randomization.golive", "randomization", "golive", "", "",
                          Canonical(detail::GoLiveJson(seed_hex, design_text, commitment,
                                                       setup.golive_at, slots)),
                          ""});
  if (!e) return std::unexpected(e.error());
  setup.audit_seq = e->seq;
  auto ins = (*tx)->Query(
      "INSERT INTO rand_setup (id, seed_hex, design, commitment, golive_at, audit_seq) VALUES (1, "
      "$1, $2, $3, $4, $5)",
      {seed_hex, design_text, commitment, setup.golive_at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  for (const auto& s : slots) {
    if (auto r = InsertSlot(**tx, s, e->seq); !r) return std::unexpected(r.error());
  }
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  for (auto& s : slots) s.audit_seq = e->seq;
  setup.slots = std::move(slots);
  return setup;
}

Result<RandExtension> TrialStore::ExtendLists(const std::string& actor,
                                              const std::string& commitment,
                                              std::vector<RandSlot> slots) {
  if (slots.empty()) return Fail(ErrorCode::kInvalidArgument, "no slots to add");
  if (auto ok = CheckCommitted(commitment, slots); !ok) return std::unexpected(ok.error());
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  if (auto r = detail::RequireAdministrator(*who); !r) return std::unexpected(r.error());
  if (auto live = LiveSeed(**tx); !live) return std::unexpected(live.error());
  // Each stratum's new slots must continue its list exactly (from 1 for a new stratum).
  for (size_t i = 0; i < slots.size(); ++i) {
    if (i > 0 && slots[i - 1].stratum == slots[i].stratum) {
      if (slots[i].position != slots[i - 1].position + 1) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the new slots of stratum " + slots[i].stratum + " are not consecutive");
      }
      continue;
    }
    auto last = (*tx)->Query(
        "SELECT COALESCE(max(position), 0), COALESCE(max(block), 0) FROM rand_slots WHERE "
        "stratum = $1",
        {slots[i].stratum});
    if (!last) return std::unexpected(last.error());
    if (slots[i].position != (*last)[0].Int(0) + 1 || slots[i].block != (*last)[0].Int(1) + 1) {
      return Fail(ErrorCode::kInvalidInput,
                  "the list of stratum " + slots[i].stratum + " ends at position " +
                      (*last)[0].Text(0) + ": new slots must start at the next position and block");
    }
  }
  auto next = (*tx)->Query("SELECT COALESCE(max(id), 0) + 1 FROM rand_extensions");
  if (!next) return std::unexpected(next.error());
  RandExtension x{(*next)[0].Int(0), commitment, clock_(), 0};
  auto e =
      Append(**tx, who->username, who->role,
             Pending{"randomization.extend", "randomization_extension", std::to_string(x.id), "",
                     "", Canonical(detail::ExtensionJson(x.id, x.commitment, x.at, slots)), ""});
  if (!e) return std::unexpected(e.error());
  x.audit_seq = e->seq;
  auto ins = (*tx)->Query(
      "INSERT INTO rand_extensions (id, commitment, at, audit_seq) VALUES ($1, $2, $3, $4)",
      {x.id, x.commitment, x.at, x.audit_seq});
  if (!ins) return std::unexpected(ins.error());
  for (const auto& s : slots) {
    if (auto r = InsertSlot(**tx, s, e->seq); !r) return std::unexpected(r.error());
  }
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return x;
}

Result<Allocation> TrialStore::Randomize(const std::string& actor, int64_t subject_id,
                                         const std::string& stratum, const std::string& request_id,
                                         const std::string& protocol_version,
                                         const std::string& first_dose_visit,
                                         const ArmChooser& choose) {
  if (auto r = detail::RequireText(request_id, "the request id"); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = detail::RequireText(stratum, "the stratum"); !r) return std::unexpected(r.error());
  if (detail::Trim(protocol_version).empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the protocol version is empty");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  auto subject = detail::LoadSubject(**tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  Subject s = **subject;
  if (auto r = detail::RequireSiteAccess(*who, s.site_id); !r) return std::unexpected(r.error());
  const std::string id = std::to_string(subject_id);
  // A retried request returns what the first one allocated.
  auto retry = (*tx)->Query(
      std::string("SELECT ") + kAllocationColumns + " FROM allocations WHERE request_id = $1",
      {request_id});
  if (!retry) return std::unexpected(retry.error());
  if (!retry->empty()) {
    Allocation a = AllocationFromRow((*retry)[0]);
    if (a.subject_id != subject_id) {
      return Fail(ErrorCode::kInvalidInput, "request id '" + request_id +
                                                "' was already used to randomize subject " +
                                                std::to_string(a.subject_id));
    }
    auto kit = detail::FirstKitOf(**tx, request_id);
    if (!kit) return std::unexpected(kit.error());
    a.kit_number = *kit;
    return a;
  }
  auto done = (*tx)->Query("SELECT randomization_number FROM allocations WHERE subject_id = $1",
                           {subject_id});
  if (!done) return std::unexpected(done.error());
  if (!done->empty()) {
    return Fail(ErrorCode::kInvalidInput,
                "subject " + id + " is already randomized as " + (*done)[0].Text(0));
  }
  if (s.status != SubjectStatus::kEligible) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is " + StatusName(s.status) +
                                              ": only an eligible subject can be randomized");
  }
  auto screening = (*tx)->Query(
      "SELECT verdict, protocol_version FROM screenings WHERE subject_id = $1 ORDER BY id DESC "
      "LIMIT 1",
      {subject_id});
  if (!screening) return std::unexpected(screening.error());
  if (screening->empty() || (*screening)[0].Text(0) != "eligible") {
    return Fail(ErrorCode::kInvalidInput,
                "subject " + id + " has no eligible screening: screen it again before randomizing");
  }
  if ((*screening)[0].Text(1) != protocol_version) {
    return Fail(ErrorCode::kInvalidInput,
                "subject " + id + " was screened under protocol version " +
                    (*screening)[0].Text(1) + ", not " + protocol_version + ": screen it again");
  }
  auto seed_hex = LiveSeed(**tx);
  if (!seed_hex) return std::unexpected(seed_hex.error());
  auto count = (*tx)->Query("SELECT count(*) FROM allocations");
  if (!count) return std::unexpected(count.error());
  const int64_t ordinal = (*count)[0].Int(0) + 1;
  // Under minimization the arm is drawn now and becomes the stratum's next slot.
  std::optional<RandSlot> drawn;
  if (choose) {
    auto prior_rows = (*tx)->Query(
        "SELECT a.stratum, s.arm FROM allocations a JOIN rand_slots s ON s.stratum = a.stratum "
        "AND s.position = a.position ORDER BY a.audit_seq");
    if (!prior_rows) return std::unexpected(prior_rows.error());
    std::vector<PriorArm> prior;
    for (const auto& r : *prior_rows) prior.push_back(PriorArm{r.Text(0), r.Text(1)});
    auto arm = choose(*seed_hex, prior, ordinal);
    if (!arm) return std::unexpected(arm.error());
    auto last = (*tx)->Query(
        "SELECT COALESCE(max(position), 0) + 1 FROM rand_slots WHERE stratum = $1", {stratum});
    if (!last) return std::unexpected(last.error());
    drawn = RandSlot{stratum, static_cast<int>((*last)[0].Int(0)), 0, 0, *arm, 0};
  }
  auto free = (*tx)->Query(
      "SELECT count(*), min(CASE WHEN a.subject_id IS NULL THEN s.position END) FROM rand_slots s "
      "LEFT JOIN allocations a ON a.stratum = s.stratum AND a.position = s.position WHERE "
      "s.stratum = $1",
      {stratum});
  if (!free) return std::unexpected(free.error());
  if (!drawn && (*free)[0].Int(0) == 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "no allocation list for stratum '" + stratum +
                    "' (a site added after go-live?): run 'trial randomization extend'");
  }
  if (!drawn && (*free)[0].IsNull(1)) {
    return Fail(ErrorCode::kInvalidInput, "the list for stratum " + stratum +
                                              " is exhausted: run 'trial randomization extend'");
  }
  Allocation a;
  a.subject_id = subject_id;
  a.randomization_number = Number(ordinal);
  a.stratum = stratum;
  a.position = drawn ? drawn->position : static_cast<int>((*free)[0].Int(1));
  a.request_id = request_id;
  a.at = clock_();
  a.user = who->username;
  auto e = Append(**tx, who->username, who->role,
                  Pending{"randomization.allocate", "allocation", a.randomization_number, id, "",
                          Canonical(detail::AllocationJson(a, drawn ? drawn->arm : "")), ""});
  if (!e) return std::unexpected(e.error());
  if (drawn) {
    if (auto r = InsertSlot(**tx, *drawn, e->seq); !r) return std::unexpected(r.error());
  }
  auto ins = (*tx)->Query(
      "INSERT INTO allocations (subject_id, randomization_number, stratum, position, request_id, "
      "at, username, audit_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      {a.subject_id, a.randomization_number, a.stratum, int64_t{a.position}, a.request_id, a.at,
       a.user, e->seq});
  if (!ins) return std::unexpected(ins.error());
  auto version = detail::NextStatusVersion(**tx, subject_id);
  if (!version) return std::unexpected(version.error());
  auto st = Append(**tx, who->username, who->role,
                   Pending{"subject.status", "subject_status", id + "/" + std::to_string(*version),
                           id, Canonical(json{{"status", StatusName(s.status)}}),
                           Canonical(detail::StatusJson(subject_id, *version, "randomized", a.at)),
                           "randomized as " + a.randomization_number});
  if (!st) return std::unexpected(st.error());
  auto ins2 = (*tx)->Query(
      "INSERT INTO subject_status (subject_id, version, status, reason, at, audit_seq) VALUES "
      "($1, $2, 'randomized', $3, $4, $5)",
      {subject_id, int64_t{*version}, "randomized as " + a.randomization_number, a.at, st->seq});
  if (!ins2) return std::unexpected(ins2.error());
  auto kit = DispenseFirstKit(**tx, *who, s, a, first_dose_visit);
  if (!kit) return std::unexpected(kit.error());
  a.kit_number = *kit;
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return a;
}

Result<std::string> TrialStore::EmergencyUnblind(const std::string& actor, int64_t subject_id,
                                                 const std::string& reason) {
  if (detail::Trim(reason).empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "an emergency unblinding needs a reason: give --reason");
  }
  if (reason.size() > 2000) {
    return Fail(ErrorCode::kInvalidArgument, "the reason is longer than 2000 characters");
  }
  auto write = BeginWrite(actor);
  if (!write) return std::unexpected(write.error());
  auto* tx = &write->tx;
  auto* who = &write->actor;
  auto subject = detail::LoadSubject(**tx, subject_id);
  if (!subject) return std::unexpected(subject.error());
  if (!*subject) return Fail(ErrorCode::kNotFound, "unknown subject " + std::to_string(subject_id));
  const Subject& s = **subject;
  const bool allowed =
      who->role == Role::kAdministrator ||
      (who->role == Role::kInvestigator &&
       std::find(who->sites.begin(), who->sites.end(), s.site_id) != who->sites.end());
  if (!allowed) {
    return Fail(ErrorCode::kPermissionDenied, std::string("user '") + who->username + "' (" +
                                                  RoleName(who->role) +
                                                  ") may not unblind subjects of site '" +
                                                  s.site_id + "': investigators of the site only");
  }
  const std::string id = std::to_string(subject_id);
  auto arm = (*tx)->Query(
      "SELECT s.arm, a.randomization_number FROM allocations a JOIN rand_slots s ON s.stratum = "
      "a.stratum AND s.position = a.position WHERE a.subject_id = $1",
      {subject_id});
  if (!arm) return std::unexpected(arm.error());
  if (arm->empty()) {
    return Fail(ErrorCode::kInvalidInput, "subject " + id + " is not randomized");
  }
  const std::string arm_id = (*arm)[0].Text(0);
  const std::string number = (*arm)[0].Text(1);
  auto next = (*tx)->Query(
      "SELECT (SELECT COALESCE(max(id), 0) + 1 FROM unblindings), (SELECT COALESCE(max(id), 0) + 1 "
      "FROM notifications)");
  if (!next) return std::unexpected(next.error());
  const int64_t unblind_id = (*next)[0].Int(0);
  int64_t note_id = (*next)[0].Int(1);
  const std::string at = clock_();
  std::vector<detail::NotificationRow> notes;
  for (const char* recipient : {"sponsor", "medical_monitor"}) {
    notes.push_back(detail::NotificationRow{note_id++, "unblind.emergency", recipient,
                                            "Emergency unblinding of subject " + id + " (" +
                                                number + ", site " + s.site_id + ") by " +
                                                who->username + " at " + at + ". Reason: " + reason,
                                            at});
  }
  auto e = Append(**tx, who->username, who->role,
                  Pending{"unblind.emergency", "unblinding", std::to_string(unblind_id), id, "",
                          Canonical(detail::UnblindJson(unblind_id, subject_id, who->username,
                                                        reason, at, arm_id, notes)),
                          reason});
  if (!e) return std::unexpected(e.error());
  auto ins = (*tx)->Query(
      "INSERT INTO unblindings (id, subject_id, username, reason, at, audit_seq) VALUES ($1, $2, "
      "$3, $4, $5, $6)",
      {unblind_id, subject_id, who->username, reason, at, e->seq});
  if (!ins) return std::unexpected(ins.error());
  for (const auto& n : notes) {
    auto r = (*tx)->Query(
        "INSERT INTO notifications (id, kind, recipient, body, created_at, delivered_at, "
        "audit_seq) VALUES ($1, $2, $3, $4, $5, '', $6)",
        {n.id, n.kind, n.recipient, n.body, n.created_at, e->seq});
    if (!r) return std::unexpected(r.error());
  }
  if (auto c = (*tx)->Commit(); !c) return std::unexpected(c.error());
  return arm_id;
}

Result<std::optional<std::string>> TrialStore::ArmOf(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT s.arm FROM allocations a JOIN rand_slots s ON s.stratum = a.stratum AND s.position "
      "= a.position WHERE a.subject_id = $1",
      {subject_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>((*rows)[0].Text(0));
}

Result<std::optional<Allocation>> TrialStore::AllocationOf(int64_t subject_id) {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      std::string("SELECT ") + kAllocationColumns + " FROM allocations WHERE subject_id = $1",
      {subject_id});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<Allocation>();
  Allocation a = AllocationFromRow((*rows)[0]);
  auto kit = detail::FirstKitOf(**tx, a.request_id);
  if (!kit) return std::unexpected(kit.error());
  a.kit_number = *kit;
  return std::optional<Allocation>(std::move(a));
}

Result<std::optional<RandSetup>> TrialStore::RandomizationSetup() {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows =
      (*tx)->Query("SELECT seed_hex, design, commitment, golive_at, audit_seq FROM rand_setup");
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty()) return std::optional<RandSetup>();
  const Row& r = (*rows)[0];
  RandSetup setup{r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Int(4), {}, {}};
  auto slots =
      (*tx)->Query("SELECT stratum, position, block, block_size, arm, audit_seq FROM rand_slots");
  if (!slots) return std::unexpected(slots.error());
  for (const auto& s : *slots) {
    setup.slots.push_back(RandSlot{s.Text(0), static_cast<int>(s.Int(1)),
                                   static_cast<int>(s.Int(2)), static_cast<int>(s.Int(3)),
                                   s.Text(4), s.Int(5)});
  }
  std::sort(setup.slots.begin(), setup.slots.end(), SlotLess);
  auto ext = (*tx)->Query("SELECT id, commitment, at, audit_seq FROM rand_extensions ORDER BY id");
  if (!ext) return std::unexpected(ext.error());
  for (const auto& x : *ext) {
    setup.extensions.push_back(RandExtension{x.Int(0), x.Text(1), x.Text(2), x.Int(3)});
  }
  return std::optional<RandSetup>(std::move(setup));
}

Result<std::vector<Notification>> TrialStore::Notifications() {
  auto tx = connection_->Begin(false);
  if (!tx) return std::unexpected(tx.error());
  auto rows = (*tx)->Query(
      "SELECT id, kind, recipient, body, created_at, delivered_at, audit_seq FROM notifications "
      "ORDER BY id");
  if (!rows) return std::unexpected(rows.error());
  std::vector<Notification> out;
  for (const auto& r : *rows) {
    out.push_back(
        Notification{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Int(6)});
  }
  return out;
}

}  // namespace trial::store
