#include "storage/schema.h"

namespace cellfleet::storage {

const std::vector<TableSpec>& logical_schema() {
  // One generic table holds every module's items: their keys tell them apart (single-table design,
  // as a DynamoDB designer would), so adding an access pattern never needs a new table. Only
  // bulk time series get a table of their own.
  static const std::vector<TableSpec> tables = {
      {"entities", {{"gsi1", "gsi1pk", "gsi1sk"}, {"gsi2", "gsi2pk", "gsi2sk"}}, "expires_at"},
      // Device readings: appended at a rate no operational item sees, read only by device and
      // time range, expired by TTL. A table of their own keeps them out of the entities' indexes
      // and lets DynamoDB scale (and bill) them apart.
      {"telemetry", {}, "expires_at"},
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
