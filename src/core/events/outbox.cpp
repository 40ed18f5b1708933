#include "core/events/outbox.h"

#include <cstdint>
#include <stdexcept>

namespace cellfleet::events {

std::size_t outbox_shard(std::string_view org_id, std::string_view subject) {
  // FNV-1a, 64 bit. The separator keeps ("ab","c") and ("a","bc") apart.
  std::uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ULL;
    }
  };
  mix(org_id);
  mix(std::string_view("\n", 1));
  mix(subject);
  return static_cast<std::size_t>(hash % kOutboxShards);
}

std::string outbox_partition(std::size_t shard) {
  return "outbox#" + std::to_string(shard);
}

std::string event_log_partition(std::string_view org_id) {
  return "org#" + std::string(org_id) + "#events";
}

std::string event_type_partition(std::string_view org_id, std::string_view type) {
  return event_log_partition(org_id) + "#type#" + std::string(type);
}

storage::Item outbox_item(const Event& event, const std::string& only_for) {
  storage::Item item = {{"pk", outbox_partition(outbox_shard(event.org_id, event.subject))},
                        {"sk", only_for.empty() ? event.id : event.id + "#retry#" + only_for},
                        {"subject_key", event.org_id + "\n" + event.subject},
                        {"done", nlohmann::json::array()},
                        {"version", 1},
                        {"event", event}};
  if (!only_for.empty()) item["only"] = nlohmann::json::array({only_for});
  return item;
}

void add_event(storage::WriteBatch& batch, const Event& event, std::chrono::seconds retention) {
  if (event.id.empty() || event.type.empty() || event.org_id.empty() || event.subject.empty()) {
    throw std::invalid_argument("an event needs an id, a type, an org_id and a subject");
  }
  const std::int64_t expires_at = event.occurred_at / 1000 + retention.count();

  storage::Item log_item = {{"pk", event_log_partition(event.org_id)},
                            {"sk", event.id},
                            {"gsi1pk", event_type_partition(event.org_id, event.type)},
                            {"gsi1sk", event.id},
                            {"expires_at", expires_at},
                            {"event", event}};
  const std::string table(kEventsTable);
  batch.ops.emplace_back(
      storage::Put{table, std::move(log_item), storage::Condition::must_not_exist()});
  batch.ops.emplace_back(
      storage::Put{table, outbox_item(event), storage::Condition::must_not_exist()});
}

}  // namespace cellfleet::events
