#include "latest_memory.h"

namespace cellfleet::device {

std::optional<LatestMemory::Facts> LatestMemory::find(const std::string& pack_pk) const {
  std::lock_guard lock(mutex_);
  const auto found = packs_.find(pack_pk);
  if (found == packs_.end()) return std::nullopt;
  return found->second;
}

void LatestMemory::remember(const std::string& pack_pk, const Facts& facts) {
  std::lock_guard lock(mutex_);
  if (packs_.size() >= max_packs_ && !packs_.contains(pack_pk)) packs_.clear();
  packs_.insert_or_assign(pack_pk, facts);
}

void LatestMemory::forget(const std::string& pack_pk) {
  std::lock_guard lock(mutex_);
  packs_.erase(pack_pk);
}

}  // namespace cellfleet::device
