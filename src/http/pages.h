// Internal to http/: the web UI's HTML routes (docs/web.md has the list). Every page gets its
// data through Api::Call as the signed-in caller, so the permission matrix, site scoping and
// blinding are the API's; a refused call renders the error page with the API's status (403 for
// a denied action). Pages render with web::Renderer in the caller's language: `?lang=en|zh-CN`
// sets the `trial_lang` cookie, else the cookie, else Accept-Language (zh → zh-CN), else en.
// Forms POST application/x-www-form-urlencoded (the screening form multipart/form-data, for the
// bundle file) with the session's `csrf` field; the login form uses a pre-session CSRF cookie.
// Errors: never thrown; a request without a session is redirected to /login (GET) or answered
// 401 with the login page (POST).
// Thread-safety: the routes hold only immutable state (the renderer, the protocol) and the
// server context, whose members are thread-safe.
#pragma once

#include <httplib.h>

#include <memory>

#include "http/context.h"
#include "protocol/protocol.h"
#include "web/render.h"

namespace trial::http {

// Adds the page routes to `server`. The routes use the returned object: keep it as long as the
// server runs; `context` and `renderer` must outlive it too.
std::shared_ptr<void> RegisterPages(httplib::Server& server, ServerContext& context,
                                    const web::Renderer& renderer,
                                    std::shared_ptr<const protocol::Protocol> protocol);

// The value of cookie `name` in a Cookie header, or "" (server.cc).
std::string CookieValue(const std::string& header, const std::string& name);

}  // namespace trial::http
