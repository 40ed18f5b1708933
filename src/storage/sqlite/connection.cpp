#include "storage/sqlite/connection.h"

#include <sqlite3.h>

#include <string>

#include "storage/store.h"

namespace cellfleet::storage::sqlite {

void throw_sqlite(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if ((rc & 0xff) == SQLITE_BUSY) throw Busy(message);
  throw Unavailable(message);
}

Statement::~Statement() {
  // Errors were reported by step(); reset only rewinds here.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

namespace {
void check_bind(sqlite3_stmt* stmt, int rc) {
  if (rc != SQLITE_OK) throw_sqlite(sqlite3_db_handle(stmt), rc, "bind");
}
}  // namespace

void Statement::bind_text(int index, std::string_view value) {
  // SQLITE_TRANSIENT copies: the caller's buffer may not outlive the step.
  check_bind(stmt_, sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                        SQLITE_UTF8));
}

void Statement::bind_int(int index, std::int64_t value) {
  check_bind(stmt_, sqlite3_bind_int64(stmt_, index, value));
}

void Statement::bind_blob(int index, std::span<const std::uint8_t> value) {
  check_bind(stmt_,
             sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT));
}

void Statement::bind_null(int index) {
  check_bind(stmt_, sqlite3_bind_null(stmt_, index));
}

void Statement::bind_optional(int index, const std::optional<std::int64_t>& value) {
  if (value) {
    bind_int(index, *value);
  } else {
    bind_null(index);
  }
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(sqlite3_db_handle(stmt_), rc, "step");
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string_view Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return text == nullptr ? std::string_view() : std::string_view(text, size);
}

std::span<const std::uint8_t> Statement::column_blob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
  const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column));
  return data == nullptr ? std::span<const std::uint8_t>() : std::span(data, size);
}

Connection::Connection(const std::string& path, Mode mode, int busy_timeout_ms) {
  const int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE |
                    (mode == Mode::read_write ? SQLITE_OPEN_CREATE : 0);
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Unavailable("sqlite: cannot open " + path + ": " + message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, busy_timeout_ms);
  // Readers open the file read-write (WAL readers need the shared-memory index) but may not
  // write: a bug that tried to would fail loudly instead of bypassing the serialised writer.
  if (mode == Mode::read_only) exec("PRAGMA query_only = ON");
}

void Connection::set_memory(int cache_mib, int mmap_mib) {
  // A negative cache_size is in KiB.
  exec("PRAGMA cache_size = -" + std::to_string(std::int64_t{cache_mib} * 1024));
  exec("PRAGMA mmap_size = " + std::to_string(std::int64_t{mmap_mib} * 1024 * 1024));
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Statement Connection::prepare(const std::string& sql) {
  if (auto found = cache_.find(sql); found != cache_.end()) return Statement(found->second);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, "prepare");
  cache_.emplace(sql, stmt);
  return Statement(stmt);
}

void Connection::exec(const std::string& sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw Unavailable("sqlite: " + message);
  }
}

std::string Connection::query_text(const std::string& sql) {
  auto statement = prepare(sql);
  return statement.step() ? std::string(statement.column_text(0)) : std::string();
}

WriteTransaction::WriteTransaction(Connection& connection) : connection_(connection) {
  connection_.prepare("BEGIN IMMEDIATE").run();
}

WriteTransaction::~WriteTransaction() {
  if (!open_) return;
  // A failed ROLLBACK (the transaction already rolled back by SQLite after an I/O error) leaves
  // nothing to undo; a destructor must not throw.
  try {
    connection_.prepare("ROLLBACK").run();
  } catch (const StoreError&) {
  }
}

void WriteTransaction::commit() {
  connection_.prepare("COMMIT").run();
  open_ = false;
}

ReadTransaction::ReadTransaction(Connection& connection) : connection_(connection) {
  connection_.prepare("BEGIN").run();
}

ReadTransaction::~ReadTransaction() {
  // Ending a read-only transaction cannot lose anything; a destructor must not throw.
  try {
    connection_.prepare("COMMIT").run();
  } catch (const StoreError&) {
  }
}

}  // namespace cellfleet::storage::sqlite
