#pragma once
// Turns a Query into one SELECT over the table or one of its partial indexes. Pages are found by
// keyset ("after the last key returned"), not OFFSET, so each page costs the same however deep.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/schema.h"
#include "storage/sqlite/cursor.h"
#include "storage/store.h"

namespace cellfleet::storage::sqlite {

struct SqlQuery {
  std::string sql;  // selects body; at most query.limit + 1 rows, to tell whether a page follows
  std::vector<std::variant<std::string, std::int64_t>> binds;  // for ?1, ?2, ... in order
};

// index is nullptr for a primary-key query. Table, index and column names come from schema.h,
// never from the caller, so they are safe to splice into SQL.
SqlQuery build_query_sql(const TableSpec& table, const IndexSpec* index, const Query& query,
                         const std::optional<CursorPosition>& after, std::int64_t now);

// The smallest string greater than every string starting with prefix, in byte order; nullopt when
// there is none (prefix empty or all 0xFF bytes).
std::optional<std::string> prefix_upper_bound(std::string prefix);

}  // namespace cellfleet::storage::sqlite
