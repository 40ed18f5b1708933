#include "fleet_facts.h"

#include "command_items.h"
#include "contracts/history_sources.h"

namespace cellfleet::device {

contracts::PackFactsPage FleetFacts::packs(const std::string& org_id, const std::string& cursor) {
  auto page = contracts::gsi1_page(ctx_.store, kTable, keys::devices(org_id), cursor, 500);
  contracts::PackFactsPage out;
  out.next_cursor = std::move(page.next_cursor);
  for (const auto& device : page.items) {
    contracts::PackFacts facts;
    facts.id = device.at("id").get<std::string>();
    facts.state = device.at("state").get<std::string>();
    facts.model = device.value("model", "");
    facts.depot = device.value("depot", "");
    const std::string pk = keys::device(org_id, facts.id);
    if (auto latest = ctx_.store.get(kTable, {pk, keys::kLatestSk})) {
      facts.online = latest->value("online", false);
      if (latest->contains("soh_pct")) facts.soh_pct = latest->at("soh_pct").get<std::int64_t>();
    }
    if (auto lock = ctx_.store.get(kTable, {pk, command_items::kLockSk});
        lock && lock->contains("reported")) {
      facts.lock = lock->at("reported").at("state").get<std::string>();
    }
    // The alert state item (alerts.h): {"open": {kind: alert id}}.
    if (auto alerts = ctx_.store.get(kTable, {pk, "alerts"})) {
      const auto open = alerts->value("open", nlohmann::json::object());
      for (const auto& [kind, id] : open.items()) {
        facts.open_alerts[kind] = id.get<std::string>();
      }
    }
    out.packs.push_back(std::move(facts));
  }
  return out;
}

}  // namespace cellfleet::device
