#include "store/postgres/postgres.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <future>
#include <limits>
#include <string>
#include <thread>

#include "store/postgres/test_cluster.h"

namespace trial::store {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// --- No server needed ------------------------------------------------------------------------

TEST(RedactPostgresUrlTest, RemovesPasswords) {
  EXPECT_EQ(RedactPostgresUrl("postgresql://alice:s3cret@db.example:5433/trial"),
            "postgresql://alice@db.example:5433/trial");
  EXPECT_EQ(RedactPostgresUrl("postgres://alice@db/trial"), "postgres://alice@db/trial");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db/trial"), "postgresql://db/trial");
  EXPECT_EQ(RedactPostgresUrl("postgresql://al:p@ss:w@rd@db/trial?sslmode=disable"),
            "postgresql://al@db/trial?sslmode=disable");
  EXPECT_EQ(RedactPostgresUrl("postgresql://db/trial?password=x&sslmode=disable&pass%77ord=y"),
            "postgresql://db/trial?sslmode=disable");
  EXPECT_EQ(RedactPostgresUrl("host=db password=x"), "(not a postgresql:// URL)");
}

TEST(OpenPostgresTest, RejectsWhatIsNotAUrl) {
  for (const std::string& bad : std::vector<std::string>{"", "host=db password=x", "mysql://db/x",
                                                         std::string("postgresql://db/x\0y", 19)}) {
    auto conn = OpenPostgres(bad);
    ASSERT_FALSE(conn.has_value()) << bad;
    EXPECT_EQ(conn.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(conn.error().message.find("password"), std::string::npos);
  }
}

TEST(OpenPostgresTest, ConnectFailureNamesUrlWithoutPassword) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  auto conn = OpenPostgres("postgresql://trial:s3cret@127.0.0.1:1/trial_test?connect_timeout=5");
  ASSERT_FALSE(conn.has_value());
  EXPECT_EQ(conn.error().code, ErrorCode::kIo);
  EXPECT_TRUE(conn.error().message.starts_with(
      "cannot connect to PostgreSQL at postgresql://trial@127.0.0.1:1/trial_test"))
      << conn.error().message;
  EXPECT_NE(conn.error().message.find("refused"), std::string::npos) << conn.error().message;
  EXPECT_EQ(conn.error().message.find("s3cret"), std::string::npos);
  EXPECT_EQ(conn.error().message.find('\n'), std::string::npos);
}

TEST(OpenPostgresTest, LibpqParseErrorDoesNotEchoPassword) {
  auto conn = OpenPostgres("postgresql://trial:bad%zzsecret@127.0.0.1:1/trial_test");
  ASSERT_FALSE(conn.has_value());
  EXPECT_EQ(conn.error().message.find("zzsecret"), std::string::npos) << conn.error().message;
}

// --- Against the server in TRIAL_TEST_PG_URL --------------------------------------------------

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TRIAL_TEST_PG_URL_OR_SKIP(url);
    url_ = url;
    // Unique per test and per process: ctest runs tests (and the ASan tier) in parallel.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    table_ = "pgtest_" + std::string(info->name()) + "_" + std::to_string(getpid());
    for (char& c : table_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    conn_ = Open();
    ASSERT_NE(conn_, nullptr);
    Exec("DROP TABLE IF EXISTS " + table_);
    Exec("CREATE TABLE " + table_ +
         " (id int8 PRIMARY KEY, small int2, medium int4, big int8, label text NOT NULL, "
         "note text, flag boolean, amount numeric)");
  }

  void TearDown() override {
    if (conn_ != nullptr) Exec("DROP TABLE IF EXISTS " + table_);
  }

  std::unique_ptr<Connection> Open() {
    auto conn = OpenPostgres(url_);
    EXPECT_TRUE(conn.has_value()) << conn.error().message;
    return conn.has_value() ? std::move(*conn) : nullptr;
  }

  // Runs `sql` in its own committed write transaction; the test fails on an error.
  std::vector<Row> Exec(const std::string& sql, const std::vector<SqlValue>& params = {},
                        Connection* conn = nullptr) {
    if (conn == nullptr) conn = conn_.get();
    auto tx = conn->Begin(true);
    EXPECT_TRUE(tx.has_value()) << tx.error().message;
    if (!tx.has_value()) return {};
    auto rows = (*tx)->Query(sql, params);
    EXPECT_TRUE(rows.has_value()) << sql << ": " << rows.error().message;
    auto committed = (*tx)->Commit();
    EXPECT_TRUE(committed.has_value()) << committed.error().message;
    return rows.value_or(std::vector<Row>{});
  }

