#pragma once
// A thin RAII layer over one sqlite3 connection with a per-connection cache of prepared
// statements. A connection is used by one thread at a time (the store's mutex or reader pool
// guarantees it), so it is opened without SQLite's own mutex.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "storage/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cellfleet::storage::sqlite {

// SQLITE_BUSY: another connection holds the lock this one needs (past the busy timeout, or at
// once where waiting would deadlock).
class Busy : public Unavailable {
 public:
  using Unavailable::Unavailable;
};

// Throws Unavailable (Busy for SQLITE_BUSY) with SQLite's message: every SQLite failure the store
// meets (busy past the timeout, I/O, a full disk, a corrupt file) means the backend cannot serve
// the request.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what);

// A cached prepared statement, borrowed for one use: reset and unbound when the borrow ends, so the
// next user finds it clean and the read transaction it held is released.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as in SQLite.
  void bind_text(int index, std::string_view value);
  void bind_int(int index, std::int64_t value);
  void bind_blob(int index, std::span<const std::uint8_t> value);
  void bind_null(int index);
  // The value, or NULL when there is none.
  void bind_optional(int index, const std::optional<std::int64_t>& value);

  // Advances to the next row; false when there is none.
  bool step();
  // Runs a statement that returns no rows.
  void run();

  bool is_null(int column) const;
  std::int64_t column_int(int column) const;
  std::string_view column_text(int column) const;
  std::span<const std::uint8_t> column_blob(int column) const;

 private:
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  enum class Mode { read_write, read_only };
  // Opens (for read_write, creating) the database. Throws Unavailable.
  Connection(const std::string& path, Mode mode, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The statement for sql, prepared on first use and kept for the connection's life.
  Statement prepare(const std::string& sql);
  // Runs one or more statements that return no rows, without caching (pragmas, migrations).
  void exec(const std::string& sql);
  // The first column of the first row of sql, as text ("" when there is no row).
  std::string query_text(const std::string& sql);

  // PRAGMA cache_size and mmap_size, in MiB.
  void set_memory(int cache_mib, int mmap_mib);

  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// BEGIN IMMEDIATE on construction (taking the write lock at once, so the batch never fails
// half-way on a lock upgrade), ROLLBACK on destruction unless commit() was called.
class WriteTransaction {
 public:
  explicit WriteTransaction(Connection& connection);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  Connection& connection_;
  bool open_ = true;
};

// BEGIN (deferred) on construction, COMMIT on destruction: the statements run meanwhile on a
// reader read one snapshot of the database, however many commits land in between.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& connection);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& connection_;
};

}  // namespace cellfleet::storage::sqlite
