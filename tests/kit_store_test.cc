// Drug kits (store/kit_store.cc, service/kits.h, docs/kits.md) on both backends, with the fixture
// of store_test.cc (store_fixture.h): generation, shipping, receipt, status changes, dispensing,
// the first kit handed out by randomization, the low-stock signal and tamper detection.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include "protocol/protocol.h"
#include "randomization/random.h"
#include "service/kits.h"
#include "service/randomization.h"
#include "store/store.h"
#include "store_fixture.h"

namespace trial::store {
namespace {

namespace rnd = trial::randomization;
using ::testing::Not;

const char* kProtocolDir = "protocols/promis-mda5";

rnd::Seed SeedOf(uint8_t salt) {
  rnd::Seed s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 7 + salt);
  return s;
}

Date D(const char* ymd) { return *Date::Parse(ymd); }

class KitTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto p = protocol::Load(kProtocolDir);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    protocol_ = std::move(*p);
  }

  // Populate() (admin, S1, S2, coord at S1, dm), pharmacists `pharm` (S1) and `pharm2` (S2),
  // coordinator `coord2` (S2), investigator `inv` (S1); randomization live; subject_ eligible.
  void Prepare() {
    Populate();
    OK(store_->AddUser("admin", User{"pharm", "Phil", Role::kUnblindedPharmacist, {"S1"}}));
    OK(store_->AddUser("admin", User{"pharm2", "Pia", Role::kUnblindedPharmacist, {"S2"}}));
    OK(store_->AddUser("admin", User{"coord2", "Cody", Role::kCoordinator, {"S2"}}));
    OK(store_->AddUser("admin", User{"inv", "Ivy", Role::kInvestigator, {"S1"}}));
    OK(service::GoLive(*store_, *protocol_, {"S1", "S2"}, "admin", SeedOf(3)));
    MakeEligible(subject_);
  }

  void MakeEligible(int64_t subject) {
    ScreeningRecord r = Screening(subject, "eligible");
    r.protocol_version = protocol_->version;
    OK(store_->SaveScreening("coord", r));
  }
  int64_t NewEligibleSubject(const std::string& site, const std::string& number) {
    auto s = OK(store_->AddSubject("admin", site, number));
    MakeEligible(s.id);
    return s.id;
  }

  std::vector<Kit> Generate(int count, const std::string& lot = "L1",
                            const char* expiry = "2027-06-30", uint8_t salt = 1) {
    return OK(
        service::GenerateKits(*store_, *protocol_, "admin", count, lot, D(expiry), SeedOf(salt)));
  }
  // Ships `count` kits to `site` and receives them there; returns the shipment.
  Shipment Stock(const std::string& site, int count) {
    Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "admin", site, count));
    return OK(store_->ReceiveShipment("admin", s.id, {}));
  }
  Allocation Randomize(int64_t subject, const std::string& request) {
    return OK(service::Randomize(*store_, *protocol_, "coord", subject, "present", request));
  }

  std::string KitArm(const std::string& kit) {
    auto rows = Sql("SELECT arm FROM kits WHERE kit_number = $1", {kit});
    return rows.empty() ? "" : rows[0].Text(0);
  }
  Kit KitNamed(const std::string& kit) {
    for (const auto& k : OK(store_->Kits(std::nullopt))) {
      if (k.kit_number == kit) return k;
    }
    ADD_FAILURE() << "no kit " << kit;
    return Kit{};
  }
  // A kit at `site` with status available whose arm is (or is not) `arm`.
  std::string AvailableKit(const std::string& site, const std::string& arm, bool same = true) {
    for (const auto& k : OK(store_->Kits(site))) {
      if (k.status == KitStatus::kAvailable && (k.arm == arm) == same) return k.kit_number;
    }
    ADD_FAILURE() << "no available kit at " << site;
    return "";
  }
  std::string OtherArm(const std::string& arm) { return arm == "TCZ" ? "PBO" : "TCZ"; }

  // Everything a refused write must leave as it was: the counts, the head, and every kit's and
  // shipment's state.
  std::string State() {
    std::string out = Snapshot();
    for (const auto& r : Sql("SELECT kit_number, status, COALESCE(site, '-'), COALESCE("
                             "shipment_id, '-'), audit_seq FROM kits ORDER BY kit_number")) {
      out +=
          " " + r.Text(0) + ":" + r.Text(1) + ":" + r.Text(2) + ":" + r.Text(3) + ":" + r.Text(4);
    }
    for (const auto& r : Sql("SELECT id, received_at, audit_seq FROM shipments ORDER BY id")) {
      out += " " + r.Text(0) + ":" + r.Text(1) + ":" + r.Text(2);
    }
    return out;
  }

  std::unique_ptr<protocol::Protocol> protocol_;
};

// ---- generation ------------------------------------------------------------------------------

