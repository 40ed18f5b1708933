#pragma once
// A fixed set of read-only connections shared by the threads that read. In WAL mode readers never
// block the writer or each other, so reads scale with the pool size; a thread finding every
// connection busy waits for one rather than opening more file handles without bound.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/sqlite/connection.h"

namespace cellfleet::storage::sqlite {

class ReaderPool {
 public:
  ReaderPool(const std::string& path, int size, int busy_timeout_ms, int cache_mib, int mmap_mib);

  // A connection borrowed until the lease is destroyed.
  class Lease {
   public:
    Lease(ReaderPool& pool, std::unique_ptr<Connection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ~Lease() { pool_.give_back(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

   private:
    ReaderPool& pool_;
    std::unique_ptr<Connection> connection_;
  };

  Lease acquire();

 private:
  void give_back(std::unique_ptr<Connection> connection);

  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace cellfleet::storage::sqlite
