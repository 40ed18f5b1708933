// `cellfleet backup PATH`: a consistent copy of a live database with SQLite's online backup API.
#include <sqlite3.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "storage/sqlite/connection.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage {

BackupReport backup_sqlite(const SqliteOptions& options, const std::string& destination) {
  namespace fs = std::filesystem;
  if (!fs::exists(options.path)) {
    throw Unavailable("backup: there is no database at " + options.path);
  }
  if (fs::exists(destination)) {
    throw std::invalid_argument("backup: " + destination + " exists; choose a new file");
  }
  const fs::path target(destination);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  // Written beside the destination and renamed when complete and checked: PATH is either a whole,
  // verified copy or absent.
  const std::string partial = destination + ".partial";
  fs::remove(partial);
  BackupReport report;
  try {
    // A read-only connection of our own: the server's connections are in another process.
    sqlite::Connection source(options.path, sqlite::Connection::Mode::read_only,
                              options.busy_timeout_ms);
    {
      sqlite::Connection copy(partial, sqlite::Connection::Mode::read_write,
                              options.busy_timeout_ms);
      sqlite3_backup* backup = sqlite3_backup_init(copy.handle(), "main", source.handle(), "main");
      if (!backup) sqlite::throw_sqlite(copy.handle(), sqlite3_errcode(copy.handle()), "backup");
      // All pages in one step: one read transaction, so the copy is the database as of one
      // commit. In WAL mode that read blocks no writer; writers that commit meanwhile are simply
      // not in the copy (stepping in chunks would restart on every such commit).
      int rc = SQLITE_OK;
      for (int attempt = 0; attempt < 100; ++attempt) {
        rc = sqlite3_backup_step(backup, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
        sqlite3_sleep(50);
      }
      report.pages = sqlite3_backup_pagecount(backup);
      sqlite3_backup_finish(backup);
      if (rc != SQLITE_DONE) sqlite::throw_sqlite(copy.handle(), rc, "backup");
      const std::string check = copy.query_text("PRAGMA integrity_check");
      if (check != "ok") throw Unavailable("backup: the copy fails integrity_check: " + check);
      report.schema_version =
          std::stoi(copy.query_text("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
      // A single self-contained file: no -wal beside it to copy along.
      copy.exec("PRAGMA journal_mode=DELETE");
    }
    fs::rename(partial, destination);
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    fs::remove(partial + "-wal", ignored);
    fs::remove(partial + "-shm", ignored);
    throw;
  }
  report.bytes = fs::file_size(destination);
  return report;
}

}  // namespace cellfleet::storage
