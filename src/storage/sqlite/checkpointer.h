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
// stays near limit_pages frames (4,120 bytes each) however fast the writes come, unless a reader
// (or `cellfleet backup`) holds an old snapshot: no checkpoint may copy past it.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "storage/sqlite/connection.h"

namespace cellfleet::storage::sqlite {

class Checkpointer {
 public:
  // Installs itself as the writer's WAL hook: from then on a commit that leaves start_pages more
  // in the WAL than when a pass was last asked for wakes the thread, one that leaves limit_pages
  // checkpoints on the writer. `connection` is the thread's own (read-write, the store's
  // synchronous level). report, when set, is told when passes start failing (SQLite's message)
  // and when one succeeds again, on the thread that ran the pass; a pass that finds another
  // checkpoint under way (SQLITE_BUSY: `cellfleet migrate` beside the server) is not a failure.
  // Throws Unavailable when the database is not in WAL mode.
  Checkpointer(Connection& writer, std::unique_ptr<Connection> connection, int start_pages,
               int limit_pages, std::function<void(const std::string&)> report = {});
  // Removes the hook and waits for a checkpoint under way. The writer must be idle.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  struct Status {
    std::uint64_t background_passes = 0;  // passes so far that copied frames, by the thread
    std::uint64_t writer_passes = 0;      // and by the writer at the limit
    int wal_pages = 0;                    // pages in the WAL after the last commit
    bool failing = false;                 // the last pass failed
  };
  Status status() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void run();
  // Counts a pass that copied frames and tells `report_` when passes start or stop failing.
  // Needs mutex_ held.
  void record(sqlite3* db, int rc, int wal_frames, int copied_frames, std::uint64_t& passes);

  Connection& writer_;
  std::unique_ptr<Connection> connection_;
  int start_pages_;
  int limit_pages_;
  std::function<void(const std::string&)> report_;
  std::mutex pass_mutex_;  // held by whoever checkpoints: one pass at a time
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  int requested_at_ = 0;  // the WAL's pages when a pass was last asked for
  bool wanted_ = false;
  bool stopping_ = false;
  Status status_;
  std::thread thread_;  // started last in the constructor, once its connection is checked
};

}  // namespace cellfleet::storage::sqlite
