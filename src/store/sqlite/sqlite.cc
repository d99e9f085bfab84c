#include "store/sqlite/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace trial::store {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Beyond this many distinct SQL texts the statement cache is emptied (dynamic SQL would
// otherwise grow it without bound).
constexpr size_t kMaxCachedStatements = 256;

// The statement's first 40 characters on one line, for messages.
std::string Snippet(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (out.size() >= 40) {
      out += "...";
      break;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// "10 s", "0.25 s".
std::string Seconds(int ms) {
  std::array<char, 32> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), std::max(ms, 0) / 1000.0);
  return std::string(buf.data(), r.ptr) + " s";
}

struct StringHash {
  using is_transparent = void;  // NOLINT(readability-identifier-naming): standard name
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// The database handle and what belongs to it. Shared by the Connection and its open
// Transaction so that either may be destroyed first.
struct Db {
  sqlite3* handle = nullptr;
  std::string path;
  int busy_timeout_ms = 0;
  bool in_transaction = false;
  std::unordered_map<std::string, sqlite3_stmt*, StringHash, std::equal_to<>> statements;

  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() {
    ClearCache();
    sqlite3_close_v2(handle);  // NULL is a no-op
  }

  void ClearCache() {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    statements.clear();
  }

  std::string Where() const { return "SQLite file " + path; }

  std::string LockedMessage() const {
    return Where() + ": database is locked by another process for more than " +
           Seconds(busy_timeout_ms);
  }

  // The error for result code `rc` of the last call on `handle`, running `sql` (may be empty).
  Error ErrorFor(int rc, std::string_view sql) const {
    const int primary = rc & 0xff;
    const std::string in = sql.empty() ? "" : " (in: " + Snippet(sql) + ")";
    const char* reason = handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    if (primary == SQLITE_CONSTRAINT) return Error{ErrorCode::kInvalidInput, reason + in};
    if (rc == SQLITE_BUSY) return Error{ErrorCode::kIo, LockedMessage() + in};
    if (primary == SQLITE_NOTADB) {
      return Error{ErrorCode::kIo, path + " is not an SQLite database (" + reason + ")"};
    }
    return Error{ErrorCode::kIo, Where() + ": " + reason + in};
  }
};

// Resets a statement and clears its bindings when a Query is done with it.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* stmt) : stmt_(stmt) {}
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;
  ~StatementReset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_;
};

bool OnlySpace(const char* begin, const char* end) {
  return std::all_of(begin, end, [](char c) {
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == ';';
  });
}

SqlValue Column(sqlite3_stmt* stmt, int i) {
  switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT: {
      std::array<char, 64> buf{};
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), sqlite3_column_double(stmt, i));
      return std::string(buf.data(), r.ptr);
    }
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
      const int n = sqlite3_column_bytes(stmt, i);
      return p != nullptr ? std::string(p, static_cast<size_t>(n)) : std::string();
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, i));
      const int n = sqlite3_column_bytes(stmt, i);
      return p != nullptr ? std::string(p, static_cast<size_t>(n)) : std::string();
    }
    default:
      return std::monostate{};
  }
}

// Steps a bound statement to the end and collects its rows.
Result<std::vector<Row>> Step(const Db& db, sqlite3_stmt* stmt, std::string_view sql) {
  std::vector<Row> rows;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return rows;
    if (rc != SQLITE_ROW) return std::unexpected(db.ErrorFor(rc, sql));
    Row row;
    const int n = sqlite3_data_count(stmt);
    row.columns.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) row.columns.push_back(Column(stmt, i));
    rows.push_back(std::move(row));
  }
}

