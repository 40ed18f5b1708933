#pragma once
// Query cursors: DynamoDB's LastEvaluatedKey, wrapped with the query it belongs to (table, index,
// partition) so that one presented to another query is rejected instead of starting it at a
// foreign position, and encoded as unpadded URL-safe base64 so it can travel in a query string.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

std::string encode_cursor(const Query& query, const nlohmann::json& last_evaluated_key);

// The ExclusiveStartKey a cursor stands for. Throws InvalidRequest when text was not made by
// encode_cursor for this query.
nlohmann::json decode_cursor(const Query& query, std::string_view text);

}  // namespace cellfleet::storage::dynamodb
