// The parts of the Store interface that are not backend-specific.
#include "storage/store.h"

#include <string>

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

void Store::write_sequence(const std::vector<WriteBatch>& batches) {
  if (batches.size() > max_write_sequence()) {
    throw InvalidRequest("a write sequence of " + std::to_string(batches.size()) +
                         " batches exceeds this backend's limit of " +
                         std::to_string(max_write_sequence()));
  }
  if (!batches.empty()) write(batches.front());
}

}  // namespace cellfleet::storage