  int64_t Count(Connection* conn = nullptr) {
    const auto rows = Exec("SELECT count(*) FROM " + table_, {}, conn);
    return rows.size() == 1 ? rows[0].Int(0) : -1;
  }

  std::string url_;
  std::string table_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(PostgresTest, DescribesItselfWithoutPassword) {
  EXPECT_EQ(conn_->backend(), Backend::kPostgres);
  EXPECT_EQ(conn_->Describe(), "PostgreSQL " + RedactPostgresUrl(url_));
}

TEST_F(PostgresTest, SessionSettings) {
  const auto rows = Exec(
      "SELECT current_setting('synchronous_commit'), current_setting('client_min_messages'), "
      "current_setting('client_encoding')");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Text(0), "on");
  EXPECT_EQ(rows[0].Text(1), "warning");
  EXPECT_EQ(rows[0].Text(2), "UTF8");
}

TEST_F(PostgresTest, RoundTripsParametersOfAllKinds) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  const std::string tricky = "O'Brien; DROP TABLE x; -- \"quoted\" $1 \\ \xc3\xa9\xe2\x82\xac";
  const std::string insert = "INSERT INTO " + table_ +
                             " (id, small, medium, big, label, note, flag, amount)"
                             " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
  Exec(insert, {int64_t{1}, int64_t{-32768}, int64_t{2147483647}, max, tricky, std::monostate{},
                std::string("true"), std::string("12.50")});
  Exec(insert, {int64_t{2}, std::monostate{}, std::monostate{}, min, std::string(""),
                std::string("note"), std::monostate{}, std::monostate{}});

  const auto rows = Exec("SELECT id, small, medium, big, label, note, flag, amount FROM " + table_ +
                             " WHERE id >= $1 ORDER BY id",
                         {int64_t{1}});
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_EQ(rows[0].columns.size(), 8u);
  EXPECT_EQ(rows[0].columns[0], SqlValue(int64_t{1}));
  EXPECT_EQ(rows[0].columns[1], SqlValue(int64_t{-32768}));
  EXPECT_EQ(rows[0].columns[2], SqlValue(int64_t{2147483647}));
  EXPECT_EQ(rows[0].columns[3], SqlValue(max));
  EXPECT_EQ(rows[0].columns[4], SqlValue(tricky));
  EXPECT_TRUE(rows[0].IsNull(5));
  EXPECT_EQ(rows[0].columns[6], SqlValue(std::string("t")));  // boolean: its text form
  EXPECT_EQ(rows[0].columns[7], SqlValue(std::string("12.50")));

  EXPECT_TRUE(rows[1].IsNull(1));
  EXPECT_TRUE(rows[1].IsNull(2));
  EXPECT_EQ(rows[1].columns[3], SqlValue(min));
  EXPECT_EQ(rows[1].columns[4], SqlValue(std::string("")));
  EXPECT_EQ(rows[1].columns[5], SqlValue(std::string("note")));
  EXPECT_TRUE(rows[1].IsNull(6));
  EXPECT_TRUE(rows[1].IsNull(7));

  // Untyped parameters: integers come back as integers, text as text, NULL as NULL.
  const auto echo = Exec("SELECT $1, $2, $3, $4 + 1, count(*) FROM " + table_,
                         {int64_t{42}, std::string("x"), std::monostate{}, int64_t{max - 1}});
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(echo[0].columns[0], SqlValue(int64_t{42}));
  EXPECT_EQ(echo[0].columns[1], SqlValue(std::string("x")));
  EXPECT_TRUE(echo[0].IsNull(2));
  EXPECT_EQ(echo[0].columns[3], SqlValue(max));
  EXPECT_EQ(echo[0].columns[4], SqlValue(int64_t{2}));  // count(*) is int8
}

TEST_F(PostgresTest, EmptyResultAndNoRowsForDml) {
  EXPECT_TRUE(Exec("SELECT id FROM " + table_).empty());
  EXPECT_TRUE(
      Exec("INSERT INTO " + table_ + " (id, label) VALUES ($1, $2)", {int64_t{1}, std::string("a")})
          .empty());
  EXPECT_EQ(Count(), 1);
}

