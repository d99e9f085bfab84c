#include "http/server.h"

#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http/api.h"
#include "http/auth.h"
#include "http/context.h"
#include "http/endpoints.h"
#include "http/openapi.h"
#include "http/pages.h"
#include "service/permissions.h"
#include "store/pool.h"
#include "store/store.h"

namespace trial::http {

namespace fs = std::filesystem;
using nlohmann::json;

int HttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kInvalidInput:
    case ErrorCode::kType:
      return 422;
    case ErrorCode::kIo:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

const char* ErrorName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "invalid_argument";
    case ErrorCode::kParse:
      return "malformed";
    case ErrorCode::kInvalidInput:
      return "refused";
    case ErrorCode::kType:
      return "type_error";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kIo:
      return "unavailable";
    case ErrorCode::kInternal:
      return "internal";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
  }
  return "internal";
}

namespace {

constexpr const char* kCookie = "trial_session";

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t a = part.find_first_not_of(' ');
    if (a != std::string::npos) part = part.substr(a);
    if (part.rfind(name + "=", 0) == 0) return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

struct Server::Impl : ServerContext {
  ServeOptions options;
  cli::Environment env;  // open_database replaced by the pool
  std::ostream& log;
  std::mutex log_mu;
  std::shared_ptr<store::ConnectionPool> pool;
  std::unique_ptr<httplib::Server> http;
  std::string temp_dir;  // private (0700) folder for request files
  std::mutex ip_mu;
  std::map<std::string, std::pair<int64_t, int>> ip_attempts;  // address -> (minute, count)
  std::unique_ptr<Api> api_;
  std::unique_ptr<web::Renderer> renderer;  // set when options.web_dir is
  std::shared_ptr<void> pages;              // the page routes' state

  Impl(ServeOptions o, cli::Environment e, std::ostream& l)
      : options(std::move(o)), env(std::move(e)), log(l) {}

  ~Impl() {
    if (!temp_dir.empty()) {
      std::error_code ec;
      fs::remove_all(temp_dir, ec);
    }
  }

  Result<std::unique_ptr<store::TrialStore>> Store() override {
    auto c = pool->Acquire();
    if (!c) return std::unexpected(c.error());
    store::Clock clock = env.clock ? store::Clock(env.clock) : store::Clock(store::SystemClock);
    return std::make_unique<store::TrialStore>(std::move(*c), clock);
  }

  void Log(const httplib::Request& req, int status, double ms, const std::string& role) {
    json line = {{"method", req.method},
                 {"route", req.path},
                 {"status", status},
                 {"ms", static_cast<double>(static_cast<int64_t>(ms * 1000)) / 1000},
                 {"role", role}};
    std::lock_guard lock(log_mu);
    log << line.dump() << "\n";
  }

  static void SendJson(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json; charset=utf-8");
  }
  static void SendError(httplib::Response& res, int status, const std::string& code,
                        const std::string& message) {
    SendJson(res, status, {{"error", {{"code", code}, {"message", message}}}});
  }
  static void SendError(httplib::Response& res, const Error& e) {
    SendError(res, HttpStatus(e.code), ErrorName(e.code), e.message);
  }

  // Counts a sign-in attempt from the client's address; false once over the limit this minute.
  bool AllowAttempt(const std::string& address) override {
    int64_t minute = NowSeconds() / 60;
    std::lock_guard lock(ip_mu);
    auto& [at, count] = ip_attempts[address];
    if (at != minute) {
      at = minute;
      count = 0;
    }
    return ++count <= options.ip_attempts_per_minute;
  }

  std::string SessionCookie(const std::string& token, int64_t max_age) const override {
    std::string c = std::string(kCookie) + "=" + token +
                    "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
    if (!options.tls_cert.empty()) c += "; Secure";
    return c;
  }

