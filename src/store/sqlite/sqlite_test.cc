#include "store/sqlite/sqlite.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace trial::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "trial-sqlite-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  std::unique_ptr<Connection> Open(const std::string& name, SqliteOptions options = {}) {
    auto c = OpenSqlite(Path(name), options);
    EXPECT_TRUE(c.has_value()) << (c ? "" : c.error().message);
    return c ? std::move(*c) : nullptr;
  }

  std::unique_ptr<Transaction> Begin(Connection& c, bool write) {
    auto tx = c.Begin(write);
    EXPECT_TRUE(tx.has_value()) << (tx ? "" : tx.error().message);
    return tx ? std::move(*tx) : nullptr;
  }

  static std::vector<Row> Q(Transaction& tx, std::string_view sql,
                            const std::vector<SqlValue>& params = {}) {
    auto rows = tx.Query(sql, params);
    EXPECT_TRUE(rows.has_value()) << sql << ": " << (rows ? "" : rows.error().message);
    return rows.value_or(std::vector<Row>{});
  }

  // Creates table t in `name` and commits.
  std::unique_ptr<Connection> OpenWithTable(const std::string& name) {
    auto c = Open(name);
    if (!c) return nullptr;
    auto tx = Begin(*c, true);
    Q(*tx, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)");
    EXPECT_TRUE(tx->Commit().has_value());
    return c;
  }

  static int64_t Count(Connection& c) {
    auto tx = c.Begin(false);
    if (!tx) return -1;
    auto rows = (*tx)->Query("SELECT count(*) FROM t");
    return rows && rows->size() == 1 ? rows->front().Int(0) : -1;
  }

  fs::path dir_;
};

TEST_F(SqliteTest, CreatesTheFile) {
  auto c = Open("new.db");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(fs::is_regular_file(Path("new.db")));
  EXPECT_EQ(c->backend(), Backend::kSqlite);
  EXPECT_EQ(c->Describe(), "SQLite file " + Path("new.db"));
  // Reopening an existing database works with create off.
  c.reset();
  EXPECT_NE(Open("new.db", {.create = false}), nullptr);
}

TEST_F(SqliteTest, MissingFileWithoutCreateIsNotFound) {
  auto c = OpenSqlite(Path("absent.db"), {.create = false});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(c.error().message, "no database at " + Path("absent.db") + ": run 'trial init'");
  EXPECT_FALSE(fs::exists(Path("absent.db")));
}

TEST_F(SqliteTest, MissingFolderIsAnIoError) {
  auto c = OpenSqlite(Path("no/such/folder.db"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kIo);
  EXPECT_THAT(c.error().message, HasSubstr(Path("no/such/folder.db")));
}

TEST_F(SqliteTest, InMemoryDatabase) {
  auto c = OpenSqlite(":memory:");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  auto tx = Begin(**c, true);
  Q(*tx, "CREATE TABLE m (x)");
  Q(*tx, "INSERT INTO m VALUES ($1)", {SqlValue(int64_t{5})});
  EXPECT_EQ(Q(*tx, "SELECT x FROM m")[0].Int(0), 5);
  EXPECT_TRUE(tx->Commit().has_value());
}

TEST_F(SqliteTest, EmptyPathIsRejected) {
  auto c = OpenSqlite("");
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SqliteTest, NotADatabase) {
  {
    std::ofstream out(Path("notes.txt"));
    for (int i = 0; i < 200; ++i) out << "this is a plain text file, not a database\n";
  }
  for (bool create : {true, false}) {
    auto c = OpenSqlite(Path("notes.txt"), {.create = create});
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ErrorCode::kIo);
    EXPECT_THAT(c.error().message, HasSubstr(Path("notes.txt") + " is not an SQLite database"));
  }
}

TEST_F(SqliteTest, DirectoryIsRejected) {
  fs::create_directory(Path("folder"));
  for (bool create : {true, false}) {
    auto c = OpenSqlite(Path("folder"), {.create = create});
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, ErrorCode::kIo);
    EXPECT_EQ(c.error().message, Path("folder") + " is a directory, not an SQLite database file");
  }
}

