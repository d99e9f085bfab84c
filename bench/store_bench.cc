// Audited writes per second of the trial store: one TrialStore::RecordItem (an eCRF item version
// and its audit event, chain head updated) per transaction, on a new item each time.
//   BM_AuditedWrites/sqlite/writers:1|8    an SQLite file with full durability (WAL,
//                                          synchronous=FULL, checked), each writer a thread with
//                                          its own Connection to the same file
//   BM_AuditedWrites/postgres/writers:1|8  a fresh database on the server in TRIAL_TEST_PG_URL
//                                          (skipped with an error without it)
// Each iteration is a batch of 200 writes split evenly over the writers; items_per_second is the
// number of acknowledged audited writes per wall-clock second. 5 iterations = 1000 writes, the
// row count bench/sqlite_reference.sh uses for the raw sqlite3 reference.
// The SQLite file lives in $TRIAL_BENCH_DIR (default: the system temp dir); run the reference on
// the same disk.
#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "protocol/protocol.h"
#include "randomization/random.h"
#include "service/kits.h"
#include "service/randomization.h"
#include "store/postgres/postgres.h"
#include "store/postgres/test_database.h"
#include "store/sqlite/sqlite.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;
namespace store = trial::store;

constexpr int kBatch = 200;

// A fresh database for one benchmark run: created, populated (admin, site, coordinator,
// subject 1), removed at the end.
class BenchDatabase {
 public:
  explicit BenchDatabase(bool postgres) : postgres_(postgres) {}
  ~BenchDatabase() {
    if (!file_.empty()) {
      std::error_code ec;
      fs::remove_all(fs::path(file_).parent_path(), ec);
    }
    if (!db_name_.empty())
      store::PgAdminExec(server_, "DROP DATABASE IF EXISTS " + db_name_ + " WITH (FORCE)");
  }
  BenchDatabase(const BenchDatabase&) = delete;
  BenchDatabase& operator=(const BenchDatabase&) = delete;

