#include "aggregate_items.h"

namespace cellfleet::insights {

storage::Item& AggregateItems::at(const storage::Key& key) {
  auto k = std::make_pair(key.pk, key.sk);
  auto it = items_.find(k);
  if (it != items_.end()) return it->second.item;
  Touched t;
  if (auto loaded = load_(key)) {
    t.item = std::move(*loaded);
    t.read_version = t.item.value("version", std::int64_t{0});
  } else {
    t.item = {{"pk", key.pk}, {"sk", key.sk}};
  }
  return items_.emplace(std::move(k), std::move(t)).first->second.item;
}

void AggregateItems::put_into(storage::WriteBatch& batch, const std::string& table) const {
  for (const auto& [key, t] : items_) {
    storage::Item item = t.item;
    item["version"] = t.read_version + 1;
    batch.ops.push_back(storage::Put{table, std::move(item),
                                     t.read_version > 0
                                         ? storage::Condition::version_is(t.read_version)
                                         : storage::Condition::must_not_exist()});
  }
}

}  // namespace cellfleet::insights
