#pragma once
// `cellfleet insights rebuild`: recomputes an organization's money and utilisation figures
// (money_aggregates.h) from its retained event log (pk "org#<org>#events", in id order) with the
// very handler the subscriber runs, into a new generation, then switches to it in one
// conditional write and deletes the old generation's items.
//
// Exact when the retained log holds the organization's whole history (events.retention_days);
// otherwise contracts, payments and packs whose events all fell out of the log are missing from
// the rebuilt figures. Run it while the dispatcher is idle (server stopped, or nothing
// happening): an event the subscriber applies to the old generation after the replay read the
// log is not in the new one. An event applied during the switch fails its generation check and
// is retried against the new generation.

#include <cstddef>
#include <cstdint>
#include <string>

#include "money_aggregates.h"
#include "storage/store.h"

namespace cellfleet::insights {

struct RebuildReport {
  std::int64_t generation = 0;  // the generation now in use
  std::size_t events = 0;       // events replayed
  std::size_t items = 0;        // items written
  std::size_t removed = 0;      // items of the previous generation deleted
};

// Throws storage::ConditionFailed when another rebuild switched the generation meanwhile.
RebuildReport rebuild_money(storage::Store& store, const std::string& org_id,
                            const CalendarOf& calendar_of);

}  // namespace cellfleet::insights
