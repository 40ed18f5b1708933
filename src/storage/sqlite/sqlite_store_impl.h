#pragma once
// The concrete SQLite store, private to this folder. Writes go through one connection (SQLite
// allows one writer at a time anyway; queueing in-process is cheaper than spinning on SQLITE_BUSY)
// with group commit: writers that arrive while a commit is under way queue their work, and the next
// commit carries all of it, each writer's part in a savepoint of its own. Reads take a connection
// from the pool and run concurrently with the writer.

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "storage/schema.h"
#include "storage/sqlite/checkpointer.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/cursor.h"
#include "storage/sqlite/item_codec.h"
#include "storage/sqlite/log_tail.h"
#include "storage/sqlite/query_sql.h"
#include "storage/sqlite/reader_pool.h"
#include "storage/sqlite/sqlite_store.h"
#include "storage/sqlite/ttl_purger.h"

namespace cellfleet::storage::sqlite {

// Opens the writer connection with WAL and the configured durability, creating the file and its
// directory when missing. Throws std::invalid_argument for bad options, Unavailable.
std::unique_ptr<Connection> open_writer(const SqliteOptions& options);

// One operation of a write batch, validated: the item it touches and its condition.
struct WriteTarget {
  const TableSpec* table;
  Key key;
  Condition condition;
};

// A write batch validated and encoded before the write lock is taken, so the transaction only
// checks conditions and writes.
struct CheckedBatch {
  const WriteBatch* batch;
  std::vector<WriteTarget> targets;          // one per operation
  std::vector<std::optional<Row>> put_rows;  // the encoded row of each Put
};

class SqliteStoreImpl final : public SqliteStore {
 public:
  explicit SqliteStoreImpl(const SqliteOptions& options);
  ~SqliteStoreImpl() override;

  std::optional<Item> get(const std::string& table, const Key& key) override;
  Page query(const Query& q) override;
  void write(const WriteBatch& batch) override;
  std::vector<std::optional<ConditionFailed>> write_each(
      const std::vector<WriteBatch>& batches) override;
  void put_many(const std::string& table, const std::vector<Item>& items) override;
  void ping() override;
  std::size_t purge_expired(std::int64_t now, std::size_t max_rows) override;
  WalStatus wal_status() const override;
  std::size_t compact_log() override;
  std::size_t telemetry_log_rows() const override { return log_tail_.rows(); }

 private:
  // What a condition is checked against: the live (unexpired) item's existence and version.
  struct ItemState {
    bool exists = false;
    std::optional<std::int64_t> version;
  };

  std::int64_t now() const { return options_.now_epoch_seconds(); }
  // Validates and encodes a batch; throws InvalidRequest. Needs no lock.
  static CheckedBatch check_batch(const WriteBatch& batch);
  // The following need the writer mutex held.
  ItemState read_state(const TableSpec& table, const Key& key);
  // The first operation of the batch whose condition does not hold, if any.
  std::optional<ConditionFailed> failed_condition(const CheckedBatch& batch);
  // Trims a page read with one row beyond q.limit and sets its cursor.
  static void finish_page(const Query& q, const IndexSpec* index, Page& page);
  void apply(const CheckedBatch& batch);
  // A batch of one conditional Put (version_is, must_not_exist), after flush_logged: checks and
  // writes in one statement, setting failed when the condition does not hold. False, having
  // done nothing, for any other batch.
  bool put_if(const CheckedBatch& batch, std::optional<ConditionFailed>& failed);
  std::optional<Item> read_live_item(Connection& connection, const TableSpec& table,
                                     const Key& key);
  void upsert(const TableSpec& table, const Row& row);
  void erase(const TableSpec& table, const Key& key);
  void apply_update(const TableSpec& table, const Update& update);
  std::size_t purge_chunk(const TableSpec& table, std::int64_t now, std::size_t rows);

