#pragma once
// The insights module: dashboards read from aggregates that event subscribers keep up to date,
// so reading one never scans the fleet. The fleet: packs by state, depot, presence, lock, open
// alerts and health by model (fleet_counts.h, GET /v1/insights/fleet); money and utilisation
// (money_aggregates.h: GET /v1/insights/portfolio, /collections, /utilisation).
// `cellfleet insights rebuild` recomputes both (rebuild.h, fleet_rebuild.h).

#include <memory>
#include <string>

#include "contracts/fleet_source.h"
#include "contracts/organization_directory.h"
#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/http/router.h"
#include "core/log.h"
#include "fleet_rebuild.h"
#include "rebuild.h"
#include "storage/store.h"

namespace cellfleet::insights {

class InsightsModule {
 public:
  // Registers the module's subscribers with dispatcher. directory gives each organization's
  // time zone: daily figures are kept by local date.
  InsightsModule(storage::Store& store, const Clock& clock, Logger& log,
                 events::Dispatcher& dispatcher, contracts::OrganizationDirectory& directory);
  ~InsightsModule();
  InsightsModule(const InsightsModule&) = delete;
  InsightsModule& operator=(const InsightsModule&) = delete;

  void register_routes(http::Router& router);

  // Recomputes the organization's money and utilisation figures from the loan, billing and
  // device modules' items as sources hand them over, and the utilisation and rent series from
  // its retained event log (rebuild.h).
  RebuildReport rebuild(const std::string& org_id, const MoneySources& sources);
  // Recomputes the organization's fleet dashboard from the packs' own items, as source hands
  // them over (fleet_rebuild.h).
  FleetRebuildReport rebuild_fleet(const std::string& org_id, contracts::FleetSource& source);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::insights
