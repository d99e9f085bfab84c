// eCRF data entry (service/data_entry.h) against a real SQLite store: values are validated,
// normalized and stored; rejected values leave nothing behind; edit-check findings come back.
// SQLite only: the service adds no SQL of its own (it uses RecordItem, RecordItems and
// ItemHistory, which tests/store_test.cc and tests/journey_test.cc run on both backends, with the
// import refused by the store and the CLI journeys).
#include "service/data_entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite/sqlite.h"

namespace trial::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const protocol::Protocol& Promis() {
  static const auto* p = [] {
    auto loaded = protocol::Load("protocols/promis-mda5");
    EXPECT_TRUE(loaded.has_value()) << loaded.error().message;
    return loaded->release();
  }();
  return *p;
}

class DataEntry : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("trial_data_entry_" + std::string(info->name()) + "_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto c = store::OpenSqlite((dir_ / "trial.db").string());
    ASSERT_TRUE(c.has_value()) << c.error().message;
    store_ = std::make_unique<store::TrialStore>(std::move(*c));
    ASSERT_TRUE(store_->Init().has_value());
    ASSERT_TRUE(store_->CreateFirstAdministrator("admin", "").has_value());
    ASSERT_TRUE(store_->AddSite("admin", {"S1", "Site one"}).has_value());
    ASSERT_TRUE(
        store_->AddUser("admin", {"coord", "", store::Role::kCoordinator, {"S1"}}).has_value());
    auto s = store_->AddSubject("coord", "S1", "001");
    ASSERT_TRUE(s.has_value()) << s.error().message;
    subject_ = s->id;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Result<EntryOutcome> Set(const std::string& visit, const std::string& form,
                           const std::string& item, const std::string& value,
                           const std::string& reason = "", int repeat = 0) {
    return SetItem(*store_, Promis(), "coord", subject_, visit, form, item, value, reason, repeat);
  }
  std::vector<store::ItemVersion> History(const std::string& visit, const std::string& form,
                                          const std::string& item, int repeat = 0) {
    auto h = store_->ItemHistory({subject_, visit, form, repeat, item});
    EXPECT_TRUE(h.has_value());
    return h ? *h : std::vector<store::ItemVersion>{};
  }
  size_t AuditCount() {
    auto e = store_->AuditEvents({});
    EXPECT_TRUE(e.has_value());
    return e ? e->size() : 0;
  }

  fs::path dir_;
  std::unique_ptr<store::TrialStore> store_;
  int64_t subject_ = 0;
};

bool Has(const std::vector<ecrf::Finding>& f, const std::string& id) {
  for (const auto& x : f) {
    if (x.check_id == id) return true;
  }
  return false;
}

TEST_F(DataEntry, StoresTheNormalizedValue) {
  auto r = Set("SCR", "weight", "weight", "150 [lb_av]");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->stored.value, "68.0388555 kg");
  EXPECT_EQ(r->stored.version, 1);
  auto h = History("SCR", "weight", "weight");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].value, "68.0388555 kg");
  EXPECT_EQ(h[0].user, "coord");
}

TEST_F(DataEntry, RejectionsStoreNothing) {
  size_t before = AuditCount();
  auto expect_rejected = [&](Result<EntryOutcome> r, ErrorCode code, const std::string& part) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, code);
    EXPECT_THAT(r.error().message, HasSubstr(part));
  };
  expect_rejected(Set("SCR", "weight", "weight", "62.5"), ErrorCode::kInvalidArgument,
                  "weight.weight: '62.5' has no unit");
  expect_rejected(Set("SCR", "weight", "weight", "301 kg"), ErrorCode::kInvalidArgument,
                  "outside the hard range 20 to 300 kg");
  expect_rejected(Set("W2", "mmt8", "neck_flexors", "8"), ErrorCode::kInvalidArgument,
                  "visit W2 does not collect form mmt8");
  expect_rejected(Set("W9", "weight", "weight", "60 kg"), ErrorCode::kInvalidArgument,
                  "unknown visit 'W9'");
  expect_rejected(Set("SCR", "weight", "height", "1 m"), ErrorCode::kNotFound,
                  "form weight has no item 'height'");
  expect_rejected(Set("SCR", "weight", "weight", "60 kg", "", 1), ErrorCode::kInvalidArgument,
                  "does not repeat");
  expect_rejected(
      SetItem(*store_, Promis(), "coord", 999, "SCR", "weight", "weight", "60 kg", "", 0),
      ErrorCode::kNotFound, "unknown subject 999");
  EXPECT_TRUE(History("SCR", "weight", "weight").empty());
  EXPECT_TRUE(History("SCR", "weight", "height").empty());
  EXPECT_EQ(AuditCount(), before);
}

