#pragma once
// How an Update of store.h becomes one TransactWriteItems entry. It needs the item as stored now
// (read just before the transaction) for two rules DynamoDB's UpdateItem cannot express:
//   - an update that would grow the item past kMaxItemBytes is refused (InvalidRequest);
//   - an update of an expired item starts from nothing, as if the item were gone: it becomes a Put
//     of the key and the set attributes, guarded so it only lands while the item is still expired.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/dynamodb/expression.h"
#include "storage/schema.h"
#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

struct UpdatePlan {
  std::string kind;     // "Update" or "Put"
  nlohmann::json body;  // the entry's Key and UpdateExpression, or its Item (no TableName)
  std::string guard;    // a condition to AND with the caller's; "" for none
};

// stored: the item as DynamoDB holds it, or nullptr; alive: whether it has not expired by now.
// Throws InvalidRequest for a key attribute in set or remove, a float, or an item over the limit.
UpdatePlan plan_update(const TableSpec& table, const Update& update, const nlohmann::json* stored,
                       bool alive, std::int64_t now, ExpressionBuilder& expression);

}  // namespace cellfleet::storage::dynamodb
