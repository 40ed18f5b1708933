// The telemetry log (docs/decisions.md, "Telemetry written as a log"). put_many appends a logged
// table's rows to <table>_log in arrival order; compact_log() moves them into the table in
// (pk, sk) order; get() and query() merge the rows not yet moved, which log_tail_ lists.
//
// Why the merge is right while a pass runs: log_tail_ gains a row only after the commit that
// appended it and loses one only after the commit that moved it into the table; a reader takes
// the partition's list first, then reads the log, then the table. A row it lists is therefore in
// the log when it looks (the log keeps moved rows until the pass ends) or in the table by the time
// it reads the table; both are read in one snapshot, so the listed rows are all there or all gone
// (a pass deletes what it moved only at its end, in ranges of seqs, after its last move). The
// pass row records how far a pass got, so a crash in between loses nothing and moves nothing
// twice over a newer write.

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "storage/sqlite/query_sql.h"
#include "storage/sqlite/sqlite_store_impl.h"

namespace cellfleet::storage::sqlite {

namespace {

// The one table with a log; its log and pass tables are migrations/0003's.
constexpr const char* kLoggedTable = "telemetry";

// Rows a pass moves per transaction: each costs the table's pages once, and writers queued behind
// it (a payment) wait for one transaction, not the pass. 5,000 held the writer long enough to
// stretch the mixed load's payments to a p99 of 1.6 s (bench/run.sh, 2026-11-27 08:45).
constexpr std::size_t kPassChunkRows = 1000;
// Seqs whose rows a pass deletes from the log per transaction at its end: contiguous rows, so a
// few hundred pages each.
constexpr std::int64_t kDeleteChunkSeqs = 10000;
// Between its transactions a pass leaves the writer to others for as long as it held it, unless
// the log has grown to this many times telemetry_log_rows: then ingest outruns the pass, and
// yielding would let the log grow without bound.
constexpr std::size_t kYieldUntilFactor = 2;

bool matches(const std::optional<SortCondition>& sort, const std::string& sk) {
  if (!sort) return true;
  using Op = SortCondition::Op;
  switch (sort->op) {
    case Op::eq:
      return sk == sort->value;
    case Op::lt:
      return sk < sort->value;
    case Op::le:
      return sk <= sort->value;
    case Op::gt:
      return sk > sort->value;
    case Op::ge:
      return sk >= sort->value;
    case Op::between:
      return sk >= sort->value && sk <= sort->upper;
    case Op::begins_with:
      return sk.compare(0, sort->value.size(), sort->value) == 0;
  }
  return false;
}

}  // namespace

bool SqliteStoreImpl::logged(const TableSpec& table) {
  return table.name == kLoggedTable;
}

void SqliteStoreImpl::load_log() {
  {
    WriteTransaction transaction(*writer_);
    finish_interrupted_pass();
    transaction.commit();
  }
  std::vector<LogTail::Change> rows;
  auto statement = writer_->prepare("SELECT seq, pk FROM telemetry_log ORDER BY seq");
  while (statement.step()) {
    rows.push_back({std::string(statement.column_text(1)), statement.column_int(0), true});
  }
  log_tail_.apply(rows);
}

void SqliteStoreImpl::finish_interrupted_pass() {
  auto pass = writer_->prepare("SELECT through_seq, through_pk FROM telemetry_log_pass");
  if (!pass.step()) return;
  auto moved = writer_->prepare("DELETE FROM telemetry_log WHERE seq <= ?1 AND pk <= ?2");
  moved.bind_int(1, pass.column_int(0));
  moved.bind_text(2, pass.column_text(1));
  moved.run();
  writer_->prepare("DELETE FROM telemetry_log_pass").run();
}

void SqliteStoreImpl::append(const Row& row) {
  auto statement = writer_->prepare(
      "INSERT INTO telemetry_log (pk, sk, version, expires_at, body) VALUES (?1, ?2, ?3, ?4, ?5)");
  statement.bind_text(1, row.key.pk);
  statement.bind_text(2, row.key.sk);
  statement.bind_optional(3, row.version);
  statement.bind_optional(4, row.expires_at);
  statement.bind_blob(5, row.body);
  statement.run();
  // SQLite hands out the seq inside the write transaction, so two processes never share one.
  log_changes_.push_back({row.key.pk, sqlite3_last_insert_rowid(writer_->handle()), true});
}

std::map<std::string, SqliteStoreImpl::LogRow> SqliteStoreImpl::log_rows(
    Connection& connection, const std::string& pk, const std::vector<std::int64_t>& seqs) {
  std::map<std::string, LogRow> rows;
  for (const auto seq : seqs) {
    auto statement =
        connection.prepare("SELECT pk, sk, expires_at, body FROM telemetry_log WHERE seq = ?1");
    statement.bind_int(1, seq);
    // Gone: moved into the table and deleted by a pass since the list was taken.
    if (!statement.step() || statement.column_text(0) != pk) continue;
    LogRow row;
    if (!statement.is_null(2)) row.expires_at = statement.column_int(2);
    const auto body = statement.column_blob(3);
    row.body.assign(body.begin(), body.end());
    rows.insert_or_assign(std::string(statement.column_text(1)), std::move(row));  // newest wins
  }
  return rows;
}

Page SqliteStoreImpl::merged_query(const TableSpec& table, const Query& q,
                                   const std::optional<CursorPosition>& after,
                                   std::vector<std::int64_t> seqs) {
  // Each log row hides at most one of the table's rows (its older values), so the table's first
  // limit + seqs + 1 rows hold every one the merged page can need.
  Query wide = q;
  wide.limit = q.limit + seqs.size();
  const auto sql = build_query_sql(table, nullptr, wide, after, now());
  std::map<std::string, Item> merged;
  {
    auto reader = readers_.acquire();
    const ReadTransaction snapshot(*reader);
    const auto log = log_rows(*reader, q.partition, seqs);
    auto statement = reader->prepare(sql.sql);
    bind_query(statement, sql);
    while (statement.step()) {
      auto item = decode_body(statement.column_blob(0));
      auto sk = item.at("sk").get<std::string>();
      merged.insert_or_assign(std::move(sk), std::move(item));
    }
    const std::int64_t now_seconds = now();
    for (const auto& [sk, row] : log) {
      if (!matches(q.sort, sk)) continue;
      if (after && (q.forward ? sk <= after->key.sk : sk >= after->key.sk)) continue;
      // An expired newest value hides the older one too: the item is gone.
      if (row.expires_at && *row.expires_at <= now_seconds) {
        merged.erase(sk);
      } else {
        merged.insert_or_assign(sk, decode_body(row.body));
      }
    }
  }
  Page page;
  const auto take = [&](auto begin, auto end) {
    for (auto it = begin; it != end && page.items.size() <= q.limit; ++it) {
      page.items.push_back(std::move(it->second));
    }
  };
  if (q.forward) {
    take(merged.begin(), merged.end());
  } else {
    take(merged.rbegin(), merged.rend());
  }
  return page;
}

bool SqliteStoreImpl::move_row(const TableSpec& table, const std::string& pk, std::int64_t seq) {
  auto statement = writer_->prepare(
      "SELECT sk, version, expires_at, body FROM telemetry_log WHERE seq = ?1 AND pk = ?2");
  statement.bind_int(1, seq);
  statement.bind_text(2, pk);
  if (!statement.step()) return false;
  Row row;
  row.key = {pk, std::string(statement.column_text(0))};
  row.index_keys.resize(table.indexes.size());
  if (!statement.is_null(1)) row.version = statement.column_int(1);
  if (!statement.is_null(2)) row.expires_at = statement.column_int(2);
  const auto body = statement.column_blob(3);
  row.body.assign(body.begin(), body.end());
  upsert(table, row);
  return true;
}

void SqliteStoreImpl::flush_partition(const TableSpec& table, const std::string& pk) {
  // The committed rows, then what earlier jobs of this group appended or moved.
  auto seqs = log_tail_.seqs(pk);
  for (const auto& change : log_changes_) {
    if (change.pk != pk) continue;
    if (change.added) {
      seqs.push_back(change.seq);
    } else {
      seqs.erase(std::remove(seqs.begin(), seqs.end(), change.seq), seqs.end());
    }
  }
  for (const auto seq : seqs) {  // oldest first: the newest values are written last
    if (!move_row(table, pk, seq)) continue;
    auto erase = writer_->prepare("DELETE FROM telemetry_log WHERE seq = ?1");
    erase.bind_int(1, seq);
    erase.run();
    log_changes_.push_back({pk, seq, false});
  }
}

void SqliteStoreImpl::run_pass_step(const std::function<void()>& step) {
  const auto started = std::chrono::steady_clock::now();
  commit_in_group(step, false);
  if (log_tail_.rows() >=
      kYieldUntilFactor * std::max<std::size_t>(options_.telemetry_log_rows, 1)) {
    return;
  }
  const auto until =
      std::chrono::steady_clock::now() +
      std::min<std::chrono::steady_clock::duration>(std::chrono::steady_clock::now() - started,
                                                    std::chrono::milliseconds(200));
  while (!closing_ && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::size_t SqliteStoreImpl::compact_log() {
  std::lock_guard pass(pass_mutex_);
  const auto& table = table_or_throw(kLoggedTable);
  const std::function<void()> finish_interrupted = [this] { finish_interrupted_pass(); };
  commit_in_group(finish_interrupted, false);
  const std::int64_t through = log_tail_.begin_pass();
  if (through == 0) return 0;
  std::size_t moved = 0;
  std::optional<std::string> after;
  while (!closing_) {
    const auto parts = log_tail_.parts(after, through, kPassChunkRows);
    if (parts.empty()) break;
    const std::function<void()> job = [&] {
      for (const auto& part : parts) {
        for (const auto seq : part.seqs) {
          // A row a write() flushed meanwhile is in the table already.
          if (move_row(table, part.pk, seq)) ++moved;
          log_changes_.push_back({part.pk, seq, false});
        }
      }
      auto progress = writer_->prepare(
          "INSERT OR REPLACE INTO telemetry_log_pass (id, through_seq, through_pk) "
          "VALUES (1, ?1, ?2)");
      progress.bind_int(1, through);
      progress.bind_text(2, parts.back().pk);
      progress.run();
    };
    run_pass_step(job);
    after = parts.back().pk;
  }
  // Every row up to `through` is in the table now. Deleting them early is safe (the pass row
  // still says they were moved), so the ranges go in transactions of their own.
  std::int64_t deleted_through = 0;
  while (!closing_) {
    const std::function<void()> end = [&] {
      auto first = writer_->prepare("SELECT min(seq) FROM telemetry_log");
      const std::int64_t from = first.step() && !first.is_null(0) ? first.column_int(0) : through;
      deleted_through = std::min(through, from + kDeleteChunkSeqs);
      auto erase = writer_->prepare("DELETE FROM telemetry_log WHERE seq <= ?1");
      erase.bind_int(1, deleted_through);
      erase.run();
      if (deleted_through == through) writer_->prepare("DELETE FROM telemetry_log_pass").run();
    };
    run_pass_step(end);
    if (deleted_through == through) break;
  }
  return moved;  // when closing, the next open deletes what this pass moved
}

}  // namespace cellfleet::storage::sqlite
