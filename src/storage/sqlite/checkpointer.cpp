#include "storage/sqlite/checkpointer.h"

#include <sqlite3.h>

#include <utility>

#include "storage/store.h"

namespace cellfleet::storage::sqlite {

Checkpointer::Checkpointer(Connection& writer, std::unique_ptr<Connection> connection,
                           int start_pages, int limit_pages,
                           std::function<void(const std::string&)> report)
    : writer_(writer),
      connection_(std::move(connection)),
      start_pages_(start_pages),
      limit_pages_(limit_pages),
      report_(std::move(report)) {
  // A connection that has read nothing has not opened the WAL yet, and a checkpoint on it copies
  // nothing and still answers OK: one read opens it.
  connection_->query_text("SELECT count(*) FROM sqlite_schema");
  if (connection_->query_text("PRAGMA journal_mode") != "wal") {
    throw Unavailable("sqlite: the checkpointer's connection is not in WAL mode");
  }
  thread_ = std::thread([this] { run(); });
  // Replaces the automatic checkpoint, which is itself a WAL hook.
  sqlite3_wal_hook(writer_.handle(), &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_.handle(), nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Checkpointer::Status Checkpointer::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

// On the writer's thread, after a commit is durable. What it returns would become the commit's
// result, so it is always SQLITE_OK: a checkpoint that fails leaves the frames in the WAL, where
// readers find them, and the next pass tries again.
int Checkpointer::on_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto& checkpointer = *static_cast<Checkpointer*>(self);
  if (wal_pages >= checkpointer.limit_pages_) {
    // Waits for the thread's pass, if one is under way (it copies what this one would).
    std::lock_guard pass(checkpointer.pass_mutex_);
    int wal_frames = 0;
    int copied = 0;
    const int rc =
        sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &wal_frames, &copied);
    std::lock_guard lock(checkpointer.mutex_);
    checkpointer.status_.wal_pages = wal_pages;
    checkpointer.record(db, rc, wal_frames, copied, checkpointer.status_.writer_passes);
  } else {
    std::unique_lock lock(checkpointer.mutex_);
    checkpointer.status_.wal_pages = wal_pages;
    if (wal_pages < checkpointer.requested_at_) checkpointer.requested_at_ = 0;  // it started over
    // A pass per start_pages new pages, not one per commit once the WAL is past them: a pass
    // ends in an fsync of the database file, which small commits would otherwise pay each time.
    if (wal_pages - checkpointer.requested_at_ < checkpointer.start_pages_) return SQLITE_OK;
    checkpointer.requested_at_ = wal_pages;
    checkpointer.wanted_ = true;
    lock.unlock();
    checkpointer.wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    int rc = SQLITE_OK;
    int wal_frames = 0;
    int copied = 0;
    {
      std::lock_guard pass(pass_mutex_);
      rc = sqlite3_wal_checkpoint_v2(connection_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     &wal_frames, &copied);
    }
    lock.lock();
    record(connection_->handle(), rc, wal_frames, copied, status_.background_passes);
  }
}

void Checkpointer::record(sqlite3* db, int rc, int wal_frames, int copied_frames,
                          std::uint64_t& passes) {
  if ((rc & 0xff) == SQLITE_BUSY) return;  // another checkpoint is running: it does the work
  if (rc != SQLITE_OK) {
    if (!status_.failing && report_) {
      report_(std::string("WAL checkpoint failed: ") + sqlite3_errmsg(db));
    }
    status_.failing = true;
    return;
  }
  if (status_.failing && report_) report_("WAL checkpoints succeed again");
  status_.failing = false;
  // -1 frames: the connection had no WAL open, and nothing was copied.
  if (wal_frames >= 0 && copied_frames > 0) ++passes;
}

}  // namespace cellfleet::storage::sqlite
