// The SQLite schema that migrations build is the logical schema of schema.h, no more, no less.

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "sqlite/temp_dir.h"
#include "storage/schema.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

using sqlite::Connection;

std::set<std::string> names(Connection& db, const std::string& sql, const std::string& arg = "") {
  auto statement = db.prepare(sql);
  if (!arg.empty()) statement.bind_text(1, arg);
  std::set<std::string> result;
  while (statement.step()) result.emplace(statement.column_text(0));
  return result;
}

std::vector<std::string> index_columns(Connection& db, const std::string& index) {
  auto statement = db.prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno");
  statement.bind_text(1, index);
  std::vector<std::string> columns;
  while (statement.step()) columns.emplace_back(statement.column_text(0));
  return columns;
}

}  // namespace

TEST_CASE("the migrated database has exactly the tables and indexes schema.h declares",
          "[sqlite]") {
  TempDir dir;
  SqliteOptions options;
  options.path = dir.file("schema.db");
  migrate_sqlite(options);
  Connection db(options.path, Connection::Mode::read_only, 1000);

  // The telemetry table's log and the state of its pass (append_log.cpp) are the SQLite
  // backend's own, beside the logical tables.
  std::set<std::string> expected_tables = {"schema_version", "telemetry_log", "telemetry_log_pass"};
  for (const auto& table : logical_schema()) expected_tables.insert(table.name);
  CHECK(names(db,
              "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'") ==
        expected_tables);

  for (const auto& table : logical_schema()) {
    INFO("table " << table.name);
    std::set<std::string> expected_indexes;
    std::set<std::string> expected_columns = {"pk", "sk", "version", "body"};
    for (const auto& index : table.indexes) {
      const auto name = table.name + "_" + index.name;
      expected_indexes.insert(name);
      expected_columns.insert({index.partition_key, index.sort_key});
      // Sort key, then (pk, sk) to break ties: the order queries page in.
      CHECK(index_columns(db, name) ==
            std::vector<std::string>{index.partition_key, index.sort_key, "pk", "sk"});
    }
    if (!table.ttl_attribute.empty()) {
      expected_indexes.insert(table.name + "_ttl");
      expected_columns.insert(table.ttl_attribute);
    }
    // sql IS NULL would mark an index SQLite made itself (for a UNIQUE or rowid primary key).
    CHECK(names(db, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1",
                table.name) == expected_indexes);
    CHECK(names(db, "SELECT name FROM pragma_table_info(?1)", table.name) == expected_columns);
    // Every secondary index is partial, so items without its keys cost nothing in it.
    CHECK(names(db,
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 "
                "AND sql NOT LIKE '%WHERE%'",
                table.name)
              .empty());
  }
}

}  // namespace cellfleet::storage::testing