  // Checks a password for a sign-in or a re-entry: counts failures, locks, audits.
  Result<void> CheckPassword(store::TrialStore& st, const std::string& username,
                             const std::string& password) override {
    const Error wrong{ErrorCode::kInvalidArgument, "wrong username or password"};
    auto cred = st.FindCredential(username);
    if (!cred) return std::unexpected(cred.error());
    if (!*cred) {
      // Unknown user or no password set: the same answer, and the same cost, as a wrong one.
      VerifyPassword(
          "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$"
          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          password);
      return std::unexpected(wrong);
    }
    int64_t now = NowSeconds();
    if ((*cred)->locked_until > now) {
      return Fail(ErrorCode::kPermissionDenied,
                  "the account is locked after repeated wrong passwords; try again in " +
                      std::to_string(((*cred)->locked_until - now + 59) / 60) +
                      " minutes or ask an administrator");
    }
    if (!VerifyPassword((*cred)->hash, password)) {
      auto locked =
          st.RecordLoginFailure(username, now, options.max_failures, options.lock_seconds);
      if (!locked) return std::unexpected(locked.error());
      if (*locked) {
        return Fail(ErrorCode::kPermissionDenied, "wrong password: the account is now locked for " +
                                                      std::to_string(options.lock_seconds / 60) +
                                                      " minutes");
      }
      return std::unexpected(wrong);
    }
    return {};
  }

  // The signed-in caller of a request: a bearer token, or a session cookie (with the CSRF
  // token on state-changing requests).
  Result<Caller> Authenticate(const httplib::Request& req, store::TrialStore& st) override {
    auto user_of = [&](const std::string& username, Caller::Via via,
                       std::string session) -> Result<Caller> {
      auto u = st.FindUser(username);
      if (!u) return std::unexpected(u.error());
      if (!*u) return Fail(ErrorCode::kPermissionDenied, "the user no longer exists");
      return Caller{**u, via, std::move(session), ""};
    };
    std::string auth = req.get_header_value("Authorization");
    if (!auth.empty()) {
      if (auth.rfind("Bearer ", 0) != 0) {
        return Fail(ErrorCode::kInvalidArgument, "Authorization must be 'Bearer <token>'");
      }
      auto t = st.FindApiToken(store::Sha256Hex(auth.substr(7)));
      if (!t) return std::unexpected(t.error());
      if (!*t || (*t)->revoked)
        return Fail(ErrorCode::kUnauthenticated, "the API token is not valid");
      return user_of((*t)->username, Caller::Via::kToken, "");
    }
    std::string token = CookieValue(req.get_header_value("Cookie"), kCookie);
    if (token.empty()) return Fail(ErrorCode::kUnauthenticated, "sign in first (no session)");
    std::string hash = store::Sha256Hex(token);
    auto s = st.FindSession(hash);
    if (!s) return std::unexpected(s.error());
    if (!*s || (*s)->ended)
      return Fail(ErrorCode::kUnauthenticated, "the session has ended: sign in again");
    int64_t now = NowSeconds();
    if (now >= (*s)->expires || now - (*s)->last_seen > options.session_idle_seconds) {
      (void)st.EndSession(hash, now >= (*s)->expires ? "expired" : "idle");
      return Fail(ErrorCode::kUnauthenticated, "the session has expired: sign in again");
    }
    if (req.method != "GET" && req.method != "HEAD") {
      std::string csrf = req.get_header_value("X-CSRF-Token");
      if (csrf.empty() && req.has_param("csrf")) csrf = req.get_param_value("csrf");
      if (csrf.empty() && req.has_file("csrf")) csrf = req.get_file_value("csrf").content;
      if (!SameSecret(csrf, (*s)->csrf)) {
        return Fail(ErrorCode::kPermissionDenied,
                    "missing or wrong CSRF token (X-CSRF-Token header or csrf field)");
      }
    }
    if (now - (*s)->last_seen >= 60) (void)st.TouchSession(hash, now);
    auto c = user_of((*s)->username, Caller::Via::kSession, hash);
    if (c) c->csrf = (*s)->csrf;
    return c;
  }

