// Internal to http/: what the server gives the web pages (pages.cc) of its own machinery, so the
// sign-in, session, CSRF and request-logging code exists once (server.cc implements it).
// Errors: as the server's (see server.h): Authenticate returns kUnauthenticated without a valid
// session, kPermissionDenied for a wrong CSRF token; CheckPassword kInvalidArgument for a wrong
// password and kPermissionDenied for a locked account.
// Thread-safety: every member may be called from any request thread at once.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/error.h"
#include "http/api.h"
#include "store/store.h"

namespace trial::http {

struct NewSession {
  std::string token;  // the cookie's value (only its hash is stored)
  std::string csrf;
};

class ServerContext {
 public:
  virtual ~ServerContext() = default;
  // A store on a pooled connection.
  virtual Result<std::unique_ptr<store::TrialStore>> Store() = 0;
  // The caller of a request (session cookie or bearer token; the CSRF token on a POST, from the
  // X-CSRF-Token header, a `csrf` form field or a `csrf` multipart part).
  virtual Result<Caller> Authenticate(const httplib::Request& req, store::TrialStore& st) = 0;
  // A password for a sign-in or a re-entry: counts failures, locks.
  virtual Result<void> CheckPassword(store::TrialStore& st, const std::string& username,
                                     const std::string& password) = 0;
  // Starts a session for `username` (after CheckPassword).
  virtual Result<NewSession> StartSession(store::TrialStore& st, const std::string& username) = 0;
  // The Set-Cookie value of the session cookie (max_age 0 clears it).
  virtual std::string SessionCookie(const std::string& token, int64_t max_age) const = 0;
  // Counts a sign-in attempt from `address`; false once over the per-minute limit.
  virtual bool AllowAttempt(const std::string& address) = 0;
  // Runs `fn` (which returns the caller's role for the log) with the security headers, the log
  // line and a 500 for an exception.
  virtual void Handle(const httplib::Request& req, httplib::Response& res,
                      const std::function<std::string(httplib::Response&)>& fn) = 0;
  // The API every page gets its data from.
  virtual const Api& api() const = 0;
  // The current instant, RFC 3339 UTC (the environment's clock: simulated in tests).
  virtual std::string Now() const = 0;
  // Whether sessions use HTTPS (cookies get Secure).
  virtual bool Secure() const = 0;
};

}  // namespace trial::http
