// `trial serve`: the HTTP server (cpp-httplib) in front of the verbs: the JSON API under
// /api/v1 (endpoints.h, openapi.json), sign-in with Argon2id passwords, cookie sessions with
// CSRF tokens, API tokens, lockout, and the web pages (web/). Every request is authenticated,
// then authorized by the permission matrix (service/permissions.h) and held to the user's
// sites; blinding is the verbs' own (the service layer), so the API inherits it.
// Errors: Start fails with kIo when the address cannot be bound, kInvalidArgument for bad
// options, and with web::Renderer::Load's error (naming the folder) when web_dir is set but is
// not a valid web folder. Requests never throw: every API failure is a JSON error
// {"error": {code, message}}, every page failure the HTML error page (http/pages.h).
// Thread-safety: one Server per process; requests run on its thread pool, each with its own
// pooled database connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "cli/cli.h"
#include "core/error.h"

namespace trial::http {

struct ServeOptions {
  std::string db = "trial.db";  // SQLite path or postgresql:// URL
  std::string address = "127.0.0.1";
  int port = 8080;       // 0: any free port (Server::port() tells)
  std::string tls_cert;  // both set: HTTPS, and the session cookie is Secure
  std::string tls_key;
  std::string web_dir;  // templates, translations, static files (web/)
  int threads = 64;     // request threads (each keep-alive connection holds one)
  size_t max_body_bytes = 4 << 20;
  int64_t session_idle_seconds = 30 * 60;
  int64_t session_max_seconds = 12 * 60 * 60;
  int max_failures = 5;             // wrong passwords in a row before a lockout
  int64_t lock_seconds = 15 * 60;   // how long the lockout lasts
  int ip_attempts_per_minute = 30;  // sign-in attempts per client address before 429
};

class Server {
 public:
  // `env` opens databases and gives the clock and the compiled protocol (env.protocol must be
  // set); `log` receives one JSON line per request (method, route, status, duration, role:
  // never a query string, a body or a subject's data).
  Server(ServeOptions options, cli::Environment env, std::ostream& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address; on success port() is the bound port.
  Result<void> Start();
  // Serves until Stop() (from another thread or a signal handler's thread).
  void Run();
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The HTTP status of an error code: the one place codes map to statuses (STYLE.md).
int HttpStatus(ErrorCode code);
// The error code's name in JSON errors: "invalid_argument", "permission_denied", ...
const char* ErrorName(ErrorCode code);

}  // namespace trial::http
