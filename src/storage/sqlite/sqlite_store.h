#pragma once
// The SQLite backend of Store: one database file in WAL mode, one serialised writer connection and
// a pool of reader connections. The schema comes from the migrations compiled into the binary,
// applied when the store opens and by `cellfleet migrate`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "storage/store.h"

namespace cellfleet::storage {

struct SqliteOptions {
  std::string path;  // the database file; its parent directory is created when missing
  int readers = 4;   // reader connections; queries beyond this many wait for a free one
  // How long a statement waits for a lock held by another process (e.g. `cellfleet migrate` run
  // beside a server) before it fails with Unavailable.
  int busy_timeout_ms = 5000;
  // PRAGMA synchronous: "full" (durable across power loss; see docs/decisions.md), "normal"
  // (durable across process crashes only), "off" or "extra".
  std::string synchronous = "full";
  // Page cache of each connection (the writer and every reader), in MiB: PRAGMA cache_size. It
  // grows only as pages are read, so an idle server does not hold it.
  int cache_mib = 32;
  // Memory-mapped reads of the database file, in MiB (PRAGMA mmap_size; 0 = off): pages are read
  // from the OS page cache in place instead of copied by pread. Off by default: measured, the
  // page cache did the work, and a growing file is remapped by every connection.
  int mmap_mib = 0;
  // Each time commits have added this many pages to the WAL, a thread of the store copies them into
  // the database file (a checkpoint) beside the writer; once the WAL holds 4 times as many, the
  // writer copies what the thread has not yet and the WAL starts over (checkpointer.h). A page
  // written by many commits between two checkpoints is copied once, so a larger figure saves work
  // when writes scatter over many pages (telemetry), at the price of a larger WAL file (4 KiB a
  // page, up to 4 times this).
  int checkpoint_pages = 1000;
  // put_many on the telemetry table appends to a log in arrival order, and a background pass
  // moves the log into the table once it holds this many rows (or one pack's readings in it reach
  // 1,000): a pass writes each pack's page once for all its readings since the last one. Reads
  // merge the rows not yet moved. 0 writes put_many straight into the table (a log left by an
  // earlier run is still read and moved). See docs/decisions.md, "Telemetry written as a log".
  std::size_t telemetry_log_rows = 500'000;
  // Whether this store is the one process that appends to the telemetry log and runs its passes
  // (the server). Another process opening the same file (a CLI command beside a running server)
  // passes false: it writes telemetry straight into the table, never runs a pass, and reads the
  // log rows that were there when it opened, and its own.
  bool telemetry_log_owner = true;
  // Told about each failed pass of the telemetry log; the rows stay in the log, where reads find
  // them, and the next pass (a second later) tries again.
  std::function<void(const std::exception&)> on_log_error;
  // Background TTL purge: every interval, delete up to ttl_purge_max_rows expired rows.
  // Zero turns it off (the rows stay hidden from reads until purge_expired() is called).
  std::chrono::milliseconds ttl_purge_interval{0};
  std::size_t ttl_purge_max_rows = 10000;
  // Told about each failed background purge (e.g. to log it); the purge retries next interval.
  std::function<void(const std::exception&)> on_purge_error;
  // Told when WAL checkpoints start failing (SQLite's message: a full disk, an I/O error) and when
  // one succeeds again. Meanwhile commits stay in the WAL, where readers find them, and the WAL
  // file grows.
  std::function<void(const std::string&)> on_checkpoint_report;
  // "Now" for TTL: items whose expires_at <= now are gone. Tests move it.
  std::function<std::int64_t()> now_epoch_seconds = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
};

struct MigrationReport {
  int from_version = 0;  // schema version found (0 for a new database)
  int to_version = 0;    // schema version after migrating (== from_version when nothing applied)
};

// The database was migrated by a newer cellfleet than this one; opening it could corrupt data
// the older binary does not understand.
class SchemaTooNew : public StoreError {
 public:
  SchemaTooNew(const std::string& path, int database_version, int binary_version);
  int database_version;
  int binary_version;
};

// What the store's WAL checkpoints (docs/decisions.md) have done, for /metrics.
struct WalStatus {
  std::int64_t wal_pages = 0;     // pages in the WAL after the last commit
  std::uint64_t checkpoints = 0;  // passes that copied pages, by the thread and by the writer
  bool failing = false;           // the last pass failed: the WAL grows until one succeeds
};

class SqliteStore : public Store {
 public:
  virtual WalStatus wal_status() const = 0;
  // Deletes up to max_rows rows whose expires_at <= now, in short transactions so writers are not
  // held up. Returns how many it deleted. Reads hide expired rows whether purged or not.
  virtual std::size_t purge_expired(std::int64_t now, std::size_t max_rows) = 0;
  // Moves every telemetry log row committed so far into the telemetry table, in transactions of
  // a few thousand rows, and returns how many it moved. The background pass calls it; tests and
  // benchmarks may too. Throws Unavailable; what it moved before stays moved.
  virtual std::size_t compact_log() = 0;
  // Telemetry readings in the log, not yet moved into the table.
  virtual std::size_t telemetry_log_rows() const = 0;
};

// Opens (creating when missing) the database at options.path, applies pending migrations and
// starts the background purge when options ask for it; the purge stops when the store is
// destroyed. Throws SchemaTooNew, Unavailable when the file cannot be opened, and
// std::invalid_argument for options out of range.
std::unique_ptr<SqliteStore> open_sqlite(const SqliteOptions& options);

// Applies pending migrations in one transaction and reports the versions before and after.
// Throws like open_sqlite.
MigrationReport migrate_sqlite(const SqliteOptions& options);

struct BackupReport {
  int pages = 0;             // database pages copied
  std::uintmax_t bytes = 0;  // size of the copy
  int schema_version = 0;    // schema version of the copy
};

// Copies the database at options.path to destination (a new file) with SQLite's online backup
// API: consistent as of one commit, while a server keeps reading and writing it. The copy is
// checked with PRAGMA integrity_check and is a single file (rollback journal, no -wal), written
// beside destination and renamed into place when complete. Throws std::invalid_argument when
// destination exists, Unavailable when the database cannot be read or the copy fails.
BackupReport backup_sqlite(const SqliteOptions& options, const std::string& destination);

// The newest schema version this binary carries.
int sqlite_schema_version();

}  // namespace cellfleet::storage