// Checks that the SQL's placeholders are exactly $1..$N and binds `params` to them.
Result<void> Bind(const Db& db, sqlite3_stmt* stmt, std::string_view sql,
                  const std::vector<SqlValue>& params) {
  const int count = sqlite3_bind_parameter_count(stmt);
  for (int i = 1; i <= count; ++i) {
    const char* name = sqlite3_bind_parameter_name(stmt, i);
    if (name == nullptr) {
      return Fail(
          ErrorCode::kInternal,
          "SQL placeholders must be written $1, $2, ..., not '?' (in: " + Snippet(sql) + ")");
    }
    const std::string_view s(name);
    size_t k = 0;
    const auto r = std::from_chars(s.data() + 1, s.data() + s.size(), k);
    if (s.size() < 2 || s[0] != '$' || r.ec != std::errc() || r.ptr != s.data() + s.size() ||
        k < 1 || k > params.size()) {
      return Fail(ErrorCode::kInternal, "SQL placeholder " + std::string(s) + " has no value (" +
                                            std::to_string(params.size()) +
                                            " parameters given) (in: " + Snippet(sql) + ")");
    }
  }
  for (size_t n = 1; n <= params.size(); ++n) {
    const std::string name = "$" + std::to_string(n);
    const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
    if (index == 0) {
      return Fail(ErrorCode::kInternal,
                  "parameter " + name + " does not appear in the SQL (in: " + Snippet(sql) + ")");
    }
    const SqlValue& v = params[n - 1];
    int rc = SQLITE_OK;
    if (const auto* i = std::get_if<int64_t>(&v)) {
      rc = sqlite3_bind_int64(stmt, index, *i);
    } else if (const auto* t = std::get_if<std::string>(&v)) {
      rc = sqlite3_bind_text64(stmt, index, t->data(), t->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    } else {
      rc = sqlite3_bind_null(stmt, index);
    }
    if (rc != SQLITE_OK) return std::unexpected(db.ErrorFor(rc, sql));
  }
  return {};
}

// Runs SQL holding several statements, one after the other; returns the last one's rows.
Result<std::vector<Row>> RunScript(const Db& db, std::string_view sql,
                                   const std::vector<SqlValue>& params) {
  if (!params.empty()) {
    return Fail(ErrorCode::kInternal,
                "SQL with several statements takes no parameters (in: " + Snippet(sql) + ")");
  }
  std::vector<Row> last;
  const char* cursor = sql.data();
  const char* end = sql.data() + sql.size();
  while (cursor < end) {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    const int rc =
        sqlite3_prepare_v2(db.handle, cursor, static_cast<int>(end - cursor), &stmt, &tail);
    const std::string_view current(cursor, static_cast<size_t>(end - cursor));
    if (rc != SQLITE_OK) return std::unexpected(db.ErrorFor(rc, current));
    if (stmt == nullptr) break;  // only whitespace or comments left
    auto bound = Bind(db, stmt, current, params);
    auto rows = bound ? Step(db, stmt, current) : std::unexpected(bound.error());
    sqlite3_finalize(stmt);
    if (!rows) return rows;
    last = std::move(*rows);
    cursor = tail;
  }
  return last;
}

// Runs one statement (or a parameterless script) on `db`.
Result<std::vector<Row>> Run(Db& db, std::string_view sql, const std::vector<SqlValue>& params) {
  if (sql.size() > static_cast<size_t>(INT_MAX)) {
    return Fail(ErrorCode::kInternal, "SQL text too long (in: " + Snippet(sql) + ")");
  }
  sqlite3_stmt* stmt = nullptr;
  if (auto it = db.statements.find(sql); it != db.statements.end()) {
    stmt = it->second;
  } else {
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(db.handle, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK) return std::unexpected(db.ErrorFor(rc, sql));
    if (stmt == nullptr) return std::vector<Row>{};  // empty SQL or only a comment
    if (!OnlySpace(tail, sql.data() + sql.size())) {
      sqlite3_finalize(stmt);
      return RunScript(db, sql, params);
    }
    if (db.statements.size() >= kMaxCachedStatements) db.ClearCache();
    db.statements.emplace(std::string(sql), stmt);
  }
  StatementReset reset(stmt);
  if (auto bound = Bind(db, stmt, sql, params); !bound) return std::unexpected(bound.error());
  return Step(db, stmt, sql);
}

class SqliteTransaction final : public Transaction {
 public:
  explicit SqliteTransaction(std::shared_ptr<Db> db) : db_(std::move(db)) {}
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  ~SqliteTransaction() override {
    if (done_) return;  // committed: the connection may already run another transaction
    if (sqlite3_get_autocommit(db_->handle) == 0) {
      sqlite3_exec(db_->handle, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    db_->in_transaction = false;
  }

  Result<std::vector<Row>> Query(std::string_view sql,
                                 const std::vector<SqlValue>& params) override {
    if (auto open = CheckOpen(); !open) return std::unexpected(open.error());
    return Run(*db_, sql, params);
  }

  Result<void> Commit() override {
    if (auto open = CheckOpen(); !open) return open;
    const auto deadline = Clock::now() + std::chrono::milliseconds(db_->busy_timeout_ms);
    for (;;) {
      const int rc = sqlite3_exec(db_->handle, "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) {
        done_ = true;
        db_->in_transaction = false;
        return {};
      }
      if ((rc & 0xff) == SQLITE_BUSY && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      return std::unexpected(db_->ErrorFor(rc, "COMMIT"));
    }
  }

 private:
  Result<void> CheckOpen() const {
    if (done_) {
      return Fail(ErrorCode::kInternal, db_->Where() + ": the transaction was already committed");
    }
    if (sqlite3_get_autocommit(db_->handle) != 0) {
      return Fail(ErrorCode::kIo, db_->Where() +
                                      ": the transaction was rolled back after an earlier "
                                      "error; nothing of it was saved");
    }
    return {};
  }

  std::shared_ptr<Db> db_;
  bool done_ = false;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::shared_ptr<Db> db) : db_(std::move(db)) {}

  Result<std::unique_ptr<Transaction>> Begin(bool write) override {
    if (db_->in_transaction) {
      return Fail(ErrorCode::kInternal,
                  db_->Where() + ": a transaction is already open on this connection");
    }
    const char* sql = write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
    const int rc = sqlite3_exec(db_->handle, sql, nullptr, nullptr, nullptr);
    if ((rc & 0xff) == SQLITE_BUSY) return Fail(ErrorCode::kIo, db_->LockedMessage());
    if (rc != SQLITE_OK) return std::unexpected(db_->ErrorFor(rc, sql));
    db_->in_transaction = true;
    return std::make_unique<SqliteTransaction>(db_);
  }

  Backend backend() const override { return Backend::kSqlite; }
  std::string Describe() const override { return db_->Where(); }

  Db& db() { return *db_; }

 private:
  std::shared_ptr<Db> db_;
};

// Runs a PRAGMA and returns the first column of its first row ("" when none).
Result<std::string> Pragma(Db& db, std::string_view sql) {
  auto rows = Run(db, sql, {});
  if (!rows) return std::unexpected(rows.error());
  if (rows->empty() || rows->front().columns.empty()) return std::string();
  return rows->front().Text(0);
}

}  // namespace

Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                               const SqliteOptions& options) {
  if (path.empty()) return Fail(ErrorCode::kInvalidArgument, "no SQLite database path given");
  if (path.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "SQLite database path contains a NUL byte");
  }
  const bool memory = path == ":memory:";
  bool exists = false;
  if (!memory) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::directory) {
      return Fail(ErrorCode::kIo, path + " is a directory, not an SQLite database file");
    }
    exists = fs::exists(st);
    if (exists && !fs::is_regular_file(st)) {
      return Fail(ErrorCode::kIo, path + " is not a regular file, so not an SQLite database");
    }
    if (!exists && !options.create && st.type() == fs::file_type::not_found) {
      return Fail(ErrorCode::kNotFound, "no database at " + path + ": run 'trial init'");
    }
  }

  auto db = std::make_shared<Db>();
  db->path = path;
  db->busy_timeout_ms = std::max(options.busy_timeout_ms, 0);
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db->handle, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string reason =
        db->handle != nullptr ? sqlite3_errmsg(db->handle) : sqlite3_errstr(rc);
    if (!options.create && !exists && (rc & 0xff) == SQLITE_CANTOPEN) {
      return Fail(ErrorCode::kNotFound, "no database at " + path + ": run 'trial init'");
    }
    return Fail(ErrorCode::kIo, "cannot open SQLite database " + path + ": " + reason);
  }
  sqlite3_extended_result_codes(db->handle, 1);
  sqlite3_busy_timeout(db->handle, db->busy_timeout_ms);
  if (sqlite3_db_readonly(db->handle, "main") == 1) {
    return Fail(ErrorCode::kIo,
                path + " is read-only: the trial store needs write access to it and its folder");
  }

  // The first read of the file: a non-database fails here with SQLITE_NOTADB.
  auto mode = Pragma(*db, "PRAGMA journal_mode=WAL");
  if (!mode) return std::unexpected(mode.error());
  if (*mode != "wal" && !memory) {
    return Fail(ErrorCode::kIo, "cannot use WAL journal mode on " + path + " (SQLite kept '" +
                                    *mode + "'; is it on a network file system?)");
  }
  for (std::string_view pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    auto set = Run(*db, pragma, {});
    if (!set) return std::unexpected(set.error());
  }
  // These run once per connection: no need to keep them prepared.
  db->ClearCache();
  return std::make_unique<SqliteConnection>(std::move(db));
}

