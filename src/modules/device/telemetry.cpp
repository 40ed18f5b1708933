// Telemetry's routes and the packs' latest state.
#include "telemetry.h"

#include "core/error.h"

namespace cellfleet::device {

namespace {
// Writers of one pack's latest state race only when two requests carry readings of that pack
// at once; each lost race means the other writer stored something, so a few attempts settle it.
constexpr int kLatestAttempts = 5;

storage::Key latest_key(const std::string& org_id, const std::string& device_id) {
  return {keys::device(org_id, device_id), keys::kLatestSk};
}

LatestMemory::Facts facts_of(const storage::Item& latest) {
  LatestMemory::Facts facts;
  facts.version = latest.at("version").get<std::int64_t>();
  facts.at_ms = latest.at("reading").at("at").get<std::int64_t>();
  if (latest.contains("soh_pct")) facts.soh_pct = latest.at("soh_pct").get<std::int64_t>();
  facts.online = latest.value("online", false);
  return facts;
}
}  // namespace

nlohmann::json latest_view(const storage::Item& latest) {
  return nlohmann::json{{"last_seen", format_utc_ms(latest.at("last_seen_ms").get<std::int64_t>())},
                        {"reading", Reading::from_attributes(latest.at("reading")).to_api()}};
}

void Telemetry::advance_latest(const std::string& org_id, const std::vector<Newest>& newest) {
  std::vector<const Newest*> pending;
  pending.reserve(newest.size());
  for (const auto& n : newest) pending.push_back(&n);
  std::vector<const Newest*> advanced;
  const std::int64_t online_after_ms =
      ctx_.clock.epoch_millis() - ctx_.options.online_minutes * 60'000;
  for (int attempt = 1; attempt <= kLatestAttempts && !pending.empty(); ++attempt) {
    std::vector<const Newest*> writing;
    // Each write's pack (partition key) and what it stores, remembered once applied.
    std::vector<std::pair<std::string, LatestMemory::Facts>> written;
    std::vector<storage::WriteBatch> batches;
    bool with_events = false;
    for (const Newest* n : pending) {
      const std::string& device_id = n->device->at("id").get_ref<const std::string&>();
      const std::string pk = keys::device(org_id, device_id);
      nlohmann::json attributes = n->reading->to_attributes();
      // The stored state as remembered (latest_memory.h says why that is safe), or as read.
      std::optional<LatestMemory::Facts> current = latest_.find(pk);
      // An older reading never replaces a newer one.
      if (current && current->at_ms > n->reading->at_ms) continue;
      if (!current || current->at_ms == n->reading->at_ms) {
        auto stored = ctx_.store.get(kTable, latest_key(org_id, device_id));
        current.reset();
        if (stored) {
          current = facts_of(*stored);
          latest_.remember(pk, *current);
          if (current->at_ms > n->reading->at_ms) continue;
          // One of the same time replaces it only when its values differ: the history keeps the
          // last values sent for a time (see docs/decisions.md), and the latest state shows the
          // same.
          if (current->at_ms == n->reading->at_ms && stored->at("reading") == attributes) continue;
        }
      }
      const std::int64_t version = current ? current->version : 0;
      storage::Item item = {
          {"pk", pk},
          {"sk", keys::kLatestSk},
          {"device_id", device_id},
          {"org_id", org_id},
          {"last_seen_ms", n->reading->at_ms},
          {"reading", std::move(attributes)},
          {"version", version + 1},
          {"gsi1pk", keys::devices_by_last_seen(org_id)},
          {"gsi1sk", keys::time_key(n->reading->at_ms) + "#" + device_id},
      };
      storage::WriteBatch batch;
      // The pack's whole-percent state of health, carried over from the previous latest state
      // when this reading has none, and its presence flag (presence.h). Either changing
      // is an event in this same write; a pack reporting steadily changes neither, so the
      // steady state costs no write beyond the latest state itself.
      const auto old_soh = current ? current->soh_pct : std::nullopt;
      const auto new_soh =
          n->reading->soh_permille ? std::optional(*n->reading->soh_permille / 10) : old_soh;
      if (new_soh) item["soh_pct"] = *new_soh;
      if (new_soh != old_soh) {
        nlohmann::json data = {{"to", *new_soh}};
        if (old_soh) data["from"] = *old_soh;
        ctx_.events.publish(batch, org_id, "device.soh_changed", device_id, std::move(data));
      }
      const bool was_online = current && current->online;
      const bool online = n->reading->at_ms > online_after_ms;
      item["online"] = online;
      // A pack's first report is an event either way: "never reported" ends.
      if (!current || online != was_online) {
        nlohmann::json data = {{"last_seen", format_utc_ms(n->reading->at_ms)}};
        ctx_.events.publish(batch, org_id, online ? "device.online" : "device.offline", device_id,
                            std::move(data));
      }
      with_events = with_events || !batch.ops.empty();
      batch.ops.insert(batch.ops.begin(),
                       storage::Put{kTable, std::move(item),
                                    current ? storage::Condition::version_is(version)
                                            : storage::Condition::must_not_exist()});
      batches.push_back(std::move(batch));
      writing.push_back(n);
      written.emplace_back(pk,
                           LatestMemory::Facts{version + 1, n->reading->at_ms, new_soh, online});
    }
    const auto outcomes = ctx_.store.write_each(batches);
    pending.clear();
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      // A lost race means another request (or instance) moved the pack meanwhile, or what was
      // remembered of it is stale: read again, compare with it.
      const auto& [pk, facts] = written[i];
      if (outcomes[i]) {
        latest_.forget(pk);
        pending.push_back(writing[i]);
      } else {
        latest_.remember(pk, facts);
        advanced.push_back(writing[i]);
      }
      // One wake-up serves every event of the call: they are all this organization's.
      if (with_events && !outcomes[i] && batches[i].ops.size() > 1) {
        ctx_.events.committed(batches[i]);
        with_events = false;
      }
    }
  }

  // The readings and the latest states are stored; an alert evaluation that fails must not make
  // the gateway resend (a resend would not advance the state again, so it would not help).
  std::optional<AlertThresholds> thresholds;
  for (const Newest* n : advanced) {
    try {
      if (!thresholds) thresholds = alerts_.thresholds(org_id);
      alerts_.on_latest_reading(org_id, *n->device, *n->reading, *thresholds);
    } catch (const std::exception& e) {
      ctx_.log.error("alert evaluation of a reading failed",
                     {{"org_id", org_id}, {"device_id", n->device->at("id")}, {"error", e.what()}});
    }
  }
  if (pending.empty()) return;
  Error busy(ErrorKind::unavailable,
             "the latest state of " + std::to_string(pending.size()) +
                 " pack(s) is being changed by other requests; the readings were stored, resend "
                 "the batch to bring the latest state up to date");
  busy.with_header("Retry-After", "1");
  throw busy;
}

void Telemetry::register_routes(http::Router& r) {
  r.add("POST", "/v1/telemetry",
        Access::members({Role::owner, Role::admin, Role::operator_}).and_devices(),
        [this](http::Request& req) { return ingest(req); });
  r.add("GET", "/v1/devices/{device_id}/telemetry", Access::any_member(),
        [this](http::Request& req) { return history(req); });
}

}  // namespace cellfleet::device
