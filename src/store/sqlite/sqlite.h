// The SQLite backend of the trial store: one database file, shared safely by several processes.
//
// OpenSqlite(path, options) opens the file at `path` (creating an empty database when
// `options.create` is set and no file exists) and configures the connection:
//   - journal_mode=WAL (persistent in the file): readers never block the writer and vice versa;
//   - synchronous=FULL: a committed transaction survives a power loss;
//   - foreign_keys=ON: REFERENCES clauses are enforced;
//   - busy_timeout: a write transaction waits up to `busy_timeout_ms` for another writer.
// Errors (never thrown):
//   - kNotFound "no database at PATH: run 'trial init'" when the file is missing and `create` is
//     off;
//   - kIo "PATH is a directory, not an SQLite database file", "PATH is not an SQLite database",
//     "PATH is read-only: ..." and "cannot open SQLite database PATH: <SQLite's reason>";
//   - kInvalidArgument for an empty path.
// ":memory:" opens a private in-memory database (no WAL), for tests.
//
// The connection implements store::Connection (sql.h):
//   - Begin(true) runs BEGIN IMMEDIATE (takes the write lock at once, waiting up to the busy
//     timeout; then kIo "... database is locked by another process for more than N s");
//     Begin(false) runs BEGIN DEFERRED. One transaction at a time per Connection (a second
//     Begin while one is open fails with kInternal).
//   - Query binds `$1, $2, ...` by name: every given parameter must appear in the SQL and every
//     placeholder in the SQL must have a parameter (else kInternal naming it). SQL with several
//     statements runs them in turn when no parameters are given and returns the last one's rows.
//     Columns: INTEGER → int64_t, TEXT and BLOB → std::string, NULL → monostate, REAL → its
//     shortest round-trip decimal text. A constraint violation → kInvalidInput with SQLite's
//     message; any other failure → kIo naming the file, SQLite's reason and the statement's
//     first 40 characters. Prepared statements are cached per Connection by SQL text.
//   - Commit runs COMMIT (retrying SQLITE_BUSY within the busy timeout). A transaction destroyed
//     without a successful Commit is rolled back. If SQLite itself rolled the transaction back
//     after an error (disk full, I/O error), later Query and Commit calls fail with kIo instead
//     of silently running outside a transaction.
//   - Describe() is "SQLite file PATH".
// A Transaction keeps the underlying database handle alive, so it may outlive its Connection.
//
// Thread-safety: a Connection and its transactions belong to one thread at a time; distinct
// Connections (to the same file or not) may be used from distinct threads or processes.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "store/sql.h"

namespace trial::store {

struct SqliteOptions {
  bool create = true;           // create the file when it does not exist
  int busy_timeout_ms = 10000;  // how long a writer waits for another writer (negative = 0)
};

Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                               const SqliteOptions& options = {});

// Writes a consistent copy of the database behind `c` to `out_path` while other processes keep
// using it (SQLite's online backup API, one read snapshot). `out_path` must not exist
// (kInvalidArgument "OUT exists"); it is created with mode 0600 and removed again on failure.
// Errors: kInvalidArgument when `c` is not an SQLite connection or has an open transaction;
// kIo when the copy cannot be written.
Result<void> BackupSqlite(Connection& c, const std::string& out_path);

}  // namespace trial::store
