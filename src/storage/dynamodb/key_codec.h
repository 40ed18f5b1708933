#pragma once
// How key attributes are stored in DynamoDB, where they differ from the item's own values:
//
// - Empty keys. DynamoDB refuses an empty string in a key attribute, yet store.h allows sk "" (and
//   empty index keys). Every sort key and index key attribute is stored as kKeyPrefix + value,
//   which keeps byte order, begins_with and between as they are on the bare strings. pk is never
//   empty and is stored as is.
// - Index ties. store.h orders an index query by (index sort key, pk, sk); DynamoDB leaves items
//   with equal index keys in an arbitrary order. So an index sort key is stored as
//   kKeyPrefix + value + kTie + pk + kTie + sk: DynamoDB's byte order on that string is the
//   contract's order, as long as the value holds no byte below kTie's successor (refused), and the
//   condition on it is rewritten (stored_sort_condition).
// - Non-string index keys. DynamoDB refuses a number (say) in an index key attribute, where
//   store.h merely leaves the item out of the index. Such a value is stored under the attribute
//   name prefixed with kKeyPrefix ("#gsi1pk"), outside the index, and read back under its own name.

#include <string>
#include <string_view>

#include "storage/schema.h"
#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

inline constexpr std::string_view kKeyPrefix = "#";
inline constexpr char kTie = '\x01';

// True for the attributes stored with kKeyPrefix: "sk" and the key attributes of every index.
bool is_prefixed_key_attribute(const TableSpec& table, std::string_view name);

// The name an index key attribute is stored under when its value is not a string.
std::string non_string_key_name(std::string_view name);

// The stored form of a string key attribute of the item with key `key`. Throws InvalidRequest for
// an index sort key holding a byte below 0x02, which would break the tie order.
std::string stored_key_string(const TableSpec& table, std::string_view name, std::string_view value,
                              const Key& key);

// The stored form of a partition value to query (pk or an index partition key).
std::string stored_partition(const TableSpec& table, std::string_view name, std::string_view value);

// The item's own value of a stored string key attribute.
std::string logical_key_string(const TableSpec& table, std::string_view name,
                               std::string_view stored);

// A sort condition on attribute (sk or an index sort key) as a condition on its stored form.
SortCondition stored_sort_condition(const TableSpec& table, std::string_view attribute,
                                    const SortCondition& condition);

}  // namespace cellfleet::storage::dynamodb
