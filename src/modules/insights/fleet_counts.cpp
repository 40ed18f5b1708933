#include "fleet_counts.h"

#include <fmt/format.h>

#include "core/events/outbox.h"

namespace cellfleet::insights {

namespace {
const char* kTable = "entities";

std::string fleet_partition(const std::string& org_id) {
  return "org#" + org_id + "#insights#fleet";
}
}  // namespace

void count_fleet_event(storage::Store& store, const events::Event& event,
                       storage::WriteBatch& effects) {
  // How the event moves the counts: -1 from one state, +1 to another.
  std::string from;
  std::string to;
  if (event.type == "device.registered") {
    to = event.data.at("state");
  } else if (event.type == "device.registration_reverted") {
    from = event.data.at("state");
  } else if (event.type == "device.state_changed") {
    from = event.data.at("from");
    to = event.data.at("to");
  } else {
    return;
  }
  const storage::Key key{
      fleet_partition(event.org_id),
      fmt::format("shard#{:02}", events::outbox_shard(event.org_id, event.subject))};
  auto current = store.get(kTable, key);
  nlohmann::json by_state =
      current ? current->value("by_state", nlohmann::json::object()) : nlohmann::json::object();
  if (!from.empty()) by_state[from] = by_state.value(from, std::int64_t{0}) - 1;
  if (!to.empty()) by_state[to] = by_state.value(to, std::int64_t{0}) + 1;
  const std::int64_t version = current ? current->value("version", std::int64_t{0}) : 0;
  storage::Item item = {
      {"pk", key.pk}, {"sk", key.sk}, {"by_state", by_state}, {"version", version + 1}};
  effects.ops.push_back(storage::Put{
      kTable, std::move(item),
      current ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
}

nlohmann::json read_fleet_counts(storage::Store& store, const std::string& org_id) {
  storage::Query q;
  q.table = kTable;
  q.partition = fleet_partition(org_id);
  q.limit = events::kOutboxShards;
  auto page = store.query(q);
  nlohmann::json by_state = nlohmann::json::object();
  for (const char* state :
       {"registered", "in_stock", "deployed", "returned", "maintenance", "retired"}) {
    by_state[state] = 0;
  }
  std::int64_t total = 0;
  for (const auto& shard : page.items) {
    const auto counts = shard.value("by_state", nlohmann::json::object());
    for (const auto& [state, count] : counts.items()) {
      by_state[state] = by_state.value(state, std::int64_t{0}) + count.get<std::int64_t>();
      total += count.get<std::int64_t>();
    }
  }
  return {{"by_state", by_state}, {"total", total}};
}

}  // namespace cellfleet::insights
