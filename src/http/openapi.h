// The OpenAPI 3.0 document of /api/v1, generated from the endpoint table (endpoints.h) and the
// permission matrix, so that it describes exactly what the server serves.
// Thread-safety: reentrant.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace trial::http {

nlohmann::json OpenApiDocument();

}  // namespace trial::http
