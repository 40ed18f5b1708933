// write(): the atomic batch. Everything that can be checked without the database is checked
// before the transaction starts, so a malformed batch never takes the write lock.

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>
#include <variant>

#include "storage/sqlite/sqlite_store_impl.h"

namespace cellfleet::storage::sqlite {

namespace {

void check_key(const Key& key) {
  if (key.pk.empty()) throw InvalidRequest("an operation needs a non-empty pk");
}

void check_update(const Update& update) {
  if (!update.set.is_object()) throw InvalidRequest("Update::set must be a JSON object");
  for (const auto& [name, value] : update.set.items()) {
    if (name == "pk" || name == "sk")
      throw InvalidRequest("an update cannot set key attribute " + name);
    reject_floats(value, name);
    check_reserved_attribute(name, value);
  }
  for (const auto& name : update.remove) {
    if (name == "pk" || name == "sk") {
      throw InvalidRequest("an update cannot remove key attribute " + name);
    }
  }
}

// Validates one operation and says which item it touches. Puts are encoded here too, so the
// transaction only writes.
WriteTarget target_of(const WriteOp& op, std::optional<Row>& put_row) {
  return std::visit(
      [&put_row](const auto& o) -> WriteTarget {
        using T = std::decay_t<decltype(o)>;
        const auto& table = table_or_throw(o.table);
        if constexpr (std::is_same_v<T, Put>) {
          put_row = encode_row(table, o.item);
          return {&table, put_row->key, o.condition};
        } else {
          check_key(o.key);
          if constexpr (std::is_same_v<T, Update>) check_update(o);
          return {&table, o.key, o.condition};
        }
      },
      op);
}

// An update is encoded only once the stored item is read, inside the transaction, and may then
// prove too large: a batch with an update after another write may fail having written something.
bool may_fail_after_writing(const WriteBatch& batch) {
  return batch.ops.size() > 1 &&
         std::any_of(batch.ops.begin(), batch.ops.end(),
                     [](const WriteOp& op) { return std::holds_alternative<Update>(op); });
}

bool holds(const Condition& condition, bool exists, const std::optional<std::int64_t>& version) {
  switch (condition.kind) {
    case Condition::Kind::none:
      return true;
    case Condition::Kind::must_exist:
      return exists;
    case Condition::Kind::must_not_exist:
      return !exists;
    case Condition::Kind::version_is:
      return exists && version == condition.version;
  }
  return false;
}

}  // namespace

CheckedBatch SqliteStoreImpl::check_batch(const WriteBatch& batch) {
  if (batch.ops.size() > kMaxBatchOps) {
    throw InvalidRequest("a batch holds at most " + std::to_string(kMaxBatchOps) +
                         " operations, this one " + std::to_string(batch.ops.size()));
  }
  CheckedBatch checked{&batch, {}, std::vector<std::optional<Row>>(batch.ops.size())};
  checked.targets.reserve(batch.ops.size());
  std::set<std::tuple<std::string, std::string, std::string>> touched;
  for (std::size_t i = 0; i < batch.ops.size(); ++i) {
    checked.targets.push_back(target_of(batch.ops[i], checked.put_rows[i]));
    const auto& t = checked.targets.back();
    if (!touched.emplace(t.table->name, t.key.pk, t.key.sk).second) {
      throw InvalidRequest("operation " + std::to_string(i) + " touches " + t.table->name + " [" +
                           t.key.pk + " | " + t.key.sk + "] again; one operation per item");
    }
  }
  return checked;
}

std::optional<ConditionFailed> SqliteStoreImpl::failed_condition(const CheckedBatch& batch) {
  // Each item is touched once in a batch, so checking every condition before applying any sees
  // the items as they were before the batch.
  for (std::size_t i = 0; i < batch.targets.size(); ++i) {
    const auto& t = batch.targets[i];
    if (t.condition.kind == Condition::Kind::none) continue;
    const auto state = read_state(*t.table, t.key);
    if (!holds(t.condition, state.exists, state.version)) {
      return ConditionFailed(t.table->name, t.key, i);
    }
  }
  return std::nullopt;
}

void SqliteStoreImpl::apply(const CheckedBatch& batch) {
  for (std::size_t i = 0; i < batch.targets.size(); ++i) {
    const auto& t = batch.targets[i];
    const auto& op = batch.batch->ops[i];
    if (batch.put_rows[i]) {
      upsert(*t.table, *batch.put_rows[i]);
    } else if (const auto* update = std::get_if<Update>(&op)) {
      apply_update(*t.table, *update);
    } else if (std::holds_alternative<Delete>(op)) {
      erase(*t.table, t.key);
    }
  }
}

void SqliteStoreImpl::commit_in_group(const std::function<void()>& apply, bool savepoint) {
  Job job{&apply, savepoint, nullptr, false};
  std::unique_lock lock(queue_mutex_);
  queue_.push_back(&job);
  while (!job.done) {
    if (leading_) {
      group_done_.wait(lock);
      continue;
    }
    // No commit is under way: this writer leads the next one, for everything queued so far.
    leading_ = true;
    std::vector<Job*> group;
    group.swap(queue_);
    lock.unlock();
    run_group(group);
    lock.lock();
    for (Job* j : group) j->done = true;
    leading_ = false;
    group_done_.notify_all();
  }
  if (job.error) std::rethrow_exception(job.error);
}

void SqliteStoreImpl::run_group(const std::vector<Job*>& group) {
  std::lock_guard lock(writer_mutex_);
  log_changes_.clear();
  try {
    WriteTransaction transaction(*writer_);
    for (Job* job : group) {
      if (!job->savepoint) {
        try {
          (*job->apply)();
        } catch (const ConditionFailed&) {
          // Thrown before it wrote anything but a flush of the log (flush_partition), which
          // changes no item as reads show it and may stay.
          job->error = std::current_exception();
        }
        continue;
      }
      writer_->prepare("SAVEPOINT job").run();
      const auto changes_before = log_changes_.size();
      try {
        (*job->apply)();
        writer_->prepare("RELEASE job").run();
      } catch (...) {
        job->error = std::current_exception();
        writer_->prepare("ROLLBACK TO job").run();
        writer_->prepare("RELEASE job").run();
        log_changes_.resize(changes_before);
      }
    }
    transaction.commit();
    // Durable now: readers may find the appended rows through the tail (append_log.cpp).
    log_tail_.apply(log_changes_);
  } catch (...) {
    // The transaction could not begin, a job failed after writing, a part could not be undone or
    // the commit failed: nothing of the group is written.
    // A job that had failed on its own keeps its own reason, which is still true.
    const auto error = std::current_exception();
    for (Job* job : group) {
      if (!job->error) job->error = error;
    }
  }
}

void SqliteStoreImpl::write(const WriteBatch& batch) {
  const auto checked = check_batch(batch);
  if (batch.ops.empty()) return;
  const std::function<void()> job = [&] {
    flush_logged(checked);
    std::optional<ConditionFailed> failed;
    if (!put_if(checked, failed)) {
      failed = failed_condition(checked);
      if (!failed) apply(checked);
    }
    if (failed) throw *failed;
  };
  commit_in_group(job, may_fail_after_writing(batch));
}

std::vector<std::optional<ConditionFailed>> SqliteStoreImpl::write_each(
    const std::vector<WriteBatch>& batches) {
  // Everything is validated before the write lock is taken, so a malformed batch writes nothing.
  std::vector<CheckedBatch> checked;
  checked.reserve(batches.size());
  for (const auto& batch : batches) checked.push_back(check_batch(batch));
  std::vector<std::optional<ConditionFailed>> outcomes(batches.size());
  if (batches.empty()) return outcomes;
  const std::function<void()> job = [&] {
    for (std::size_t b = 0; b < checked.size(); ++b) {
      flush_logged(checked[b]);
      if (put_if(checked[b], outcomes[b])) continue;
      outcomes[b] = failed_condition(checked[b]);
      if (!outcomes[b]) apply(checked[b]);
    }
  };
  commit_in_group(job, std::any_of(batches.begin(), batches.end(), may_fail_after_writing));
  return outcomes;
}

void SqliteStoreImpl::flush_logged(const CheckedBatch& batch) {
  for (const auto& target : batch.targets) {
    if (logged(*target.table)) flush_partition(*target.table, target.key.pk);
  }
}

SqliteStoreImpl::ItemState SqliteStoreImpl::read_state(const TableSpec& table, const Key& key) {
  const std::string ttl = table.ttl_attribute.empty() ? "NULL" : table.ttl_attribute;
  auto statement = writer_->prepare("SELECT version, " + ttl + " FROM " + table.name +
                                    " WHERE pk = ?1 AND sk = ?2");
  statement.bind_text(1, key.pk);
  statement.bind_text(2, key.sk);
  if (!statement.step()) return {};
  // An expired item not yet purged is gone for conditions too, as it is for get(): a caller that
  // saw nothing must be able to create the item with must_not_exist.
  if (!statement.is_null(1) && statement.column_int(1) <= now()) return {};
  ItemState state{true, std::nullopt};
  if (!statement.is_null(0)) state.version = statement.column_int(0);
  return state;
}

namespace {

// The statements that write a whole row of a table, built once: its columns are pk, sk, each
// index's two keys, version, the TTL column and body, bound ?1.. in that order by bind_row.
struct RowSql {
  int columns = 0;
  std::string replace;  // INSERT OR REPLACE
  // The row, only where the stored one is live and has version ?columns+1 (?columns+2 is now).
  std::string update_if_version;
  // The row, only where none is stored or the stored one has expired (?columns+1 is now).
  std::string insert_if_absent;
};

RowSql build_row_sql(const TableSpec& table) {
  std::vector<std::string> names = {"pk", "sk"};
  for (const auto& index : table.indexes) {
    names.push_back(index.partition_key);
    names.push_back(index.sort_key);
  }
  names.push_back("version");
  if (!table.ttl_attribute.empty()) names.push_back(table.ttl_attribute);
  names.push_back("body");

  RowSql sql;
  sql.columns = static_cast<int>(names.size());
  std::string columns;
  std::string values;
  std::string set;       // of the UPDATE: every column but the key
  std::string excluded;  // of the upsert: the same, from the row offered
  // Appends only: GCC 12 warns (-Wrestrict, wrongly) about "literal" + std::to_string(n).
  const auto param = [](std::string& to, std::size_t n) {
    to += '?';
    to += std::to_string(n);
  };
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      columns += ", ";
      values += ", ";
    }
    columns += names[i];
    param(values, i + 1);
    if (i < 2) continue;
    if (!set.empty()) {
      set += ", ";
      excluded += ", ";
    }
    set += names[i];
    set += " = ";
    param(set, i + 1);
    excluded += names[i];
    excluded += " = excluded.";
    excluded += names[i];
  }
  const auto& t = table.name;
  const auto& ttl = table.ttl_attribute;
  const auto column_count = static_cast<std::size_t>(sql.columns);
  sql.replace = "INSERT OR REPLACE INTO " + t + " (" + columns + ") VALUES (" + values + ")";
  sql.update_if_version =
      "UPDATE " + t + " SET " + set + " WHERE pk = ?1 AND sk = ?2 AND version = ";
  param(sql.update_if_version, column_count + 1);
  if (!ttl.empty()) {
    sql.update_if_version += " AND (" + ttl + " IS NULL OR " + ttl + " > ";
    param(sql.update_if_version, column_count + 2);
    sql.update_if_version += ")";
  }
  sql.insert_if_absent =
      "INSERT INTO " + t + " (" + columns + ") VALUES (" + values + ") ON CONFLICT (pk, sk) DO ";
  if (ttl.empty()) {
    sql.insert_if_absent += "NOTHING";
  } else {
    sql.insert_if_absent += "UPDATE SET " + excluded + " WHERE " + t + "." + ttl +
                            " IS NOT NULL AND " + t + "." + ttl + " <= ";
    param(sql.insert_if_absent, column_count + 1);
  }
  return sql;
}