TEST_F(SqliteTest, PragmasAreInEffect) {
  auto c = Open("p.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, false);
  ASSERT_NE(tx, nullptr);
  auto mode = Q(*tx, "PRAGMA journal_mode");
  ASSERT_EQ(mode.size(), 1u);
  EXPECT_EQ(mode[0].Text(0), "wal");
  auto sync = Q(*tx, "PRAGMA synchronous");
  ASSERT_EQ(sync.size(), 1u);
  EXPECT_EQ(sync[0].Int(0), 2);  // FULL
  auto fk = Q(*tx, "PRAGMA foreign_keys");
  ASSERT_EQ(fk.size(), 1u);
  EXPECT_EQ(fk[0].Int(0), 1);
  auto timeout = Q(*tx, "PRAGMA busy_timeout");
  ASSERT_EQ(timeout.size(), 1u);
  EXPECT_EQ(timeout[0].Int(0), 10000);
}

TEST_F(SqliteTest, ParamsRoundTrip) {
  auto c = Open("v.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  Q(*tx, "CREATE TABLE v (k INTEGER PRIMARY KEY, x)");
  const std::vector<SqlValue> values = {
      SqlValue(int64_t{0}),
      SqlValue(int64_t{-1}),
      SqlValue(std::numeric_limits<int64_t>::max()),
      SqlValue(std::numeric_limits<int64_t>::min()),
      SqlValue(std::string()),
      SqlValue(std::string("plain")),
      SqlValue(std::string("Zoë 🩺 ' \" ; -- $1")),
      SqlValue(std::string("nul\0inside", 10)),
      SqlValue(std::string("12")),  // text stays text (column without affinity)
      SqlValue(std::monostate{}),
  };
  for (size_t i = 0; i < values.size(); ++i) {
    Q(*tx, "INSERT INTO v (k, x) VALUES ($1, $2)", {static_cast<int64_t>(i), values[i]});
  }
  auto rows = Q(*tx, "SELECT x FROM v ORDER BY k");
  ASSERT_EQ(rows.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(rows[i].columns.size(), 1u);
    EXPECT_EQ(rows[i].columns[0], values[i]) << i;
  }
  EXPECT_TRUE(rows.back().IsNull(0));

  // The same placeholder twice, out of order, and every column kind.
  auto mixed = Q(*tx, "SELECT $2, $1, $2 || $1, 1.5, x'00ff', NULL, 0.1 + 0.2",
                 {SqlValue(int64_t{7}), SqlValue(std::string("a"))});
  ASSERT_EQ(mixed.size(), 1u);
  const std::vector<SqlValue> expected = {
      SqlValue(std::string("a")),
      SqlValue(int64_t{7}),
      SqlValue(std::string("a7")),
      SqlValue(std::string("1.5")),
      SqlValue(std::string("\0\xff", 2)),
      SqlValue(std::monostate{}),
      SqlValue(std::string("0.30000000000000004")),
  };
  EXPECT_EQ(mixed[0].columns, expected);
  EXPECT_TRUE(tx->Commit().has_value());
}

TEST_F(SqliteTest, PlaceholderMismatchesAreInternalErrors) {
  auto c = OpenWithTable("m.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  // A parameter the SQL does not use.
  auto unused = tx->Query("SELECT $1", {SqlValue(int64_t{1}), SqlValue(int64_t{2})});
  ASSERT_FALSE(unused.has_value());
  EXPECT_EQ(unused.error().code, ErrorCode::kInternal);
  EXPECT_THAT(unused.error().message, HasSubstr("$2"));
  // A placeholder without a parameter.
  auto missing = tx->Query("SELECT $1, $2", {SqlValue(int64_t{1})});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kInternal);
  EXPECT_THAT(missing.error().message, HasSubstr("$2"));
  // Another placeholder style.
  auto question = tx->Query("SELECT ?", {SqlValue(int64_t{1})});
  ASSERT_FALSE(question.has_value());
  EXPECT_EQ(question.error().code, ErrorCode::kInternal);
  // A PostgreSQL cast does not slip through as an unbound parameter.
  auto cast = tx->Query("SELECT $1::text", {SqlValue(int64_t{1})});
  ASSERT_FALSE(cast.has_value());
  EXPECT_EQ(cast.error().code, ErrorCode::kInternal);
  // The statement still works afterwards (bindings were cleared, the statement reset).
  auto ok = Q(*tx, "SELECT $1, $2", {SqlValue(int64_t{1}), SqlValue(int64_t{2})});
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].Int(1), 2);
}

TEST_F(SqliteTest, ConstraintViolationIsInvalidInput) {
  auto c = OpenWithTable("u.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  Q(*tx, "CREATE TABLE child (t_id INTEGER NOT NULL REFERENCES t(id))");
  Q(*tx, "INSERT INTO t (name) VALUES ($1)", {SqlValue(std::string("alpha"))});
  auto dup = tx->Query("INSERT INTO t (name) VALUES ($1)", {SqlValue(std::string("alpha"))});
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kInvalidInput);
  EXPECT_THAT(dup.error().message, HasSubstr("UNIQUE constraint failed: t.name"));
  auto null = tx->Query("INSERT INTO t (name) VALUES ($1)", {SqlValue()});
  ASSERT_FALSE(null.has_value());
  EXPECT_EQ(null.error().code, ErrorCode::kInvalidInput);
  auto fk = tx->Query("INSERT INTO child (t_id) VALUES ($1)", {SqlValue(int64_t{999})});
  ASSERT_FALSE(fk.has_value());
  EXPECT_EQ(fk.error().code, ErrorCode::kInvalidInput);
  EXPECT_THAT(fk.error().message, HasSubstr("FOREIGN KEY constraint failed"));
  // Only the failing statement was undone: the transaction goes on.
  Q(*tx, "INSERT INTO t (name) VALUES ($1)", {SqlValue(std::string("beta"))});
  ASSERT_TRUE(tx->Commit().has_value());
  EXPECT_EQ(Count(*c), 2);
}

