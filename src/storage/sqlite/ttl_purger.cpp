#include "storage/sqlite/ttl_purger.h"

namespace cellfleet::storage::sqlite {

TtlPurger::TtlPurger(std::function<void()> purge_once, std::chrono::milliseconds interval)
    : purge_once_(std::move(purge_once)), interval_(interval), thread_([this] { run(); }) {}

TtlPurger::~TtlPurger() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TtlPurger::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    purge_once_();
    lock.lock();
  }
}

}  // namespace cellfleet::storage::sqlite
