#pragma once
// The one error type of cellfleet. Services throw it; the HTTP edge maps it, once, to an RFC 9457
// application/problem+json response. Its detail is written for the API client: it never carries
// exception text from a library or anything internal.

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace cellfleet {

enum class ErrorKind {
  bad_request,          // 400: malformed input (JSON syntax, types, missing fields, bad values)
  unauthorized,         // 401: missing or invalid credentials
  forbidden,            // 403: authenticated, but not allowed
  not_found,            // 404: no such route or resource (also another organization's resource)
  method_not_allowed,   // 405: the path exists, the method does not
  conflict,             // 409: the resource's state forbids the change
  precondition_failed,  // 412: If-Match did not match
  payload_too_large,    // 413
  unprocessable,        // 422: well-formed but semantically refused (e.g. idempotency key reuse)
  too_many_requests,    // 429
  header_too_large,     // 431
  internal,             // 500: a bug; the client sees a generic message
  unavailable,          // 503: overloaded, draining or a dependency down; retry later
};

int http_status(ErrorKind kind);
// The stable problem "type" slug and the human "title" for a kind.
std::string_view problem_slug(ErrorKind kind);
std::string_view problem_title(ErrorKind kind);

struct FieldError {
  std::string
      field;  // JSON pointer-ish path into the input: "name", "items/3/serial", "query.limit"
  std::string message;
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string detail, std::vector<FieldError> fields = {})
      : std::runtime_error(detail),
        kind_(kind),
        detail_(std::move(detail)),
        fields_(std::move(fields)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& detail() const { return detail_; }
  const std::vector<FieldError>& fields() const { return fields_; }
  // Extra response headers the error implies (Allow for 405, Retry-After for 429/503).
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  Error& with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  // The problem+json body: type, title, status, detail, instance (the request path) and, for
  // validation failures, "errors": [{"field": ..., "message": ...}].
  nlohmann::json to_problem(std::string_view instance) const;

 private:
  ErrorKind kind_;
  std::string detail_;
  std::vector<FieldError> fields_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

inline Error bad_request(std::string detail, std::vector<FieldError> fields = {}) {
  return Error(ErrorKind::bad_request, std::move(detail), std::move(fields));
}
inline Error not_found(std::string detail) {
  return Error(ErrorKind::not_found, std::move(detail));
}
// A 422 naming the one field it is about: well-formed input the organization's data refuses (a
// customer or contract it does not have, another currency).
inline Error unprocessable(const std::string& field, const std::string& detail) {
  return Error(ErrorKind::unprocessable, detail, {{field, detail}});
}

}  // namespace cellfleet
