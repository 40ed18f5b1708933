#include "core/http/problem.h"

namespace cellfleet::http {

Response problem_response(const Error& error, std::string_view instance) {
  Response res = Response::json(http_status(error.kind()), error.to_problem(instance));
  res.content_type = "application/problem+json";
  res.headers = error.headers();
  return res;
}

}  // namespace cellfleet::http
