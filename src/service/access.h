// Internal to the service module: who is reading, and which sites they may see.
// Thread-safety: as the TrialStore passed in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/store.h"

namespace trial::service {

// The reader and the sites they may see (nullopt: every site and the depot).
struct Reader {
  store::User user;
  std::optional<std::vector<std::string>> sites;

  bool Sees(const std::string& site) const;
};

// The user `actor` reading `what` ("the kits") of `site`, or of every site they may see without
// one. kInvalidArgument without an actor or when a site-scoped user asks for another site;
// kNotFound for an unknown user or site.
Result<Reader> ReaderOf(store::TrialStore& store, const std::string& actor,
                        const std::optional<std::string>& site, const std::string& what);

}  // namespace trial::service