TEST_P(KitTest, GenerateBalancedRandomNumbersAtTheDepot) {
  Prepare();
  const int64_t before = EventCount();
  std::vector<Kit> kits = Generate(20, "LOT-A", "2027-06-30");
  ASSERT_EQ(kits.size(), 20u);
  EXPECT_EQ(EventCount(), before + 1);
  std::map<std::string, int> per_arm;
  std::set<std::string> numbers;
  const std::regex form("K-[1-9][0-9]{5}");
  for (const auto& k : kits) {
    ++per_arm[k.arm];
    numbers.insert(k.kit_number);
    EXPECT_TRUE(std::regex_match(k.kit_number, form)) << k.kit_number;
    EXPECT_EQ(k.lot, "LOT-A");
    EXPECT_EQ(k.expiry, D("2027-06-30"));
    EXPECT_EQ(k.status, KitStatus::kAvailable);
    EXPECT_EQ(k.site, "");
  }
  EXPECT_EQ(per_arm, (std::map<std::string, int>{{"PBO", 10}, {"TCZ", 10}}));
  EXPECT_EQ(numbers.size(), 20u);
  EXPECT_EQ(Count("kits"), 20);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "kit.generate");
  EXPECT_EQ(e.entity, "kit_batch");
  EXPECT_THAT(e.new_value, HasSubstr("kits_sha256"));
  EXPECT_THAT(e.new_value, HasSubstr(kits[0].kit_number));
  EXPECT_THAT(e.new_value, Not(HasSubstr("TCZ")));  // the event never names an arm
  EXPECT_THAT(e.new_value, Not(HasSubstr("PBO")));
  // A second batch from the same seed reuses no number.
  std::vector<Kit> more = Generate(20, "LOT-B", "2027-06-30");
  for (const auto& k : more) EXPECT_FALSE(numbers.count(k.kit_number)) << k.kit_number;
  // An unblinded pharmacist may generate too.
  OK(service::GenerateKits(*store_, *protocol_, "pharm", 2, "LOT-C", D("2027-01-01"), SeedOf(9)));
  EXPECT_EQ(Count("kits"), 42);
  ExpectIntact();
}

TEST_P(KitTest, KitNumberOrderCarriesNoArmInformation) {
  Prepare();
  std::vector<Kit> kits = Generate(200, "L1", "2027-06-30", 5);  // returned sorted by number
  ASSERT_EQ(kits.size(), 200u);
  for (size_t i = 1; i < kits.size(); ++i) {
    ASSERT_LT(kits[i - 1].kit_number, kits[i].kit_number);
  }
  // Sorted by number, the arms are not in blocks: count the runs of one arm. Blocks would give
  // 2 runs; independent fair coins about 100 (sd 7). Each half holds both arms about equally.
  int runs = 1, tcz_first_half = 0;
  for (size_t i = 1; i < kits.size(); ++i) runs += kits[i].arm != kits[i - 1].arm ? 1 : 0;
  for (size_t i = 0; i < 100; ++i) tcz_first_half += kits[i].arm == "TCZ" ? 1 : 0;
  EXPECT_GT(runs, 70) << "arms in number order look blocked";
  EXPECT_GT(tcz_first_half, 30);
  EXPECT_LT(tcz_first_half, 70);
  // Reproducible from the seed: the same seed on a fresh database gives the same batch.
  std::vector<std::pair<std::string, std::string>> first;
  for (const auto& k : kits) first.emplace_back(k.kit_number, k.arm);
  Sql("DELETE FROM kits");
  std::vector<Kit> again = Generate(200, "L1", "2027-06-30", 5);
  std::vector<std::pair<std::string, std::string>> second;
  for (const auto& k : again) second.emplace_back(k.kit_number, k.arm);
  EXPECT_EQ(first, second);
}

TEST_P(KitTest, GenerateRefusals) {
  Prepare();
  Generate(2);
  const std::string before = State();
  EXPECT_FAILS(
      service::GenerateKits(*store_, *protocol_, "admin", 7, "L", D("2027-01-01"), SeedOf(1)),
      ErrorCode::kInvalidArgument, "multiple of the arms' ratio sum 2 (TCZ:PBO = 1:1)");
  EXPECT_FAILS(
      service::GenerateKits(*store_, *protocol_, "admin", 0, "L", D("2027-01-01"), SeedOf(1)),
      ErrorCode::kInvalidArgument, "not 0");
  EXPECT_FAILS(
      service::GenerateKits(*store_, *protocol_, "coord", 2, "L", D("2027-01-01"), SeedOf(1)),
      ErrorCode::kPermissionDenied, "administrators and unblinded pharmacists only");
  EXPECT_FAILS(
      service::GenerateKits(*store_, *protocol_, "admin", 2, "L", D("2026-07-01"), SeedOf(1)),
      ErrorCode::kInvalidArgument, "the expiry date 2026-07-01 is not after today (2026-07-01)");
  EXPECT_FAILS(
      service::GenerateKits(*store_, *protocol_, "admin", 2, " ", D("2027-01-01"), SeedOf(1)),
      ErrorCode::kInvalidArgument, "the lot is empty");
  const std::string used = OK(store_->Kits(std::nullopt))[0].kit_number;
  EXPECT_FAILS(
      store_->GenerateKits("admin", {{"K-111111", "TCZ"}, {used, "PBO"}}, "L", D("2027-01-01")),
      ErrorCode::kInvalidInput, "kit number " + used + " is already in use");
  EXPECT_FAILS(store_->GenerateKits("admin", {{"K-12", "TCZ"}}, "L", D("2027-01-01")),
               ErrorCode::kInvalidArgument, "'K-12' is not a kit number");
  EXPECT_FAILS(store_->GenerateKits("admin", {{"K-012345", "TCZ"}}, "L", D("2027-01-01")),
               ErrorCode::kInvalidArgument, "is not a kit number");
  EXPECT_FAILS(store_->GenerateKits("admin", {{"K-111111", "TCZ"}, {"K-111111", "PBO"}}, "L",
                                    D("2027-01-01")),
               ErrorCode::kInvalidArgument, "given twice");
  EXPECT_FAILS(store_->GenerateKits("admin", {}, "L", D("2027-01-01")), ErrorCode::kInvalidArgument,
               "1 to 10000 kits");
  EXPECT_FAILS(store_->GenerateKits("nobody", {{"K-111111", "TCZ"}}, "L", D("2027-01-01")),
               ErrorCode::kNotFound, "unknown user 'nobody'");
  EXPECT_EQ(State(), before);
  ExpectIntact();
}

// ---- shipping and receipt --------------------------------------------------------------------

