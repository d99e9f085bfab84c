// The narrow SQL interface the trial store is written against. Two implementations:
// store/sqlite (embedded, one file) and store/postgres (PostgreSQL 15 via libpq). SQL text uses
// `$1, $2, ...` placeholders on both; values are bound, never spliced into SQL.
//
// Thread-safety: a Connection and its transactions belong to one thread at a time. Several
// processes (or Connections) may use one database at once; write transactions are serialized by
// the database (SQLite: BEGIN IMMEDIATE; PostgreSQL: a row lock taken by the store).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"

namespace trial::store {

// A bound parameter or a result column: NULL, a 64-bit integer or text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

struct Row {
  std::vector<SqlValue> columns;

  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(columns.at(i)); }
  // The column as an integer (text holding digits is converted); 0 for NULL.
  int64_t Int(size_t i) const;
  // The column as text (an integer is formatted); "" for NULL.
  std::string Text(size_t i) const;
};

enum class Backend : uint8_t { kSqlite, kPostgres };

// One transaction. Destroying it without Commit() rolls it back.
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Runs a statement and returns its rows (none for INSERT/UPDATE/DDL). Errors: kIo for a
  // database failure (message names the statement's first words and the database's reason),
  // kInvalidInput for a constraint violation.
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<SqlValue>& params = {}) = 0;
  // Makes the transaction durable (SQLite: synchronous=FULL, WAL; PostgreSQL: synchronous commit).
  virtual Result<void> Commit() = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Starts a transaction. `write` transactions take the database's write lock at once (waiting
  // up to the busy timeout, then failing with kIo "database is locked"), so that read-then-write
  // sequences inside them cannot interleave with another writer. Read transactions see one
  // snapshot from their first query to their end (SQLite WAL read; PostgreSQL REPEATABLE READ),
  // so a check that reads several tables is consistent while others write.
  virtual Result<std::unique_ptr<Transaction>> Begin(bool write) = 0;
  virtual Backend backend() const = 0;
  // For messages: "SQLite file trial.db", "PostgreSQL postgresql://host:port/db" (no password).
  virtual std::string Describe() const = 0;
};

}  // namespace trial::store
