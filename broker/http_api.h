// The JSON query API on the broker's HTTP side (docs/projections.md):
// GET /api/forsendelser..., /api/reskontra... mapped onto projection
// queries. The body is the projection's own JSON, byte for byte what the
// protocol's ProjectionQuery returns and `muninn ... --json` prints.
// Pure routing and URL decoding; thread-safe as the runner is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/http.h"
#include "broker/projections/projection.h"

namespace muninn::broker {

class projection_runner;

// A GET target resolved to a projection query.
struct api_query {
  std::string projection;
  std::string query;
  projections::query_params params;
};

// nullopt: not an /api/ target this broker serves (404). A malformed
// target (bad percent-encoding) resolves to an error response instead.
std::optional<api_query> resolve_api_target(std::string_view target, std::string* error);

// The route for http_server: answers /api/ targets from `runner`.
std::optional<http_response> serve_api(const std::string& target, const projection_runner& runner);

}  // namespace muninn::broker
