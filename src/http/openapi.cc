#include "http/openapi.h"

#include <nlohmann/json.hpp>

#include "http/endpoints.h"
#include "service/permissions.h"

namespace trial::http {

using nlohmann::json;

namespace {

json ErrorResponse(const char* what) {
  return {
      {"description", what},
      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
}

json Responses(bool post) {
  return {{post ? "201" : "200",
           {{"description", "the verb's output: its JSON, or {\"text\": ...}"},
            {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}}},
          {"400", ErrorResponse("malformed request: unknown field, wrong type, missing field")},
          {"401", ErrorResponse("not signed in, or the password re-entry failed")},
          {"403", ErrorResponse("the role or sites do not allow it, or a missing CSRF token")},
          {"404", ErrorResponse("an unknown subject, kit, query, ...")},
          {"422", ErrorResponse("refused: the request breaks a rule of the protocol or store")}};
}

}  // namespace

json OpenApiDocument() {
  json paths = json::object();
  for (const auto& e : Endpoints()) {
    json props = json::object();
    for (auto f : e.fields) props[std::string(f)] = {{"type", "string"}};
    if (!e.positional.empty()) props[std::string(e.positional)] = {{"type", "string"}};
    if (!e.file_field.empty()) {
      props[std::string(e.file_field)] = {{"type", "object"},
                                          {"description", "a JSON document (FHIR Bundle, items)"}};
    }
    for (auto f : e.flags) props[std::string(f)] = {{"type", "boolean"}};
    if (e.reauth) {
      props["password"] = {{"type", "string"},
                           {"format", "password"},
                           {"description", "the signed-in user's password, entered again"}};
    }
    json required = json::array();
    for (auto r : e.required) required.push_back(std::string(r));
    std::string roles;
    if (const auto* p = service::FindPermission(e.Action())) {
      for (auto r : p->roles)
        roles += (roles.empty() ? "" : ", ") + std::string(store::RoleName(r));
    }
    json op = {{"operationId", e.Action()},
               {"summary", std::string(e.summary)},
               {"description", "Roles: " + roles + ". The `trial " +
                                   [&] {
                                     std::string words;
                                     for (auto w : e.command)
                                       words += (words.empty() ? "" : " ") + std::string(w);
                                     return words;
                                   }() +
                                   "` verb."},
               {"x-roles", roles},
               {"responses", Responses(e.method == Method::kPost)}};
    if (e.method == Method::kGet) {
      json params = json::array();
      for (const auto& [name, schema] : props.items()) {
        bool req = std::find(e.required.begin(), e.required.end(), name) != e.required.end();
        params.push_back({{"name", name}, {"in", "query"}, {"required", req}, {"schema", schema}});
      }
      op["parameters"] = params;
    } else {
      json schema = {{"type", "object"}, {"additionalProperties", false}, {"properties", props}};
      if (!required.empty()) schema["required"] = required;
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", schema}}}}}};
      op["parameters"] =
          json::array({{{"name", "X-CSRF-Token"},
                        {"in", "header"},
                        {"required", false},
                        {"description", "required with a session cookie; not with a bearer token"},
                        {"schema", {{"type", "string"}}}}});
    }
    paths["/" + std::string(e.path)] = {{e.method == Method::kGet ? "get" : "post", op}};
  }
  json auth_body = {
      {"type", "object"},
      {"required", {"username", "password"}},
      {"additionalProperties", false},
      {"properties", {{"username", {{"type", "string"}}}, {"password", {{"type", "string"}}}}}};
  paths["/login"] = {
      {"post",
       {{"operationId", "login"},
        {"summary",
         "Sign in: sets the HttpOnly, SameSite=Strict session cookie; returns the "
         "CSRF token"},
        {"security", json::array()},
        {"requestBody",
         {{"required", true}, {"content", {{"application/json", {{"schema", auth_body}}}}}}},
        {"responses", Responses(false)}}}};
  paths["/logout"] = {
      {"post",
       {{"operationId", "logout"}, {"summary", "Sign out"}, {"responses", Responses(true)}}}};
  paths["/me"] = {{"get",
                   {{"operationId", "me"},
                    {"summary", "The signed-in user, role, sites and allowed actions"},
                    {"responses", Responses(false)}}}};
  paths["/password"] = {
      {"post",
       {{"operationId", "password"},
        {"summary",
         "Change one's password (current, new) or, as administrator, set a user's "
         "(username, new)"},
        {"requestBody",
         {{"required", true},
          {"content",
           {{"application/json",
             {{"schema",
               {{"type", "object"},
                {"additionalProperties", false},
                {"properties",
                 {{"username", {{"type", "string"}}},
                  {"current", {{"type", "string"}}},
                  {"new", {{"type", "string"}}}}}}}}}}}}},
        {"responses", Responses(true)}}}};
  paths["/tokens"] = {{"post",
                       {{"operationId", "token.add"},
                        {"summary", "A new API token for the signed-in user (shown once)"},
                        {"requestBody",
                         {{"required", true},
                          {"content",
                           {{"application/json",
                             {{"schema",
                               {{"type", "object"},
                                {"additionalProperties", false},
                                {"required", {"label"}},
                                {"properties", {{"label", {{"type", "string"}}}}}}}}}}}}},
                        {"responses", Responses(true)}}}};
  paths["/openapi.json"] = {{"get",
                             {{"operationId", "openapi"},
                              {"summary", "This document"},
                              {"security", json::array()},
                              {"responses", Responses(false)}}}};
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "trial API"},
            {"version", "1"},
            {"description",
             "PROMIS-MDA5 trial system. Every endpoint is a `trial` verb; "
             "see docs/api.md and docs/access.md."}}},
          {"servers", {{{"url", "/api/v1"}}}},
          {"security", {{{"session", json::array()}}, {{"bearer", json::array()}}}},
          {"components",
           {{"securitySchemes",
             {{"session", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "trial_session"}}},
              {"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}},
            {"schemas",
             {{"Error",
               {{"type", "object"},
                {"required", {"error"}},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"required", {"code", "message"}},
                    {"properties",
                     {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}}}}},
          {"paths", paths}};
}

}  // namespace trial::http
