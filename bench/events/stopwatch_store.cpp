#include "stopwatch_store.h"

#include <variant>

namespace cellfleet::bench {

void StopwatchStore::write(const storage::WriteBatch& batch) {
  inner_.write(batch);
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  for (const auto& op : batch.ops) {
    const auto* put = std::get_if<storage::Put>(&op);
    if (put == nullptr || !put->item.contains("n")) continue;
    const auto& pk = put->item.at("pk");
    if (pk == kStatePartition) {
      committed_[put->item.at("n").get<std::int64_t>()] = now;
    } else if (pk == kEffectPartition) {
      applied_[put->item.at("n").get<std::int64_t>()] = now;
    }
  }
}

StopwatchStore::Times StopwatchStore::committed() const {
  std::lock_guard lock(mutex_);
  return committed_;
}

StopwatchStore::Times StopwatchStore::applied() const {
  std::lock_guard lock(mutex_);
  return applied_;
}

void StopwatchStore::clear() {
  std::lock_guard lock(mutex_);
  committed_.clear();
  applied_.clear();
}

}  // namespace cellfleet::bench
