// Throw-away PostgreSQL databases for tests and benchmarks: each test or benchmark run creates
// its own database on the test server (TRIAL_TEST_PG_URL) and drops it at the end.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <string>

namespace trial::store {

// Runs one statement outside a transaction (CREATE/DROP DATABASE) on a libpq connection to
// `url`. Returns "" on success, else the server's message.
inline std::string PgAdminExec(const std::string& url, const std::string& sql) {
  PGconn* c = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  return error;
}

// `url` with its database name replaced by `db` (query parameters kept).
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?');
  std::string rest = query == std::string::npos ? "" : url.substr(query);
  return url.substr(0, std::min(slash, query)) + "/" + db + rest;
}

}  // namespace trial::store
