#pragma once
// The repository interface every module stores through. Two backends implement it (sqlite/,
// dynamodb/); this header names neither. Access patterns are DynamoDB's: a partition key, a sort
// key, a few sparse secondary indexes, no scans.
//
// Items are JSON objects (nlohmann::json) whose attribute types map to DynamoDB's:
//   string -> S, integer -> N (exact int64/uint64), bool -> BOOL, null -> NULL,
//   binary (json::binary_t) -> B, array -> L, object -> M.
// Floating-point numbers are rejected with InvalidRequest: money and counters are integers, and a
// double does not survive a round trip through both backends exactly.
//
// Reserved attributes, present on every item a Store returns:
//   "pk", "sk"           the primary key (strings; sk may be "" for single-item partitions)
//   "version"            optional integer the caller maintains for optimistic concurrency
//   "expires_at"         optional integer, epoch seconds: the item's time to live
//   "gsi1pk","gsi1sk"    keys of index "gsi1" (sparse: an item is in the index only when it has
//   "gsi2pk","gsi2sk"    both attributes of that index, as strings); likewise "gsi2"
// Sort keys compare as byte strings (UTF-8 bytes, unsigned), as DynamoDB compares strings.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace cellfleet::storage {

using Item = nlohmann::json;

struct Key {
  std::string pk;
  std::string sk;
  friend bool operator==(const Key&, const Key&) = default;
};

// A condition a write puts on the item as it is before the batch.
struct Condition {
  enum class Kind { none, must_exist, must_not_exist, version_is };
  Kind kind = Kind::none;
  std::int64_t version = 0;  // for version_is: the stored item's "version" must equal this

  static Condition none() { return {}; }
  static Condition must_exist() { return {Kind::must_exist, 0}; }
  static Condition must_not_exist() { return {Kind::must_not_exist, 0}; }
  static Condition version_is(std::int64_t v) { return {Kind::version_is, v}; }
};

// Replaces the whole item (or creates it). item must hold "pk" and "sk".
struct Put {
  std::string table;
  Item item;
  Condition condition;
};

// Sets the given top-level attributes and removes the listed ones on an existing or new item.
// Key attributes cannot be set or removed.
struct Update {
  std::string table;
  Key key;
  Item set = Item::object();
  std::vector<std::string> remove;
  Condition condition;
};

struct Delete {
  std::string table;
  Key key;
  Condition condition;
};

// Writes nothing; fails the batch when its condition does not hold.
struct Check {
  std::string table;
  Key key;
  Condition condition;
};

using WriteOp = std::variant<Put, Update, Delete, Check>;

struct WriteBatch {
  std::vector<WriteOp> ops;
};

// What an operation names: its table, the key of the item it touches (for a Put whose item lacks
// a string pk or sk, "" in its place: write() refuses that item) and its condition.
const std::string& op_table(const WriteOp& op);
Key op_key(const WriteOp& op);
const Condition& op_condition(const WriteOp& op);

// How many operations one write() may carry: DynamoDB TransactWriteItems' limit, enforced by both
// backends so code that works on SQLite works on DynamoDB.
inline constexpr std::size_t kMaxBatchOps = 100;
// How large one item may be, in bytes of its JSON text: DynamoDB's 400 KB item limit, rounded
// down to leave room for the attribute-type overhead of its wire format.
inline constexpr std::size_t kMaxItemBytes = 350 * 1024;

struct SortCondition {
  enum class Op { eq, begins_with, between, lt, le, gt, ge };
  Op op = Op::eq;
  std::string value;
  std::string upper;  // only for between: value <= sk <= upper
};

struct Query {
  std::string table;
  std::optional<std::string> index;  // "gsi1" / "gsi2"; unset queries the primary key
  std::string partition;             // value of pk (or of the index's partition attribute)
  std::optional<SortCondition> sort;
  std::size_t limit = 100;  // 1..1000
  std::string cursor;       // "" for the first page; else a Page::next_cursor
  bool forward = true;      // ascending sort key when true
};

struct Page {
  std::vector<Item> items;
  std::string next_cursor;  // "" when there is no further page
};

// ---- errors ---------------------------------------------------------------------------------

// Base of everything a Store throws.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write's condition did not hold. Nothing of the batch was written.
class ConditionFailed : public StoreError {
 public:
  ConditionFailed(std::string table, Key key, std::size_t op_index)
      : StoreError("condition failed on " + table + " [" + key.pk + " | " + key.sk + "]"),
        table(std::move(table)),
        key(std::move(key)),
        op_index(op_index) {}
  std::string table;
  Key key;
  std::size_t op_index;  // position of the failing operation in the batch
};

// The request is malformed: unknown table or index, missing key attribute, a float, an item or a
// batch over the limits, two operations on one item in a batch, a cursor not made by this store.
// Nothing was written.
class InvalidRequest : public StoreError {
 public:
  using StoreError::StoreError;
};

// The backend cannot be reached or keeps failing after its retries. Whether a write landed is
// unknown only for put_many; write() is atomic either way.
class Unavailable : public StoreError {
 public:
  using StoreError::StoreError;
};

// ---- the interface --------------------------------------------------------------------------

class Store {
 public:
  virtual ~Store() = default;

  // Returns the item with this key, or nullopt when there is none or it has expired.
  // Strongly consistent: a get after a successful write sees it.
  // Throws InvalidRequest for an unknown table, Unavailable when the backend is unreachable.
  virtual std::optional<Item> get(const std::string& table, const Key& key) = 0;

  // Returns up to q.limit items of one partition in sort-key order (descending when !forward),
  // skipping expired items, and a cursor for the next page ("" when the last page was reached).
  // Paging with the returned cursors visits every matching item exactly once when nothing is
  // written meanwhile. Index queries are eventually consistent on DynamoDB.
  // Throws InvalidRequest for an unknown table or index, a limit outside 1..1000 or a foreign
  // cursor.
  virtual Page query(const Query& q) = 0;

  // Applies every operation of the batch, or none. Each condition is checked against the state
  // before the batch. At most kMaxBatchOps operations, at most one per item.
  // Throws ConditionFailed naming the first failing operation, InvalidRequest for a malformed or
  // oversized batch (never split silently), Unavailable when the backend cannot be reached.
  virtual void write(const WriteBatch& batch) = 0;

  // Applies many independent batches, each one atomically and checked as write() would, and
  // returns one entry per batch: nullopt when it was applied, the ConditionFailed it met when its
  // conditions did not hold (nothing of that batch written; the other batches are unaffected).
  // For writers that change many unrelated items at a high rate (the packs' latest telemetry
  // state): the SQLite backend applies every batch in one transaction, so the whole call costs one
  // commit instead of one per batch. The default applies them one by one with write(). There is no
  // atomicity across batches: on an exception (InvalidRequest for a malformed batch, Unavailable)
  // some batches may have been applied and others not.
  virtual std::vector<std::optional<ConditionFailed>> write_each(
      const std::vector<WriteBatch>& batches);

  // Stores many items (unconditional puts, replacing existing ones) without atomicity: on an
  // exception some items may have been stored. For bulk data such as telemetry; any number of
  // items, chunked by the backend. Throws InvalidRequest before writing anything when an item is
  // malformed.
  virtual void put_many(const std::string& table, const std::vector<Item>& items) = 0;

  // Round trip to the backend, for readiness checks. Throws Unavailable when it is not reachable.
  virtual void ping() = 0;
};

}  // namespace cellfleet::storage