TEST_P(KitTest, ShipByCountPicksEarliestUnexpiredPerArm) {
  Prepare();
  std::vector<Kit> soon = Generate(2, "L-SOON", "2026-07-02", 1);  // expires tomorrow
  std::vector<Kit> early = Generate(4, "L-EARLY", "2027-01-31", 2);
  std::vector<Kit> late = Generate(4, "L-LATE", "2027-06-30", 3);
  tick_->store(2 * 86400);  // the clock is now on 2026-07-03: L-SOON has expired
  const int64_t before = EventCount();
  Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "pharm", "S1", 4));
  EXPECT_EQ(s.id, "SH-0001");
  EXPECT_EQ(s.site, "S1");
  EXPECT_EQ(s.shipped_by, "pharm");
  EXPECT_EQ(s.received_at, "");
  EXPECT_EQ(EventCount(), before + 1);
  EXPECT_EQ(LastEvent().action, "kit.ship");
  EXPECT_THAT(LastEvent().new_value, Not(HasSubstr("TCZ")));
  ASSERT_EQ(s.kit_numbers.size(), 4u);
  std::map<std::string, int> per_arm;
  for (const auto& number : s.kit_numbers) {
    Kit k = KitNamed(number);
    EXPECT_EQ(k.lot, "L-EARLY") << number;  // earliest unexpired expiry first
    EXPECT_EQ(k.status, KitStatus::kInTransit);
    EXPECT_EQ(k.site, "S1");
    EXPECT_EQ(k.shipment_id, "SH-0001");
    ++per_arm[k.arm];
  }
  EXPECT_EQ(per_arm, (std::map<std::string, int>{{"PBO", 2}, {"TCZ", 2}}));
  // Explicit kits.
  Shipment s2 = OK(store_->ShipKits("admin", "S2", ShipmentRequest{{late[0].kit_number}, {}}));
  EXPECT_EQ(s2.id, "SH-0002");
  EXPECT_EQ(s2.kit_numbers, (std::vector<std::string>{late[0].kit_number}));
  auto listed = OK(store_->Shipments(std::nullopt));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].kit_numbers, s.kit_numbers);
  EXPECT_EQ(OK(store_->Shipments(std::string("S2"))).size(), 1u);
  // Refusals, nothing stored.
  OK(store_->ChangeKitStatus("admin", late[1].kit_number, KitStatus::kQuarantined, "too warm"));
  const std::string state = State();
  EXPECT_FAILS(store_->ShipKits("coord", "S1", ShipmentRequest{{late[2].kit_number}, {}}),
               ErrorCode::kPermissionDenied, "may not ship kits");
  EXPECT_FAILS(store_->ShipKits("admin", "S9", ShipmentRequest{{late[2].kit_number}, {}}),
               ErrorCode::kNotFound, "unknown site 'S9'");
  EXPECT_FAILS(store_->ShipKits("admin", "S1", ShipmentRequest{{s.kit_numbers[0]}, {}}),
               ErrorCode::kInvalidInput, "was already shipped (shipment SH-0001 to site S1)");
  EXPECT_FAILS(store_->ShipKits("admin", "S1", ShipmentRequest{{"K-999999"}, {}}),
               ErrorCode::kNotFound, "unknown kit K-999999");
  EXPECT_FAILS(store_->ShipKits("admin", "S1", ShipmentRequest{{late[1].kit_number}, {}}),
               ErrorCode::kInvalidInput, "is quarantined: only available kits are shipped");
  EXPECT_FAILS(store_->ShipKits("admin", "S1", ShipmentRequest{{soon[0].kit_number}, {}}),
               ErrorCode::kInvalidInput,
               "expires on 2026-07-02 (today is 2026-07-03): expired kits are never shipped");
  EXPECT_FAILS(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 3),
               ErrorCode::kInvalidArgument, "multiple of the arms' ratio sum");
  EXPECT_FAILS(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 100),
               ErrorCode::kInvalidInput, "not the 50 to ship: generate more");
  EXPECT_FAILS(store_->ShipKits("admin", "S1", ShipmentRequest{}), ErrorCode::kInvalidArgument,
               "give either the kits to ship or a count");
  EXPECT_FAILS(store_->ShipKits("admin", "S1",
                                ShipmentRequest{{late[2].kit_number}, {{"TCZ", 1}, {"PBO", 1}}}),
               ErrorCode::kInvalidArgument, "not both");
  EXPECT_EQ(State(), state);
  ExpectIntact();
}

TEST_P(KitTest, ReceiveMakesKitsAvailableAtTheSite) {
  Prepare();
  Generate(6);
  Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 4));
  const std::string damaged = s.kit_numbers[1];
  std::string state = State();
  EXPECT_FAILS(store_->ReceiveShipment("coord2", s.id, {}), ErrorCode::kPermissionDenied,
               "may not receive kits at site 'S1'");
  EXPECT_FAILS(store_->ReceiveShipment("dm", s.id, {}), ErrorCode::kPermissionDenied,
               "its investigators, coordinators and pharmacists only");
  EXPECT_FAILS(store_->ReceiveShipment("coord", "SH-0099", {}), ErrorCode::kNotFound,
               "unknown shipment 'SH-0099'");
  EXPECT_FAILS(store_->ReceiveShipment("coord", s.id, {s.kit_numbers[0], "K-999999"}),
               ErrorCode::kInvalidInput, "kit K-999999 is not in shipment " + s.id);
  EXPECT_FAILS(store_->ReceiveShipment("coord", s.id, {"bad"}), ErrorCode::kInvalidArgument,
               "'bad' is not a kit number");
  EXPECT_EQ(State(), state);
  const int64_t before = EventCount();
  Shipment r = OK(store_->ReceiveShipment("coord", s.id, {damaged}));
  EXPECT_EQ(EventCount(), before + 1);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "kit.receive");
  EXPECT_EQ(e.reason, "damaged on arrival: " + damaged);
  EXPECT_EQ(r.received_by, "coord");
  EXPECT_NE(r.received_at, "");
  for (const auto& number : s.kit_numbers) {
    EXPECT_EQ(KitNamed(number).status,
              number == damaged ? KitStatus::kDamaged : KitStatus::kAvailable)
        << number;
  }
  state = State();
  EXPECT_FAILS(store_->ReceiveShipment("coord", s.id, {}), ErrorCode::kInvalidInput,
               "was already received");
  EXPECT_EQ(State(), state);
  ExpectIntact();
}

