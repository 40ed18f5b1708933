#include "core/http/dispatcher.h"

#include <chrono>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/http/problem.h"
#include "storage/store.h"

namespace cellfleet::http {

Dispatcher::Dispatcher(const Router& router, Logger& log, MetricsRegistry& metrics,
                       Authenticator* authenticator, RequestAuditor* auditor)
    : router_(router),
      log_(log),
      metrics_(metrics),
      authenticator_(authenticator),
      auditor_(auditor) {}

namespace {
bool changes_state(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}
}  // namespace

Response Dispatcher::route_and_run(Request& req) {
  auto match = router_.match(req.method, req.path);
  if (!match.route) {
    if (match.allowed.empty()) {
      throw not_found(fmt::format("no resource at {}", req.path));
    }
    std::string allow = fmt::format("{}", fmt::join(match.allowed, ", "));
    Error error(ErrorKind::method_not_allowed,
                fmt::format("{} is not allowed here; allowed: {}", req.method, allow));
    error.with_header("Allow", allow);
    throw error;
  }
  req.route = match.route->path;
  req.path_params = std::move(match.params);
  req.principal.reset();  // a parked request's next run authenticates afresh
  const Access& access = match.route->access;
  if (access.kind != Access::Kind::anyone) {
    if (!authenticator_) throw Error(ErrorKind::internal, "no authenticator is configured");
    req.principal = authenticator_->authenticate(req);
    if (!req.principal->org_id.empty()) LogScope::set_org_id(req.principal->org_id);
    if (!access.admits(*req.principal)) {
      throw Error(ErrorKind::forbidden,
                  access.kind == Access::Kind::platform_admin
                      ? std::string("only the platform administrator may do this")
                      : fmt::format("this requires one of the roles: {}", access.describe()));
    }
  }
  return match.route->handler(req);
}

Response Dispatcher::handle(Request& req) noexcept {
  if (!req.poll.started) req.poll.started = std::chrono::steady_clock::now();
  LogScope scope(req.request_id);
  Response res;
  try {
    try {
      res = route_and_run(req);
      if (res.park && req.poll.must_answer) {
        throw Error(ErrorKind::internal, "the handler parked a request it had to answer");
      }
      // Parked: not answered yet. The run that answers is the one logged, counted and audited.
      if (res.park) return res;
    } catch (const Error& e) {
      res = problem_response(e, req.path);
      if (e.kind() == ErrorKind::internal) log_.error("internal error", {{"detail", e.detail()}});
    } catch (const storage::Unavailable& e) {
      log_.error("store unavailable", {{"error", e.what()}, {"route", req.route}});
      Error busy(ErrorKind::unavailable, "the store is temporarily unavailable; retry shortly");
      busy.with_header("Retry-After", "2");
      res = problem_response(busy, req.path);
    } catch (const storage::ConditionFailed& e) {
      // A write lost a race with another request on the same item.
      log_.warn("write conflict", {{"error", e.what()}, {"route", req.route}});
      res =
          problem_response(Error(ErrorKind::conflict,
                                 "the resource was changed by another request; read it and retry"),
                           req.path);
    } catch (const std::exception& e) {
      // A bug, not bad input: the client gets a generic 500, the log gets the text.
      log_.error("unhandled exception", {{"error", e.what()}, {"route", req.route}});
      res = problem_response(
          Error(ErrorKind::internal, "an internal error occurred; it has been logged"), req.path);
    }
  } catch (...) {
    res = Response::text(500, "internal error\n");
  }
  // From the first run: a long-poll's duration includes its time parked.
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - *req.poll.started)
                    .count();
  if (auditor_ && req.principal && req.audited && changes_state(req.method)) {
    auditor_->record(req, res);
  }
  try {
    record(req, res, static_cast<std::uint64_t>(micros));
  } catch (...) {
    // Losing a log line or a metric must not lose the response.
  }
  return res;
}

void Dispatcher::record(const Request& req, const Response& res, std::uint64_t micros) {
  // Unmatched paths share one label value, so a scanner probing random URLs cannot grow the
  // metric series without bound.
  std::string route = req.route.empty() ? "(unmatched)" : req.route;
  std::string method = "other";
  for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}) {
    if (req.method == known) method = req.method;
  }
  const std::string status = std::to_string(res.status);
  std::string key = route + '\n' + method + '\n' + status;
  Series series{};
  {
    std::lock_guard lock(series_mutex_);
    auto it = series_.find(key);
    if (it == series_.end()) {
      Series found{&metrics_.counter("http_requests_total",
                                     "HTTP requests by route template, method and status",
                                     {{"route", route}, {"method", method}, {"status", status}}),
                   &metrics_.histogram("http_request_duration_seconds",
                                       "Time to handle a request, by route", {{"route", route}})};
      it = series_.emplace(std::move(key), found).first;
    }
    series = it->second;
  }
  series.requests->inc();
  series.duration->observe_us(micros);
  auto level = res.status >= 500 ? LogLevel::error : LogLevel::info;
  if (log_.enabled(level)) {
    nlohmann::json fields = {{"method", req.method},
                             {"path", req.path},
                             {"route", route},
                             {"status", res.status},
                             {"duration_ms", static_cast<double>(micros) / 1000.0},
                             {"remote", req.remote_address}};
    if (req.principal) fields["actor"] = req.principal->actor();
    log_.log(level, "request", fields);
  }
}

}  // namespace cellfleet::http