TEST_F(DataEntry, RejectEditCheckStoresNothing) {
  ASSERT_TRUE(Set("D0", "vital_signs", "systolic_bp", "120 mm[Hg]").has_value());
  auto r = Set("D0", "vital_signs", "diastolic_bp", "130 mm[Hg]");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message,
              HasSubstr("rejected by edit check vital_signs.diastolic_above_systolic"));
  EXPECT_TRUE(History("D0", "vital_signs", "diastolic_bp").empty());
  ASSERT_TRUE(Set("D0", "vital_signs", "diastolic_bp", "80 mm[Hg]").has_value());
}

TEST_F(DataEntry, ReturnsQueriesOfTheVisit) {
  ASSERT_TRUE(Set("SCR", "visit", "visit_date", "2026-03-01").has_value());
  ASSERT_TRUE(Set("SCR", "weight", "weight", "60 kg").has_value());
  ASSERT_TRUE(Set("D0", "visit", "visit_date", "2026-03-10").has_value());
  auto r = Set("D0", "weight", "weight", "67 kg");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(Has(r->findings, "weight.change_since_previous"));
  EXPECT_EQ(History("D0", "weight", "weight").size(), 1u);  // a query still stores
  r = Set("D0", "safety_labs", "collected_on", "2026-03-11");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(Has(r->findings, "safety_labs.collected_after_visit"));
  EXPECT_TRUE(Has(r->findings, "safety_labs.anc.required"));
  // A soft-range value: stored, with its query.
  r = Set("D0", "safety_labs", "anc", "800 /mm3");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stored.value, "0.8 10*9/L");
  EXPECT_TRUE(Has(r->findings, "safety_labs.anc.soft"));
  EXPECT_FALSE(Has(r->findings, "safety_labs.anc.required"));
}

TEST_F(DataEntry, QueryFindingsOpenStoreQueriesOnce) {
  ASSERT_TRUE(Set("D0", "visit", "visit_date", "2026-03-10").has_value());
  auto r = Set("D0", "safety_labs", "anc", "800 /mm3");  // below the soft range
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->queries.size(), 1u);
  const store::QueryRecord& q = r->queries[0];
  EXPECT_EQ(q.edit_check, "safety_labs.anc.soft");
  EXPECT_EQ(q.key.visit, "D0");
  EXPECT_EQ(q.key.form, "safety_labs");
  EXPECT_EQ(q.key.item, "anc");
  EXPECT_EQ(q.status, "open");
  // Entering another item of the visit, or the same value again, opens no second query.
  r = Set("D0", "safety_labs", "anc", "0.8 10*9/L", "re-entered from the source");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->queries.empty());
  auto open = store_->Queries(store::QueryFilter{subject_, std::nullopt, std::string("open")});
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->size(), 1u);
  // A finding about a missing item (required) opens nothing: there is no value to query.
  r = Set("D0", "safety_labs", "collected_on", "2026-03-10");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(Has(r->findings, "safety_labs.platelets.required"));
  for (const auto& opened : r->queries) EXPECT_NE(opened.key.item, "platelets");
}

TEST_F(DataEntry, CorrectionsNeedAReason) {
  ASSERT_TRUE(Set("SCR", "weight", "weight", "60 kg").has_value());
  auto r = Set("SCR", "weight", "weight", "61 kg");
  ASSERT_FALSE(r.has_value());  // the store's rule: a later version needs a reason
  EXPECT_EQ(History("SCR", "weight", "weight").size(), 1u);
  r = Set("SCR", "weight", "weight", "61 kg", "transcription error");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->stored.version, 2);
}