// ---- status changes --------------------------------------------------------------------------

TEST_P(KitTest, StatusChangesNeedAReasonAndFollowTheLifecycle) {
  Prepare();
  Generate(6);
  Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 2));
  std::vector<Kit> all = OK(store_->Kits(std::nullopt));
  std::string depot;
  for (const auto& k : all) {
    if (k.site.empty()) depot = k.kit_number;
  }
  const std::string transit = s.kit_numbers[0];
  std::string state = State();
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kQuarantined, "  "),
               ErrorCode::kInvalidArgument, "needs a reason");
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kDispensed, "x"),
               ErrorCode::kInvalidArgument, "cannot be set to dispensed");
  EXPECT_FAILS(store_->ChangeKitStatus("admin", "K-999999", KitStatus::kDamaged, "x"),
               ErrorCode::kNotFound, "unknown kit K-999999");
  EXPECT_FAILS(store_->ChangeKitStatus("coord", depot, KitStatus::kDamaged, "x"),
               ErrorCode::kPermissionDenied, "may not change the status of depot kits");
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kAvailable, "x"),
               ErrorCode::kInvalidInput, "kit " + depot + " is already available");
  EXPECT_FAILS(store_->ChangeKitStatus("coord", transit, KitStatus::kQuarantined, "hot"),
               ErrorCode::kInvalidInput, "is in transit (shipment SH-0001): receive the shipment");
  EXPECT_EQ(State(), state);
  // quarantined -> available (release) -> damaged -> destroyed, each audited with its reason.
  int64_t before = EventCount();
  Kit k = OK(store_->ChangeKitStatus("pharm", depot, KitStatus::kQuarantined,
                                     "temperature excursion 9 C"));
  EXPECT_EQ(k.status, KitStatus::kQuarantined);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "kit.status");
  EXPECT_EQ(e.entity_id, depot);
  EXPECT_EQ(e.old_value, R"({"status":"available"})");
  EXPECT_EQ(e.reason, "temperature excursion 9 C");
  OK(store_->ChangeKitStatus("admin", depot, KitStatus::kAvailable, "excursion within limits"));
  OK(store_->ChangeKitStatus("admin", depot, KitStatus::kDamaged, "dropped"));
  state = State();
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kAvailable, "oops"),
               ErrorCode::kInvalidInput, "cannot go from damaged to available");
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kQuarantined, "oops"),
               ErrorCode::kInvalidInput, "cannot go from damaged to quarantined");
  EXPECT_EQ(State(), state);
  OK(store_->ChangeKitStatus("admin", depot, KitStatus::kDestroyed, "destroyed on site"));
  EXPECT_EQ(EventCount(), before + 4);
  EXPECT_FAILS(store_->ChangeKitStatus("admin", depot, KitStatus::kAvailable, "oops"),
               ErrorCode::kInvalidInput, "cannot go from destroyed to available");
  // Site kits: the site's users; not another site's.
  OK(store_->ReceiveShipment("coord", s.id, {}));
  EXPECT_FAILS(store_->ChangeKitStatus("coord2", transit, KitStatus::kQuarantined, "x"),
               ErrorCode::kPermissionDenied, "at site 'S1'");
  EXPECT_FAILS(store_->ChangeKitStatus("pharm2", transit, KitStatus::kQuarantined, "x"),
               ErrorCode::kPermissionDenied, "at site 'S1'");
  OK(store_->ChangeKitStatus("inv", transit, KitStatus::kQuarantined, "fridge failure"));
  EXPECT_TRUE(KitTransitionAllowed(KitStatus::kQuarantined, KitStatus::kDestroyed));
  EXPECT_FALSE(KitTransitionAllowed(KitStatus::kDispensed, KitStatus::kAvailable));
  for (const auto& [status, name] :
       std::vector<std::pair<KitStatus, std::string>>{{KitStatus::kAvailable, "available"},
                                                      {KitStatus::kInTransit, "in_transit"},
                                                      {KitStatus::kQuarantined, "quarantined"},
                                                      {KitStatus::kDamaged, "damaged"},
                                                      {KitStatus::kDestroyed, "destroyed"},
                                                      {KitStatus::kDispensed, "dispensed"}}) {
    EXPECT_EQ(KitStatusName(status), name);
    EXPECT_EQ(ParseKitStatus(name), status);
  }
  EXPECT_EQ(ParseKitStatus("lost"), std::nullopt);
  ExpectIntact();
}

// ---- randomization hands out the first kit ---------------------------------------------------

