#include "http/pages.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "http/auth.h"
#include "http/endpoints.h"
#include "http/server.h"
#include "service/permissions.h"
#include "store/store.h"

namespace trial::http {

namespace {

using nlohmann::json;

// PROMIS-MDA5's enrollment target: 110 estimated (FACTS §1.1); not in the protocol folder yet.
constexpr int kEnrollmentTarget = 110;  // FACTS §1.1
constexpr const char* kLangCookie = "trial_lang";
constexpr const char* kLoginCsrfCookie = "trial_login_csrf";
constexpr int kAuditPage = 50;  // audit events per page

// One request being served as a page.
struct Request {
  const httplib::Request& req;
  httplib::Response& res;
  std::string lang;
  std::optional<Caller> caller;
  store::TrialStore* st = nullptr;
};

bool IsDigits(const std::string& s) {
  return !s.empty() && s.size() <= 18 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A form field (urlencoded, or a multipart part), or "".
std::string Field(const httplib::Request& req, const std::string& name) {
  if (req.has_param(name)) return req.get_param_value(name);
  if (req.has_file(name)) return req.get_file_value(name).content;
  return "";
}

void Redirect(httplib::Response& res, const std::string& to) {
  res.status = 303;
  res.set_header("Location", to);
}

// The "QUERY check [visit]: message" / "REJECT ..." lines `data set` prints, as messages.
json MessagesOf(const std::string& text) {
  json out = json::array();
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    for (const char* kind : {"QUERY ", "REJECT "}) {
      if (line.rfind(kind, 0) == 0) {
        size_t colon = line.find("]: ");
        out.push_back({{"severity", std::string(kind) == "QUERY " ? "query" : "reject"},
                       {"text", colon == std::string::npos ? line : line.substr(colon + 3)}});
      }
    }
    if (line.rfind("query ", 0) == 0) out.push_back({{"severity", "query"}, {"text", line}});
  }
  return out;
}

class Pages {
 public:
  Pages(ServerContext& context, const web::Renderer& renderer,
        std::shared_ptr<const protocol::Protocol> protocol)
      : ctx_(context), renderer_(renderer), protocol_(std::move(protocol)) {}

  void Register(httplib::Server& s);

 private:
  using Handler = std::function<void(Request&)>;

  // The page's language; `?lang=` also sets the cookie.
  std::string Language(const httplib::Request& req, httplib::Response& res) const {
    auto supported = [](const std::string& l) { return l == "en" || l == "zh-CN"; };
    if (req.has_param("lang") && supported(req.get_param_value("lang"))) {
      std::string l = req.get_param_value("lang");
      res.set_header("Set-Cookie", std::string(kLangCookie) + "=" + l +
                                       "; Path=/; SameSite=Strict; Max-Age=31536000" +
                                       (ctx_.Secure() ? "; Secure" : ""));
      return l;
    }
    std::string cookie = CookieValue(req.get_header_value("Cookie"), kLangCookie);
    if (supported(cookie)) return cookie;
    std::string accept = req.get_header_value("Accept-Language");
    size_t first = accept.find_first_not_of(' ');
    if (first != std::string::npos &&
        (accept.compare(first, 2, "zh") == 0 || accept.compare(first, 2, "ZH") == 0)) {
      return "zh-CN";
    }
    return "en";
  }

  // Renders `page` with the layout's data of the caller (user, site, csrf).
  void Send(Request& r, const std::string& page, json data, int status = 200) const {
    if (r.caller) {
      const auto& u = r.caller->user;
      data["user"] = {
          {"id", u.username}, {"name", u.display_name}, {"role", store::RoleName(u.role)}};
      if (u.sites.size() == 1) data["site"] = u.sites[0];
      data["csrf"] = r.caller->csrf;
    }
    auto html = renderer_.Page(page, data, r.lang);
    if (!html) {
      r.res.status = 500;
      r.res.set_content("the page could not be rendered: " + html.error().message,
                        "text/plain; charset=utf-8");
      return;
    }
    r.res.status = status;
    r.res.set_content(*html, "text/html; charset=utf-8");
  }

