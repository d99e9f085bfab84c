// Where tests find a PostgreSQL server, and what they do without one.
//
// Tests that need PostgreSQL read its URL from TRIAL_TEST_PG_URL (`make test` starts a throw-away
// cluster with scripts/with-pg-cluster and sets it). Without it:
//   - under `make test` (TRIAL_REQUIRE_PG=1) the test FAILS, so a broken cluster setup is never
//     mistaken for a pass;
//   - run by hand, the test is SKIPPED with the reason below.
// Start a cluster by hand with `scripts/pg-test-cluster start DIR` (prints the URL).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace trial::store {

inline std::optional<std::string> TestPostgresUrl() {
  const char* url = std::getenv("TRIAL_TEST_PG_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

// True when tests must fail rather than skip without TRIAL_TEST_PG_URL (set by `make test`).
inline bool TestPostgresRequired() {
  const char* required = std::getenv("TRIAL_REQUIRE_PG");
  return required != nullptr && std::string_view(required) == "1";
}

}  // namespace trial::store

// Declares `std::string var` holding the test server's URL, or ends the calling test (or SetUp)
// with a failure (TRIAL_REQUIRE_PG=1) or a skip.
// `var` is a declarator, so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define TRIAL_TEST_PG_URL_OR_SKIP(var)                                                    \
  std::string var;                                                                        \
  if (auto trial_pg_url_ = ::trial::store::TestPostgresUrl()) {                           \
    var = *trial_pg_url_;                                                                 \
  } else if (::trial::store::TestPostgresRequired()) {                                    \
    GTEST_FAIL() << "TRIAL_TEST_PG_URL not set but TRIAL_REQUIRE_PG=1 (make test should " \
                    "have started a cluster: see scripts/with-pg-cluster)";               \
  } else {                                                                                \
    GTEST_SKIP() << "TRIAL_TEST_PG_URL not set (make test starts a cluster)";             \
  }
// NOLINTEND(bugprone-macro-parentheses)
