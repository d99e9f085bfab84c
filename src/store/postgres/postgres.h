// PostgreSQL 15 implementation of store/sql.h over the libpq C API.
//
// Transactions: Begin(true) runs `BEGIN ISOLATION LEVEL READ COMMITTED` (the store serializes
// writers itself with a row lock), Begin(false) runs `BEGIN READ ONLY`. Parameters are sent as
// text (`$1..$N` natively); integers are typed int8, text is left for the server to infer.
// Result columns: NULL -> monostate, int2/int4/int8 -> int64_t, anything else -> its text form.
// Errors: SQLSTATE class 23 (integrity constraint) -> kInvalidInput with the server's message;
// 40001/40P01 (serialization failure, deadlock) -> kIo saying to retry; anything else -> kIo
// naming the statement's start and the server's message. Passwords never appear in messages.
//
// Thread-safety: as store/sql.h (one thread at a time per Connection; a Transaction must not
// outlive its Connection, and a Connection has at most one open Transaction).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "store/sql.h"

namespace trial::store {

// Connects to `url` (`postgresql://user:pass@host:port/db?param=value`, also `postgres://`).
// Errors: kInvalidArgument for a string that is not such a URL; kIo "cannot connect to
// PostgreSQL at <url without password>: <libpq's reason>".
Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url);

// `url` with any password removed (`user:pass@` -> `user@`, `password=...` query parameters
// dropped), for messages.
std::string RedactPostgresUrl(std::string_view url);

}  // namespace trial::store
