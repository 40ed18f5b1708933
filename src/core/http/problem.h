#pragma once
#include <string_view>

#include "core/error.h"
#include "core/http/message.h"

namespace cellfleet::http {

// The RFC 9457 response for an error: application/problem+json, the status of its kind, and the
// headers it implies (Allow, Retry-After). instance is the request path.
Response problem_response(const Error& error, std::string_view instance);

}  // namespace cellfleet::http