TEST_F(SqliteTest, OtherErrorsAreIoAndNameTheStatement) {
  auto c = OpenWithTable("e.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  auto bad =
      tx->Query("SELECT nothing_here FROM a_table_that_does_not_exist WHERE   and_a_long_tail = 1");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kIo);
  EXPECT_THAT(bad.error().message, HasSubstr("SQLite file " + Path("e.db")));
  EXPECT_THAT(bad.error().message, HasSubstr("no such table: a_table_that_does_not_exist"));
  EXPECT_THAT(bad.error().message, HasSubstr("SELECT nothing_here FROM a_table_that_do..."));
  EXPECT_EQ(bad.error().message.find('\n'), std::string::npos);
}

TEST_F(SqliteTest, UncommittedTransactionIsRolledBack) {
  auto c = OpenWithTable("r.db");
  ASSERT_NE(c, nullptr);
  {
    auto tx = Begin(*c, true);
    Q(*tx, "INSERT INTO t (name) VALUES ('lost')");
    EXPECT_EQ(Q(*tx, "SELECT count(*) FROM t")[0].Int(0), 1);
  }
  EXPECT_EQ(Count(*c), 0);
  {
    auto tx = Begin(*c, true);
    Q(*tx, "INSERT INTO t (name) VALUES ('kept')");
    ASSERT_TRUE(tx->Commit().has_value());
  }
  EXPECT_EQ(Count(*c), 1);
  // A committed transaction is visible to another connection.
  auto other = Open("r.db", {.create = false});
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(Count(*other), 1);
}

TEST_F(SqliteTest, TransactionLifecycleMisuseFailsCleanly) {
  auto c = OpenWithTable("l.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  auto second = c->Begin(false);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kInternal);
  ASSERT_TRUE(tx->Commit().has_value());
  auto again = tx->Commit();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInternal);
  auto after = tx->Query("SELECT 1");
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code, ErrorCode::kInternal);
  // A committed transaction frees the connection at once; destroying it later leaves the next
  // transaction alone.
  auto next = Begin(*c, true);
  ASSERT_NE(next, nullptr);
  Q(*next, "INSERT INTO t (name) VALUES ('next')");
  tx.reset();
  ASSERT_TRUE(next->Commit().has_value());
  next.reset();
  EXPECT_EQ(Count(*c), 1);
  // A transaction may outlive its connection.
  auto late = Begin(*c, true);
  c.reset();
  Q(*late, "INSERT INTO t (name) VALUES ('late')");
  EXPECT_TRUE(late->Commit().has_value());
}

