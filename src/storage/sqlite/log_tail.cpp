#include "storage/sqlite/log_tail.h"

#include <algorithm>

namespace cellfleet::storage::sqlite {

void LogTail::apply(const std::vector<Change>& changes) {
  std::lock_guard lock(mutex_);
  for (const auto& change : changes) {
    if (change.added) {
      auto& seqs = by_pk_[change.pk];
      // Seqs are handed out in commit order, so appending keeps each list sorted.
      seqs.push_back(change.seq);
      ++rows_;
      newest_ = std::max(newest_, change.seq);
      if (seqs.size() >= kLongestTail) long_tail_ = true;
      continue;
    }
    auto it = by_pk_.find(change.pk);
    if (it == by_pk_.end()) continue;
    auto& seqs = it->second;
    auto at = std::lower_bound(seqs.begin(), seqs.end(), change.seq);
    if (at == seqs.end() || *at != change.seq) continue;
    seqs.erase(at);
    --rows_;
    if (seqs.empty()) by_pk_.erase(it);
  }
  if (rows_ == 0) long_tail_ = false;
}

std::vector<std::int64_t> LogTail::seqs(const std::string& pk) const {
  std::lock_guard lock(mutex_);
  auto it = by_pk_.find(pk);
  return it == by_pk_.end() ? std::vector<std::int64_t>{} : it->second;
}

std::vector<LogTail::Part> LogTail::parts(const std::optional<std::string>& after,
                                          std::int64_t through, std::size_t rows) const {
  std::lock_guard lock(mutex_);
  std::vector<Part> parts;
  std::size_t taken = 0;
  auto it = after ? by_pk_.upper_bound(*after) : by_pk_.begin();
  for (; it != by_pk_.end() && taken < rows; ++it) {
    const auto& seqs = it->second;
    const auto end = std::upper_bound(seqs.begin(), seqs.end(), through);
    if (end == seqs.begin()) continue;
    parts.push_back({it->first, {seqs.begin(), end}});
    taken += parts.back().seqs.size();
  }
  return parts;
}

std::size_t LogTail::rows() const {
  std::lock_guard lock(mutex_);
  return rows_;
}

std::int64_t LogTail::begin_pass() {
  std::lock_guard lock(mutex_);
  long_tail_ = false;
  return rows_ == 0 ? 0 : newest_;
}

bool LogTail::due() const {
  std::lock_guard lock(mutex_);
  return rows_ > 0 && (rows_ >= compact_rows_ || long_tail_);
}

}  // namespace cellfleet::storage::sqlite
