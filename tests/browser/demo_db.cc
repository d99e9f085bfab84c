// The browser tests' demo database, until `trial serve --demo` writes one itself: creates the
// demo trial (app/demo.h) in a new SQLite file, gives every demo user a random password and
// writes them as JSON {username: password} (mode 0600).
// Usage: browser_demo_db DB PASSWORDS_JSON PROTOCOL_DIR EXAMPLES_DIR
// Errors: exit 1 with a one-line message naming the step that failed.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/demo.h"
#include "app/wiring.h"
#include "http/auth.h"
#include "store/store.h"

int main(int argc, char** argv) {
  using namespace trial;
  if (argc != 5) {
    std::cerr << "usage: browser_demo_db DB PASSWORDS_JSON PROTOCOL_DIR EXAMPLES_DIR\n";
    return 1;
  }
  auto env = app::ProductionEnvironment();
  auto days = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  Date today = Date::FromDays(static_cast<int32_t>(days.time_since_epoch().count()));
  auto summary = app::CreateDemoDatabase(argv[1], env, today, argv[3], argv[4]);
  if (!summary) {
    std::cerr << "browser_demo_db: " << summary.error().message << "\n";
    return 1;
  }
  auto connection = env.open_database(argv[1], false);
  if (!connection) {
    std::cerr << "browser_demo_db: " << connection.error().message << "\n";
    return 1;
  }
  store::TrialStore st(std::move(*connection));
  nlohmann::json passwords = nlohmann::json::object();
  for (const auto& u : summary->users) {
    auto password = http::RandomPassword();
    auto hash = password ? http::HashPassword(*password) : std::unexpected(password.error());
    if (!hash) {
      std::cerr << "browser_demo_db: " << hash.error().message << "\n";
      return 1;
    }
    if (auto r = st.SetPasswordHash(summary->users.front().username, u.username, *hash); !r) {
      std::cerr << "browser_demo_db: password of " << u.username << ": " << r.error().message
                << "\n";
      return 1;
    }
    passwords[u.username] = *password;
  }
  std::ofstream out(argv[2]);
  out << passwords.dump(2) << "\n";
  if (!out) {
    std::cerr << "browser_demo_db: cannot write " << argv[2] << "\n";
    return 1;
  }
  chmod(argv[2], 0600);
  return 0;
}
