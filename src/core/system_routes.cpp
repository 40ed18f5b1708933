#include "core/system_routes.h"

#include "core/error.h"

namespace cellfleet {

void add_system_routes(http::Router& router, const SystemRouteDeps& deps) {
  router.add("GET", "/healthz", Access::anyone(),
             [version = std::string(deps.version)](http::Request&) {
               return http::Response::json(200, {{"status", "ok"}, {"version", version}});
             });
  router.add("GET", "/readyz", Access::anyone(), [&store = deps.store,
                                                  shutting_down = deps.shutting_down](http::Request&) {
    if (shutting_down != nullptr && shutting_down->load()) {
      Error e(ErrorKind::unavailable, "the server is shutting down");
      e.with_header("Retry-After", "5");
      throw e;
    }
    try {
      store.ping();
    } catch (const storage::StoreError&) {
      Error e(ErrorKind::unavailable, "the store is not reachable");
      e.with_header("Retry-After", "5");
      throw e;
    }
    return http::Response::json(200, {{"status", "ready"}});
  });
  router.add("GET", "/metrics", Access::anyone(), [&metrics = deps.metrics](http::Request&) {
    return http::Response::text(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  router.add("GET", "/v1/openapi.json", Access::anyone(),
             [doc = deps.openapi_json](http::Request&) {
               return http::Response::text(200, std::string(doc), "application/json");
             });
}

}  // namespace cellfleet
