// write(): the atomic batch. Everything that can be checked without the database is checked
// before the transaction starts, so a malformed batch never takes the write lock.

#include <algorithm>
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
    if (auto failed = failed_condition(checked)) throw *failed;
    apply(checked);
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

void SqliteStoreImpl::upsert(const TableSpec& table, const Row& row) {
  std::string columns = "pk, sk";
  std::string values = "?1, ?2";
  int next = 3;
  auto add = [&](const std::string& column) {
    columns += ", " + column;
    values += ", ?" + std::to_string(next++);
  };
  for (const auto& index : table.indexes) {
    add(index.partition_key);
    add(index.sort_key);
  }
  add("version");
  if (!table.ttl_attribute.empty()) add(table.ttl_attribute);
  add("body");

  auto statement = writer_->prepare("INSERT OR REPLACE INTO " + table.name + " (" + columns +
                                    ") VALUES (" + values + ")");
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
  auto bind_optional = [&](const std::optional<std::int64_t>& value) {
    if (value) {
      statement.bind_int(at++, *value);
    } else {
      statement.bind_null(at++);
    }
  };
  bind_optional(row.version);
  if (!table.ttl_attribute.empty()) bind_optional(row.expires_at);
  statement.bind_blob(at, row.body);
  statement.run();
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
