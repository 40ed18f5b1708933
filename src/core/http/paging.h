#pragma once
// Cursor pagination, the same on every list route: ?limit= (1..200, default 50) and ?cursor=
// (opaque, from the previous page's next_cursor). A page answers
//   {"items": [...], "next_cursor": "..."}   (next_cursor absent on the last page)

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/http/message.h"
#include "storage/store.h"

namespace cellfleet::http {

struct PageRequest {
  std::size_t limit = 50;
  std::string cursor;
};

// Throws a 400 Error naming query.limit or query.cursor when they are malformed.
PageRequest page_request(const Request& req);

// The 400 for a cursor the store did not make for this list.
Error foreign_cursor();

// Runs q with the client's page request; a cursor the store does not recognise is the client's
// error (400 naming query.cursor), not the server's.
storage::Page query_page(storage::Store& store, storage::Query q, const PageRequest& page);

Response page_response(nlohmann::json items, const std::string& next_cursor);

}  // namespace cellfleet::http