  // Empty on success, else why the benchmark cannot run.
  std::string Create() {
    if (postgres_) {
      const char* url = std::getenv("TRIAL_TEST_PG_URL");
      if (url == nullptr || *url == '\0') {
        return "TRIAL_TEST_PG_URL not set (start a server: scripts/pg-test-cluster start DIR)";
      }
      server_ = url;
      db_name_ = "bench_" + std::to_string(getpid()) + "_" + std::to_string(++counter_);
      if (auto e = store::PgAdminExec(server_, "CREATE DATABASE " + db_name_); !e.empty()) return e;
      target_ = store::WithDatabase(server_, db_name_);
    } else {
      const char* dir = std::getenv("TRIAL_BENCH_DIR");
      fs::path base = dir != nullptr && *dir != '\0' ? fs::path(dir) : fs::temp_directory_path();
      std::error_code ec;
      fs::create_directories(base, ec);
      std::string tmpl = (base / "trial-bench-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) return "cannot create a folder in " + base.string();
      file_ = tmpl + "/bench.db";
      target_ = file_;
    }
    auto s = Open();
    if (!s) return "cannot open " + target_;
    if (auto r = s->Init(); !r) return r.error().message;
    if (auto r = s->CreateFirstAdministrator("admin", "Admin"); !r) return r.error().message;
    if (auto r = s->AddSite("admin", store::Site{"S1", "Site One"}); !r) return r.error().message;
    if (auto r = s->AddUser("admin", store::User{"coord", "C", store::Role::kCoordinator, {"S1"}});
        !r) {
      return r.error().message;
    }
    if (auto r = s->AddSubject("coord", "S1", "001"); !r) return r.error().message;
    if (!postgres_) {  // full durability, as the store promises
      auto tx = s->connection().Begin(false);
      if (!tx) return tx.error().message;
      auto sync = (*tx)->Query("PRAGMA synchronous");
      auto mode = (*tx)->Query("PRAGMA journal_mode");
      if (!sync || !mode || sync->empty() || mode->empty() || (*sync)[0].Int(0) != 2 ||
          (*mode)[0].Text(0) != "wal") {
        return "the SQLite connection is not WAL + synchronous=FULL";
      }
    }
    return "";
  }

  std::unique_ptr<store::TrialStore> Open() {
    auto c = postgres_ ? store::OpenPostgres(target_) : store::OpenSqlite(target_);
    if (!c) return nullptr;
    return std::make_unique<store::TrialStore>(std::move(*c));
  }

 private:
  bool postgres_;
  std::string server_, db_name_, file_, target_;
  static inline int counter_ = 0;
};

void BM_AuditedWrites(benchmark::State& state, bool postgres) {
  const int writers = static_cast<int>(state.range(0));
  BenchDatabase db(postgres);
  if (std::string why = db.Create(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  std::vector<std::unique_ptr<store::TrialStore>> stores;
  for (int w = 0; w < writers; ++w) {
    stores.push_back(db.Open());
    if (!stores.back()) {
      state.SkipWithError("cannot open a writer's connection");
      return;
    }
  }
  std::atomic<int64_t> failures{0};
  std::string first_error;
  int64_t batch = 0;
  for (auto _ : state) {
    ++batch;
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < kBatch / writers; ++i) {
          store::ItemKey key{
              1, "W1", "bench", 0,
              std::to_string(batch) + "_" + std::to_string(w) + "_" + std::to_string(i)};
          auto v = stores[static_cast<size_t>(w)]->RecordItem("coord", key, "42", "");
          if (!v && failures.fetch_add(1) == 0) first_error = v.error().message;
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  if (failures > 0) {
    state.SkipWithError(("writes failed: " + first_error).c_str());
    return;
  }
  state.SetItemsProcessed(state.iterations() * (kBatch / writers) * writers);
  state.counters["writers"] = writers;
}

BENCHMARK_CAPTURE(BM_AuditedWrites, sqlite, false)
    ->ArgName("writers")
    ->Arg(1)
    ->Arg(8)
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_AuditedWrites, postgres, true)
    ->ArgName("writers")
    ->Arg(1)
    ->Arg(8)
    ->Iterations(5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Randomizations per second, end to end in process: each one a durable, audited transaction
// (eligibility checked, lowest free slot of the stratum taken, allocation and status change
// written with their audit events). Setup (not timed): go-live of PROMIS-MDA5's lists for one
// site and 200 subjects with a stored eligible screening. Each iteration randomizes 100 of them.
// `kits`: the site holds kits, so each randomization also dispenses the first dose's kit.
void BM_Randomize(benchmark::State& state, bool postgres, bool kits) {
  constexpr int kPerIteration = 100;
  BenchDatabase db(postgres);
  if (std::string why = db.Create(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  auto protocol = trial::protocol::Load(TRIAL_SOURCE_DIR "/protocols/promis-mda5");
  if (!protocol) {
    state.SkipWithError(protocol.error().message.c_str());
    return;
  }
  auto s = db.Open();
  trial::randomization::Seed seed{};
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i);
  if (auto r = trial::service::GoLive(*s, **protocol, {"S1"}, "admin", seed); !r) {
    state.SkipWithError(r.error().message.c_str());
    return;
  }
  const int subjects = kPerIteration * 2;
  for (int i = 2; i <= subjects + 1; ++i) {  // subject 1 exists already
    auto subject = s->AddSubject("coord", "S1", "R" + std::to_string(i));
    if (!subject) {
      state.SkipWithError(subject.error().message.c_str());
      return;
    }
  }
  for (int i = 1; i <= subjects; ++i) {
    store::ScreeningRecord rec;
    rec.subject_id = i;
    rec.bundle_json = "{}";
    rec.protocol_id = (*protocol)->id;
    rec.protocol_version = (*protocol)->version;
    rec.verdict = "eligible";
    rec.results_json = "{}";
    if (auto r = s->SaveScreening("coord", rec); !r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
  }
  if (kits) {
    auto generated = trial::service::GenerateKits(*s, **protocol, "admin", 2 * subjects, "LOT",
                                                  *trial::Date::Parse("2099-12-31"), seed);
    auto shipment = generated
                        ? trial::service::ShipKitCount(*s, **protocol, "admin", "S1", 2 * subjects)
                        : std::unexpected(generated.error());
    auto received = shipment ? s->ReceiveShipment("coord", shipment->id, {})
                             : std::unexpected(shipment.error());
    if (!received) {
      state.SkipWithError(received.error().message.c_str());
      return;
    }
  }
  int next = 1;
  for (auto _ : state) {
    for (int i = 0; i < kPerIteration; ++i, ++next) {
      auto a = trial::service::Randomize(*s, **protocol, "coord", next,
                                         next % 2 == 0 ? "present" : "absent",
                                         "bench-" + std::to_string(next));
      if (!a) {
        state.SkipWithError(a.error().message.c_str());
        return;
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kPerIteration);
}

BENCHMARK_CAPTURE(BM_Randomize, sqlite, false, false)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Randomize, sqlite_with_kits, false, true)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Randomize, postgres, true, false)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Randomize, postgres_with_kits, true, true)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
