// The command-line journey runner of the store suites (visit_store_test.cc, journey_test.cc):
// runs `trial` commands in-process (cli::Run) against one test database with the production
// wiring and a simulated clock whose day is `today_`.
// Errors: none of its own; each command's exit code and output are returned to the test.
// Thread-safety: one Journey per test thread. Include after store_fixture.h, from one test file
// each (it defines helpers in an unnamed namespace).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "app/wiring.h"
#include "cli/cli.h"
#include "core/date.h"

namespace trial::store {
namespace {

// Runs `trial` commands against this test's database with a simulated clock set to `today_`.
class Journey {
 public:
  explicit Journey(std::string db) : db_(std::move(db)) {
    env_ = app::ProductionEnvironment();
    env_.clock = [this] {
      char buf[64];
      std::snprintf(buf, sizeof buf, "T10:%02d:%02d.%06dZ", tick_ / 60 % 60, tick_ % 60, tick_);
      ++tick_;
      return today_.ToString() + buf;
    };
  }
  // Runs one command; returns its exit code, output in out_ and err_.
  int Run(std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db_});
    std::ostringstream out, err;
    int code = cli::Run(args, out, err, env_);
    out_ = out.str();
    err_ = err.str();
    return code;
  }
  Date today_ = *Date::FromYmd(2026, 7, 13);
  std::string out_, err_;

 private:
  std::string db_;
  cli::Environment env_;
  int tick_ = 0;
};

#define RUN_OK(j, ...)                                      \
  do {                                                      \
    int code_ = (j).Run(__VA_ARGS__);                       \
    ASSERT_EQ(code_, cli::kExitOk) << (j).err_ << (j).out_; \
  } while (0)

}  // namespace
}  // namespace trial::store
