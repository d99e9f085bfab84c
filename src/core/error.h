// Errors as values: every failure a user, a site or a file can cause is returned as
// `Result<T>` (std::expected<T, Error>), never thrown across a module boundary.
// Thread-safety: plain values.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace trial {

// Error categories. Persisted or mapped to exit/HTTP statuses in exactly one place (cli/app).
enum class ErrorCode : int {
  kInvalidArgument = 1,   // bad option or value given by the caller
  kParse = 2,             // malformed text: JSON, YAML, rules, dates, units
  kInvalidInput = 3,      // well-formed but not acceptable (no Patient, two Patients, ...)
  kType = 4,              // rule type or unit-dimension error
  kNotFound = 5,          // missing file or name
  kIo = 6,                // file cannot be read or written
  kInternal = 7,          // a broken invariant; the operation failed closed
  kPermissionDenied = 8,  // the user's role or sites do not allow this (service/permissions.h)
  kUnauthenticated = 9,   // no valid sign-in: session, API token or password (http/)
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one line a person can act on: what is wrong and where
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace trial
