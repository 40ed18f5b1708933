#include "core/error.h"

namespace cellfleet {

namespace {
struct KindInfo {
  int status;
  std::string_view slug;
  std::string_view title;
};

KindInfo info(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::bad_request:
      return {400, "bad-request", "The request is invalid"};
    case ErrorKind::unauthorized:
      return {401, "unauthorized", "Authentication is required"};
    case ErrorKind::forbidden:
      return {403, "forbidden", "This credential may not do that"};
    case ErrorKind::not_found:
      return {404, "not-found", "Not found"};
    case ErrorKind::method_not_allowed:
      return {405, "method-not-allowed", "Method not allowed on this resource"};
    case ErrorKind::conflict:
      return {409, "conflict", "The resource's state does not allow this"};
    case ErrorKind::precondition_failed:
      return {412, "precondition-failed", "The resource has changed since it was read"};
    case ErrorKind::payload_too_large:
      return {413, "payload-too-large", "The request body is too large"};
    case ErrorKind::unprocessable:
      return {422, "unprocessable", "The request cannot be processed"};
    case ErrorKind::too_many_requests:
      return {429, "too-many-requests", "Too many requests"};
    case ErrorKind::header_too_large:
      return {431, "header-too-large", "The request header fields are too large"};
    case ErrorKind::internal:
      return {500, "internal", "Internal server error"};
    case ErrorKind::unavailable:
      return {503, "unavailable", "The service is temporarily unavailable"};
  }
  return {500, "internal", "Internal server error"};
}
}  // namespace

int http_status(ErrorKind kind) {
  return info(kind).status;
}
std::string_view problem_slug(ErrorKind kind) {
  return info(kind).slug;
}
std::string_view problem_title(ErrorKind kind) {
  return info(kind).title;
}

nlohmann::json Error::to_problem(std::string_view instance) const {
  // "type" is a URI reference (RFC 9457 §3.1.1) into the problem catalogue in docs/errors.md.
  nlohmann::json body = {
      {"type", "/problems/" + std::string(problem_slug(kind_))},
      {"title", std::string(problem_title(kind_))},
      {"status", http_status(kind_)},
      {"detail", detail_},
  };
  if (!instance.empty()) body["instance"] = std::string(instance);
  if (!fields_.empty()) {
    auto& errors = body["errors"] = nlohmann::json::array();
    for (const auto& f : fields_) errors.push_back({{"field", f.field}, {"message", f.message}});
  }
  return body;
}

}  // namespace cellfleet