  // Runs `fn` with timing, the log line, and a JSON 500 for anything unexpected.
  void Handle(const httplib::Request& req, httplib::Response& res,
              const std::function<std::string(httplib::Response&)>& fn) override {
    auto start = std::chrono::steady_clock::now();
    std::string role = "-";
    try {
      role = fn(res);
    } catch (const std::exception& e) {
      SendError(res, 500, "internal", std::string("internal error: ") + e.what());
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    Log(req, res.status, ms, role);
  }

  void Login(const httplib::Request& req, httplib::Response& res, std::string* role) {
    if (!AllowAttempt(req.remote_addr)) {
      SendError(res, 429, "too_many_attempts", "too many sign-in attempts: wait a minute");
      return;
    }
    auto body = ParseObject(req.body);
    if (!body) return SendError(res, body.error());
    for (const auto& [k, v] : body->items()) {
      if (k != "username" && k != "password") {
        return SendError(res, 400, "invalid_argument", "unknown field '" + k + "'");
      }
      if (!v.is_string()) {
        return SendError(res, 400, "invalid_argument", "field '" + k + "' must be a string");
      }
    }
    std::string username = body->value("username", "");
    std::string password = body->value("password", "");
    if (username.empty() || password.empty()) {
      return SendError(res, 400, "invalid_argument", "give username and password");
    }
    auto st = Store();
    if (!st) return SendError(res, st.error());
    if (auto ok = CheckPassword(**st, username, password); !ok) {
      if (ok.error().code == ErrorCode::kInvalidArgument) {
        return SendError(res, 401, "unauthenticated", ok.error().message);
      }
      return SendError(res, ok.error());
    }
    auto session = StartSession(**st, username);
    if (!session) return SendError(res, session.error());
    auto user = (*st)->FindUser(username);
    if (!user || !*user) return SendError(res, 500, "internal", "the user vanished");
    *role = store::RoleName((*user)->role);
    res.set_header("Set-Cookie", SessionCookie(session->token, options.session_max_seconds));
    SendJson(res, 200, MeJson(**user, session->csrf));
  }

  // A new session id on every sign-in: a session id planted before (fixation) is never used.
  Result<NewSession> StartSession(store::TrialStore& st, const std::string& username) override {
    auto token = RandomToken();
    auto csrf = RandomToken();
    if (!token || !csrf) return Fail(ErrorCode::kInternal, "no random source");
    int64_t now = NowSeconds();
    store::Session s{store::Sha256Hex(*token),          username, *csrf, now,
                     now + options.session_max_seconds, now,      false};
    if (auto r = st.StartSession(s); !r) return std::unexpected(r.error());
    return NewSession{*token, *csrf};
  }

  const Api& api() const override { return *api_; }
  std::string Now() const override { return env.clock ? env.clock() : store::SystemClock(); }
  bool Secure() const override { return !options.tls_cert.empty(); }

  static json MeJson(const store::User& u, const std::string& csrf) {
    json j = {{"username", u.username},
              {"name", u.display_name},
              {"role", store::RoleName(u.role)},
              {"sites", u.sites},
              {"sees_arms", store::SeesArms(u.role)}};
    if (!csrf.empty()) j["csrf"] = csrf;
    json allowed = json::array();
    for (const auto& p : service::PermissionMatrix()) {
      if (service::Allowed(u.role, p.action)) allowed.push_back(std::string(p.action));
    }
    j["actions"] = allowed;
    return j;
  }

  // Routes needing a signed-in caller: authenticates, then runs fn(caller, store).
  void Authed(const httplib::Request& req, httplib::Response& res, std::string* role,
              const std::function<void(const Caller&, store::TrialStore&)>& fn) {
    auto st = Store();
    if (!st) return SendError(res, st.error());
    auto caller = Authenticate(req, **st);
    if (!caller) {
      return SendError(res, caller.error());
    }
    *role = store::RoleName(caller->user.role);
    fn(*caller, **st);
  }

  void Routes() {
    auto& s = *http;
    s.Get("/healthz", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        SendJson(r, 200, {{"status", "ok"}});
        return std::string("-");
      });
    });
    s.Get("/api/v1/openapi.json", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        SendJson(r, 200, OpenApiDocument());
        return std::string("-");
      });
    });
    s.Post("/api/v1/login", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        Login(req, r, &role);
        return role;
      });
    });
    s.Post("/api/v1/logout", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        Authed(req, r, &role, [&](const Caller& c, store::TrialStore& st) {
          if (c.via == Caller::Via::kSession) (void)st.EndSession(c.session_hash, "sign-out");
          r.set_header("Set-Cookie", SessionCookie("", 0));
          SendJson(r, 200, {{"signed_out", true}});
        });
        return role;
      });
    });
    s.Get("/api/v1/me", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        Authed(req, r, &role, [&](const Caller& c, store::TrialStore&) {
          SendJson(r, 200, MeJson(c.user, c.csrf));
        });
        return role;
      });
    });
    s.Post("/api/v1/password", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        Authed(req, r, &role, [&](const Caller& c, store::TrialStore& st) {
          auto body = ParseObject(req.body);
          if (!body) return SendError(r, body.error());
          auto fields = StringFields(*body, {"username", "current", "new"});
          if (!fields) return SendError(r, fields.error());
          std::string target = fields->count("username") ? (*fields)["username"] : c.user.username;
          if (target != c.user.username) {
            if (auto a = service::Authorize(c.user, "user.password"); !a) {
              return SendError(r, a.error());
            }
          } else if (auto ok = CheckPassword(st, c.user.username, (*fields)["current"]); !ok) {
            return SendError(r, 401, "unauthenticated", "the current password is wrong");
          }
          auto hash = HashPassword((*fields)["new"]);
          if (!hash) return SendError(r, hash.error());
          if (auto set = st.SetPasswordHash(c.user.username, target, *hash); !set) {
            return SendError(r, set.error());
          }
          SendJson(r, 200, {{"password_set", target}});
        });
        return role;
      });
    });
    s.Post("/api/v1/tokens", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        Authed(req, r, &role, [&](const Caller& c, store::TrialStore& st) {
          if (auto a = service::Authorize(c.user, "token.add"); !a) return SendError(r, a.error());
          auto body = ParseObject(req.body);
          if (!body) return SendError(r, body.error());
          auto fields = StringFields(*body, {"label"});
          if (!fields) return SendError(r, fields.error());
          auto token = RandomToken();
          if (!token) return SendError(r, token.error());
          store::ApiToken t{store::Sha256Hex(*token), c.user.username, (*fields)["label"], "",
                            false};
          if (auto added = st.AddApiToken(c.user.username, t); !added) {
            return SendError(r, added.error());
          }
          SendJson(r, 201,
                   {{"token", *token}, {"label", t.label}, {"note", "shown once: store it now"}});
        });
        return role;
      });
    });
    auto api_route = [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res, [&](httplib::Response& r) {
        std::string role = "-";
        const Endpoint* e = FindEndpoint(req.matches[1].str());
        if (!e) {
          SendError(r, 404, "not_found", "no endpoint /api/v1/" + req.matches[1].str());
          return role;
        }
        bool get = req.method == "GET";
        if (get != (e->method == Method::kGet)) {
          SendError(r, 405, "method_not_allowed",
                    "use " + std::string(e->method == Method::kGet ? "GET" : "POST") +
                        " for /api/v1/" + std::string(e->path));
          return role;
        }
        Authed(req, r, &role, [&](const Caller& c, store::TrialStore& st) {
          json fields = json::object();
          if (get) {
            for (const auto& [k, v] : req.params) fields[k] = v;
          } else {
            auto body = ParseObject(req.body);
            if (!body) return SendError(r, body.error());
            fields = std::move(*body);
          }
          if (e->reauth) {
            // The matrix first: a role that may never do this gets no password check (no
            // lockout count, no password oracle).
            if (auto a = service::Authorize(c.user, e->Action()); !a) {
              return SendError(r, a.error());
            }
            auto pw = fields.find("password");
            if (pw == fields.end() || !pw->is_string()) {
              return SendError(r, 400, "invalid_argument",
                               "this action needs your password again: give \"password\"");
            }
            if (auto ok = CheckPassword(st, c.user.username, pw->get<std::string>()); !ok) {
              if (ok.error().code == ErrorCode::kInvalidArgument) {
                return SendError(r, 401, "reauthentication_failed", "the password is wrong");
              }
              return SendError(r, ok.error());
            }
            fields.erase("password");
          }
          ApiResult out = api_->Call(c, *e, fields, st);
          SendJson(r, out.status, out.body);
        });
        return role;
      });
    };
    s.Get(R"(/api/v1/([a-z/]+))", api_route);
    s.Post(R"(/api/v1/([a-z/]+))", api_route);
    if (renderer) pages = RegisterPages(s, *this, *renderer, env.protocol);
    s.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404 && res.body.empty()) {
        SendError(res, 404, "not_found", "no such page or endpoint");
      } else if (res.status == 413) {
        SendError(res, 413, "too_large",
                  "the request body is too large: JSON bodies (Content-Type: application/json) "
                  "up to " +
                      std::to_string(options.max_body_bytes) + " bytes, form bodies up to 8 KB");
      } else if (res.body.empty()) {
        SendError(res, res.status, "http_error", "the request could not be served");
      }
      Log(req, res.status, 0, "-");
    });
  }
};