Result<void> BackupSqlite(Connection& c, const std::string& out_path) {
  auto* connection = dynamic_cast<SqliteConnection*>(&c);
  if (connection == nullptr) {
    return Fail(ErrorCode::kInvalidArgument,
                "a backup copies an SQLite database; this is " + c.Describe());
  }
  Db& db = connection->db();
  if (out_path.empty()) return Fail(ErrorCode::kInvalidArgument, "no backup path given");
  if (out_path.find('\0') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "backup path contains a NUL byte");
  }
  if (db.in_transaction) {
    return Fail(ErrorCode::kInvalidArgument,
                db.Where() + ": finish the open transaction before a backup");
  }
  // O_EXCL: never overwrite a file, even one created between a check and the copy.
  const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return Fail(ErrorCode::kInvalidArgument, out_path + " exists");
    return Fail(ErrorCode::kIo, "cannot create " + out_path + ": " + std::strerror(err));
  }
  ::close(fd);

  sqlite3* dest = nullptr;
  auto fail = [&](const std::string& reason) -> Result<void> {
    sqlite3_close_v2(dest);
    std::error_code ec;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) fs::remove(out_path + suffix, ec);
    return Fail(ErrorCode::kIo, "cannot back up " + db.Where() + " to " + out_path + ": " + reason);
  };
  int rc = sqlite3_open_v2(out_path.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    return fail(dest != nullptr ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
  }
  sqlite3_exec(dest, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", db.handle, "main");
  if (backup == nullptr) return fail(sqlite3_errmsg(dest));
  const auto deadline = Clock::now() + std::chrono::milliseconds(db.busy_timeout_ms);
  for (;;) {
    rc = sqlite3_backup_step(backup, -1);  // all pages from one read snapshot
    const int primary = rc & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    break;
  }
  const int finish = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    const int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return fail("database is locked by another process for more than " +
                  Seconds(db.busy_timeout_ms));
    }
    return fail(sqlite3_errstr(rc));
  }
  if (finish != SQLITE_OK) return fail(sqlite3_errmsg(dest));
  rc = sqlite3_close(dest);
  if (rc != SQLITE_OK) return fail(sqlite3_errmsg(dest));
  return {};
}

}  // namespace trial::store
