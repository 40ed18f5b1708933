#pragma once
// Publishing an event = adding it to the caller's write batch (the transactional outbox). The
// batch that changes state carries the events the change causes, so either both are committed or
// neither is: there is no other way to publish. After a successful write(), call
// Dispatcher::notify() so delivery starts at once instead of at the next sweep.
//
// Each event becomes two items of table "entities":
//   event log  pk "org#<org>#events", sk <event id>, expires after the retention; also in gsi1
//              under "org#<org>#events#type#<type>" for listing by type. Read by GET /v1/events.
//   outbox     pk "outbox#<shard>", sk <event id>, no expiry; deleted by the dispatcher once
//              every interested subscriber has applied (or dead-lettered) the event.
// The shard is a stable hash of (org, subject), so one subject's events share a shard and are
// delivered in id order.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "core/events/event.h"
#include "storage/store.h"

namespace cellfleet::events {

inline constexpr std::string_view kEventsTable = "entities";
inline constexpr std::size_t kOutboxShards = 16;
inline constexpr std::chrono::seconds kDefaultEventRetention = std::chrono::days(30);

// The shard of a subject's events: FNV-1a of org_id, a separator and subject, modulo
// kOutboxShards. Stable across processes, builds and versions (unlike std::hash).
std::size_t outbox_shard(std::string_view org_id, std::string_view subject);

std::string outbox_partition(std::size_t shard);           // "outbox#<shard>"
std::string event_log_partition(std::string_view org_id);  // "org#<org>#events"
std::string event_type_partition(std::string_view org_id, std::string_view type);

// The outbox item of event: pk "outbox#<shard>", sk <event id>, with the event, its subject key
// (org + "\n" + subject: the events that must stay in order), "done" (subscribers finished with
// it) and a version for the dispatcher's conditional bookkeeping. With only_for set, the item is
// a re-queued dead letter for that subscriber alone; its sk is <event id>#retry#<subscriber>, so
// it sorts right after the event's own item and never replaces it.
storage::Item outbox_item(const Event& event, const std::string& only_for = "");

// Appends the event log item and the outbox item (two Puts, both must_not_exist) to batch.
// The event must carry an id, type, org_id and subject; throws std::invalid_argument otherwise.
// Its data must obey the Store's item rules (no floating point); the write() reports a violation.
void add_event(storage::WriteBatch& batch, const Event& event,
               std::chrono::seconds retention = kDefaultEventRetention);

}  // namespace cellfleet::events