TEST_F(SqliteTest, ScriptsAndCachedStatements) {
  auto c = Open("s.db");
  ASSERT_NE(c, nullptr);
  auto tx = Begin(*c, true);
  auto rows = Q(*tx,
                "CREATE TABLE a (x INTEGER);\n"
                "INSERT INTO a VALUES (1);  -- a comment\n"
                "INSERT INTO a VALUES (2);\n"
                "SELECT sum(x) FROM a;\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].Int(0), 3);
  auto with_params = tx->Query("SELECT $1; SELECT 2", {SqlValue(int64_t{1})});
  ASSERT_FALSE(with_params.has_value());
  EXPECT_EQ(with_params.error().code, ErrorCode::kInternal);
  EXPECT_TRUE(Q(*tx, "").empty());
  EXPECT_TRUE(Q(*tx, "-- nothing").empty());
  for (int64_t i = 0; i < 100; ++i) Q(*tx, "INSERT INTO a VALUES ($1)", {SqlValue(i)});
  EXPECT_EQ(Q(*tx, "SELECT count(*) FROM a")[0].Int(0), 102);
  // A cached statement follows a schema change.
  EXPECT_EQ(Q(*tx, "SELECT * FROM a LIMIT 1")[0].columns.size(), 1u);
  Q(*tx, "ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'z'");
  auto wide = Q(*tx, "SELECT * FROM a LIMIT 1");
  ASSERT_EQ(wide[0].columns.size(), 2u);
  EXPECT_EQ(wide[0].Text(1), "z");
  ASSERT_TRUE(tx->Commit().has_value());
}

TEST_F(SqliteTest, WriterWaitsForAnotherWriter) {
  auto a = OpenWithTable("w.db");
  ASSERT_NE(a, nullptr);
  auto b = Open("w.db", {.create = false, .busy_timeout_ms = 5000});
  ASSERT_NE(b, nullptr);

  auto tx = Begin(*a, true);
  Q(*tx, "INSERT INTO t (name) VALUES ('first')");

  using Clock = std::chrono::steady_clock;
  Clock::duration waited{};
  int64_t seen = -1;
  std::string error;
  std::thread other([&] {
    const auto start = Clock::now();
    auto btx = b->Begin(true);
    waited = Clock::now() - start;
    if (!btx) {
      error = btx.error().message;
      return;
    }
    auto rows = (*btx)->Query("SELECT count(*) FROM t");
    if (rows) seen = rows->front().Int(0);
    auto insert = (*btx)->Query("INSERT INTO t (name) VALUES ('second')");
    if (!insert) error = insert.error().message;
    auto commit = (*btx)->Commit();
    if (!commit) error = commit.error().message;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(tx->Commit().has_value());
  other.join();
  EXPECT_EQ(error, "");
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_EQ(seen, 1);  // b's write transaction started after a's commit
  tx.reset();
  EXPECT_EQ(Count(*a), 2);
}

TEST_F(SqliteTest, BusyTimeoutFailure) {
  auto a = OpenWithTable("b.db");
  ASSERT_NE(a, nullptr);
  auto b = Open("b.db", {.create = false, .busy_timeout_ms = 100});
  ASSERT_NE(b, nullptr);
  auto tx = Begin(*a, true);
  Q(*tx, "INSERT INTO t (name) VALUES ('held')");

  auto blocked = b->Begin(true);
  ASSERT_FALSE(blocked.has_value());
  EXPECT_EQ(blocked.error().code, ErrorCode::kIo);
  EXPECT_EQ(blocked.error().message, "SQLite file " + Path("b.db") +
                                         ": database is locked by another process for more "
                                         "than 0.1 s");
  // Readers are not blocked by the writer (WAL) and see the last committed state.
  EXPECT_EQ(Count(*b), 0);
  ASSERT_TRUE(tx->Commit().has_value());
  tx.reset();
  auto now_free = b->Begin(true);
  EXPECT_TRUE(now_free.has_value());
}

class FakeConnection : public Connection {
 public:
  Result<std::unique_ptr<Transaction>> Begin(bool) override {
    return Fail(ErrorCode::kInternal, "fake");
  }
  Backend backend() const override { return Backend::kPostgres; }
  std::string Describe() const override { return "PostgreSQL postgresql://x/y"; }
};

TEST_F(SqliteTest, BackupCopiesTheDatabase) {
  auto c = OpenWithTable("src.db");
  ASSERT_NE(c, nullptr);
  {
    auto tx = Begin(*c, true);
    for (int64_t i = 0; i < 500; ++i) {
      Q(*tx, "INSERT INTO t (name) VALUES ($1)", {SqlValue("name " + std::to_string(i))});
    }
    ASSERT_TRUE(tx->Commit().has_value());
  }
  // Uncommitted work of another connection is not part of the copy.
  auto writer = Open("src.db", {.create = false});
  ASSERT_NE(writer, nullptr);
  auto pending = Begin(*writer, true);
  Q(*pending, "INSERT INTO t (name) VALUES ('pending')");

  ASSERT_TRUE(BackupSqlite(*c, Path("copy.db")).has_value());
  pending.reset();
  auto copy = Open("copy.db", {.create = false});
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(Count(*copy), 500);
  {
    auto tx = Begin(*copy, false);
    auto rows = Q(*tx, "SELECT name FROM t WHERE id = 42");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].Text(0), "name 41");
  }
  EXPECT_EQ(fs::status(Path("copy.db")).permissions() & fs::perms::others_read, fs::perms::none);

  // An existing output is never overwritten.
  const auto size = fs::file_size(Path("copy.db"));
  auto again = BackupSqlite(*c, Path("copy.db"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(again.error().message, Path("copy.db") + " exists");
  EXPECT_EQ(fs::file_size(Path("copy.db")), size);

  auto no_folder = BackupSqlite(*c, Path("no/such/copy.db"));
  ASSERT_FALSE(no_folder.has_value());
  EXPECT_EQ(no_folder.error().code, ErrorCode::kIo);

  {
    auto tx = Begin(*c, false);
    auto busy = BackupSqlite(*c, Path("during-tx.db"));
    ASSERT_FALSE(busy.has_value());
    EXPECT_EQ(busy.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(fs::exists(Path("during-tx.db")));
  }

  FakeConnection fake;
  auto wrong = BackupSqlite(fake, Path("fake.db"));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Path("fake.db")));
}

}  // namespace
}  // namespace trial::store
