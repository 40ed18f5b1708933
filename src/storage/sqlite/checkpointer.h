#pragma once
// Copies the write-ahead log into the database file on a thread of its own. With SQLite's
// automatic checkpoint, the commit that fills the WAL past its mark copies every page in it and
// fsyncs the database file before its writer (and every writer queued behind it) may go on. Here
// the writer's commit only wakes this thread, which checkpoints on a connection of its own (the
// WAL hook installed here replaces the writer's automatic checkpoint).
//
// A checkpoint running beside the writer can copy what was committed, but the WAL can only start
// over from its beginning when a write begins with every frame copied, which a busy writer never
// allows a thread beside it. So the writer still checkpoints itself once the WAL holds
// `limit_pages`: by then the thread has copied nearly all of it, the writer copies the rest (the
// commits since the thread's last pass) and the next write restarts the WAL. The WAL file therefore
// stays near limit_pages × 4 KiB however fast the writes come.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "storage/sqlite/connection.h"

namespace cellfleet::storage::sqlite {

class Checkpointer {
 public:
  // Installs itself as the writer's WAL hook: from then on a commit that leaves start_pages more
  // in the WAL than when a pass was last asked for wakes the thread, one that leaves limit_pages
  // checkpoints on the writer. `connection` is the thread's own (read-write, the store's
  // synchronous level).
  Checkpointer(Connection& writer, std::unique_ptr<Connection> connection, int start_pages,
               int limit_pages);
  // Removes the hook and waits for a checkpoint under way. The writer must be idle.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Checkpoints so far, by the thread and by the writer at the limit (for tests and metrics).
  std::uint64_t background_passes() const;
  std::uint64_t writer_passes() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();

  Connection& writer_;
  std::unique_ptr<Connection> connection_;
  int start_pages_;
  int limit_pages_;
  std::mutex pass_mutex_;  // held by whoever checkpoints: one pass at a time
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  int requested_at_ = 0;  // the WAL's pages when a pass was last asked for
  bool wanted_ = false;
  bool stopping_ = false;
  std::uint64_t background_passes_ = 0;
  std::uint64_t writer_passes_ = 0;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace cellfleet::storage::sqlite