TEST_P(KitTest, RandomizeDispensesTheFirstKitAndARetryReturnsIt) {
  Prepare();
  Generate(8);
  Stock("S1", 8);
  const int64_t before = EventCount();
  Allocation a = Randomize(subject_, "req-1");
  EXPECT_EQ(a.randomization_number, "R-0001");
  ASSERT_NE(a.kit_number, "");
  // allocation, status, dispensing
  EXPECT_EQ(EventCount(), before + 3);
  AuditEvent e = LastEvent();
  EXPECT_EQ(e.action, "kit.dispense");
  EXPECT_EQ(e.entity_id, std::to_string(subject_) + "/D0");
  EXPECT_THAT(e.new_value, Not(HasSubstr("TCZ")));
  EXPECT_THAT(e.new_value, Not(HasSubstr("PBO")));
  const std::string arm = OK(store_->ArmOf(subject_)).value_or("?");
  EXPECT_EQ(KitArm(a.kit_number), arm);
  EXPECT_EQ(KitNamed(a.kit_number).status, KitStatus::kDispensed);
  auto d = OK(store_->Dispensings(subject_));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].visit, "D0");
  EXPECT_EQ(d[0].kit_number, a.kit_number);
  EXPECT_EQ(d[0].date, D("2026-07-01"));
  EXPECT_EQ(OK(store_->AllocationOf(subject_)).value_or(Allocation{}).kit_number, a.kit_number);
  // The retry: the same allocation and kit, nothing written.
  const std::string state = State();
  Allocation again = Randomize(subject_, "req-1");
  EXPECT_EQ(again.randomization_number, "R-0001");
  EXPECT_EQ(again.kit_number, a.kit_number);
  EXPECT_EQ(State(), state);
  ExpectIntact();
}

TEST_P(KitTest, RandomizeWithoutAKitOfTheArmStoresNothing) {
  Prepare();
  Generate(8);
  // Kits exist, but none at S1.
  OK(service::ShipKitCount(*store_, *protocol_, "admin", "S2", 4));
  std::string state = State();
  EXPECT_FAILS(service::Randomize(*store_, *protocol_, "coord", subject_, "present", "r1"),
               ErrorCode::kInvalidInput,
               "no kit available for this subject at site S1: resupply the site");
  EXPECT_EQ(State(), state);
  EXPECT_EQ(StatusOf(subject_), SubjectStatus::kEligible);
  // Only kits of the other arm at S1: the same blinded message. The subject will get the arm of
  // position 1 of its stratum.
  const std::string arm = Sql("SELECT arm FROM rand_slots WHERE stratum = "
                              "'site=S1,ild_at_baseline=present' AND position = 1")[0]
                              .Text(0);
  std::vector<std::string> other;
  for (const auto& k : OK(store_->Kits(std::nullopt))) {
    if (k.site.empty() && k.arm != arm) other.push_back(k.kit_number);
  }
  ASSERT_EQ(other.size(), 2u);
  Shipment s = OK(store_->ShipKits("admin", "S1", ShipmentRequest{other, {}}));
  OK(store_->ReceiveShipment("coord", s.id, {}));
  state = State();
  auto refused = service::Randomize(*store_, *protocol_, "coord", subject_, "present", "r1");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message,
            "no kit available for this subject at site S1: resupply the site");
  EXPECT_THAT(refused.error().message, Not(HasSubstr(arm)));
  EXPECT_EQ(State(), state);
  ExpectIntact();
}

// ---- dispensing ------------------------------------------------------------------------------

TEST_P(KitTest, DispenseAssignsTheEarliestExpiringKitOfTheArm) {
  Prepare();
  Generate(4, "L-LATE", "2027-06-30", 1);
  Generate(4, "L-EARLY", "2026-12-31", 2);
  Generate(4, "L-SHORT", "2026-07-20", 3);  // expires before the day-28 dose
  std::vector<std::string> all;
  for (const auto& k : OK(store_->Kits(std::nullopt))) all.push_back(k.kit_number);
  Shipment shipped = OK(store_->ShipKits("admin", "S1", ShipmentRequest{all, {}}));
  OK(store_->ReceiveShipment("coord", shipped.id, {}));
  Allocation a = Randomize(subject_, "req-1");
  EXPECT_EQ(KitNamed(a.kit_number).lot, "L-SHORT");  // expires after the dose date 2026-07-01
  const int64_t before = EventCount();
  Dispensing d = OK(store_->DispenseKit("coord", subject_, "D28", D("2026-07-29"), "d28"));
  EXPECT_EQ(EventCount(), before + 1);
  EXPECT_EQ(d.visit, "D28");
  EXPECT_EQ(d.user, "coord");
  EXPECT_EQ(KitNamed(d.kit_number).lot, "L-EARLY");  // L-SHORT expired by then
  EXPECT_EQ(KitArm(d.kit_number), OK(store_->ArmOf(subject_)).value_or("?"));
  // A retried request returns the same kit and writes nothing.
  std::string state = State();
  Dispensing again = OK(store_->DispenseKit("coord", subject_, "D28", D("2026-07-29"), "d28"));
  EXPECT_EQ(again.kit_number, d.kit_number);
  EXPECT_EQ(State(), state);
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D42", D("2026-08-12"), "d28"),
               ErrorCode::kInvalidInput, "request id 'd28' was already used");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D28", D("2026-07-29"), "d28-bis"),
               ErrorCode::kInvalidInput, "already received kit " + d.kit_number + " at visit D28");
  EXPECT_EQ(State(), state);
  auto list = OK(store_->Dispensings(subject_));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].visit, "D0");
  EXPECT_EQ(list[1].visit, "D28");
  ExpectIntact();
}

