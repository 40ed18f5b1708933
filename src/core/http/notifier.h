#pragma once
// Wake-ups for parked long-poll requests (see Response::wait in message.h). The server subscribes
// a parked request under the key its handler named; whoever makes the awaited thing happen calls
// notify(key) after committing it, and every request parked on that key runs again at once.
//
// A key is any string the handler and the notifier agree on ("device-commands/<org>/<device>").
// notify() only reaches requests parked in this process: with several instances, a change made on
// another instance is found by the parked request's periodic re-check instead.
//
// One Notifier per process, created before the Server and the modules that notify, and destroyed
// after them. Thread-safe.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cellfleet::http {

class Notifier {
 public:
  using Ticket = std::uint64_t;  // never 0

  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Calls wake once, on the thread that calls notify(key), unless cancel(ticket) came first.
  // wake must be quick and must not call back into the Notifier (the server's posts a task to
  // the connection's strand).
  Ticket subscribe(const std::string& key, std::function<void()> wake);
  // Forgets a subscription. False when it has fired already or was cancelled before.
  bool cancel(Ticket ticket);
  // Wakes (and forgets) everything subscribed to key; returns how many. Cheap when nobody waits.
  std::size_t notify(const std::string& key);
  // Subscriptions waiting, over all keys.
  std::size_t waiting() const;

 private:
  struct Waiter {
    std::string key;
    std::function<void()> wake;
  };
  mutable std::mutex mutex_;
  Ticket next_ = 1;
  std::unordered_map<Ticket, Waiter> waiters_;
  std::unordered_multimap<std::string, Ticket> by_key_;
};

}  // namespace cellfleet::http
