#include "storage/schema.h"

namespace cellfleet::storage {

const std::vector<TableSpec>& logical_schema() {
  // One generic table holds every module's items: their keys tell them apart (single-table design,
  // as a DynamoDB designer would), so adding an access pattern never needs a new table.
  static const std::vector<TableSpec> tables = {
      {"entities", {{"gsi1", "gsi1pk", "gsi1sk"}, {"gsi2", "gsi2pk", "gsi2sk"}}, "expires_at"},
  };
  return tables;
}

const TableSpec* find_table(std::string_view name) {
  for (const auto& table : logical_schema()) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

const IndexSpec* find_index(const TableSpec& table, std::string_view name) {
  for (const auto& index : table.indexes) {
    if (index.name == name) return &index;
  }
  return nullptr;
}

}  // namespace cellfleet::storage