TEST_P(KitTest, ExplicitKitChecksAndBlindedWrongArmMessage) {
  Prepare();
  Generate(12);
  Stock("S1", 10);
  Randomize(subject_, "req-1");
  const std::string id = std::to_string(subject_);
  const std::string arm = OK(store_->ArmOf(subject_)).value_or("?");
  // One kit of each kind at S1, and others elsewhere.
  const std::string wrong = AvailableKit("S1", arm, false);
  const std::string quarantined = AvailableKit("S1", arm);
  OK(store_->ChangeKitStatus("coord", quarantined, KitStatus::kQuarantined, "too warm"));
  const std::string damaged = AvailableKit("S1", arm);
  OK(store_->ChangeKitStatus("coord", damaged, KitStatus::kDamaged, "cracked vial"));
  const std::string good = AvailableKit("S1", arm);
  const std::string dispensed =
      OK(store_->AllocationOf(subject_)).value_or(Allocation{}).kit_number;
  std::vector<std::string> at_depot;
  for (const auto& k : OK(store_->Kits(std::nullopt))) {
    if (k.site.empty()) at_depot.push_back(k.kit_number);
  }
  ASSERT_EQ(at_depot.size(), 2u);
  const std::string depot = at_depot[0];
  const std::string elsewhere = at_depot[1];
  Shipment s2 = OK(store_->ShipKits("admin", "S2", ShipmentRequest{{elsewhere}, {}}));
  OK(store_->ReceiveShipment("coord2", s2.id, {}));
  Generate(2, "L2", "2027-01-01", 4);
  Shipment transit = OK(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 2));
  const std::string state = State();
  auto refuse = [&](const std::string& kit, const std::string& why, const char* date = "2026-07-15",
                    ErrorCode code = ErrorCode::kInvalidInput) {
    EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", D(date), "x-" + kit, kit), code,
                 why);
  };
  refuse(wrong, "kit " + wrong + " does not match subject " + id + "'s allocation");
  refuse(quarantined, "kit " + quarantined + " is quarantined");
  refuse(damaged, "kit " + damaged + " is damaged");
  refuse(dispensed, "kit " + dispensed + " was already dispensed");
  refuse(depot, "kit " + depot + " is at the depot, not at site S1");
  refuse(elsewhere, "kit " + elsewhere + " is at site S2, not at site S1");
  refuse(transit.kit_numbers[0], "kit " + transit.kit_numbers[0] +
                                     " has not been received at site S1 yet (shipment " +
                                     transit.id + ")");
  refuse(good, "kit " + good + " expires on 2027-06-30, not after the dose date 2027-06-30",
         "2027-06-30");
  refuse("K-999999", "unknown kit K-999999", "2026-07-15", ErrorCode::kNotFound);
  // The wrong-arm message names no arm.
  auto wrong_arm = store_->DispenseKit("coord", subject_, "D14", D("2026-07-15"), "w", wrong);
  ASSERT_FALSE(wrong_arm.has_value());
  EXPECT_THAT(wrong_arm.error().message, Not(HasSubstr("TCZ")));
  EXPECT_THAT(wrong_arm.error().message, Not(HasSubstr("PBO")));
  EXPECT_EQ(State(), state);
  // The good kit goes.
  Dispensing d = OK(store_->DispenseKit("inv", subject_, "D14", D("2026-07-15"), "ok", good));
  EXPECT_EQ(d.kit_number, good);
  ExpectIntact();
}

TEST_P(KitTest, DispenseRefusals) {
  Prepare();
  Generate(8);
  Stock("S1", 8);
  const int64_t not_randomized = NewEligibleSubject("S1", "S1-002");
  Randomize(subject_, "req-1");
  const int64_t withdrawn = NewEligibleSubject("S1", "S1-003");
  Randomize(withdrawn, "req-2");
  OK(store_->ChangeStatus("coord", withdrawn, SubjectStatus::kWithdrawn, "moved away"));
  const std::string state = State();
  const Date day14 = D("2026-07-15");
  EXPECT_FAILS(store_->DispenseKit("coord", not_randomized, "D14", day14, "a"),
               ErrorCode::kInvalidInput,
               "subject " + std::to_string(not_randomized) + " is not randomized");
  EXPECT_FAILS(store_->DispenseKit("coord", withdrawn, "D14", day14, "b"), ErrorCode::kInvalidInput,
               "is withdrawn: kits go to subjects on treatment only");
  EXPECT_FAILS(store_->DispenseKit("coord", 999, "D14", day14, "c"), ErrorCode::kNotFound,
               "unknown subject 999");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", D("2026-06-30"), "d"),
               ErrorCode::kInvalidInput, "the dose date 2026-06-30 is before subject");
  EXPECT_FAILS(store_->DispenseKit("coord2", subject_, "D14", day14, "e"),
               ErrorCode::kPermissionDenied, "may not dispense kits at site 'S1'");
  EXPECT_FAILS(store_->DispenseKit("dm", subject_, "D14", day14, "f"), ErrorCode::kPermissionDenied,
               "may not dispense kits");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "", day14, "g"), ErrorCode::kInvalidArgument,
               "the visit is empty");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", day14, ""),
               ErrorCode::kInvalidArgument, "the request id is empty");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", day14, "randomize:req-9"),
               ErrorCode::kInvalidArgument, "reserved");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", day14, "h", "K-1"),
               ErrorCode::kInvalidArgument, "not a kit number");
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D0", day14, "i"), ErrorCode::kInvalidInput,
               "already received kit");
  EXPECT_EQ(State(), state);
  // Out of stock for the arm: the blinded message.
  const std::string arm = OK(store_->ArmOf(subject_)).value_or("?");
  for (const auto& k : OK(store_->Kits(std::string("S1")))) {
    if (k.status == KitStatus::kAvailable && k.arm == arm) {
      OK(store_->ChangeKitStatus("coord", k.kit_number, KitStatus::kQuarantined, "excursion"));
    }
  }
  const std::string state2 = State();
  EXPECT_FAILS(store_->DispenseKit("coord", subject_, "D14", day14, "j"), ErrorCode::kInvalidInput,
               "no kit available for this subject at site S1: resupply the site");
  EXPECT_EQ(State(), state2);
  ExpectIntact();
}

// ---- low stock -------------------------------------------------------------------------------