Server::Server(ServeOptions options, cli::Environment env, std::ostream& log)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(env), log)) {}

Server::~Server() { Stop(); }

Result<void> Server::Start() {
  auto& m = *impl_;
  if (!m.env.protocol) return Fail(ErrorCode::kInvalidArgument, "the server needs a protocol");
  if (m.options.tls_cert.empty() != m.options.tls_key.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "give both --tls-cert and --tls-key, or neither");
  }
  auto open = m.env.open_database;
  std::string db = m.options.db;
  m.pool = store::ConnectionPool::Create([open, db] { return open(db, false); },
                                         static_cast<size_t>(m.options.threads));
  // The verbs open their store through the pool.
  auto pool = m.pool;
  m.env.open_database = [pool](const std::string&, bool) { return pool->Acquire(); };
  {
    // A database that cannot be used, whatever the reason, is kIo (cli.h: exit 4).
    auto st = m.Store();
    if (!st) return Fail(ErrorCode::kIo, st.error().message);
    if (auto c = (*st)->Check(); !c) return Fail(ErrorCode::kIo, c.error().message);
  }
  char tmpl[] = "/tmp/trial-serve-XXXXXX";
  if (!mkdtemp(tmpl)) return Fail(ErrorCode::kIo, "cannot create a temporary folder in /tmp");
  m.temp_dir = tmpl;
  m.api_ = std::make_unique<Api>(m.env, m.temp_dir);
  if (m.options.tls_cert.empty()) {
    m.http = std::make_unique<httplib::Server>();
  } else {
    auto ssl =
        std::make_unique<httplib::SSLServer>(m.options.tls_cert.c_str(), m.options.tls_key.c_str());
    if (!ssl->is_valid()) {
      return Fail(ErrorCode::kInvalidArgument, "cannot use the TLS certificate '" +
                                                   m.options.tls_cert + "' and key '" +
                                                   m.options.tls_key + "'");
    }
    m.http = std::move(ssl);
  }
  int threads = m.options.threads;
  m.http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  m.http->set_payload_max_length(m.options.max_body_bytes);
  m.http->set_keep_alive_max_count(1000);
  m.http->set_tcp_nodelay(true);  // no 40 ms delayed-ACK stalls on small responses
  if (!m.options.web_dir.empty()) {
    auto r = web::Renderer::Load(m.options.web_dir);
    if (!r) {
      return Fail(r.error().code, "the web folder '" + m.options.web_dir +
                                      "' cannot be used: " + r.error().message);
    }
    m.renderer = std::make_unique<web::Renderer>(std::move(*r));
  }
  m.Routes();
  if (!m.options.web_dir.empty()) {
    fs::path static_dir = fs::path(m.options.web_dir) / "static";
    if (fs::is_directory(static_dir)) m.http->set_mount_point("/static", static_dir.string());
  }
  if (m.options.port == 0) {
    int port = m.http->bind_to_any_port(m.options.address);
    if (port < 0) return Fail(ErrorCode::kIo, "cannot listen on " + m.options.address);
    m.options.port = port;
  } else if (!m.http->bind_to_port(m.options.address, m.options.port)) {
    return Fail(ErrorCode::kIo, "cannot listen on " + m.options.address + ":" +
                                    std::to_string(m.options.port) + " (in use?)");
  }
  return {};
}

void Server::Run() {
  if (impl_->http) impl_->http->listen_after_bind();
}

void Server::Stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

int Server::port() const { return impl_->options.port; }

}  // namespace trial::http