  void SendError(Request& r, int status, const std::string& message) const {
    Send(r, "error", {{"status", status}, {"message", message}}, status);
  }
  void SendError(Request& r, const ApiResult& out) const {
    std::string message = out.body.contains("error") ? out.body["error"].value("message", "")
                                                     : std::string("the request failed");
    SendError(r, out.status, message);
  }

  static bool Failed(const ApiResult& out) { return out.status >= 400; }
  static std::string Message(const ApiResult& out) {
    return out.body.contains("error") ? out.body["error"].value("message", "") : "";
  }

  // Runs one endpoint as the page's caller.
  ApiResult Call(Request& r, std::string_view path, const json& fields) const {
    const Endpoint* e = FindEndpoint(path);
    if (!e) return ErrorResult({ErrorCode::kInternal, "no endpoint " + std::string(path)});
    return ctx_.api().Call(*r.caller, *e, fields, *r.st);
  }

  std::string Today() const { return ctx_.Now().substr(0, 10); }

  // A signed-in page: the caller, then `fn`; without a session, the login page.
  void Page(httplib::Server& s, bool post, const std::string& pattern, Handler fn) {
    auto route = [this, fn](const httplib::Request& req, httplib::Response& res) {
      ctx_.Handle(req, res, [&](httplib::Response& out) {
        Request r{req, out, Language(req, out), std::nullopt, nullptr};
        auto st = ctx_.Store();
        if (!st) {
          SendError(r, HttpStatus(st.error().code), st.error().message);
          return std::string("-");
        }
        auto caller = ctx_.Authenticate(req, **st);
        if (!caller) {
          if (caller.error().code == ErrorCode::kUnauthenticated) {
            if (req.method == "GET") {
              Redirect(out, "/login?next=" + httplib::detail::encode_query_param(req.path));
            } else {
              LoginPage(r, caller.error().message, "", 401);
            }
          } else {
            SendError(r, HttpStatus(caller.error().code), caller.error().message);
          }
          return std::string("-");
        }
        r.caller = std::move(*caller);
        r.st = st->get();
        fn(r);
        return std::string(store::RoleName(r.caller->user.role));
      });
    };
    if (post) {
      s.Post(pattern, route);
    } else {
      s.Get(pattern, route);
    }
  }

  // The login page with a pre-session CSRF token (a cookie the form must echo).
  void LoginPage(Request& r, const std::string& error, const std::string& next, int status) {
    std::string token = CookieValue(r.req.get_header_value("Cookie"), kLoginCsrfCookie);
    if (token.empty()) {
      auto t = RandomToken();
      if (!t) return SendError(r, 500, t.error().message);
      token = *t;
      r.res.set_header("Set-Cookie", std::string(kLoginCsrfCookie) + "=" + token +
                                         "; Path=/login; HttpOnly; SameSite=Strict" +
                                         (ctx_.Secure() ? "; Secure" : ""));
    }
    json data = {{"csrf", token}, {"next", next}};
    if (!error.empty()) data["error"] = error;
    Send(r, "login", data, status);
  }

  void LoginPost(Request& r) {
    std::string next = Field(r.req, "next");
    if (next.empty() || next[0] != '/' || next.rfind("//", 0) == 0) next = "/dashboard";
    std::string expected = CookieValue(r.req.get_header_value("Cookie"), kLoginCsrfCookie);
    if (expected.empty() || !SameSecret(Field(r.req, "csrf"), expected)) {
      return LoginPage(r, "the sign-in form has expired: try again", next, 403);
    }
    if (!ctx_.AllowAttempt(r.req.remote_addr)) {
      return LoginPage(r, "too many sign-in attempts: wait a minute", next, 429);
    }
    std::string user = Field(r.req, "user"), password = Field(r.req, "password");
    if (user.empty() || password.empty()) {
      return LoginPage(r, "give the user name and the password", next, 400);
    }
    auto st = ctx_.Store();
    if (!st) return SendError(r, HttpStatus(st.error().code), st.error().message);
    if (auto ok = ctx_.CheckPassword(**st, user, password); !ok) {
      return LoginPage(r, ok.error().message, next,
                       ok.error().code == ErrorCode::kInvalidArgument ? 401 : 403);
    }
    auto session = ctx_.StartSession(**st, user);
    if (!session) return SendError(r, HttpStatus(session.error().code), session.error().message);
    r.res.set_header("Set-Cookie", ctx_.SessionCookie(session->token, 12 * 60 * 60));
    Redirect(r.res, next);
  }