// The worked example of docs/kits.md, by hand: on 2026-07-10 with doses on days 0, 14, 28, 42,
// a 28-day horizon (up to 2026-08-07) and a buffer of 2 per arm.
TEST(KitStockTest, WorkedExample) {
  auto p = protocol::Load(kProtocolDir);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  const protocol::Protocol& protocol = **p;
  ASSERT_EQ(protocol.kits.dose_days, (std::vector<int>{0, 14, 28, 42}));
  ASSERT_EQ(protocol.kits.horizon_days, 28);
  ASSERT_EQ(protocol.kits.buffer_per_arm, 2);
  SupplySnapshot snap;
  // TCZ subject 1: allocated 07-01, D0 given: days 14 (07-15) and 28 (07-29) due, 42 (08-12) not.
  snap.subjects.push_back(DosingSubject{1, "S1", "TCZ", D("2026-07-01"), 1});
  // PBO subject 2: allocated 07-05, D0 given: 07-19 and 08-02 due, 08-16 not.
  snap.subjects.push_back(DosingSubject{2, "S1", "PBO", D("2026-07-05"), 1});
  // TCZ subject 3: allocated 06-12, three doses given: day 42 (07-24) due.
  snap.subjects.push_back(DosingSubject{3, "S1", "TCZ", D("2026-06-12"), 3});
  // PBO subject 4: allocated 07-01, none given: day 0 (07-01) is before the window, 07-15 and
  // 07-29 due.
  snap.subjects.push_back(DosingSubject{4, "S1", "PBO", D("2026-07-01"), 0});
  snap.subjects.push_back(DosingSubject{5, "S2", "TCZ", D("2026-07-09"), 1});  // another site
  // Needed: TCZ 2 + 1 + 2 (buffer) = 5; PBO 2 + 2 + 2 = 6.
  int n = 100000;
  auto kit = [&](const char* arm, const char* expiry, KitStatus status, const char* site) {
    snap.kits.push_back(
        Kit{"K-" + std::to_string(++n), arm, "L", D(expiry), status, site, "SH-0001"});
  };
  for (int i = 0; i < 5; ++i) kit("TCZ", "2027-01-01", KitStatus::kAvailable, "S1");
  kit("TCZ", "2026-08-07", KitStatus::kAvailable, "S1");  // expires within the horizon
  kit("TCZ", "2027-01-01", KitStatus::kQuarantined, "S1");
  kit("TCZ", "2027-01-01", KitStatus::kInTransit, "S1");
  kit("TCZ", "2027-01-01", KitStatus::kAvailable, "");  // at the depot
  for (int i = 0; i < 6; ++i) kit("PBO", "2027-01-01", KitStatus::kAvailable, "S1");
  kit("PBO", "2027-01-01", KitStatus::kDispensed, "S1");
  kit("PBO", "2026-08-08", KitStatus::kDamaged, "S1");
  service::SiteStock s = service::StockOf(protocol, "S1", D("2026-07-10"), snap);
  EXPECT_EQ(s.site, "S1");
  EXPECT_EQ(s.available, 11);
  ASSERT_EQ(s.arms.size(), 2u);
  EXPECT_EQ(s.arms[0].arm, "TCZ");
  EXPECT_EQ(s.arms[0].available, 5);
  EXPECT_EQ(s.arms[0].needed, 5);
  EXPECT_EQ(s.arms[1].arm, "PBO");
  EXPECT_EQ(s.arms[1].available, 6);
  EXPECT_EQ(s.arms[1].needed, 6);
  EXPECT_FALSE(s.low);
  // One PBO kit fewer: LOW.
  snap.kits[9].status = KitStatus::kQuarantined;  // the first PBO kit
  s = service::StockOf(protocol, "S1", D("2026-07-10"), snap);
  EXPECT_EQ(s.arms[1].available, 5);
  EXPECT_TRUE(s.low);
  // A week later subject 1's day-14 dose (07-15) is still undispensed but past: not counted;
  // subject 1's day 42 (08-12) now is.
  s = service::StockOf(protocol, "S1", D("2026-07-17"), snap);
  EXPECT_EQ(s.arms[0].needed, 2 + 1 + 2);  // subject 1: 07-29, 08-12; subject 3: 07-24
}

