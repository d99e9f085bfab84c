// Internal to http/: running one API endpoint for a signed-in caller. The request's fields are
// checked (known names, types, required ones), the caller's action is authorized by the
// permission matrix, site-scoped callers are held to their sites, and the endpoint's verb runs
// in-process (cli::Run) as the caller, with its output returned as JSON.
// Errors: an ApiResult with the HTTP status and {"error": {"code", "message"}}.
// Thread-safety: Call is reentrant (each call uses its own store and temporary files).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/error.h"
#include "http/endpoints.h"
#include "store/store.h"

namespace trial::http {

struct Caller {
  enum class Via { kSession, kToken };
  store::User user;
  Via via = Via::kSession;
  std::string session_hash;  // for a session
  std::string csrf;          // for a session
};

struct ApiResult {
  int status = 200;
  nlohmann::json body;
};

// A JSON object from a request body; kParse with the position for malformed JSON, kInvalidArgument
// for a non-object.
Result<nlohmann::json> ParseObject(const std::string& body);
// The string fields of `object`, all of whose names must be in `allowed` (kInvalidArgument
// naming the unknown or non-string field).
Result<std::map<std::string, std::string>> StringFields(const nlohmann::json& object,
                                                        const std::vector<std::string>& allowed);
// The error body of `e`.
ApiResult ErrorResult(const Error& e);

class Api {
 public:
  // `env` has the pooled database and the compiled protocol; request files go to `temp_dir`.
  Api(cli::Environment env, std::string temp_dir);
  ApiResult Call(const Caller& caller, const Endpoint& endpoint, const nlohmann::json& fields,
                 store::TrialStore& store) const;

 private:
  cli::Environment env_;
  std::string temp_dir_;
};

}  // namespace trial::http
