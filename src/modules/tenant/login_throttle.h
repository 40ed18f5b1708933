#pragma once
// Slows password guessing: after too many failed logins in a window, for one account or from one
// client address, further attempts are refused (429 with Retry-After) until the window ends.
// Kept in memory per server instance: with N instances an attacker gets at most N times the
// budget, which the limits allow for (see docs/decisions.md).

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cellfleet::tenant {

class LoginThrottle {
 public:
  LoginThrottle(std::int64_t window_seconds, std::int64_t max_per_account,
                std::int64_t max_per_address);

  // Seconds until an attempt for this account from this address is allowed; 0 when it is now.
  std::int64_t retry_after(const std::string& account, const std::string& address,
                           std::int64_t now);
  void record_failure(const std::string& account, const std::string& address, std::int64_t now);
  void record_success(const std::string& account);

 private:
  struct Window {
    std::int64_t start = 0;
    std::int64_t failures = 0;
  };
  std::int64_t wait_for(const std::string& key, std::int64_t limit, std::int64_t now);
  void count(const std::string& key, std::int64_t now);

  std::int64_t window_;
  std::int64_t max_account_;
  std::int64_t max_address_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;
};

}  // namespace cellfleet::tenant
