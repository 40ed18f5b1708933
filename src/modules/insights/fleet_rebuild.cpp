#include "fleet_rebuild.h"

#include <algorithm>
#include <map>
#include <vector>

#include "aggregate_items.h"
#include "core/events/outbox.h"
#include "fleet_counts.h"

namespace cellfleet::insights {

namespace {

const char* kTable = "entities";

}  // namespace

FleetRebuildReport rebuild_fleet(storage::Store& store, const std::string& org_id,
                                 contracts::FleetSource& source) {
  const auto current = store.get(kTable, fleet_generation_key(org_id));
  const FleetKeys old_keys{org_id, current ? current->value("generation", std::int64_t{0}) : 0};
  const FleetKeys keys{org_id, old_keys.generation + 1};

  FleetRebuildReport report;
  std::map<std::size_t, nlohmann::json> shards;
  std::vector<storage::Key> old;
  std::string cursor;
  do {
    auto page = source.packs(org_id, cursor);
    std::vector<storage::Item> snapshots;
    snapshots.reserve(page.packs.size());
    for (const auto& facts : page.packs) {
      const auto snap = fleet_snapshot(facts);
      add_contribution(shards[events::outbox_shard(org_id, facts.id)], snap, +1);
      const auto key = keys.pack(facts.id);
      snapshots.push_back({{"pk", key.pk}, {"sk", key.sk}, {"snapshot", snap}, {"version", 1}});
      old.push_back(old_keys.pack(facts.id));
    }
    store.put_many(kTable, snapshots);
    report.packs += page.packs.size();
    report.items += snapshots.size();
    cursor = std::move(page.next_cursor);
  } while (!cursor.empty());

  std::vector<storage::Item> counts;
  for (auto& [shard, figures] : shards) {
    const auto key = keys.shard(shard);
    counts.push_back({{"pk", key.pk}, {"sk", key.sk}, {"counts", figures}, {"version", 1}});
  }
  store.put_many(kTable, counts);
  report.items += counts.size();

  switch_generation(store, kTable, fleet_generation_key(org_id), current, keys.generation);
  report.generation = keys.generation;

  // The old generation: its shard items by prefix (and those from before generations), its
  // packs' snapshots by the packs that exist (a reverted registration's went with its event).
  for (const auto& prefix : {old_keys.gen_prefix(), std::string("shard#")}) {
    auto found = keys_with_prefix(store, kTable, old_keys.counts_partition(), prefix);
    old.insert(old.end(), found.begin(), found.end());
  }
  std::vector<storage::Key> existing;
  for (const auto& key : old) {
    if (store.get(kTable, key)) existing.push_back(key);
  }
  delete_keys(store, kTable, existing);
  report.removed = existing.size();
  return report;
}

}  // namespace cellfleet::insights
