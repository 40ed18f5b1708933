#pragma once
// The logical schema: every table the Store offers, with its sparse secondary indexes and its
// time-to-live attribute. Both backends build their physical schema from this one list (SQLite
// through migrations/, checked against it by a test; DynamoDB by `cellfleet migrate`), so a table
// or index exists on both or on neither.

#include <string>
#include <string_view>
#include <vector>

namespace cellfleet::storage {

struct IndexSpec {
  std::string name;           // "gsi1": the value of Query::index
  std::string partition_key;  // item attribute holding the index partition key, e.g. "gsi1pk"
  std::string sort_key;       // item attribute holding the index sort key, e.g. "gsi1sk"
};

struct TableSpec {
  std::string name;
  std::vector<IndexSpec> indexes;
  std::string ttl_attribute;  // epoch seconds after which the item is gone; "" for no TTL
};

// Every table, in a fixed order.
const std::vector<TableSpec>& logical_schema();

// The table called name, or nullptr when the schema has none.
const TableSpec* find_table(std::string_view name);

// The index of table called name, or nullptr when the table has none.
const IndexSpec* find_index(const TableSpec& table, std::string_view name);

}  // namespace cellfleet::storage
