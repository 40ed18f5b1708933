#pragma once
// What the device module hands `cellfleet insights rebuild` to recompute the fleet dashboard
// from (insights/fleet_rebuild.h): each pack's facts as its own items state them, a page at a
// time, so the insights module never reads the device module's keys. Implemented by the device
// module (device/fleet_facts.cpp), wired in main.cpp.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cellfleet::contracts {

struct PackFacts {
  std::string id;
  std::string state;  // lifecycle state
  std::string model;
  std::string depot;  // "" when none
  // The lock state the pack last confirmed by acknowledging a command with result ok:
  // "locked", "unlocked" or "permanently_unlocked"; nullopt when it never confirmed one.
  std::optional<std::string> lock;
  // State of health in whole percent, from its newest reading that carried one.
  std::optional<std::int64_t> soh_pct;
  // The presence flag of its latest state (device/presence.h); nullopt when it never reported.
  std::optional<bool> online;
  std::map<std::string, std::string> open_alerts;  // kind -> alert id
};

struct PackFactsPage {
  std::vector<PackFacts> packs;
  std::string next_cursor;  // "" after the last page
};

class FleetSource {
 public:
  virtual ~FleetSource() = default;
  // The organization's packs in id order, up to 500 a page.
  virtual PackFactsPage packs(const std::string& org_id, const std::string& cursor) = 0;
};

}  // namespace cellfleet::contracts
