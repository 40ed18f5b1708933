#pragma once
// The insights module: dashboards read from aggregates that event subscribers keep up to date,
// so reading one never scans the fleet. This first piece counts each organization's packs by
// lifecycle state (GET /v1/insights/fleet).

#include <memory>

#include "core/clock.h"
#include "core/events/dispatcher.h"
#include "core/http/router.h"
#include "core/log.h"
#include "storage/store.h"

namespace cellfleet::insights {

class InsightsModule {
 public:
  // Registers the module's subscribers with dispatcher.
  InsightsModule(storage::Store& store, const Clock& clock, Logger& log,
                 events::Dispatcher& dispatcher);
  ~InsightsModule();
  InsightsModule(const InsightsModule&) = delete;
  InsightsModule& operator=(const InsightsModule&) = delete;

  void register_routes(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellfleet::insights
