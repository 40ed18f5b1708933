#pragma once
// `cellfleet insights rebuild`, fleet part: recomputes an organization's fleet dashboard
// (fleet_counts.h) from the packs' own items - device, latest state, lock, alert state - as the
// device module hands them over (contracts::FleetSource), not from the event log, so it is exact
// whatever the log's retention. It writes each pack's snapshot and the shards' counts into a new
// generation, switches to it in one conditional write, then deletes the old generation's items
// (and the shard items of before generations existed, "shard#<nn>").
//
// Run it while the dispatcher is idle (server stopped, or nothing happening): an event the
// subscriber applies to the old generation after the pack was read is not in the new one; one
// applied during the switch fails its generation check and is retried in the new one.

#include <cstddef>
#include <cstdint>
#include <string>

#include "contracts/fleet_source.h"
#include "storage/store.h"

namespace cellfleet::insights {

struct FleetRebuildReport {
  std::int64_t generation = 0;  // the generation now in use
  std::size_t packs = 0;        // packs read
  std::size_t items = 0;        // items written
  std::size_t removed = 0;      // items of the previous generation deleted
};

// Throws storage::ConditionFailed when another rebuild switched the generation meanwhile.
FleetRebuildReport rebuild_fleet(storage::Store& store, const std::string& org_id,
                                 contracts::FleetSource& source);

}  // namespace cellfleet::insights
