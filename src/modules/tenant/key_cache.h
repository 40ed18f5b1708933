#pragma once
// API keys recently verified, by the hash of the whole token, so a busy integrator's requests do
// not each read the key and its organization (two store reads of a point read's five).
//
// Bounded staleness: an entry is used for at most `ttl` of real time. Within this process every
// tenant write but the audit log's (a revoked key, a suspended or deleted organization, a user
// changed, a login) clears the cache first and again once committed, so a change made here
// applies to the next request; another instance (DynamoDB behind a load balancer) sees it within
// ttl. A lookup that raced a clear (read before it, inserted after it) is not kept: insert()
// names the generation it started in.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/principal.h"

namespace cellfleet::tenant {

class KeyCache {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  struct Entry {
    Principal principal;
    std::optional<std::int64_t> expires;  // the key's own expiry (epoch seconds, injected clock)
    std::int64_t last_used = 0;           // as last written to the key item
    std::string key_pk;                   // the key item's partition key, for the last_used touch
    SteadyTime until;                     // used no later than this
  };

  // ttl zero turns the cache off. At most max_entries keys are kept; past that it starts over.
  KeyCache(std::chrono::milliseconds ttl, std::size_t max_entries = 10'000)
      : ttl_(ttl), max_entries_(max_entries) {}

  bool enabled() const { return ttl_.count() > 0; }
  std::chrono::milliseconds ttl() const { return ttl_; }

  // The generation a lookup starts in; pass it to insert().
  std::uint64_t generation() const;
  std::optional<Entry> find(const std::string& token_hash, SteadyTime now) const;
  void insert(const std::string& token_hash, Entry entry, std::uint64_t generation);
  void set_last_used(const std::string& token_hash, std::int64_t last_used);
  void clear();

 private:
  const std::chrono::milliseconds ttl_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace cellfleet::tenant
