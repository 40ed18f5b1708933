// The parts of the Store interface that are not backend-specific.
#include "storage/store.h"

#include <string>
#include <variant>

namespace cellfleet::storage {

namespace {

std::string string_attribute(const Item& item, const char* name) {
  if (!item.is_object()) return {};
  const auto it = item.find(name);
  return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

const std::string& op_table(const WriteOp& op) {
  return std::visit([](const auto& o) -> const std::string& { return o.table; }, op);
}

Key op_key(const WriteOp& op) {
  if (const auto* put = std::get_if<Put>(&op)) {
    return Key{string_attribute(put->item, "pk"), string_attribute(put->item, "sk")};
  }
  if (const auto* update = std::get_if<Update>(&op)) return update->key;
  if (const auto* erase = std::get_if<Delete>(&op)) return erase->key;
  return std::get<Check>(op).key;
}

const Condition& op_condition(const WriteOp& op) {
  return std::visit([](const auto& o) -> const Condition& { return o.condition; }, op);
}

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
