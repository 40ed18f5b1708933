#include "login_throttle.h"

#include <algorithm>

namespace cellfleet::tenant {

namespace {
// Beyond this many tracked keys, windows that have ended are dropped, so a flood of distinct
// addresses cannot grow memory without bound.
constexpr std::size_t kPruneAbove = 100000;
}  // namespace

LoginThrottle::LoginThrottle(std::int64_t window_seconds, std::int64_t max_per_account,
                             std::int64_t max_per_address)
    : window_(window_seconds), max_account_(max_per_account), max_address_(max_per_address) {}

std::int64_t LoginThrottle::wait_for(const std::string& key, std::int64_t limit, std::int64_t now) {
  auto it = windows_.find(key);
  if (it == windows_.end() || now >= it->second.start + window_) return 0;
  if (it->second.failures < limit) return 0;
  return it->second.start + window_ - now;
}

std::int64_t LoginThrottle::retry_after(const std::string& account, const std::string& address,
                                        std::int64_t now) {
  std::lock_guard lock(mutex_);
  return std::max(wait_for("a:" + account, max_account_, now),
                  wait_for("ip:" + address, max_address_, now));
}

void LoginThrottle::count(const std::string& key, std::int64_t now) {
  auto& w = windows_[key];
  if (now >= w.start + window_) w = Window{now, 0};
  ++w.failures;
}

void LoginThrottle::record_failure(const std::string& account, const std::string& address,
                                   std::int64_t now) {
  std::lock_guard lock(mutex_);
  if (windows_.size() > kPruneAbove) {
    std::erase_if(windows_, [&](const auto& kv) { return now >= kv.second.start + window_; });
  }
  count("a:" + account, now);
  count("ip:" + address, now);
}

void LoginThrottle::record_success(const std::string& account) {
  std::lock_guard lock(mutex_);
  windows_.erase("a:" + account);
}

}  // namespace cellfleet::tenant
