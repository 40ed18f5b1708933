#include "storage/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "storage/sqlite/migrations.h"
#include "storage/sqlite/query_sql.h"
#include "storage/sqlite/sqlite_store_impl.h"

namespace cellfleet::storage {

SchemaTooNew::SchemaTooNew(const std::string& path, int database_version, int binary_version)
    : StoreError("database " + path + " has schema version " + std::to_string(database_version) +
                 ", newer than the version " + std::to_string(binary_version) +
                 " this cellfleet knows; run a cellfleet at least as new as the one that "
                 "migrated it"),
      database_version(database_version),
      binary_version(binary_version) {}

namespace sqlite {

namespace {

// put_many commits this many rows per transaction: large enough to amortise the commit's fsync,
// small enough that write() calls queued behind it wait milliseconds, not seconds.
constexpr std::size_t kPutManyChunk = 500;
// The purge deletes this many rows per transaction, for the same reason.
constexpr std::size_t kPurgeChunk = 500;
// The writer checkpoints itself once the WAL holds this many times checkpoint_pages (see
// checkpointer.h): the background thread has copied most of it by then. SqliteOptions and the
// configuration's description say "4 times".
constexpr int kCheckpointLimitFactor = 4;
// How often the telemetry log's thread looks whether a pass is due (a look is one locked read).
constexpr std::chrono::milliseconds kLogPassCheck{1000};

void check_options(const SqliteOptions& options) {
  if (options.path.empty()) throw std::invalid_argument("sqlite: the database path is empty");
  if (options.readers < 1) throw std::invalid_argument("sqlite: readers must be at least 1");
  if (options.busy_timeout_ms < 0) {
    throw std::invalid_argument("sqlite: busy_timeout_ms must not be negative");
  }
  constexpr std::array<std::string_view, 4> levels = {"off", "normal", "full", "extra"};
  if (std::find(levels.begin(), levels.end(), options.synchronous) == levels.end()) {
    throw std::invalid_argument("sqlite: synchronous must be off, normal, full or extra, not '" +
                                options.synchronous + "'");
  }
  if (!options.now_epoch_seconds) throw std::invalid_argument("sqlite: no clock given");
  if (options.cache_mib < 1 || options.mmap_mib < 0) {
    throw std::invalid_argument("sqlite: cache_mib must be at least 1 and mmap_mib at least 0");
  }
  if (options.checkpoint_pages < 1 || options.checkpoint_pages > 1'000'000) {
    throw std::invalid_argument("sqlite: checkpoint_pages must be within 1..1000000");
  }
}

// WAL lets readers work while the writer commits; the setting is stored in the file. Several
// processes may open a new file at once (every container that starts runs migrate), and the
// switch needs the file's write lock: SQLite answers a connection that holds a read lock while
// another waits for the write lock with SQLITE_BUSY at once, not through the busy handler (waiting
// would deadlock). Measured with 6 threads on a new file, 13 of 1,800 switches failed so. Such an
// answer is retried, a few milliseconds apart, for up to busy_timeout_ms.
void switch_to_wal(Connection& writer, const SqliteOptions& options) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.busy_timeout_ms);
  while (true) {
    std::string mode;
    try {
      mode = writer.query_text("PRAGMA journal_mode = WAL");
    } catch (const Busy&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    if (mode != "wal")
      throw Unavailable("sqlite: " + options.path + " cannot use WAL journal mode");
    return;
  }
}

std::unique_ptr<Connection> open_migrated_writer(const SqliteOptions& options) {
  auto writer = open_writer(options);
  apply_migrations(*writer, options.path, options.now_epoch_seconds());
  return writer;
}

}  // namespace

std::unique_ptr<Connection> open_writer(const SqliteOptions& options) {
  check_options(options);
  const auto parent = std::filesystem::path(options.path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) {
    throw Unavailable("sqlite: cannot create directory " + parent.string() + ": " +
                      error.message());
  }
  auto writer = std::make_unique<Connection>(options.path, Connection::Mode::read_write,
                                             options.busy_timeout_ms);
  switch_to_wal(*writer, options);
  // synchronous is per connection; readers never commit, so only the writer (and the store's
  // checkpointer, which writes the database file) needs it.
  writer->exec("PRAGMA synchronous = " + options.synchronous);
  writer->set_memory(options.cache_mib, options.mmap_mib);
  // SQLite's own checkpoint, for `cellfleet migrate`: a store replaces it with its Checkpointer.
  writer->exec("PRAGMA wal_autocheckpoint = " + std::to_string(options.checkpoint_pages));
  return writer;
}

void bind_query(Statement& statement, const SqlQuery& sql) {
  for (std::size_t i = 0; i < sql.binds.size(); ++i) {
    const int at = static_cast<int>(i + 1);
    if (const auto* text = std::get_if<std::string>(&sql.binds[i])) {
      statement.bind_text(at, *text);
    } else {
      statement.bind_int(at, std::get<std::int64_t>(sql.binds[i]));
    }
  }
}

const TableSpec& table_or_throw(const std::string& name) {
  const auto* table = find_table(name);
  if (table == nullptr) throw InvalidRequest("unknown table '" + name + "'");
  return *table;
}

SqliteStoreImpl::SqliteStoreImpl(const SqliteOptions& options)
    : options_(options),
      log_tail_(options.telemetry_log_rows),
      writer_(open_migrated_writer(options)),
      readers_(options.path, options.readers, options.busy_timeout_ms, options.cache_mib,
               options.mmap_mib) {
  load_log();
  auto connection = std::make_unique<Connection>(options.path, Connection::Mode::read_write,
                                                 options.busy_timeout_ms);
  // The checkpoint's fsyncs follow the connection's synchronous level, as the writer's did.
  connection->exec("PRAGMA synchronous = " + options.synchronous);
  checkpointer_ = std::make_unique<Checkpointer>(
      *writer_, std::move(connection), options.checkpoint_pages,
      options.checkpoint_pages * kCheckpointLimitFactor, options.on_checkpoint_report);
  if (options_.ttl_purge_interval.count() > 0) {
    purger_ = std::make_unique<TtlPurger>(
        [this] {
          try {
            purge_expired(now(), options_.ttl_purge_max_rows);
          } catch (const std::exception& error) {
            if (options_.on_purge_error) options_.on_purge_error(error);
          }
        },
        options_.ttl_purge_interval);
  }
  if (options_.telemetry_log_owner) start_log_passes();
}

void SqliteStoreImpl::start_log_passes() {
  compactor_ = std::make_unique<TtlPurger>(
      [this] {
        if (!log_tail_.due()) return;
        try {
          compact_log();
        } catch (const std::exception& error) {
          if (options_.on_log_error) options_.on_log_error(error);
        }
      },
      kLogPassCheck);
}

SqliteStoreImpl::~SqliteStoreImpl() {
  closing_ = true;
  compactor_.reset();
  purger_.reset();
  checkpointer_.reset();
}

std::optional<Item> SqliteStoreImpl::get(const std::string& table, const Key& key) {
  const auto& spec = table_or_throw(table);
  // A logged partition's list first, then the log, then the table (append_log.cpp).
  const auto seqs = logged(spec) ? log_tail_.seqs(key.pk) : std::vector<std::int64_t>{};
  auto reader = readers_.acquire();
  if (!seqs.empty()) {
    const ReadTransaction snapshot(*reader);
    const auto log = log_rows(*reader, key.pk, seqs);
    if (auto it = log.find(key.sk); it != log.end()) {
      if (it->second.expires_at && *it->second.expires_at <= now()) return std::nullopt;
      return decode_body(it->second.body);
    }
  }
  return read_live_item(*reader, spec, key);
}

std::optional<Item> SqliteStoreImpl::read_live_item(Connection& connection, const TableSpec& table,
                                                    const Key& key) {
  const std::string ttl = table.ttl_attribute.empty() ? "NULL" : table.ttl_attribute;
  auto statement = connection.prepare("SELECT body, " + ttl + " FROM " + table.name +
                                      " WHERE pk = ?1 AND sk = ?2");
  statement.bind_text(1, key.pk);
  statement.bind_text(2, key.sk);
  if (!statement.step()) return std::nullopt;
  if (!statement.is_null(1) && statement.column_int(1) <= now()) return std::nullopt;
  return decode_body(statement.column_blob(0));
}

Page SqliteStoreImpl::query(const Query& q) {
  const auto& table = table_or_throw(q.table);
  const IndexSpec* index = nullptr;
  if (q.index) {
    index = find_index(table, *q.index);
    if (index == nullptr) {
      throw InvalidRequest("table '" + q.table + "' has no index '" + *q.index + "'");
    }
  }
  if (q.limit < 1 || q.limit > 1000) throw InvalidRequest("limit must be within 1..1000");
  std::optional<CursorPosition> after;
  if (!q.cursor.empty()) after = decode_cursor(q, q.cursor);

  if (!index && logged(table)) {
    if (auto seqs = log_tail_.seqs(q.partition); !seqs.empty()) {
      auto page = merged_query(table, q, after, std::move(seqs));
      finish_page(q, index, page);
      return page;
    }
  }
  const auto sql = build_query_sql(table, index, q, after, now());
  Page page;
  {
    auto reader = readers_.acquire();
    auto statement = reader->prepare(sql.sql);
    bind_query(statement, sql);
    while (statement.step()) page.items.push_back(decode_body(statement.column_blob(0)));
  }
  finish_page(q, index, page);
  return page;
}

void SqliteStoreImpl::finish_page(const Query& q, const IndexSpec* index, Page& page) {
  // The query asked for one row more than the page holds: its presence says a page follows.
  if (page.items.size() > q.limit) {
    page.items.resize(q.limit);
    const Item& last = page.items.back();
    CursorPosition position{{last.at("pk").get<std::string>(), last.at("sk").get<std::string>()},
                            std::nullopt};
    if (index) position.index_sort = last.at(index->sort_key).get<std::string>();
    page.next_cursor = encode_cursor(q, position);
  }
}

void SqliteStoreImpl::put_many(const std::string& table, const std::vector<Item>& items) {
  const auto& spec = table_or_throw(table);
  std::vector<Row> rows;
  rows.reserve(items.size());
  for (const auto& item : items) rows.push_back(encode_row(spec, item));
  for (std::size_t start = 0; start < rows.size(); start += kPutManyChunk) {
    const auto end = std::min(rows.size(), start + kPutManyChunk);
    const bool to_log =
        logged(spec) && options_.telemetry_log_rows > 0 && options_.telemetry_log_owner;
    const std::function<void()> job = [&] {
      for (auto i = start; i < end; ++i) {
        if (to_log) {
          append(rows[i]);
          continue;
        }
        // A log left by an earlier run, or the server's as this process opened it, holds older
        // values that would hide this one.
        if (logged(spec)) flush_partition(spec, rows[i].key.pk);
        upsert(spec, rows[i]);
      }
    };
    commit_in_group(job, false);
  }
}

WalStatus SqliteStoreImpl::wal_status() const {
  const auto status = checkpointer_->status();
  return {status.wal_pages, status.background_passes + status.writer_passes, status.failing};
}

void SqliteStoreImpl::ping() {
  auto reader = readers_.acquire();
  auto statement = reader->prepare("SELECT 1");
  if (!statement.step() || statement.column_int(0) != 1) {
    throw Unavailable("sqlite: SELECT 1 returned no row");
  }
}

std::size_t SqliteStoreImpl::purge_expired(std::int64_t now, std::size_t max_rows) {
  std::size_t purged = 0;
  for (const auto& table : logical_schema()) {
    if (table.ttl_attribute.empty()) continue;
    while (purged < max_rows) {
      const auto want = std::min(kPurgeChunk, max_rows - purged);
      const auto got = purge_chunk(table, now, want);
      purged += got;
      if (got < want) break;
    }
  }
  return purged;
}

std::size_t SqliteStoreImpl::purge_chunk(const TableSpec& table, std::int64_t now,
                                         std::size_t rows) {
  std::lock_guard lock(writer_mutex_);
  WriteTransaction transaction(*writer_);
  {
    auto statement =
        writer_->prepare("DELETE FROM " + table.name + " WHERE (pk, sk) IN (SELECT pk, sk FROM " +
                         table.name + " WHERE " + table.ttl_attribute + " <= ?1 LIMIT ?2)");
    statement.bind_int(1, now);
    statement.bind_int(2, static_cast<std::int64_t>(rows));
    statement.run();
  }
  const auto deleted = static_cast<std::size_t>(sqlite3_changes(writer_->handle()));
  transaction.commit();
  return deleted;
}

}  // namespace sqlite

std::unique_ptr<SqliteStore> open_sqlite(const SqliteOptions& options) {
  return std::make_unique<sqlite::SqliteStoreImpl>(options);
}

MigrationReport migrate_sqlite(const SqliteOptions& options) {
  auto writer = sqlite::open_writer(options);
  return sqlite::apply_migrations(*writer, options.path, options.now_epoch_seconds());
}

int sqlite_schema_version() {
  return sqlite::embedded_migrations().back().version;
}

}  // namespace cellfleet::storage