  // The telemetry log (append_log.cpp, docs/decisions.md "Telemetry written as a log").
  struct LogRow {
    std::optional<std::int64_t> expires_at;
    std::vector<std::uint8_t> body;
  };
  static bool logged(const TableSpec& table);
  // At open, on the writer before anything else runs: ends a pass a crash interrupted and loads
  // the tail from the log.
  void load_log();
  // The partition's log rows among seqs, the newest per sort key, read on connection inside the
  // caller's ReadTransaction (with the table's rows it merges them with).
  std::map<std::string, LogRow> log_rows(Connection& connection, const std::string& pk,
                                         const std::vector<std::int64_t>& seqs);
  // query() of a logged table's partition that has rows in the log: both merged.
  Page merged_query(const TableSpec& table, const Query& q,
                    const std::optional<CursorPosition>& after, std::vector<std::int64_t> seqs);
  // The following need the writer mutex held, inside a group commit.
  void append(const Row& row);
  // Moves the partition's log rows into the table and deletes them from the log, so a write()
  // to the table finds (and conditions see) the item as reads show it.
  void flush_partition(const TableSpec& table, const std::string& pk);
  // Copies the log row seq of partition pk into the table; false when the log has no such row.
  bool move_row(const TableSpec& table, const std::string& pk, std::int64_t seq);
  // flush_partition for each partition of a logged table the batch touches.
  void flush_logged(const CheckedBatch& batch);
  // One transaction of a pass, then as long a pause while the log is not far behind.
  void run_pass_step(const std::function<void()>& step);
  // The thread that runs compact_log() whenever the tail is due.
  void start_log_passes();
  // Deletes the log rows an interrupted pass had already moved.
  void finish_interrupted_pass();

  // One writer's part of a group commit: apply runs on the writer connection inside the group's
  // transaction, and what it throws is that writer's outcome. An apply that may throw after it
  // has written something (an update that grows an item past the limit) runs in a savepoint,
  // which undoes its own part only; others skip the savepoint, whose sub-journal would copy every
  // page they touch (a scattered telemetry batch touches a page per row), and must throw nothing
  // but ConditionFailed before their first write: anything else they throw fails the group.
  struct Job {
    const std::function<void()>* apply;
    bool savepoint;
    std::exception_ptr error;
    bool done = false;
  };
  // Runs apply in the next group commit and returns once that commit is durable; rethrows what
  // apply threw (nothing of it is written then), or the error that failed the whole group.
  void commit_in_group(const std::function<void()>& apply, bool savepoint);
  // The leader's work: one transaction for the whole group. Sets each job's error; never throws.
  void run_group(const std::vector<Job*>& group);

  SqliteOptions options_;
  std::mutex writer_mutex_;  // the writer connection: held by the group commit and the purge
  std::mutex queue_mutex_;   // guards queue_, leading_ and each queued Job's done
  std::condition_variable group_done_;
  std::vector<Job*> queue_;  // jobs waiting for the next group commit
  bool leading_ = false;     // a writer thread is running a group commit
  // Guarded by writer_mutex_: the tail changes of the group being written, applied to log_tail_
  // once its commit is durable.
  std::vector<LogTail::Change> log_changes_;
  LogTail log_tail_;
  std::mutex pass_mutex_;              // one log pass at a time
  std::atomic<bool> closing_ = false;  // ends a log pass between its transactions
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
  std::unique_ptr<Checkpointer> checkpointer_;  // after writer_: stops before it closes
  std::unique_ptr<TtlPurger> purger_;  // last: stops before the connections it uses close
  std::unique_ptr<TtlPurger> compactor_;  // runs compact_log() when the tail is due
};

// Binds a built query's parameters (query_sql.h) to its prepared statement.
void bind_query(Statement& statement, const SqlQuery& sql);

// The table called name; throws InvalidRequest when schema.h has none.
const TableSpec& table_or_throw(const std::string& name);

}  // namespace cellfleet::storage::sqlite
