#include "app/serve.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "app/demo.h"
#include "cli/common.h"
#include "http/auth.h"
#include "http/server.h"
#include "protocol/protocol.h"
#include "store/store.h"

namespace trial::app {

namespace fs = std::filesystem;

namespace {

// web/ beside the working directory, the executable's parent, or the source tree.
std::string DefaultWebDir() {
  for (fs::path p : {fs::path("web"), fs::path(TRIAL_SOURCE_DIR) / "web"}) {
    std::error_code ec;
    if (fs::is_directory(p / "templates", ec)) return p.string();
  }
  return "";
}

int UserPassword(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                 const cli::Environment& env) {
  cli::Args a;
  if (!cli::ParseArgs(args, 2, {"db", "user", "password-file"}, &a, err)) return cli::kExitUsage;
  if (a.positional.size() != 1) {
    err << "trial user password: give the USERNAME whose password to set\n";
    return cli::kExitUsage;
  }
  if (!cli::RequireOptions(a, {"user"}, "user password", err)) return cli::kExitUsage;
  std::string password;
  if (a.Has("password-file")) {
    auto text = cli::ReadFile(a.Get("password-file"));
    if (!text) {
      err << "trial user password: " << text.error().message << "\n";
      return cli::kExitInput;
    }
    password = *text;
  } else {
    std::getline(std::cin, password);
  }
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  auto hash = http::HashPassword(password);
  if (!hash) {
    err << "trial user password: " << hash.error().message << "\n";
    return cli::kExitInput;
  }
  auto st = cli::OpenStore(a, env, false);
  if (!st) {
    err << "trial user password: " << st.error().message << "\n";
    return cli::ExitForStoreError(st.error());
  }
  if (auto r = (*st)->SetPasswordHash(a.Get("user"), a.positional[0], *hash); !r) {
    err << "trial user password: " << r.error().message << "\n";
    return cli::ExitForStoreError(r.error());
  }
  out << "password set for " << a.positional[0] << "\n";
  return cli::kExitOk;
}

// The FHIR example bundles of the demo: $TRIAL_SHARED/fhir/examples, else the shared folder
// beside the source tree.
std::string DemoExamplesDir() {
  if (const char* shared = std::getenv("TRIAL_SHARED"); shared && *shared) {
    return (fs::path(shared) / "fhir" / "examples").string();
  }
  return (fs::path(TRIAL_SOURCE_DIR) / ".." / "shared" / "fhir" / "examples").string();
}

// `serve --demo`: a demo database at `db` unless one exists; every demo user gets a random
// password, printed once (and written to `passwords_file` as {username: password} if given).
int PrepareDemo(const cli::Args& a, const std::string& db, const cli::Environment& env,
                std::ostream& out, std::ostream& err) {
  auto existing = cli::OpenStore(a, env, false);
  if (existing) {
    auto admin = (*existing)->FindUser("admin");
    if (admin && *admin) {
      out << "trial serve: the demo database " << db << " exists (delete it for a new demo)\n";
      auto saved = a.Has("demo-passwords") ? cli::ReadFile(a.Get("demo-passwords"))
                                           : Result<std::string>(std::string());
      if (saved && !saved->empty()) {
        out << "Demo users and passwords (from " << a.Get("demo-passwords") << "):\n" << *saved;
      } else {
        out << "Its passwords were printed when it was made; set one with 'trial user password "
               "NAME --user admin'\n";
      }
      return cli::kExitOk;
    }
  }
  out << "trial serve: creating the demo database " << db << " ...\n" << std::flush;
  cli::Environment demo_env = env;
  auto summary =
      CreateDemoDatabase(db, demo_env, cli::Today(env), cli::ProtocolDir(a), DemoExamplesDir());
  if (!summary) {
    err << "trial serve: " << summary.error().message << "\n";
    return cli::kExitInput;
  }
  auto st = cli::OpenStore(a, env, false);
  if (!st) {
    err << "trial serve: " << st.error().message << "\n";
    return cli::ExitForStoreError(st.error());
  }
  nlohmann::ordered_json passwords = nlohmann::ordered_json::object();
  out << "\nDemo users (passwords shown once):\n";
  for (const auto& u : summary->users) {
    auto password = http::RandomPassword();
    if (!password) {
      err << "trial serve: " << password.error().message << "\n";
      return cli::kExitInput;
    }
    auto hash = http::HashPassword(*password);
    if (!hash) {
      err << "trial serve: " << hash.error().message << "\n";
      return cli::kExitInput;
    }
    if (auto r = (*st)->SetPasswordHash("admin", u.username, *hash); !r) {
      err << "trial serve: " << r.error().message << "\n";
      return cli::ExitForStoreError(r.error());
    }
    passwords[u.username] = *password;
    std::string sites;
    for (const auto& s : u.sites) sites += (sites.empty() ? "" : ",") + s;
    char line[200];
    std::snprintf(line, sizeof line, "  %-24s %-24s %-22s %s\n", u.username.c_str(),
                  password->c_str(), u.role.c_str(), sites.c_str());
    out << line;
  }
  if (a.Has("demo-passwords")) {
    std::ofstream f(a.Get("demo-passwords"), std::ios::trunc);
    f << passwords.dump(2) << "\n";
    f.close();
    std::error_code ec;
    fs::permissions(a.Get("demo-passwords"), fs::perms::owner_read | fs::perms::owner_write, ec);
    if (!f || ec) {
      err << "trial serve: cannot write " << a.Get("demo-passwords") << "\n";
      return cli::kExitInput;
    }
  }
  out << "(" << summary->subjects << " subjects at " << summary->sites.size() << " sites)\n\n";
  return cli::kExitOk;
}

int Serve(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
          const cli::Environment& env) {
  cli::Args a;
  if (!cli::ParseArgs(args, 1,
                      {"db", "address", "port", "tls-cert", "tls-key", "web", "protocol", "threads",
                       "demo-passwords"},
                      &a, err, {"demo"})) {
    return cli::kExitUsage;
  }
  http::ServeOptions o;
  o.db = a.Get("db", std::getenv("TRIAL_DB") ? std::getenv("TRIAL_DB") : "trial.db");
  o.address = a.Get("address", o.address);
  for (const char* name : {"port", "threads"}) {
    if (!a.Has(name)) continue;
    auto n = cli::ParsePositive(a.Get(name));
    if (!n || *n > 65535) {
      err << "trial serve: --" << name << " must be a whole number from 1 to 65535\n";
      return cli::kExitUsage;
    }
    (std::string(name) == "port" ? o.port : o.threads) = static_cast<int>(*n);
  }
  if (a.Get("port") == "0") o.port = 0;
  o.tls_cert = a.Get("tls-cert");
  o.tls_key = a.Get("tls-key");
  o.web_dir = a.Get("web", DefaultWebDir());

  if (a.Flag("demo")) {
    // The demo's SQLite file may be created; a PostgreSQL database must exist (and be empty).
    cli::Args create = a;
    if (int code = PrepareDemo(create, o.db, env, out, err); code != cli::kExitOk) return code;
  } else if (a.Has("demo-passwords")) {
    err << "trial serve: --demo-passwords goes with --demo\n";
    return cli::kExitUsage;
  }
  auto protocol = cli::LoadProtocol(a, env);
  if (!protocol) {
    err << "trial: protocol error: " << protocol.error().message << "\n";
    return cli::kExitProtocol;
  }
  cli::Environment server_env = env;
  server_env.protocol = *protocol;

  // Block the stop signals in every thread; one thread waits for them and stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  http::Server server(o, server_env, std::cerr);
  if (auto r = server.Start(); !r) {
    err << "trial serve: " << r.error().message << "\n";
    return r.error().code == ErrorCode::kIo ? cli::kExitDatabase : cli::kExitUsage;
  }
  out << "trial serve: listening on " << (o.tls_cert.empty() ? "http" : "https") << "://"
      << o.address << ":" << server.port() << "/ (database " << o.db << ")\n"
      << "trial serve: sign in at that address; stop with Ctrl-C (SIGINT) or SIGTERM\n"
      << std::flush;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.Stop();
  });
  server.Run();
  out << "trial serve: stopped\n" << std::flush;
  // Wake the waiter if the server ended on its own.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return cli::kExitOk;
}

}  // namespace

int RunServerCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                     const cli::Environment& env) {
  if (args.empty()) return -1;
  if (args[0] == "serve") return Serve(args, out, err, env);
  if (args[0] == "user" && args.size() >= 2 && args[1] == "password") {
    return UserPassword(args, out, err, env);
  }
  return -1;
}

}  // namespace trial::app
