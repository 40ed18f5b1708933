#pragma once
// Query cursors: the position after the last item of a page, opaque to callers. A cursor records
// the query it belongs to (table, index, partition), so one presented to another query is
// rejected rather than silently skipping items.

#include <optional>
#include <string>
#include <string_view>

#include "storage/store.h"

namespace cellfleet::storage::sqlite {

struct CursorPosition {
  Key key;                                // primary key of the last item returned
  std::optional<std::string> index_sort;  // its index sort key, for index queries
};

std::string encode_cursor(const Query& query, const CursorPosition& position);

// Throws InvalidRequest when text was not made by encode_cursor for this query.
CursorPosition decode_cursor(const Query& query, std::string_view text);

}  // namespace cellfleet::storage::sqlite
