#include "insights_module.h"

#include "core/timestamp.h"
#include "fleet_counts.h"
#include "money_reports.h"

namespace cellfleet::insights {

struct InsightsModule::Impl {
  storage::Store& store;
  const Clock& clock;
  Logger& log;
  contracts::OrganizationDirectory& directory;

  // The organization's calendar; UTC for an organization that is gone (its events still count).
  OrgCalendar calendar_of(const std::string& org_id) {
    auto org = directory.find_organization(org_id);
    return OrgCalendar(org && !org->time_zone.empty() ? org->time_zone : "UTC");
  }

  http::Response answer(nlohmann::json body, const std::string& org_id) {
    body["as_of"] = format_utc(clock.epoch_seconds());
    if (auto org = directory.find_organization(org_id)) {
      body["currency"] = org->currency;
      body["time_zone"] = org->time_zone;
    }
    return http::Response::json(200, body);
  }
};

InsightsModule::InsightsModule(storage::Store& store, const Clock& clock, Logger& log,
                               events::Dispatcher& dispatcher,
                               contracts::OrganizationDirectory& directory)
    : impl_(std::make_unique<Impl>(Impl{store, clock, log, directory})) {
  // Both read only through the store they are handed, so a fleet import's or a payment run's
  // events are counted many to a commit (delivery groups, dispatcher.h).
  dispatcher.register_grouped_subscriber(
      "insights.fleet", fleet_event_types(),
      [](const events::Event& event, storage::Store& reads, storage::WriteBatch& effects) {
        count_fleet_event(reads, event, effects);
      });
  Impl* impl = impl_.get();
  dispatcher.register_grouped_subscriber(
      "insights.money", money_event_types(),
      [impl](const events::Event& event, storage::Store& reads, storage::WriteBatch& effects) {
        count_money_event(
            reads, event, [impl](const std::string& org) { return impl->calendar_of(org); },
            effects);
      });
}

InsightsModule::~InsightsModule() = default;

RebuildReport InsightsModule::rebuild(const std::string& org_id, const MoneySources& sources) {
  Impl* impl = impl_.get();
  return rebuild_money(
      impl_->store, org_id, [impl](const std::string& org) { return impl->calendar_of(org); },
      sources);
}

FleetRebuildReport InsightsModule::rebuild_fleet(const std::string& org_id,
                                                 contracts::FleetSource& source) {
  return insights::rebuild_fleet(impl_->store, org_id, source);
}

void InsightsModule::register_routes(http::Router& router) {
  router.add("GET", "/v1/insights/fleet", Access::any_member(), [this](http::Request& req) {
    auto body = read_fleet_counts(impl_->store, req.caller().org_id);
    body["as_of"] = format_utc(impl_->clock.epoch_seconds());
    return http::Response::json(200, body);
  });
  router.add("GET", "/v1/insights/portfolio", Access::any_member(), [this](http::Request& req) {
    const auto& org = req.caller().org_id;
    return impl_->answer(read_portfolio(impl_->store, org), org);
  });
  router.add("GET", "/v1/insights/collections", Access::any_member(), [this](http::Request& req) {
    const auto range = parse_date_range(req.query("from"), req.query("to"));
    const auto& org = req.caller().org_id;
    return impl_->answer(read_collections(impl_->store, org, range), org);
  });
  router.add("GET", "/v1/insights/utilisation", Access::any_member(), [this](http::Request& req) {
    const auto range = parse_date_range(req.query("from"), req.query("to"));
    const auto& org = req.caller().org_id;
    return impl_->answer(read_utilisation(impl_->store, org, range), org);
  });
}

}  // namespace cellfleet::insights
