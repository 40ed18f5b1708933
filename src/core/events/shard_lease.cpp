#include "core/events/shard_lease.h"

#include <utility>

#include "core/events/outbox.h"

namespace cellfleet::events {

namespace {
constexpr std::string_view kLeaseSort = "lease";
}

std::string lease_partition(std::size_t shard, std::string_view name) {
  return "lease#" + std::string(name) + "#" + std::to_string(shard);
}

ShardLeases::ShardLeases(storage::Store& store, const Clock& clock, std::string owner,
                         std::chrono::milliseconds duration, std::string name)
    : store_(store),
      clock_(clock),
      owner_(std::move(owner)),
      name_(std::move(name)),
      duration_ms_(duration.count()) {}

bool ShardLeases::hold(std::size_t shard) {
  const std::int64_t now = clock_.epoch_millis();
  if (auto it = held_.find(shard); it != held_.end()) {
    if (now < it->second.expires_at_ms - duration_ms_ / 2) return true;
  }
  return acquire(shard, now);
}

bool ShardLeases::acquire(std::size_t shard, std::int64_t now) {
  const std::string table(kEventsTable);
  const storage::Key key{lease_partition(shard, name_), std::string(kLeaseSort)};
  const auto current = store_.get(table, key);

  storage::Condition condition = storage::Condition::must_not_exist();
  std::int64_t version = 1;
  if (current) {
    const auto owner = current->value("owner", std::string());
    const auto expires = current->value("expires_at_ms", std::int64_t{0});
    if (owner != owner_ && expires > now) {
      held_.erase(shard);
      return false;
    }
    const auto stored_version = current->value("version", std::int64_t{0});
    condition = storage::Condition::version_is(stored_version);
    version = stored_version + 1;
  }
  const std::int64_t expires_at = now + duration_ms_;
  storage::Item item = {{"pk", key.pk},
                        {"sk", key.sk},
                        {"owner", owner_},
                        {"expires_at_ms", expires_at},
                        {"version", version}};
  try {
    store_.write({{storage::Put{table, std::move(item), condition}}});
  } catch (const storage::ConditionFailed&) {
    held_.erase(shard);  // another instance got there first
    return false;
  }
  held_[shard] = Held{version, expires_at};
  return true;
}

void ShardLeases::release_all() {
  const std::string table(kEventsTable);
  for (const auto& [shard, held] : held_) {
    try {
      store_.write({{storage::Delete{table,
                                     {lease_partition(shard, name_), std::string(kLeaseSort)},
                                     storage::Condition::version_is(held.version)}}});
    } catch (const std::exception&) {
      // Lost meanwhile, or the store is unreachable: the lease expires on its own.
    }
  }
  held_.clear();
}

}  // namespace cellfleet::events
