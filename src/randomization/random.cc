// SHA-256 counter-mode generator (random.h).
#include "randomization/random.h"

#include <openssl/evp.h>

#include <cstring>

namespace trial::randomization {

Seed Sha256(std::string_view data) {
  Seed out{};
  unsigned int len = 0;
  // EVP_Digest with SHA-256 cannot fail for in-memory input short of memory exhaustion; on
  // failure the output stays all zero, which Verify would then reject as a mismatch.
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

Seed DeriveSeed(const Seed& seed, std::string_view label) {
  std::string buf(reinterpret_cast<const char*>(seed.data()), seed.size());
  buf.append(label);
  return Sha256(buf);
}

Random::Random(const Seed& seed, uint64_t counter) : seed_(seed), counter_(counter) {}

void Random::Refill() {
  unsigned char in[40];
  std::memcpy(in, seed_.data(), 32);
  for (int i = 0; i < 8; ++i) in[32 + i] = static_cast<unsigned char>(counter_ >> (56 - 8 * i));
  Seed block = Sha256(std::string_view(reinterpret_cast<const char*>(in), sizeof in));
  for (int w = 0; w < kWords; ++w) {
    uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v = (v << 8) | block[static_cast<size_t>(w * 8 + b)];
    words_[static_cast<size_t>(w)] = v;
  }
  ++counter_;
  used_ = 0;
}

uint64_t Random::Next() {
  if (used_ >= kWords) Refill();
  return words_[static_cast<size_t>(used_++)];
}

int Random::Uniform(int n) {
  if (n <= 1) return 0;
  const uint64_t range = static_cast<uint64_t>(n);
  // The largest multiple of n that fits: values at or above it are rejected, so every residue
  // is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % range) - 1;
  for (;;) {
    uint64_t v = Next();
    if (v <= limit) return static_cast<int>(v % range);
  }
}

double Random::UniformReal() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

std::string SeedToHex(const Seed& seed) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : seed) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Result<Seed> SeedFromHex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() != 64) {
    return Fail(ErrorCode::kInvalidArgument,
                "a seed must be 64 hex digits, got " + std::to_string(hex.size()) + " characters");
  }
  Seed out{};
  for (size_t i = 0; i < 32; ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return Fail(ErrorCode::kInvalidArgument, "a seed must be 64 hex digits; character " +
                                                   std::to_string(2 * i + 1 + (hi >= 0)) +
                                                   " is not one");
    }
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace trial::randomization
