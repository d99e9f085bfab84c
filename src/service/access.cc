#include "service/access.h"

#include <algorithm>

namespace trial::service {

bool Reader::Sees(const std::string& site) const {
  return !sites || std::find(sites->begin(), sites->end(), site) != sites->end();
}

Result<Reader> ReaderOf(store::TrialStore& store, const std::string& actor,
                        const std::optional<std::string>& site, const std::string& what) {
  if (actor.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the reading user is missing: give --user NAME");
  }
  auto user = store.FindUser(actor);
  if (!user) return std::unexpected(user.error());
  if (!*user) return Fail(ErrorCode::kNotFound, "unknown user '" + actor + "'");
  Reader r{**user, std::nullopt};
  const bool scoped = store::IsSiteScoped(r.user.role);
  if (site) {
    auto sites = store.Sites();
    if (!sites) return std::unexpected(sites.error());
    if (std::none_of(sites->begin(), sites->end(),
                     [&](const store::Site& s) { return s.id == *site; })) {
      return Fail(ErrorCode::kNotFound, "unknown site '" + *site + "'");
    }
    if (scoped &&
        std::find(r.user.sites.begin(), r.user.sites.end(), *site) == r.user.sites.end()) {
      return Fail(ErrorCode::kPermissionDenied,
                  "user '" + actor + "' (" + store::RoleName(r.user.role) + ") may not see " +
                      what + " of site '" + *site + "'");
    }
    r.sites = std::vector<std::string>{*site};
  } else if (scoped) {
    r.sites = r.user.sites;
  }
  return r;
}

}  // namespace trial::service
