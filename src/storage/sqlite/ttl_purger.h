#pragma once
// A background thread that runs one purge every interval until it is destroyed. Destruction wakes
// it at once and waits for a purge in progress to finish, so a store can be closed right after.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace cellfleet::storage::sqlite {

class TtlPurger {
 public:
  // purge_once must not throw.
  TtlPurger(std::function<void()> purge_once, std::chrono::milliseconds interval);
  ~TtlPurger();
  TtlPurger(const TtlPurger&) = delete;
  TtlPurger& operator=(const TtlPurger&) = delete;

 private:
  void run();

  std::function<void()> purge_once_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace cellfleet::storage::sqlite