TEST_P(KitTest, StockThroughTheStoreIsBlindedByRole) {
  Prepare();
  Generate(8);
  Stock("S1", 8);
  Randomize(subject_, "req-1");  // on 2026-07-01: D0 dispensed
  const std::string arm = OK(store_->ArmOf(subject_)).value_or("?");
  // On 2026-07-10: the subject's days 14 and 28 are due, 42 is not: its arm needs 2 + 2 (buffer),
  // has 3; the other arm needs 2, has 4. S2 has nothing and needs 2 per arm.
  // Administrators are blinded; an unblinded statistician sees every site by arm.
  EXPECT_FALSE(OK(service::KitStock(*store_, *protocol_, "admin", D("2026-07-10"), std::nullopt))
                   .arms_shown);
  OK(store_->AddUser("admin", User{"ustat", "Uma", Role::kUnblindedStatistician, {}}));
  auto admin = OK(service::KitStock(*store_, *protocol_, "ustat", D("2026-07-10"), std::nullopt));
  EXPECT_TRUE(admin.arms_shown);
  ASSERT_EQ(admin.sites.size(), 2u);
  const service::SiteStock& s1 = admin.sites[0];
  EXPECT_EQ(s1.site, "S1");
  EXPECT_EQ(s1.available, 7);
  EXPECT_TRUE(s1.low);
  for (const auto& a : s1.arms) {
    EXPECT_EQ(a.available, a.arm == arm ? 3 : 4) << a.arm;
    EXPECT_EQ(a.needed, a.arm == arm ? 4 : 2) << a.arm;
  }
  EXPECT_EQ(admin.sites[1].site, "S2");
  EXPECT_EQ(admin.sites[1].available, 0);
  EXPECT_TRUE(admin.sites[1].low);
  // The coordinator sees its site only, without arms.
  auto coord = OK(service::KitStock(*store_, *protocol_, "coord", D("2026-07-10"), std::nullopt));
  EXPECT_FALSE(coord.arms_shown);
  ASSERT_EQ(coord.sites.size(), 1u);
  EXPECT_EQ(coord.sites[0].site, "S1");
  EXPECT_EQ(coord.sites[0].available, 7);
  EXPECT_TRUE(coord.sites[0].low);
  EXPECT_TRUE(coord.sites[0].arms.empty());
  EXPECT_FAILS(service::KitStock(*store_, *protocol_, "coord", D("2026-07-10"), "S2"),
               ErrorCode::kPermissionDenied, "may not see the kits of site 'S2'");
  EXPECT_FAILS(service::KitStock(*store_, *protocol_, "admin", D("2026-07-10"), "S9"),
               ErrorCode::kNotFound, "unknown site 'S9'");
  // Two more kits of the short arm: OK. (Shipped by number: ship --count is arm-balanced.)
  Generate(4, "L2", "2027-06-30", 7);
  std::vector<std::string> more;
  for (const auto& k : OK(store_->Kits(std::nullopt))) {
    if (k.site.empty() && k.arm == arm) more.push_back(k.kit_number);
  }
  Shipment s = OK(store_->ShipKits("admin", "S1", ShipmentRequest{more, {}}));
  OK(store_->ReceiveShipment("coord", s.id, {}));
  auto after = OK(service::KitStock(*store_, *protocol_, "pharm", D("2026-07-10"), "S1"));
  EXPECT_TRUE(after.arms_shown);
  ASSERT_EQ(after.sites.size(), 1u);
  EXPECT_FALSE(after.sites[0].low);
  EXPECT_EQ(after.sites[0].available, 9);
  // Kit lists: arms for the pharmacist only.
  auto blinded = OK(service::ListKits(*store_, "coord", std::nullopt));
  EXPECT_FALSE(blinded.arms_shown);
  EXPECT_EQ(blinded.kits.size(), 10u);  // the kits at S1
  for (const auto& k : blinded.kits) EXPECT_EQ(k.arm, "") << k.kit_number;
  auto unblinded = OK(service::ListKits(*store_, "pharm", std::string("S1")));
  EXPECT_TRUE(unblinded.arms_shown);
  for (const auto& k : unblinded.kits) EXPECT_NE(k.arm, "") << k.kit_number;
  auto everything = OK(service::ListKits(*store_, "admin", std::nullopt));
  EXPECT_EQ(everything.kits.size(), 12u);
}

// ---- tampering -------------------------------------------------------------------------------

TEST_P(KitTest, VerifyAuditDetectsTamperedKitRows) {
  Prepare();
  std::vector<Kit> kits = Generate(8);
  const int64_t generated = LastEvent().seq;
  Shipment s = OK(service::ShipKitCount(*store_, *protocol_, "admin", "S1", 6));
  OK(store_->ReceiveShipment("coord", s.id, {}));
  const int64_t received = LastEvent().seq;
  Allocation a = Randomize(subject_, "req-1");
  const int64_t dispensed = LastEvent().seq;
  Restart();
  ExpectIntact();
  // A changed arm: the batch no longer hashes as its generation recorded.
  const std::string k = kits[0].kit_number;
  const std::string arm = KitArm(k);
  Sql("UPDATE kits SET arm = $1 WHERE kit_number = $2", {OtherArm(arm), k});
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, generated) << r.problem;
  EXPECT_THAT(r.problem, HasSubstr("generated by audit event " + std::to_string(generated)));
  Sql("UPDATE kits SET arm = $1 WHERE kit_number = $2", {arm, k});
  ExpectIntact();
  // A changed status.
  Sql("UPDATE kits SET status = 'available' WHERE kit_number = $1", {a.kit_number});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, dispensed) << r.problem;
  EXPECT_THAT(r.problem,
              HasSubstr("kit " + a.kit_number + " was changed behind the system's back"));
  // Rolled back to an earlier state, pointing at the event that recorded it: still caught.
  Sql("UPDATE kits SET audit_seq = $1 WHERE kit_number = $2", {received, a.kit_number});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, dispensed) << r.problem;
  Sql("UPDATE kits SET status = 'dispensed', audit_seq = $1 WHERE kit_number = $2",
      {dispensed, a.kit_number});
  ExpectIntact();
  // Pointing at an older event that recorded the same state (quarantined, then released): the
  // row must point at the latest event about the kit.
  const std::string released = AvailableKit("S1", "TCZ");
  OK(store_->ChangeKitStatus("coord", released, KitStatus::kQuarantined, "too warm"));
  OK(store_->ChangeKitStatus("coord", released, KitStatus::kAvailable, "within limits"));
  const int64_t release = LastEvent().seq;
  Sql("UPDATE kits SET audit_seq = $1 WHERE kit_number = $2", {received, released});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, release) << r.problem;
  Sql("UPDATE kits SET audit_seq = $1 WHERE kit_number = $2", {release, released});
  ExpectIntact();
  // A changed shipment, a deleted dispensing, a deleted kit.
  Sql("UPDATE shipments SET received_by = 'someone' WHERE id = $1", {s.id});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problem, HasSubstr("shipment " + s.id + " was changed"));
  Sql("UPDATE shipments SET received_by = 'coord' WHERE id = $1", {s.id});
  ExpectIntact();
  Sql("DELETE FROM dispensings WHERE kit_number = $1", {a.kit_number});
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, dispensed);
  EXPECT_THAT(r.problem, HasSubstr("missing"));
  std::string depot;
  for (const auto& kit : kits) {
    if (KitNamed(kit.kit_number).site.empty()) depot = kit.kit_number;
  }
  Sql("DELETE FROM kits WHERE kit_number = $1", {depot});
  r = Verify();
  EXPECT_FALSE(r.ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, KitTest, ::testing::Values("sqlite", "postgres"), ParamName);

}  // namespace
}  // namespace trial::store
