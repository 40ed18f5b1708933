#include "aggregate_items.h"

#include <algorithm>

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

std::vector<storage::Key> keys_with_prefix(storage::Store& store, const std::string& table,
                                           const std::string& partition, const std::string& prefix) {
  std::vector<storage::Key> out;
  storage::Query q;
  q.table = table;
  q.partition = partition;
  q.sort = storage::SortCondition{storage::SortCondition::Op::begins_with, prefix, ""};
  q.limit = 1000;
  do {
    auto page = store.query(q);
    for (const auto& item : page.items) out.push_back({item.at("pk"), item.at("sk")});
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());
  return out;
}

std::size_t delete_keys(storage::Store& store, const std::string& table,
                        const std::vector<storage::Key>& keys) {
  for (std::size_t i = 0; i < keys.size(); i += storage::kMaxBatchOps) {
    storage::WriteBatch batch;
    for (std::size_t j = i; j < std::min(keys.size(), i + storage::kMaxBatchOps); ++j) {
      batch.ops.push_back(storage::Delete{table, keys[j], storage::Condition::none()});
    }
    store.write(batch);
  }
  return keys.size();
}

void switch_generation(storage::Store& store, const std::string& table, const storage::Key& key,
                       const std::optional<storage::Item>& current, std::int64_t generation) {
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  storage::WriteBatch swap;
  swap.ops.push_back(storage::Put{
      table,
      {{"pk", key.pk}, {"sk", ""}, {"generation", generation}, {"version", version + 1}},
      current ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
  store.write(swap);
}

}  // namespace cellfleet::insights
