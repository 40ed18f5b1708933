#pragma once
// The SQL migrations compiled into the binary, and the runner that applies them.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::sqlite {

class Connection;

struct Migration {
  int version;  // 1, 2, ... without gaps; the file name's leading number
  std::string_view name;
  std::string_view sql;
};

// Every migration, in version order (generated from migrations/ by embed_migrations.cmake).
std::span<const Migration> embedded_migrations();

// Applies the migrations newer than the database's schema_version in one IMMEDIATE transaction,
// so a crash leaves the old schema or the new one, never half of it. Throws SchemaTooNew when the
// database is newer than this binary.
MigrationReport apply_migrations(Connection& writer, const std::string& path, std::int64_t now);

}  // namespace cellfleet::storage::sqlite
