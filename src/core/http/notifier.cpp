#include "core/http/notifier.h"

#include <vector>

namespace cellfleet::http {

Notifier::Ticket Notifier::subscribe(const std::string& key, std::function<void()> wake) {
  std::lock_guard lock(mutex_);
  const Ticket ticket = next_++;
  waiters_.emplace(ticket, Waiter{key, std::move(wake)});
  by_key_.emplace(key, ticket);
  return ticket;
}

bool Notifier::cancel(Ticket ticket) {
  std::lock_guard lock(mutex_);
  auto it = waiters_.find(ticket);
  if (it == waiters_.end()) return false;
  auto [first, last] = by_key_.equal_range(it->second.key);
  for (auto k = first; k != last; ++k) {
    if (k->second == ticket) {
      by_key_.erase(k);
      break;
    }
  }
  waiters_.erase(it);
  return true;
}

std::size_t Notifier::notify(const std::string& key) {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = by_key_.equal_range(key);
    for (auto k = first; k != last; ++k) {
      auto it = waiters_.find(k->second);
      woken.push_back(std::move(it->second.wake));
      waiters_.erase(it);
    }
    by_key_.erase(first, last);
  }
  // Outside the lock: a wake function may take locks of its own.
  for (auto& wake : woken) wake();
  return woken.size();
}

std::size_t Notifier::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace cellfleet::http
