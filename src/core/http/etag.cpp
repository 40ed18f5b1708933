#include "core/http/etag.h"

#include <fmt/format.h>

#include "core/error.h"

namespace cellfleet::http {

void check_if_match(const Request& req, const nlohmann::json& item) {
  auto header = req.header("If-Match");
  if (!header) return;
  std::string expected = fmt::format("\"{}\"", item.at("version").get<std::int64_t>());
  if (*header != expected && *header != "*") {
    throw Error(
        ErrorKind::precondition_failed,
        fmt::format("If-Match {} does not match the current version {}", *header, expected));
  }
}

Response with_etag(Response res, const nlohmann::json& item) {
  res.headers.emplace_back("ETag", fmt::format("\"{}\"", item.at("version").get<std::int64_t>()));
  return res;
}

}  // namespace cellfleet::http
