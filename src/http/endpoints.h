// The JSON API's endpoints, written once as data (endpoints.cc): each is a `trial` verb, so the
// API, its OpenAPI document (openapi.cc) and the command line cannot drift apart. A request's
// JSON fields become the verb's options; the server adds --user (the signed-in user), --db,
// --protocol and --format json, never taken from the request.
// Thread-safety: the table is immutable.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace trial::http {

enum class Method { kGet, kPost };

struct Endpoint {
  std::string_view path;                   // under /api/v1/, e.g. "kit/dispense"
  Method method;                           // GET reads (fields from the query), POST changes
  std::vector<std::string_view> command;   // the verb's words: {"kit", "dispense"}
  std::string_view positional;             // the field given as the verb's positional, or ""
  std::vector<std::string_view> fields;    // the verb's options, by the option's name
  std::vector<std::string_view> required;  // fields that must be present
  std::vector<std::string_view> flags;     // boolean fields: the verb's value-less options
  bool json = true;          // the verb prints JSON with --format json (else {"text": ...})
  bool acts_as_user = true;  // the verb takes --user (it checks the user's role and sites)
  bool reauth = false;       // the request must carry the user's password again ("password")
  // A field whose JSON value is written to a private temporary file and given to the verb as
  // a path (a FHIR bundle, an import file), or "".
  std::string_view file_field;
  std::string_view summary;

  std::string Action() const;  // the permission matrix's name: "kit.dispense"
};

// Every endpoint, in the order the OpenAPI document lists them.
std::span<const Endpoint> Endpoints();
const Endpoint* FindEndpoint(std::string_view path);

}  // namespace trial::http
