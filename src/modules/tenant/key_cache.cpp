#include "key_cache.h"

namespace cellfleet::tenant {

std::uint64_t KeyCache::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::optional<KeyCache::Entry> KeyCache::find(const std::string& token_hash, SteadyTime now) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(token_hash);
  if (it == entries_.end() || now >= it->second.until) return std::nullopt;
  return it->second;
}

void KeyCache::insert(const std::string& token_hash, Entry entry, std::uint64_t generation) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  if (generation != generation_) return;  // a tenant write happened since the lookup began
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.insert_or_assign(token_hash, std::move(entry));
}

void KeyCache::set_last_used(const std::string& token_hash, std::int64_t last_used) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(token_hash); it != entries_.end()) it->second.last_used = last_used;
}

void KeyCache::clear() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

}  // namespace cellfleet::tenant