TEST_F(PostgresTest, ConstraintViolationIsInvalidInput) {
  Exec("INSERT INTO " + table_ + " (id, label) VALUES (1, 'a')");
  auto tx = conn_->Begin(true);
  ASSERT_TRUE(tx.has_value());
  auto dup = (*tx)->Query("INSERT INTO " + table_ + " (id, label) VALUES ($1, $2)",
                          {int64_t{1}, std::string("b")});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(dup.error().message.find("duplicate key"), std::string::npos) << dup.error().message;
  EXPECT_EQ(dup.error().message.find('\n'), std::string::npos);
  // The transaction is now failed: Commit() must not report success.
  auto committed = (*tx)->Commit();
  ASSERT_FALSE(committed.has_value());
  EXPECT_EQ(committed.error().code, ErrorCode::kIo);
  tx->reset();

  auto null_label = conn_->Begin(true);
  ASSERT_TRUE(null_label.has_value());
  auto res =
      (*null_label)
          ->Query("INSERT INTO " + table_ + " (id, label) VALUES (2, $1)", {std::monostate{}});
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, ErrorCode::kInvalidInput);
  null_label->reset();
  EXPECT_EQ(Count(), 1);  // The connection is usable again.
}

TEST_F(PostgresTest, OtherErrorsAreIoNamingTheStatement) {
  auto tx = conn_->Begin(true);
  ASSERT_TRUE(tx.has_value());
  auto bad = (*tx)->Query("SELEKT   something\n FROM nowhere WHERE a very long tail of text");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
  EXPECT_NE(bad.error().message.find("`SELEKT something FROM nowhere WHERE a ve...`"),
            std::string::npos)
      << bad.error().message;
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos) << bad.error().message;
  tx->reset();

  auto two = conn_->Begin(true);
  ASSERT_TRUE(two.has_value());
  auto multi = (*two)->Query("SELECT 1; SELECT 2");  // One statement per Query().
  ASSERT_FALSE(multi.has_value());
  EXPECT_EQ(multi.error().code, ErrorCode::kIo);
  two->reset();

  auto nul = conn_->Begin(false);
  ASSERT_TRUE(nul.has_value());
  auto with_nul = (*nul)->Query("SELECT $1", {std::string("a\0b", 3)});
  ASSERT_FALSE(with_nul.has_value());
  EXPECT_EQ(with_nul.error().code, ErrorCode::kInvalidInput);
}

TEST_F(PostgresTest, ReadOnlyTransactionRejectsWrites) {
  auto tx = conn_->Begin(false);
  ASSERT_TRUE(tx.has_value());
  auto res = (*tx)->Query("INSERT INTO " + table_ + " (id, label) VALUES (1, 'a')");
  ASSERT_FALSE(res.has_value());
  EXPECT_EQ(res.error().code, ErrorCode::kIo);
  EXPECT_NE(res.error().message.find("read-only"), std::string::npos) << res.error().message;
}

TEST_F(PostgresTest, OneTransactionAtATimePerConnection) {
  auto first = conn_->Begin(false);
  ASSERT_TRUE(first.has_value());
  auto second = conn_->Begin(true);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kInternal);
  ASSERT_TRUE((*first)->Commit().has_value());
  auto again = (*first)->Commit();
  ASSERT_FALSE(again.has_value());
  EXPECT_FALSE((*first)->Query("SELECT 1").has_value());
  auto third = conn_->Begin(true);
  EXPECT_TRUE(third.has_value());
}

TEST_F(PostgresTest, DestroyingWithoutCommitRollsBack) {
  {
    auto tx = conn_->Begin(true);
    ASSERT_TRUE(tx.has_value());
    ASSERT_TRUE((*tx)->Query("INSERT INTO " + table_ + " (id, label) VALUES (1, 'a')").has_value());
    auto inside = (*tx)->Query("SELECT count(*) FROM " + table_);
    ASSERT_TRUE(inside.has_value());
    EXPECT_EQ((*inside)[0].Int(0), 1);
  }
  EXPECT_EQ(Count(), 0);
  auto other = Open();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Count(other.get()), 0);
}

