// The demo database of `make run` (issue 7 item 6): three sites, one user per role and about a
// dozen subjects at every stage of PROMIS-MDA5, written by the real `trial` commands (cli::Run)
// so that every rule, edit check, dose decision and audit event is the real one. docs/demo.md
// lists the content subject by subject.
// Errors: kInvalidInput "already initialised" for a database that already has users (nothing
// written); any command that fails ends the demo with the command and its message (what it wrote
// before stays: each command is its own transaction; start again on a new database).
// Thread-safety: CreateDemoDatabase touches only `db` and a temporary folder it removes; calls
// on different databases may run concurrently.
#pragma once

#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/date.h"
#include "core/error.h"

namespace trial::app {

struct DemoUser {
  std::string username, role, display_name;
  std::vector<std::string> sites;  // empty for roles that are not site-scoped
};

struct DemoSummary {
  std::vector<DemoUser> users;     // in creation order, the administrator first
  std::vector<std::string> sites;  // site ids
  int subjects = 0;
};

// Creates a new demo database at `db` (an SQLite path or a postgresql:// URL; an empty SQLite
// file or empty PostgreSQL database is fine). Runs the real `trial` verbs in-process (cli::Run
// with `env`, whose clock is replaced by a simulated one walking forward day by day from about
// four months before `today`), so audit times and visit dates are plausible. Subjects on
// treatment have day 0 about three weeks before `today`; completed ones about three months.
// `protocol_dir` is passed as --protocol. `examples_dir` holds the FHIR example bundles
// (`eligible-male.json`, ... with their `.expected.json`); each is read at run time and its dates
// moved so that its screening date falls on the subject's (the copies go to a temporary folder,
// removed before returning).
// Errors: kInvalidInput "already initialised" when `db` already has users; the error of the first
// failing command, its message starting "demo: `trial VERB ...` failed (exit N)"; kNotFound or
// kParse for a missing or malformed example bundle; kIo for the temporary folder.
// Passwords are not set here.
Result<DemoSummary> CreateDemoDatabase(const std::string& db, const cli::Environment& env,
                                       Date today, const std::string& protocol_dir,
                                       const std::string& examples_dir);

}  // namespace trial::app
