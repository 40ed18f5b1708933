#pragma once
// The device module's side of contracts/fleet_source.h: each pack's facts for the insights
// rebuild, from its device item (state, model, depot), latest state (soh_pct, online), lock item
// ("reported") and alert state ("open").

#include "contracts/fleet_source.h"
#include "device_impl.h"

namespace cellfleet::device {

class FleetFacts : public contracts::FleetSource {
 public:
  explicit FleetFacts(Context& ctx) : ctx_(ctx) {}
  contracts::PackFactsPage packs(const std::string& org_id, const std::string& cursor) override;

 private:
  Context& ctx_;
};

}  // namespace cellfleet::device
