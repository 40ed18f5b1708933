#pragma once
// The items one insights event touches, read once and changed in memory, then written together.
//
// A handler asks for an item by key (at), changes the JSON it gets back, and the set remembers
// the version it was read at. The incremental subscriber turns the touched items into Puts
// conditioned on those versions (so a concurrent writer makes the batch fail and the event is
// retried); the rebuilds keep every item in memory and write them all at the end (the money
// rebuild computes most of its items from the owning modules' items, not through the handler,
// and replays only the utilisation and rent series with it: rebuild.h).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/store.h"

namespace cellfleet::insights {

class AggregateItems {
 public:
  using Loader = std::function<std::optional<storage::Item>(const storage::Key&)>;
  explicit AggregateItems(Loader load) : load_(std::move(load)) {}

  // The item with this key: as loaded (or as changed earlier in this set), or a new
  // {"pk", "sk"} when there is none. The reference stays valid while the set lives.
  storage::Item& at(const storage::Key& key);

  struct Touched {
    storage::Item item;
    std::int64_t read_version = 0;  // 0: the item did not exist when read
  };
  const std::map<std::pair<std::string, std::string>, Touched>& touched() const { return items_; }

  // Appends one Put per touched item to batch: version read + 1, conditioned on the version read
  // (or on absence).
  void put_into(storage::WriteBatch& batch, const std::string& table) const;

 private:
  Loader load_;
  std::map<std::pair<std::string, std::string>, Touched> items_;
};

// For the rebuilds, which replace a generation of items: every key in partition whose sort key
// starts with prefix (all pages), and deleting keys (in batches of the store's limit; returns how
// many).
std::vector<storage::Key> keys_with_prefix(storage::Store& store, const std::string& table,
                                           const std::string& partition, const std::string& prefix);
std::size_t delete_keys(storage::Store& store, const std::string& table,
                        const std::vector<storage::Key>& keys);
// Points the generation item at key (sk "") to generation, on condition that it is still current
// as read (nullopt: that there was none); throws ConditionFailed when it moved meanwhile.
void switch_generation(storage::Store& store, const std::string& table, const storage::Key& key,
                       const std::optional<storage::Item>& current, std::int64_t generation);

}  // namespace cellfleet::insights
