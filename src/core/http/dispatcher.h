#pragma once
// Turns a Request into a Response: route it, run the handler, and map every failure, once, to a
// problem+json response. Records the access log line and the request metrics. Never throws.
// A parked long-poll (Response::wait) passes through every run as any request does (routing,
// authentication, access); only the run that answers it is logged, counted and audited.

#include <mutex>
#include <string>
#include <unordered_map>

#include "core/http/message.h"
#include "core/http/router.h"
#include "core/log.h"
#include "core/metrics.h"

namespace cellfleet::http {

class Dispatcher {
 public:
  // authenticator resolves credentials for routes that require them (without one, such routes
  // answer 500: a wiring bug). auditor, when given, is told about every state-changing request
  // made with credentials.
  Dispatcher(const Router& router, Logger& log, MetricsRegistry& metrics,
             Authenticator* authenticator = nullptr, RequestAuditor* auditor = nullptr);
  Response handle(Request& req) noexcept;

 private:
  Response route_and_run(Request& req);
  void record(const Request& req, const Response& res, std::uint64_t micros);

  const Router& router_;
  Logger& log_;
  MetricsRegistry& metrics_;
  Authenticator* authenticator_;
  RequestAuditor* auditor_;
  // The request metrics' series by route, method and status, each looked up in the registry once
  // (a lookup there renders the labels and searches two maps under the registry's lock). Bounded:
  // routes are templates or "(unmatched)", methods a known few or "other".
  struct Series {
    Counter* requests;
    Histogram* duration;
  };
  std::mutex series_mutex_;
  std::unordered_map<std::string, Series> series_;
};

}  // namespace cellfleet::http
