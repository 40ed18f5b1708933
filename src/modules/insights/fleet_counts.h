#pragma once
// The fleet dashboard (GET /v1/insights/fleet), kept by the subscriber "insights.fleet" from the
// device module's events alone: packs by lifecycle state and by depot, online / offline / never
// reported, by confirmed lock state, open alerts by kind, and state of health by model.
//
// Items (table "entities"), under a generation <g> so `cellfleet insights rebuild`
// (fleet_rebuild.h) can build a fresh set beside the live one and switch in one write:
//   org#<org>#insights#fleet#generation   sk ""             {"generation": g} (absent: g = 0)
//   org#<org>#insights#fleet#pack#<dev>   sk g<g>           the pack's snapshot (below)
//   org#<org>#insights#fleet              sk g<g>#shard#<nn> the shard's counts (below)
// <nn> is the outbox shard of the pack (events::outbox_shard(org, dev)). Every event of one pack
// has the pack as its subject, hence one shard, and a shard's events are applied by one
// dispatcher instance at a time in id order, so instances never contend for a counter item,
// and a dashboard reads at most kOutboxShards count items whatever the fleet size.
//
// The snapshot is what the events said of the pack so far:
//   {"state", "model", "depot" (absent: none), "lock" ("locked" | "unlocked" |
//    "permanently_unlocked"; absent: never confirmed), "soh" (whole %), "online" (bool; absent:
//    never reported), "alerts": {kind: alert id}}
// An event changes the snapshot, and the shard's counts move by contribution(new) -
// contribution(old), so the counts always equal the sum of the snapshots' contributions - which
// is also how the rebuild computes them from the packs' own items.
//
// A pack contributes 1 to by_state[state] and 1 per open alert to alerts[kind]. A retired pack
// contributes nothing else: it has left the fleet (no depot, lock, presence or health figure).
// Any other pack contributes 1 to by_depot[depot] (or no_depot), to lock[its lock state or
// never_confirmed], to presence[online | offline | never_reported], and, when its health is
// known, soh to soh_by_model[model].sum and 1 to .count.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "contracts/fleet_source.h"
#include "core/events/event.h"
#include "storage/store.h"

namespace cellfleet::insights {

// Every event type the subscriber "insights.fleet" takes.
const std::vector<std::string>& fleet_event_types();

struct FleetKeys {
  std::string org_id;
  std::int64_t generation = 0;

  storage::Key pack(const std::string& device_id) const;
  storage::Key shard(std::size_t shard) const;
  std::string counts_partition() const;
  std::string gen_prefix() const;  // "g<g>#"
};
storage::Key fleet_generation_key(const std::string& org_id);

// The snapshot of a pack as its own items state it (the rebuild's input).
nlohmann::json fleet_snapshot(const contracts::PackFacts& facts);
// Adds sign x the snapshot's contribution to a shard's counts (an empty snapshot adds nothing).
void add_contribution(nlohmann::json& counts, const nlohmann::json& snapshot, std::int64_t sign);

// The subscriber's handler: reads the generation, the pack's snapshot and its shard's counts,
// appends their new values and a check of the generation to effects.
void count_fleet_event(storage::Store& store, const events::Event& event,
                       storage::WriteBatch& effects);

// The dashboard, summed over the shards of the current generation.
nlohmann::json read_fleet_counts(storage::Store& store, const std::string& org_id);

}  // namespace cellfleet::insights
