// FreshSeed (fresh_seed.h).
#include "randomization/fresh_seed.h"

#include <openssl/rand.h>

namespace trial::randomization {

Result<Seed> FreshSeed() {
  Seed seed{};
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    return Fail(ErrorCode::kInternal, "the system random generator failed (RAND_bytes)");
  }
  return seed;
}

}  // namespace trial::randomization