const RowSql& row_sql(const TableSpec& table) {
  static const auto all = [] {
    std::map<std::string, RowSql> by_name;
    for (const auto& spec : logical_schema()) by_name.emplace(spec.name, build_row_sql(spec));
    return by_name;
  }();
  return all.at(table.name);
}

// Binds the row's columns as ?1..?RowSql::columns.
void bind_row(Statement& statement, const TableSpec& table, const Row& row) {
  int at = 1;
  statement.bind_text(at++, row.key.pk);
  statement.bind_text(at++, row.key.sk);
  for (const auto& keys : row.index_keys) {
    if (keys) {
      statement.bind_text(at++, keys->partition);
      statement.bind_text(at++, keys->sort);
    } else {
      statement.bind_null(at++);
      statement.bind_null(at++);
    }
  }
  statement.bind_optional(at++, row.version);
  if (!table.ttl_attribute.empty()) statement.bind_optional(at++, row.expires_at);
  statement.bind_blob(at, row.body);
}

}  // namespace

void SqliteStoreImpl::upsert(const TableSpec& table, const Row& row) {
  auto statement = writer_->prepare(row_sql(table).replace);
  bind_row(statement, table, row);
  statement.run();
}

bool SqliteStoreImpl::put_if(const CheckedBatch& batch, std::optional<ConditionFailed>& failed) {
  // One conditional Put: its condition and its write are one statement, where reading the state
  // and then replacing the row were two descents of the b-tree (and a replace deletes and
  // re-inserts every index entry, where an UPDATE touches only the indexes whose keys change).
  if (batch.targets.size() != 1 || !batch.put_rows[0]) return false;
  const auto& target = batch.targets[0];
  const auto kind = target.condition.kind;
  // A logged table's partition is in the table by now (flush_logged ran first).
  if (kind != Condition::Kind::version_is && kind != Condition::Kind::must_not_exist) return false;
  const auto& sql = row_sql(*target.table);
  auto statement = writer_->prepare(kind == Condition::Kind::version_is ? sql.update_if_version
                                                                        : sql.insert_if_absent);
  bind_row(statement, *target.table, *batch.put_rows[0]);
  int at = sql.columns + 1;
  if (kind == Condition::Kind::version_is) statement.bind_int(at++, target.condition.version);
  if (!target.table->ttl_attribute.empty()) statement.bind_int(at, now());
  statement.run();
  if (sqlite3_changes(writer_->handle()) != 1)
    failed = ConditionFailed(target.table->name, target.key, 0);
  return true;
}

void SqliteStoreImpl::erase(const TableSpec& table, const Key& key) {
  auto statement = writer_->prepare("DELETE FROM " + table.name + " WHERE pk = ?1 AND sk = ?2");
  statement.bind_text(1, key.pk);
  statement.bind_text(2, key.sk);
  statement.run();
}

void SqliteStoreImpl::apply_update(const TableSpec& table, const Update& update) {
  // Like DynamoDB's UpdateItem, an update of a missing (or expired) item creates it.
  Item item = read_live_item(*writer_, table, update.key)
                  .value_or(Item{{"pk", update.key.pk}, {"sk", update.key.sk}});
  for (const auto& [name, value] : update.set.items()) item[name] = value;
  for (const auto& name : update.remove) item.erase(name);
  // Re-encoding refreshes the index, version and TTL columns from the new attributes.
  upsert(table, encode_row(table, item));
}

}  // namespace cellfleet::storage::sqlite
