// A deterministic random generator for the randomization engine (docs/randomization.md):
// SHA-256 in counter mode over a 32-byte seed, block_i = SHA256(seed || i) with i an 8-byte
// big-endian counter. The same seed always gives the same sequence, on every platform, so
// allocation lists and simulations are reproducible from their seed. The seed itself is drawn
// by the caller (fresh_seed.h); this file never touches the OS random device.
// Thread-safety: a Random is not shared; use one per thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trial::randomization {

using Seed = std::array<uint8_t, 32>;

class Random {
 public:
  // Starts at SHA-256 block `counter` (0 for a fresh generator).
  explicit Random(const Seed& seed, uint64_t counter = 0);

  // The next 64 bits (big-endian from the current hash block).
  uint64_t Next();
  // Uniform in [0, n) without modulo bias (rejection sampling). Returns 0 when n <= 1.
  int Uniform(int n);
  // Uniform in [0, 1) with 53 bits of precision.
  double UniformReal();

  // Drops what is left of the current hash block, so the next draw starts block counter().
  // Callers that must resume a sequence later (list extension) realign at their boundaries.
  void Realign() { used_ = kWords; }
  // The index of the next hash block to be computed.
  uint64_t counter() const { return counter_; }

 private:
  static constexpr int kWords = 4;
  void Refill();

  Seed seed_;
  uint64_t counter_;
  std::array<uint64_t, kWords> words_{};
  int used_ = kWords;
};

// SHA-256 of `data`.
Seed Sha256(std::string_view data);
// SHA256(seed || label): an independent seed for a named sub-stream (a stratum, a run).
Seed DeriveSeed(const Seed& seed, std::string_view label);

// 64 lowercase hex digits.
std::string SeedToHex(const Seed& seed);
// Parses 64 hex digits (either case); kInvalidArgument otherwise.
Result<Seed> SeedFromHex(std::string_view hex);

}  // namespace trial::randomization
