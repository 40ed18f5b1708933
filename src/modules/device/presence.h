#pragma once
// Presence: whether a pack reported within the last N minutes (DeviceOptions::online_minutes),
// kept as a flag "online" on its latest-state item (sk latest) so a count of online packs can be
// kept by events rather than by scanning the fleet.
//
//   - Ingest (Telemetry::advance_latest) sets the flag on the latest-state write it makes anyway:
//     online when the new newest reading is less than N minutes old. When the flag changes it
//     publishes device.online / device.offline in that same write. A pack reporting steadily
//     keeps the flag, so the steady state adds no write and no event.
//   - Time passing turns packs offline with no request: the scheduled check (check_all, every
//     devices.check_interval_seconds) walks the slice of the last-seen index (gsi1
//     org#<org>#devices#seen) that crossed the threshold since its previous run, from the
//     previous cutoff less a margin to the new cutoff, and clears the flag of each pack still
//     marked online, with device.offline, conditioned on the item's version (a concurrent reading
//     wins and decides itself). The previous cutoff is kept per organization in
//     org#<org>#presence / sk check {"cutoff_ms"}; the first run walks everything below the
//     cutoff. The margin (kPresenceMarginMs) covers a reading whose ingest read the clock before
//     the check's previous run and committed after it.
//
// A pack is thus shown online for up to one check interval (plus the check's own run) after
// its N minutes passed.

#include <cstdint>
#include <string>

#include "device_impl.h"

namespace cellfleet::device {

inline constexpr std::int64_t kPresenceMarginMs = 5 * 60'000;

class Presence {
 public:
  explicit Presence(Context& context) : ctx_(context) {}
  // Turns offline the packs whose newest reading became older than online_minutes, in every
  // active organization.
  void check_all();
  void check_org(const std::string& org_id);

 private:
  Context& ctx_;
};

}  // namespace cellfleet::device
