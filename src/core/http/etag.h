#pragma once
// Optimistic concurrency over HTTP: an item's "version" is its ETag ("3"), and an update that
// sends If-Match must name the version it read.

#include <nlohmann/json.hpp>

#include "core/http/message.h"

namespace cellfleet::http {

// Throws a 412 Error unless the If-Match header (when present) is "*" or names item["version"].
void check_if_match(const Request& req, const nlohmann::json& item);
// Adds ETag: "<item["version"]>" to res.
Response with_etag(Response res, const nlohmann::json& item);

}  // namespace cellfleet::http