TEST_F(PostgresTest, CommitIsVisibleToANewConnection) {
  {
    auto tx = conn_->Begin(true);
    ASSERT_TRUE(tx.has_value());
    ASSERT_TRUE((*tx)
                    ->Query("INSERT INTO " + table_ + " (id, label) VALUES ($1, $2)",
                            {int64_t{7}, std::string("kept")})
                    .has_value());
    ASSERT_TRUE((*tx)->Commit().has_value());
  }
  conn_.reset();
  conn_ = Open();
  ASSERT_NE(conn_, nullptr);
  auto tx = conn_->Begin(false);
  ASSERT_TRUE(tx.has_value());
  auto rows = (*tx)->Query("SELECT id, label FROM " + table_);
  ASSERT_TRUE(rows.has_value());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].columns[0], SqlValue(int64_t{7}));
  EXPECT_EQ((*rows)[0].Text(1), "kept");
}

TEST_F(PostgresTest, RowLockBlocksOtherWriterUntilCommit) {
  Exec("INSERT INTO " + table_ + " (id, label) VALUES (1, 'v0')");
  const std::string lock = "SELECT label FROM " + table_ + " WHERE id = 1 FOR UPDATE";

  auto holder = conn_->Begin(true);
  ASSERT_TRUE(holder.has_value());
  ASSERT_TRUE((*holder)->Query(lock).has_value());
  ASSERT_TRUE((*holder)->Query("UPDATE " + table_ + " SET label = 'v1' WHERE id = 1").has_value());

  auto other = Open();
  ASSERT_NE(other, nullptr);
  std::atomic<bool> acquired{false};
  auto waiter = std::async(std::launch::async, [&]() -> std::string {
    auto tx = other->Begin(true);
    if (!tx.has_value()) return "begin: " + tx.error().message;
    // Never hang the test run if the lock is not released.
    if (auto set = (*tx)->Query("SET LOCAL lock_timeout = '20s'"); !set.has_value()) {
      return set.error().message;
    }
    auto rows = (*tx)->Query(lock);
    acquired = true;
    if (!rows.has_value()) return "lock: " + rows.error().message;
    if (rows->size() != 1) return "lock: no row";
    // Under READ COMMITTED the locked row is re-read after the holder commits.
    std::string seen = (*rows)[0].Text(0);
    if (auto done = (*tx)->Commit(); !done.has_value()) return done.error().message;
    return seen;
  });

  EXPECT_EQ(waiter.wait_for(milliseconds(500)), std::future_status::timeout);
  EXPECT_FALSE(acquired.load());
  ASSERT_TRUE((*holder)->Commit().has_value());
  ASSERT_EQ(waiter.wait_for(seconds(15)), std::future_status::ready);
  EXPECT_EQ(waiter.get(), "v1");
}

TEST_F(PostgresTest, DeadlockIsIoSayingRetry) {
  Exec("INSERT INTO " + table_ + " (id, label) VALUES (1, 'a'), (2, 'b')");
  const std::string lock = "SELECT id FROM " + table_ + " WHERE id = $1 FOR UPDATE";
  auto other = Open();
  ASSERT_NE(other, nullptr);
  auto a = conn_->Begin(true);
  auto b = other->Begin(true);
  ASSERT_TRUE(a.has_value() && b.has_value());
  ASSERT_TRUE((*a)->Query(lock, {int64_t{1}}).has_value());
  ASSERT_TRUE((*b)->Query(lock, {int64_t{2}}).has_value());
  // Each waits for the other's row; the server's deadlock detector (deadlock_timeout, 1 s by
  // default) aborts one of them.
  auto a_wait = std::async(std::launch::async, [&] { return (*a)->Query(lock, {int64_t{2}}); });
  std::this_thread::sleep_for(milliseconds(100));
  auto b_result = (*b)->Query(lock, {int64_t{1}});
  // If `b` was the victim it still holds row 2 until it rolls back; then `a` gets it.
  if (!b_result.has_value()) b->reset();
  ASSERT_EQ(a_wait.wait_for(seconds(15)), std::future_status::ready);
  auto a_result = a_wait.get();
  ASSERT_NE(a_result.has_value(), b_result.has_value());
  const Error& error = a_result.has_value() ? b_result.error() : a_result.error();
  EXPECT_EQ(error.code, ErrorCode::kIo);
  EXPECT_NE(error.message.find("deadlock"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find("retry"), std::string::npos) << error.message;
}

}  // namespace
}  // namespace trial::store
