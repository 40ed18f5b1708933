#include "insights_module.h"

#include "core/timestamp.h"
#include "fleet_counts.h"

namespace cellfleet::insights {

struct InsightsModule::Impl {
  storage::Store& store;
  const Clock& clock;
  Logger& log;
};

InsightsModule::InsightsModule(storage::Store& store, const Clock& clock, Logger& log,
                               events::Dispatcher& dispatcher)
    : impl_(std::make_unique<Impl>(Impl{store, clock, log})) {
  dispatcher.register_subscriber(
      "insights.fleet",
      {"device.registered", "device.state_changed", "device.registration_reverted"},
      [&store](const events::Event& event, storage::WriteBatch& effects) {
        count_fleet_event(store, event, effects);
      });
}

InsightsModule::~InsightsModule() = default;

void InsightsModule::register_routes(http::Router& router) {
  router.add("GET", "/v1/insights/fleet", Access::any_member(), [this](http::Request& req) {
    auto body = read_fleet_counts(impl_->store, req.caller().org_id);
    body["as_of"] = format_utc(impl_->clock.epoch_seconds());
    return http::Response::json(200, body);
  });
}

}  // namespace cellfleet::insights
