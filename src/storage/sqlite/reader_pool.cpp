#include "storage/sqlite/reader_pool.h"

namespace cellfleet::storage::sqlite {

ReaderPool::ReaderPool(const std::string& path, int size, int busy_timeout_ms, int cache_mib,
                       int mmap_mib) {
  for (int i = 0; i < size; ++i) {
    idle_.push_back(
        std::make_unique<Connection>(path, Connection::Mode::read_only, busy_timeout_ms));
    idle_.back()->set_memory(cache_mib, mmap_mib);
  }
}

ReaderPool::Lease ReaderPool::acquire() {
  std::unique_lock lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty(); });
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(connection));
}

void ReaderPool::give_back(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace cellfleet::storage::sqlite
