#pragma once
// Routes every deployment needs, whatever the modules: liveness, readiness, metrics and the API
// description. None of them requires credentials (the ALB and Prometheus call them).

#include <atomic>
#include <string_view>

#include "core/http/router.h"
#include "core/metrics.h"
#include "storage/store.h"

namespace cellfleet {

struct SystemRouteDeps {
  storage::Store& store;
  MetricsRegistry& metrics;
  std::string_view openapi_json;  // the document served at /v1/openapi.json
  std::string_view version;
  // Set when the server starts shutting down (SIGTERM): /readyz answers 503 from then on.
  const std::atomic<bool>* shutting_down = nullptr;
};

//   GET /healthz          200 while the process serves requests
//   GET /readyz           200 when the store answers, 503 problem+json when it does not or
//                         the server is shutting down
//   GET /metrics          Prometheus text exposition format 0.0.4
//   GET /v1/openapi.json  the OpenAPI 3.1 document
void add_system_routes(http::Router& router, const SystemRouteDeps& deps);

}  // namespace cellfleet
