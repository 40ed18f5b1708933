// The parts of the Store interface that are not backend-specific.
#include "storage/store.h"

namespace cellfleet::storage {

std::vector<std::optional<ConditionFailed>> Store::write_each(
    const std::vector<WriteBatch>& batches) {
  std::vector<std::optional<ConditionFailed>> outcomes;
  outcomes.reserve(batches.size());
  for (const auto& batch : batches) {
    try {
      write(batch);
      outcomes.emplace_back();
    } catch (const ConditionFailed& failed) {
      outcomes.emplace_back(failed);
    }
  }
  return outcomes;
}

}  // namespace cellfleet::storage
