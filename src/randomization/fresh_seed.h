// The only place the randomization module touches the OS random generator: a fresh
// cryptographic seed for a new allocation list or simulation, drawn by the caller (the command
// line or, later, go-live) and passed to the pure engine.
// Thread-safety: safe to call from any thread (OpenSSL's RAND_bytes is thread-safe).
#pragma once

#include "core/error.h"
#include "randomization/random.h"

namespace trial::randomization {

// 32 bytes from OpenSSL RAND_bytes; kInternal when the generator is not seeded or fails.
Result<Seed> FreshSeed();

}  // namespace trial::randomization
