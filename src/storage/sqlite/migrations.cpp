#include "storage/sqlite/migrations.h"

#include <algorithm>
#include <string>

#include "storage/sqlite/connection.h"

namespace cellfleet::storage::sqlite {

MigrationReport apply_migrations(Connection& writer, const std::string& path, std::int64_t now) {
  const auto migrations = embedded_migrations();
  const int known = migrations.back().version;

  WriteTransaction transaction(writer);
  // The bookkeeping table is the runner's, not a migration's: it must exist before the runner can
  // tell which migrations a database has. One row per applied migration keeps a history.
  writer.exec(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  int current = 0;
  {
    auto statement = writer.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
    if (statement.step()) current = static_cast<int>(statement.column_int(0));
  }
  if (current > known) throw SchemaTooNew(path, current, known);

  for (const auto& migration : migrations) {
    if (migration.version <= current) continue;
    try {
      writer.exec(std::string(migration.sql));
    } catch (const Unavailable& error) {
      throw Unavailable("migration " + std::string(migration.name) + " failed: " + error.what());
    }
    auto record = writer.prepare(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (?1, ?2, ?3)");
    record.bind_int(1, migration.version);
    record.bind_text(2, migration.name);
    record.bind_int(3, now);
    record.run();
  }
  transaction.commit();
  return {current, std::max(current, known)};
}

}  // namespace cellfleet::storage::sqlite
