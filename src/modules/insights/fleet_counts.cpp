#include "fleet_counts.h"

#include <fmt/format.h>

#include "core/events/outbox.h"

namespace cellfleet::insights {

namespace {
const char* kTable = "entities";

std::string org_prefix(const std::string& org_id) {
  return "org#" + org_id + "#insights#fleet";
}

// obj[key] += by, the key dropped when it reaches 0 (so incremental and rebuilt counts hold the
// same keys).
void bump(nlohmann::json& obj, const std::string& key, std::int64_t by) {
  if (!obj.is_object()) obj = nlohmann::json::object();
  const std::int64_t v = obj.value(key, std::int64_t{0}) + by;
  if (v == 0) {
    obj.erase(key);
  } else {
    obj[key] = v;
  }
}

// The snapshot after event, from the one before (null: none).
nlohmann::json apply_event(const events::Event& event, nlohmann::json snap) {
  const auto& d = event.data;
  const std::string& type = event.type;
  if (type == "device.registered") {
    snap = {{"state", d.at("state")}, {"model", d.value("model", "")}};
    if (!d.value("depot", "").empty()) snap["depot"] = d.at("depot");
    return snap;
  }
  if (type == "device.registration_reverted") return nullptr;
  if (!snap.is_object()) snap = nlohmann::json::object();
  if (type == "device.state_changed") {
    snap["state"] = d.at("to");
  } else if (type == "device.updated") {
    if (d.contains("depot")) {
      if (d.at("depot").get<std::string>().empty()) {
        snap.erase("depot");
      } else {
        snap["depot"] = d.at("depot");
      }
    }
    if (d.contains("model")) snap["model"] = d.at("model");
  } else if (type == "device.alert_opened") {
    snap["alerts"][d.at("kind").get<std::string>()] = d.at("alert_id");
  } else if (type == "device.alert_resolved") {
    if (snap.contains("alerts")) snap["alerts"].erase(d.at("kind").get<std::string>());
  } else if (type == "device.locked") {
    snap["lock"] = "locked";
  } else if (type == "device.unlocked") {
    snap["lock"] = "unlocked";
  } else if (type == "device.permanently_unlocked") {
    snap["lock"] = "permanently_unlocked";
  } else if (type == "device.soh_changed") {
    snap["soh"] = d.at("to");
  } else if (type == "device.online") {
    snap["online"] = true;
  } else if (type == "device.offline") {
    snap["online"] = false;
  }
  if (snap.contains("alerts") && snap["alerts"].empty()) snap.erase("alerts");
  return snap;
}

}  // namespace

const std::vector<std::string>& fleet_event_types() {
  static const std::vector<std::string> types = {
      "device.registered",    "device.registration_reverted", "device.state_changed",
      "device.updated",       "device.alert_opened",          "device.alert_resolved",
      "device.locked",        "device.unlocked",              "device.permanently_unlocked",
      "device.soh_changed",   "device.online",                "device.offline"};
  return types;
}

storage::Key fleet_generation_key(const std::string& org_id) {
  return {org_prefix(org_id) + "#generation", ""};
}

storage::Key FleetKeys::pack(const std::string& device_id) const {
  return {org_prefix(org_id) + "#pack#" + device_id, fmt::format("g{}", generation)};
}

storage::Key FleetKeys::shard(std::size_t shard) const {
  return {counts_partition(), fmt::format("g{}#shard#{:02}", generation, shard)};
}

std::string FleetKeys::counts_partition() const {
  return org_prefix(org_id);
}

std::string FleetKeys::gen_prefix() const {
  return fmt::format("g{}#", generation);
}

nlohmann::json fleet_snapshot(const contracts::PackFacts& facts) {
  nlohmann::json snap = {{"state", facts.state}, {"model", facts.model}};
  if (!facts.depot.empty()) snap["depot"] = facts.depot;
  if (facts.lock) snap["lock"] = *facts.lock;
  if (facts.soh_pct) snap["soh"] = *facts.soh_pct;
  if (facts.online) snap["online"] = *facts.online;
  for (const auto& [kind, id] : facts.open_alerts) snap["alerts"][kind] = id;
  return snap;
}

void add_contribution(nlohmann::json& counts, const nlohmann::json& snap, std::int64_t sign) {
  // A snapshot without a state is of a pack registered before these counts existed: it counts
  // once a rebuild has made its snapshot.
  if (!snap.is_object() || !snap.contains("state")) return;
  const std::string state = snap.at("state");
  bump(counts["by_state"], state, sign);
  const auto alerts = snap.value("alerts", nlohmann::json::object());
  for (const auto& [kind, id] : alerts.items()) {
    bump(counts["alerts"], kind, sign);
  }
  if (state == "retired") return;
  if (snap.contains("depot")) {
    bump(counts["by_depot"], snap.at("depot"), sign);
  } else {
    bump(counts, "no_depot", sign);
  }
  bump(counts["lock"], snap.value("lock", "never_confirmed"), sign);
  bump(counts["presence"],
       !snap.contains("online") ? "never_reported"
       : snap.at("online").get<bool>() ? "online"
                                       : "offline",
       sign);
  if (snap.contains("soh")) {
    auto& model = counts["soh_by_model"][snap.value("model", "")];
    bump(model, "sum", sign * snap.at("soh").get<std::int64_t>());
    bump(model, "count", sign);
    if (!model.contains("count")) counts["soh_by_model"].erase(snap.value("model", ""));
  }
}

void count_fleet_event(storage::Store& store, const events::Event& event,
                       storage::WriteBatch& effects) {
  const auto generation_item = store.get(kTable, fleet_generation_key(event.org_id));
  const FleetKeys keys{event.org_id,
                       generation_item ? generation_item->value("generation", std::int64_t{0}) : 0};
  const auto pack_key = keys.pack(event.subject);
  const auto pack = store.get(kTable, pack_key);
  const nlohmann::json old_snap = pack ? pack->value("snapshot", nlohmann::json()) : nlohmann::json(nullptr);
  const nlohmann::json new_snap = apply_event(event, old_snap);
  if (new_snap == old_snap) return;  // e.g. a lock confirmed again: nothing moves

  const auto shard_key = keys.shard(events::outbox_shard(event.org_id, event.subject));
  const auto shard = store.get(kTable, shard_key);
  nlohmann::json counts =
      shard ? shard->value("counts", nlohmann::json::object()) : nlohmann::json::object();
  add_contribution(counts, old_snap, -1);
  add_contribution(counts, new_snap, +1);

  auto put = [&effects](const storage::Key& key, const char* name, nlohmann::json value,
                        const std::optional<storage::Item>& read) {
    const std::int64_t version = read ? read->value("version", std::int64_t{0}) : 0;
    effects.ops.push_back(storage::Put{
        kTable,
        {{"pk", key.pk}, {"sk", key.sk}, {name, std::move(value)}, {"version", version + 1}},
        read ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
  };
  put(shard_key, "counts", std::move(counts), shard);
  if (new_snap.is_null()) {
    effects.ops.push_back(storage::Delete{
        kTable, pack_key,
        storage::Condition::version_is(pack->value("version", std::int64_t{0}))});
  } else {
    put(pack_key, "snapshot", new_snap, pack);
  }
  // A rebuild switching generations meanwhile fails this batch; the retry lands in the new one.
  effects.ops.push_back(storage::Check{
      kTable, fleet_generation_key(event.org_id),
      generation_item ? storage::Condition::version_is(generation_item->value("version", 0))
                      : storage::Condition::must_not_exist()});
}

nlohmann::json read_fleet_counts(storage::Store& store, const std::string& org_id) {
  const auto generation_item = store.get(kTable, fleet_generation_key(org_id));
  const FleetKeys keys{org_id,
                       generation_item ? generation_item->value("generation", std::int64_t{0}) : 0};
  storage::Query q;
  q.table = kTable;
  q.partition = keys.counts_partition();
  q.sort = storage::SortCondition{storage::SortCondition::Op::begins_with, keys.gen_prefix(), ""};
  q.limit = events::kOutboxShards;
  auto page = store.query(q);

  nlohmann::json sum = nlohmann::json::object();
  auto add_all = [](nlohmann::json& into, const nlohmann::json& from) {
    for (const auto& [key, n] : from.items()) bump(into, key, n.get<std::int64_t>());
  };
  for (const auto& shard : page.items) {
    const auto counts = shard.value("counts", nlohmann::json::object());
    for (const char* group : {"by_state", "alerts", "by_depot", "lock", "presence"}) {
      add_all(sum[group], counts.value(group, nlohmann::json::object()));
    }
    bump(sum, "no_depot", counts.value("no_depot", std::int64_t{0}));
    const auto by_model = counts.value("soh_by_model", nlohmann::json::object());
    for (const auto& [model, figures] : by_model.items()) {
      add_all(sum["soh_by_model"][model], figures);
    }
  }

  auto zero_filled = [&sum, &add_all](const char* group, std::initializer_list<const char*> names) {
    nlohmann::json out = nlohmann::json::object();
    for (const char* name : names) out[name] = 0;
    add_all(out, sum.value(group, nlohmann::json::object()));
    return out;
  };
  nlohmann::json by_state = zero_filled(
      "by_state", {"registered", "in_stock", "deployed", "returned", "maintenance", "retired"});
  std::int64_t total = 0;
  for (const auto& [state, n] : by_state.items()) total += n.get<std::int64_t>();
  nlohmann::json soh = nlohmann::json::object();
  const auto by_model = sum.value("soh_by_model", nlohmann::json::object());
  for (const auto& [model, f] : by_model.items()) {
    const std::int64_t count = f.value("count", std::int64_t{0});
    if (count <= 0) continue;
    const std::int64_t total_soh = f.value("sum", std::int64_t{0});
    soh[model] = {{"avg", total_soh / count}, {"sum", total_soh}, {"count", count}};
  }
  return {{"total", total},
          {"by_state", by_state},
          {"by_depot", sum.value("by_depot", nlohmann::json::object())},
          {"no_depot", sum.value("no_depot", std::int64_t{0})},
          {"presence", zero_filled("presence", {"online", "offline", "never_reported"})},
          {"lock", zero_filled("lock", {"locked", "unlocked", "permanently_unlocked",
                                        "never_confirmed"})},
          {"open_alerts",
           zero_filled("alerts", {"over_temperature", "low_soh", "low_voltage", "no_report"})},
          {"soh_by_model", soh}};
}

}  // namespace cellfleet::insights
