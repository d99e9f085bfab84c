#include "http/auth.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

namespace trial::http {

namespace {
constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
}  // namespace

Result<void> CheckPasswordRules(const std::string& password) {
  if (password.size() < 12 || password.size() > 128) {
    return Fail(ErrorCode::kInvalidArgument, "a password must have 12 to 128 characters");
  }
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) {
      return Fail(ErrorCode::kInvalidArgument, "a password may not contain control characters");
    }
  }
  return {};
}

Result<std::string> HashPassword(const std::string& password, HashCost cost) {
  if (auto r = CheckPasswordRules(password); !r) return std::unexpected(r.error());
  unsigned char salt[kSaltBytes];
  if (RAND_bytes(salt, sizeof salt) != 1) {
    return Fail(ErrorCode::kInternal, "the system's random source failed");
  }
  size_t len = argon2_encodedlen(cost.passes, cost.memory_kib, cost.lanes, kSaltBytes, kHashBytes,
                                 Argon2_id);
  std::vector<char> encoded(len);
  int rc = argon2id_hash_encoded(cost.passes, cost.memory_kib, cost.lanes, password.data(),
                                 password.size(), salt, sizeof salt, kHashBytes, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) {
    return Fail(ErrorCode::kInternal, std::string("argon2id failed: ") + argon2_error_message(rc));
  }
  return std::string(encoded.data());
}

bool VerifyPassword(const std::string& encoded, const std::string& password) {
  if (encoded.rfind("$argon2id$", 0) != 0 || password.size() > 128) return false;
  return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

Result<std::string> RandomToken(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) {
    return Fail(ErrorCode::kInternal, "the system's random source failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> RandomPassword() {
  // No 0/O, 1/l/I: read aloud and typed from a printout.
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr size_t kSize = sizeof kAlphabet - 1;
  std::string out;
  while (out.size() < 19) {
    if (out.size() % 5 == 4) {
      out += '-';
      continue;
    }
    unsigned char c;
    if (RAND_bytes(&c, 1) != 1) return Fail(ErrorCode::kInternal, "the random source failed");
    if (c >= 256 / kSize * kSize) continue;  // no modulo bias
    out += kAlphabet[c % kSize];
  }
  return out;
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace trial::http
