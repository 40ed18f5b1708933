#pragma once
// Packs by lifecycle state, per organization, kept by the subscriber "insights.fleet" from
// device.registered, device.state_changed and device.registration_reverted.
//
// The counts are split over one item per outbox shard:
//   org#<org>#insights#fleet   sk shard#<nn>   {"by_state": {state: count}, "version"}
// Events of one shard are applied by one dispatcher instance at a time (its lease), so
// instances never contend for one counter item, and a dashboard reads at most kOutboxShards
// items whatever the fleet size. Every event of one pack has the pack as its subject, hence the
// same shard, so each shard's counts are exact on their own and never go below zero.

#include <string>

#include <nlohmann/json.hpp>

#include "core/events/event.h"
#include "storage/store.h"

namespace cellfleet::insights {

// The subscriber's handler: adds the event's effect on the counts to effects.
void count_fleet_event(storage::Store& store, const events::Event& event,
                       storage::WriteBatch& effects);

// {"by_state": {...}, "total": n} summed over the shards.
nlohmann::json read_fleet_counts(storage::Store& store, const std::string& org_id);

}  // namespace cellfleet::insights
