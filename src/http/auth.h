// Sign-in secrets for the server (docs/access.md): Argon2id password hashes (libargon2), random
// session, CSRF and API tokens (OpenSSL), and the rules a password must meet.
// Errors: kInvalidArgument for a password that breaks the rules; kInternal when the system's
// random source or libargon2 fails (the request fails closed).
// Thread-safety: reentrant.
#pragma once

#include <string>

#include "core/error.h"

namespace trial::http {

// Argon2id cost: OWASP's minimum (19 MiB, 2 passes, 1 lane).
struct HashCost {
  uint32_t memory_kib = 19 * 1024;
  uint32_t passes = 2;
  uint32_t lanes = 1;
};

// The PHC-encoded Argon2id hash of `password` with a fresh 16-byte salt.
Result<std::string> HashPassword(const std::string& password, HashCost cost = {});
// Whether `password` matches `encoded` (false for a malformed hash).
bool VerifyPassword(const std::string& encoded, const std::string& password);
// 12 to 128 characters, no control characters.
Result<void> CheckPasswordRules(const std::string& password);
// `bytes` random bytes as lowercase hex (session ids, CSRF and API tokens).
Result<std::string> RandomToken(size_t bytes = 32);
// A readable random password for demo users: 4 groups of 4 letters and digits.
Result<std::string> RandomPassword();
// Constant-time comparison of two strings of possibly different lengths.
bool SameSecret(const std::string& a, const std::string& b);

}  // namespace trial::http
