#include "core/http/paging.h"

#include <charconv>

#include "core/error.h"

namespace cellfleet::http {

PageRequest page_request(const Request& req) {
  PageRequest page;
  if (auto limit = req.query("limit")) {
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (limit->empty() || ec != std::errc() || p != limit->data() + limit->size() || n < 1 ||
        n > 200) {
      throw bad_request("limit must be a whole number from 1 to 200",
                        {{"query.limit", "must be a whole number from 1 to 200"}});
    }
    page.limit = n;
  }
  if (auto cursor = req.query("cursor")) {
    if (cursor->empty() || cursor->size() > 2048) {
      throw bad_request("cursor is not one this server gave out",
                        {{"query.cursor", "must be a next_cursor from a previous page"}});
    }
    page.cursor = *cursor;
  }
  return page;
}

storage::Page query_page(storage::Store& store, storage::Query q, const PageRequest& page) {
  q.limit = page.limit;
  q.cursor = page.cursor;
  try {
    return store.query(q);
  } catch (const storage::InvalidRequest&) {
    if (page.cursor.empty()) throw;
    throw foreign_cursor();
  }
}

Error foreign_cursor() {
  return bad_request("cursor is not one this server gave out for this list",
                     {{"query.cursor", "must be a next_cursor from a previous page of this list"}});
}

Response page_response(nlohmann::json items, const std::string& next_cursor) {
  nlohmann::json body = {{"items", std::move(items)}};
  if (!next_cursor.empty()) body["next_cursor"] = next_cursor;
  return Response::json(200, body);
}

}  // namespace cellfleet::http