  // The subjects the caller may list (every site of a site-scoped caller).
  Result<json> Subjects(Request& r) const {
    json all = json::array();
    std::vector<std::string> sites;
    if (store::IsSiteScoped(r.caller->user.role)) sites = r.caller->user.sites;
    if (sites.empty()) sites.push_back("");
    for (const auto& site : sites) {
      json fields = json::object();
      if (!site.empty()) fields["site"] = site;
      ApiResult out = Call(r, "subject/list", fields);
      if (Failed(out)) return Fail(ErrorCode::kPermissionDenied, Message(out));
      for (auto& s : out.body) all.push_back(s);
    }
    return all;
  }

  // `subject/show` of the path's subject, or the error page (and nullopt).
  std::optional<json> Subject(Request& r) const {
    std::string id = r.req.matches[1].str();
    ApiResult out = Call(r, "subject/show", {{"id", id}});
    if (Failed(out)) {
      SendError(r, out);
      return std::nullopt;
    }
    return out.body;
  }

  // A bare number typed into a quantity item is in the unit shown beside the field (the item's
  // canonical unit); anything else is passed on as typed.
  std::string WithUnit(const std::string& form, const std::string& item,
                       const std::string& value) const {
    if (!protocol_->forms) return value;
    const auto* f = protocol_->forms->FindForm(form);
    const auto* i = f ? f->FindItem(item) : nullptr;
    if (!i || i->type != protocol::ItemType::kQuantity || i->canonical.code().empty()) return value;
    bool number = std::all_of(value.begin(), value.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '.' || c == '-';
    });
    return number ? value + " " + i->canonical.code() : value;
  }

  void Dashboard(Request& r) const;
  void SubjectPage(Request& r, const json& saved_messages, const std::string& flash) const;
  void SaveItems(Request& r) const;
  void Screening(Request& r, bool post) const;
  void AeForm(Request& r, json errors, int status) const;
  void AePost(Request& r) const;

