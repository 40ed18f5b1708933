#pragma once
// The concrete SQLite store, private to this folder. Writes go through one connection under a
// mutex (SQLite allows one writer at a time anyway; queueing in-process is cheaper than spinning on
// SQLITE_BUSY); reads take a connection from the pool and run concurrently with the writer.

#include <memory>
#include <mutex>
#include <optional>

#include "storage/schema.h"
#include "storage/sqlite/connection.h"
#include "storage/sqlite/item_codec.h"
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
  void apply(const CheckedBatch& batch);
  std::optional<Item> read_live_item(Connection& connection, const TableSpec& table,
                                     const Key& key);
  void upsert(const TableSpec& table, const Row& row);
  void erase(const TableSpec& table, const Key& key);
  void apply_update(const TableSpec& table, const Update& update);
  std::size_t purge_chunk(const TableSpec& table, std::int64_t now, std::size_t rows);

  SqliteOptions options_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;
  ReaderPool readers_;
  std::unique_ptr<TtlPurger> purger_;  // last: stops before the connections it uses close
};

// The table called name; throws InvalidRequest when schema.h has none.
const TableSpec& table_or_throw(const std::string& name);

}  // namespace cellfleet::storage::sqlite