TEST_F(DataEntry, ImportIsAllOrNothing) {
  auto entries = ParseImport(R"([
    {"form": "vital_signs", "item": "systolic_bp", "value": "120 mm[Hg]"},
    {"form": "vital_signs", "item": "diastolic_bp", "value": "130 mm[Hg]"},
    {"form": "vital_signs", "item": "spo2", "value": "abc"},
    {"form": "mmt8", "item": "neck_flexors", "value": 12},
    {"form": "vital_signs", "item": "spo2", "value": "97 %"}
  ])");
  ASSERT_TRUE(entries.has_value()) << entries.error().message;
  size_t before = AuditCount();
  auto r = ImportItems(*store_, Promis(), "coord", subject_, "D0", *entries, "");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->rejected.size(), 4u);
  EXPECT_THAT(r->rejected[0], HasSubstr("vital_signs.spo2: 'abc' is not a quantity"));
  EXPECT_THAT(r->rejected[1], HasSubstr("mmt8.neck_flexors: 12 is outside the hard range"));
  EXPECT_THAT(r->rejected[2], HasSubstr("vital_signs.spo2: listed twice"));
  EXPECT_THAT(r->rejected[3], HasSubstr("vital_signs.diastolic_above_systolic"));
  EXPECT_TRUE(r->stored.empty());
  EXPECT_TRUE(History("D0", "vital_signs", "systolic_bp").empty());
  EXPECT_EQ(AuditCount(), before);
}

TEST_F(DataEntry, ImportStoresEveryEntry) {
  auto entries = ParseImport(R"([
    {"form": "visit", "item": "visit_date", "value": "2026-03-10"},
    {"form": "vital_signs", "item": "systolic_bp", "value": "120 mm[Hg]"},
    {"form": "vital_signs", "item": "diastolic_bp", "value": "80 mm[Hg]"},
    {"form": "medications", "item": "category", "value": "glucocorticoid"},
    {"form": "medications", "item": "category", "value": "tmp_smz", "repeat": 1}
  ])");
  ASSERT_TRUE(entries.has_value()) << entries.error().message;
  auto r = ImportItems(*store_, Promis(), "coord", subject_, "D0", *entries, "");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->rejected.empty()) << r->rejected.front();
  ASSERT_EQ(r->stored.size(), 5u);
  EXPECT_EQ(History("D0", "medications", "category", 1).size(), 1u);
  EXPECT_TRUE(Has(r->findings, "medications.drug.required"));
  // Again without a reason: refused before anything is written.
  r = ImportItems(*store_, Promis(), "coord", subject_, "D0", *entries, "");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rejected.size(), 5u);
  EXPECT_THAT(r->rejected[0], HasSubstr("has a value already"));
}

TEST_F(DataEntry, RepeatingFormsHaveNoGaps) {
  auto r = Set("D0", "medications", "category", "other", "", 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("instance 1 of form medications needs instance 0"));
  ASSERT_TRUE(Set("D0", "medications", "category", "other", "", 0).has_value());
  ASSERT_TRUE(Set("D0", "medications", "category", "tmp_smz", "", 1).has_value());
  auto data = LoadSubjectData(*store_, Promis(), subject_, "D0");
  ASSERT_TRUE(data.has_value());
  ASSERT_NE(data->FindVisit("D0"), nullptr);
  ASSERT_NE(data->FindVisit("D0")->Find("medications.category", 1), nullptr);
  EXPECT_EQ(*data->FindVisit("D0")->Find("medications.category", 1), "tmp_smz");
}

TEST_F(DataEntry, ParseImportErrors) {
  EXPECT_FALSE(ParseImport("{").has_value());
  auto r = ParseImport(R"([{"form": "weight", "item": "weight"}])");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("entry 1: \"value\" is missing"));
  r = ParseImport(R"([{"form": "weight", "item": "weight", "value": "1 kg", "x": 1}])");
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error().message, HasSubstr("unknown key 'x'"));
}

}  // namespace
}  // namespace trial::service