  ServerContext& ctx_;
  const web::Renderer& renderer_;
  std::shared_ptr<const protocol::Protocol> protocol_;
};

void Pages::Dashboard(Request& r) const {
  json data = json::object();
  auto subjects = Subjects(r);
  std::string today = Today();
  json enrollment = {{"target", kEnrollmentTarget}, {"start", today}, {"end", today}};
  json dates = json::array();
  std::map<std::string, int> per_site;
  json due = json::array(), overdue = json::array();
  if (subjects) {
    for (const auto& s : *subjects) {
      std::string site = s.value("site", "");
      per_site.try_emplace(site, 0);
      std::string status = s.value("status", "");
      if (status != "randomized" && status != "completed" && status != "withdrawn" &&
          status != "lost_to_follow_up") {
        continue;
      }
      std::string id = std::to_string(s.value("id", int64_t{0}));
      ApiResult shown = Call(r, "subject/show", {{"id", id}});
      if (!Failed(shown)) {
        for (const auto& h : shown.body.value("history", json::array())) {
          if (h.value("action", "") == "randomization.allocate") {
            dates.push_back(h.value("at", "").substr(0, 10));
            ++per_site[site];
          }
        }
      }
      if (status != "randomized") continue;
      ApiResult visits = Call(r, "visit/list", {{"subject", id}, {"date", today}});
      if (Failed(visits)) continue;
      for (auto v : visits.body.value("visits", json::array())) {
        v["subject_id"] = s.value("id", int64_t{0});
        if (v.value("status", "") == "due") due.push_back(v);
        if (v.value("status", "") == "overdue") overdue.push_back(v);
      }
    }
  }
  std::sort(dates.begin(), dates.end());
  if (!dates.empty()) enrollment["start"] = dates.front();
  enrollment["dates"] = dates;
  json sites = json::array();
  // A site's own target is not known yet (docs/web.md): shown empty, never the trial's.
  for (const auto& [site, n] : per_site) {
    sites.push_back({{"site", site}, {"randomized", n}, {"target", ""}});
  }
  enrollment["sites"] = sites;
  data["enrollment"] = enrollment;
  data["visits"] = {{"due", due}, {"overdue", overdue}};
  // Parts the caller's role may not read are left out (the matrix decides, per call).
  if (ApiResult q = Call(r, "query/list", {{"status", "open"}}); !Failed(q))
    data["queries"] = q.body;
  if (ApiResult a = Call(r, "alerts", json::object()); !Failed(a)) data["alerts"] = a.body;
  Send(r, "dashboard", data);
}

void Pages::SubjectPage(Request& r, const json& saved_messages, const std::string& flash) const {
  auto subject = Subject(r);
  if (!subject) return;
  std::string id = r.req.matches[1].str();
  json data = {{"subject", *subject}};
  if (!flash.empty()) data["flash"] = {{"kind", "info"}, {"text", flash}};
  json statuses = json::object();
  ApiResult visits = Call(r, "visit/list", {{"subject", id}, {"date", Today()}});
  if (!Failed(visits)) {
    data["visits"] = visits.body;
    for (const auto& v : visits.body.value("visits", json::array())) {
      statuses[v.value("visit", "")] = v.value("status", "");
    }
  }
  json queries = json::array();
  if (ApiResult q = Call(r, "query/list", {{"subject", id}}); !Failed(q)) {
    queries = q.body.value("queries", json::array());
  }
  data["subject_queries"] = queries;
  // The eCRF forms of the visits that are due or done (from the protocol's schedule).
  json forms = json::array();
  if (protocol_->schedule && protocol_->forms) {
    for (const auto& v : protocol_->schedule->visits) {
      std::string status = statuses.value(v.id, "");
      if (status.empty() || status == "upcoming" || status == "missed") continue;
      for (const auto& form_id : v.forms) {
        const auto* form = protocol_->forms->FindForm(form_id);
        if (!form) continue;
        json items = json::array();
        for (const auto& item : form->items) {
          json qs = json::array();
          for (const auto& q : queries) {
            if (q.value("visit", "") == v.id && q.value("form", "") == form_id &&
                q.value("item", "") == item.id) {
              qs.push_back({{"id", q["id"]}, {"status", q["status"]}, {"text", q["text"]}});
            }
          }
          std::string key = v.id + "/" + form_id + "/" + item.id;
          json row = {{"item", item.id},
                      {"label", item.label},
                      {"unit", item.canonical.code()},
                      {"queries", qs},
                      {"messages", json::array()}};
          if (saved_messages.contains(key)) {
            row["messages"] = saved_messages[key]["messages"];
            row["value"] = saved_messages[key]["value"];
          }
          items.push_back(row);
        }
        forms.push_back(
            {{"visit", v.id}, {"form", form_id}, {"title", form->label}, {"items", items}});
      }
    }
  }
  data["forms"] = forms;
  // Charts: TIS per visit from the outcomes endpoint (null where unknown).
  if (ApiResult o = Call(r, "outcomes", {{"subject", id}}); !Failed(o)) {
    json x = json::array(), tis = json::array(), fvc = json::array(), spo2 = json::array();
    for (const auto& t : o.body.value("tis", json::array())) {
      x.push_back(t.value("visit", ""));
      tis.push_back(t.contains("total") && t["total"].is_number() ? t["total"] : json(nullptr));
      fvc.push_back(nullptr);
      spo2.push_back(nullptr);
    }
    if (!x.empty()) data["charts"] = {{"x", x}, {"fvc", fvc}, {"spo2", spo2}, {"tis", tis}};
  }
  Send(r, "subject", data);
}

void Pages::SaveItems(Request& r) const {
  std::string id = r.req.matches[1].str();
  std::string visit = Field(r.req, "visit"), form = Field(r.req, "form");
  std::string reason = Field(r.req, "reason");
  json saved = json::object();
  int count = 0;
  for (const auto& [name, raw] : r.req.params) {
    if (name.rfind("item.", 0) != 0 || raw.empty()) continue;
    std::string item = name.substr(5);
    std::string value = WithUnit(form, item, raw);
    json fields = {
        {"subject", id}, {"visit", visit}, {"form", form}, {"item", item}, {"value", value}};
    if (!reason.empty()) fields["reason"] = reason;
    ApiResult out = Call(r, "data/set", fields);
    if (out.status == 403) return SendError(r, out);
    json messages = Failed(out) ? json::array({{{"severity", "reject"}, {"text", Message(out)}}})
                                : MessagesOf(out.body.value("text", ""));
    saved[visit + "/" + form + "/" + item] = {{"value", raw}, {"messages", messages}};
    if (!Failed(out)) ++count;
  }
  SubjectPage(r, saved, std::to_string(count) + " saved");
}

void Pages::Screening(Request& r, bool post) const {
  auto subject = Subject(r);
  if (!subject) return;
  json data = {{"subject", *subject}, {"today", Today()}};
  if (post) {
    std::string text = Field(r.req, "bundle_file");
    if (text.empty()) text = Field(r.req, "bundle_text");
    json bundle;
    std::string error;
    if (text.empty()) {
      error = "give a FHIR bundle (a file or its JSON text)";
    } else {
      try {
        bundle = json::parse(text);
      } catch (const json::parse_error& e) {
        error = std::string("the bundle is not valid JSON: ") + e.what();
      }
    }
    if (error.empty()) {
      json fields = {{"bundle", bundle},
                     {"screening-date", Field(r.req, "screening_date")},
                     {"subject", r.req.matches[1].str()}};
      if (!Field(r.req, "randomization_date").empty()) {
        fields["randomization-date"] = Field(r.req, "randomization_date");
      }
      if (Field(r.req, "save") == "yes") fields["save"] = true;
      ApiResult out = Call(r, "screen", fields);
      if (out.status == 403) return SendError(r, out);
      if (Failed(out)) {
        error = Message(out);
      } else {
        data["screening"] = out.body;
      }
    }
    if (!error.empty()) {
      data["error"] = error;
      return Send(r, "screening", data, 422);
    }
  }
  Send(r, "screening", data);
}

void Pages::AeForm(Request& r, json errors, int status) const {
  json data = {{"errors", errors}};
  std::string subject = r.req.has_param("subject") ? r.req.get_param_value("subject") : "";
  if (IsDigits(subject)) data["subject"] = {{"id", subject}};
  if (protocol_->safety) {
    json ids = json::array();
    for (const auto& t : protocol_->safety->terms) ids.push_back(t.id);
    if (!ids.empty()) data["terms"] = {{"ids", ids}};
  }
  Send(r, "ae_form", data, status);
}

void Pages::AePost(Request& r) const {
  json fields = json::object();
  for (const char* name :
       {"subject", "term", "grade", "onset", "resolved", "awareness", "related", "action"}) {
    std::string v = Field(r.req, name);
    if (!v.empty()) fields[name] = v;
  }
  if (std::string v = Field(r.req, "other_text"); !v.empty()) fields["other-text"] = v;
  std::string serious;
  for (size_t i = 0, n = r.req.get_param_value_count("serious"); i < n; ++i) {
    serious += (serious.empty() ? "" : ",") + r.req.get_param_value("serious", i);
  }
  fields["serious"] = serious.empty() ? "no" : serious;
  ApiResult out = Call(r, "ae/add", fields);
  if (out.status == 403) return SendError(r, out);
  if (Failed(out)) {
    return AeForm(r, json::array({Message(out)}), out.status);
  }
  Redirect(r.res, "/aes");
}

void Pages::Register(httplib::Server& s) {
  s.Get("/", [this](const httplib::Request& req, httplib::Response& res) {
    ctx_.Handle(req, res, [&](httplib::Response& out) {
      auto st = ctx_.Store();
      bool in = st && ctx_.Authenticate(req, **st).has_value();
      Redirect(out, in ? "/dashboard" : "/login");
      return std::string("-");
    });
  });
  s.Get("/login", [this](const httplib::Request& req, httplib::Response& res) {
    ctx_.Handle(req, res, [&](httplib::Response& out) {
      Request r{req, out, Language(req, out), std::nullopt, nullptr};
      LoginPage(r, "", req.has_param("next") ? req.get_param_value("next") : "", 200);
      return std::string("-");
    });
  });
  s.Post("/login", [this](const httplib::Request& req, httplib::Response& res) {
    ctx_.Handle(req, res, [&](httplib::Response& out) {
      Request r{req, out, Language(req, out), std::nullopt, nullptr};
      LoginPost(r);
      return std::string("-");
    });
  });
  Page(s, true, "/logout", [this](Request& r) {
    if (r.caller->via == Caller::Via::kSession) {
      (void)r.st->EndSession(r.caller->session_hash, "sign-out");
    }
    r.res.set_header("Set-Cookie", ctx_.SessionCookie("", 0));
    Redirect(r.res, "/login");
  });
  Page(s, false, "/dashboard", [this](Request& r) { Dashboard(r); });

  Page(s, false, "/subjects", [this](Request& r) {
    auto subjects = Subjects(r);
    if (!subjects) return SendError(r, 403, subjects.error().message);
    Send(r, "subjects", {{"subjects", *subjects}});
  });
  Page(s, false, "/subjects/new", [this](Request& r) {
    auto subjects = Subjects(r);
    json sites = json::array();
    for (const auto& site : r.caller->user.sites) sites.push_back(site);
    Send(r, "subjects",
         {{"subjects", subjects ? *subjects : json::array()},
          {"add", {{"sites", sites}, {"choose", !sites.empty()}}}});
  });
  Page(s, true, "/subjects/new", [this](Request& r) {
    ApiResult out = Call(r, "subject/add",
                         {{"site", Field(r.req, "site")}, {"number", Field(r.req, "number")}});
    if (Failed(out)) {
      if (out.status == 403) return SendError(r, out);
      json sites = json::array();
      for (const auto& site : r.caller->user.sites) sites.push_back(site);
      return Send(
          r, "subjects",
          {{"subjects", json::array()},
           {"add", {{"sites", sites}, {"choose", !sites.empty()}, {"error", Message(out)}}}},
          out.status);
    }
    Redirect(r.res, "/subjects/" + std::to_string(out.body.value("id", int64_t{0})));
  });
  Page(s, false, R"(/subjects/(\d+))", [this](Request& r) { SubjectPage(r, json::object(), ""); });
  Page(s, true, R"(/subjects/(\d+)/items)", [this](Request& r) { SaveItems(r); });
  Page(s, true, R"(/subjects/(\d+)/queries)", [this](Request& r) {
    std::string id = r.req.matches[1].str();
    ApiResult out = Call(r, "query/open",
                         {{"subject", id},
                          {"visit", Field(r.req, "visit")},
                          {"form", Field(r.req, "form")},
                          {"item", Field(r.req, "item")},
                          {"text", Field(r.req, "text")}});
    if (Failed(out)) return SendError(r, out);
    Redirect(r.res, "/subjects/" + id);
  });
  Page(s, true, R"(/queries/(\d+)/answer)", [this](Request& r) {
    ApiResult out =
        Call(r, "query/answer", {{"id", r.req.matches[1].str()}, {"text", Field(r.req, "text")}});
    if (Failed(out)) return SendError(r, out);
    std::string subject = Field(r.req, "subject");
    Redirect(r.res, IsDigits(subject) ? "/subjects/" + subject : "/dashboard");
  });
  Page(s, false, R"(/subjects/(\d+)/screening)", [this](Request& r) { Screening(r, false); });
  Page(s, true, R"(/subjects/(\d+)/screening)", [this](Request& r) { Screening(r, true); });

  Page(s, false, R"(/subjects/(\d+)/randomize)", [this](Request& r) {
    auto subject = Subject(r);
    if (!subject) return;
    Send(r, "randomize", {{"subject", *subject}});
  });
  Page(s, true, R"(/subjects/(\d+)/randomize)", [this](Request& r) {
    auto subject = Subject(r);
    if (!subject) return;
    json data = {{"subject", *subject}};
    if (Field(r.req, "confirm") != "yes") {
      data["error"] = "confirm the consent and the eligibility first";
      return Send(r, "randomize", data, 400);
    }
    ApiResult out =
        Call(r, "randomize", {{"subject", r.req.matches[1].str()}, {"ild", Field(r.req, "ild")}});
    if (out.status == 403) return SendError(r, out);
    if (Failed(out)) {
      data["error"] = Message(out);
      return Send(r, "randomize", data, out.status);
    }
    // Only the randomization number: nothing else of the allocation reaches the page.
    data["result"] = {{"randomization_number", out.body.value("randomization_number", "")}};
    Send(r, "randomize", data);
  });

  auto dispense = [this](Request& r, bool post) {
    auto subject = Subject(r);
    if (!subject) return;
    json data = {{"subject", *subject}, {"visit", Field(r.req, "visit")}};
    int status = 200;
    if (post) {
      json fields = {
          {"subject", r.req.matches[1].str()}, {"visit", Field(r.req, "visit")}, {"date", Today()}};
      if (!Field(r.req, "kit").empty()) fields["kit"] = Field(r.req, "kit");
      ApiResult out = Call(r, "kit/dispense", fields);
      if (out.status == 403) return SendError(r, out);
      if (Failed(out)) {
        data["error"] = Message(out);
        status = out.status;
      } else {
        data["dispensed"] = {{"kit_number", out.body.value("kit_number", "")},
                             {"visit", Field(r.req, "visit")}};
      }
    }
    ApiResult kits = Call(r, "kit/list", {{"site", subject->value("site", "")}});
    if (Failed(kits)) return SendError(r, kits);
    json available = json::array();
    for (const auto& k : kits.body) {
      if (k.value("status", "") == "available") available.push_back(k);
    }
    data["kits"] = available;
    Send(r, "dispense", data, status);
  };
  Page(s, false, R"(/subjects/(\d+)/dispense)", [dispense](Request& r) { dispense(r, false); });
  Page(s, true, R"(/subjects/(\d+)/dispense)", [dispense](Request& r) { dispense(r, true); });

  Page(s, false, R"(/subjects/(\d+)/unblind)", [this](Request& r) {
    auto subject = Subject(r);
    if (!subject) return;
    if (auto a = service::Authorize(r.caller->user, "unblind"); !a) {
      return SendError(r, 403, a.error().message);
    }
    Send(r, "unblind", {{"subject", *subject}});
  });
  Page(s, true, R"(/subjects/(\d+)/unblind)", [this](Request& r) {
    auto subject = Subject(r);
    if (!subject) return;
    json data = {{"subject", *subject}};
    if (auto ok = ctx_.CheckPassword(*r.st, r.caller->user.username, Field(r.req, "password"));
        !ok) {
      data["error"] = ok.error().code == ErrorCode::kInvalidArgument ? "the password is wrong"
                                                                     : ok.error().message;
      return Send(r, "unblind", data, 401);
    }
    ApiResult out = Call(r, "unblind",
                         {{"subject", r.req.matches[1].str()}, {"reason", Field(r.req, "reason")}});
    if (out.status == 403) return SendError(r, out);
    if (Failed(out)) {
      data["error"] = Message(out);
      return Send(r, "unblind", data, out.status);
    }
    data["result"] = {{"arm", out.body.value("arm", "")}};
    Send(r, "unblind", data);
  });

  Page(s, false, "/aes", [this](Request& r) {
    ApiResult out = Call(r, "ae/list", json::object());
    if (Failed(out)) return SendError(r, out);
    Send(r, "aes",
         {{"aes", out.body.is_array() ? out.body : out.body.value("aes", json::array())}});
  });
  Page(s, false, "/aes/new", [this](Request& r) {
    if (auto a = service::Authorize(r.caller->user, "ae.add"); !a) {
      return SendError(r, 403, a.error().message);
    }
    AeForm(r, json::array(), 200);
  });
  Page(s, true, "/aes", [this](Request& r) { AePost(r); });

  Page(s, false, "/alerts", [this](Request& r) {
    ApiResult out = Call(r, "alerts", json::object());
    if (Failed(out)) return SendError(r, out);
    Send(r, "alerts", {{"alerts", out.body}});
  });
  Page(s, true, R"(/alerts/(\d+)/dismiss)", [this](Request& r) {
    ApiResult out = Call(r, "alert/dismiss",
                         {{"id", r.req.matches[1].str()}, {"reason", Field(r.req, "reason")}});
    if (Failed(out)) return SendError(r, out);
    Redirect(r.res, "/alerts");
  });

  Page(s, false, "/audit", [this](Request& r) {
    json fields = {{"limit", std::to_string(kAuditPage)}};
    std::string after = r.req.has_param("after") ? r.req.get_param_value("after") : "";
    if (IsDigits(after)) fields["after"] = after;
    ApiResult out = Call(r, "audit/show", fields);
    if (Failed(out)) return SendError(r, out);
    json data = {{"events", out.body}};
    if (out.body.is_array() && static_cast<int>(out.body.size()) == kAuditPage) {
      data["next_after"] = out.body.back().value("seq", int64_t{0});
    }
    Send(r, "audit", data);
  });

  Page(s, false, "/admin", [this](Request& r) {
    ApiResult sites = Call(r, "site/list", json::object());
    if (Failed(sites)) return SendError(r, sites);
    // `site list` prints "ID<tab>NAME" lines (no JSON form).
    json rows = json::array();
    std::istringstream lines(sites.body.value("text", ""));
    for (std::string line; std::getline(lines, line);) {
      size_t tab = line.find('\t');
      if (tab != std::string::npos)
        rows.push_back({{"id", line.substr(0, tab)}, {"name", line.substr(tab + 1)}});
    }
    json data = {{"sites", rows}};
    if (ApiResult kits = Call(r, "kit/list", json::object()); !Failed(kits))
      data["kits"] = kits.body;
    Send(r, "admin", data);
  });
  Page(s, false, "/kits", [](Request& r) { Redirect(r.res, "/admin"); });
  Page(s, true, "/admin/sites", [this](Request& r) {
    ApiResult out =
        Call(r, "site/add", {{"id", Field(r.req, "id")}, {"name", Field(r.req, "name")}});
    if (Failed(out)) return SendError(r, out);
    Redirect(r.res, "/admin");
  });
  Page(s, true, "/admin/users", [this](Request& r) {
    json fields = {{"username", Field(r.req, "id")}, {"role", Field(r.req, "role")}};
    if (!Field(r.req, "name").empty()) fields["name"] = Field(r.req, "name");
    if (!Field(r.req, "sites").empty()) fields["sites"] = Field(r.req, "sites");
    ApiResult out = Call(r, "user/add", fields);
    if (Failed(out)) return SendError(r, out);
    Redirect(r.res, "/admin");
  });
}

}  // namespace

std::shared_ptr<void> RegisterPages(httplib::Server& server, ServerContext& context,
                                    const web::Renderer& renderer,
                                    std::shared_ptr<const protocol::Protocol> protocol) {
  auto pages = std::make_shared<Pages>(context, renderer, std::move(protocol));
  pages->Register(server);
  return pages;
}

}  // namespace trial::http
