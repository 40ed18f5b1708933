#include "alerts.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "core/http/etag.h"
#include "core/http/paging.h"
#include "core/json_input.h"
#include "core/timestamp.h"

namespace cellfleet::device {

namespace {

constexpr const char* kSettingsSk = "alert_settings";
constexpr const char* kStateSk = "alerts";
constexpr int kMaxAttempts = 5;  // optimistic-concurrency retries before giving up

std::string org_key(const std::string& org_id) {
  return "org#" + org_id;
}
std::string alerts_partition(const std::string& org_id) {
  return "org#" + org_id + "#alerts";
}
std::string open_alerts(const std::string& org_id) {
  return "org#" + org_id + "#alerts#open";
}
std::string device_alerts(const std::string& org_id, const std::string& device_id) {
  return "org#" + org_id + "#device#" + device_id + "#alerts";
}

nlohmann::json thresholds_json(const AlertThresholds& t) {
  auto value = [](const std::optional<std::int64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"over_temperature_c", value(t.over_temperature_c)},
          {"low_soh_percent", value(t.low_soh_percent)},
          {"low_voltage_percent", value(t.low_voltage_percent)},
          {"no_report_hours", value(t.no_report_hours)}};
}

nlohmann::json alert_view(const storage::Item& alert) {
  nlohmann::json view = alert;
  for (const char* hidden : {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "org_id"}) {
    view.erase(hidden);
  }
  // Measurements are stored as integers in small units (value_x / scale); shown as decimals.
  auto& detail = view["detail"];
  if (detail.contains("value_x")) {
    detail["value"] = static_cast<double>(detail["value_x"].get<std::int64_t>()) /
                      static_cast<double>(detail["scale"].get<std::int64_t>());
    detail.erase("value_x");
    detail.erase("scale");
  }
  return view;
}

// The condition's state for one reading: open, clear (past the hysteresis), or neither.
enum class Verdict { open, clear, unchanged };

Verdict judge_high(std::int64_t value, std::int64_t threshold, std::int64_t hysteresis) {
  if (value >= threshold) return Verdict::open;
  if (value <= threshold - hysteresis) return Verdict::clear;
  return Verdict::unchanged;
}

}  // namespace

AlertThresholds Alerts::thresholds(const std::string& org_id) const {
  AlertThresholds t;
  auto item = ctx_.store.get(kTable, {org_key(org_id), kSettingsSk});
  if (!item) return t;
  auto read = [&item](const char* name, std::optional<std::int64_t>& field) {
    if (!item->contains(name)) return;
    const auto& v = (*item)[name];
    field = v.is_null() ? std::nullopt : std::optional(v.get<std::int64_t>());
  };
  read("over_temperature_c", t.over_temperature_c);
  read("low_soh_percent", t.low_soh_percent);
  read("low_voltage_percent", t.low_voltage_percent);
  read("no_report_hours", t.no_report_hours);
  return t;
}

void Alerts::on_latest_reading(const std::string& org_id, const storage::Item& device,
                               const Reading& r, const AlertThresholds& t) {
  const std::string device_id = device.at("id");
  // The kinds open, as the pack cache has them, else as stored (and kept there). apply() reads
  // the state again before it writes, so a stale "open" costs a read, never a wrong write.
  const auto now = std::chrono::steady_clock::now();
  auto open = ctx_.packs.find_open_alerts(org_id, device_id, now);
  if (!open) {
    const auto generation = ctx_.packs.generation();
    auto state = ctx_.store.get(kTable, {keys::device(org_id, device_id), kStateSk});
    open.emplace();
    if (state && state->contains("open")) {
      for (const auto& [kind, alert_id] : state->at("open").items()) open->push_back(kind);
    }
    ctx_.packs.store_open_alerts(org_id, device_id, *open, generation, now);
  }
  auto is_open = [&open](const std::string& kind) {
    return std::find(open->begin(), open->end(), kind) != open->end();
  };
  auto decide = [&](const std::string& kind, Verdict verdict, const nlohmann::json& detail) {
    if (verdict == Verdict::open && !is_open(kind)) apply(org_id, device_id, kind, true, detail);
    if (verdict == Verdict::clear && is_open(kind)) apply(org_id, device_id, kind, false, detail);
  };
  const nlohmann::json at = {{"reading_at", format_utc_ms(r.at_ms)}};

  if (t.over_temperature_c && r.temperature_dc) {
    decide("over_temperature", judge_high(*r.temperature_dc, *t.over_temperature_c * 10, 20),
           {{"value_x", *r.temperature_dc},
            {"scale", 10},
            {"threshold", *t.over_temperature_c},
            {"reading_at", at["reading_at"]}});
  }
  if (t.low_soh_percent && r.soh_permille) {
    // Low is bad: judge the negated value against the negated threshold.
    decide("low_soh", judge_high(-*r.soh_permille, -*t.low_soh_percent * 10, 10),
           {{"value_x", *r.soh_permille},
            {"scale", 10},
            {"threshold", *t.low_soh_percent},
            {"reading_at", at["reading_at"]}});
  }
  const std::int64_t nominal = device.value("nominal_voltage_mv", std::int64_t{0});
  if (t.low_voltage_percent && r.voltage_mv && nominal > 0) {
    // In hundredths of nominal: voltage_mv * 100 vs nominal * percent.
    decide("low_voltage",
           judge_high(-*r.voltage_mv * 100, -nominal * *t.low_voltage_percent, nominal * 2),
           {{"value_x", *r.voltage_mv},
            {"scale", 1000},
            {"threshold", *t.low_voltage_percent},
            {"reading_at", at["reading_at"]}});
  }
  // Any fresh report ends a silence.
  if (is_open("no_report")) apply(org_id, device_id, "no_report", false, at);
}

void Alerts::apply(const std::string& org_id, const std::string& device_id, const std::string& kind,
                   bool should_be_open, const nlohmann::json& detail) {
  const storage::Key state_key{keys::device(org_id, device_id), kStateSk};
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto state = ctx_.store.get(kTable, state_key);
    nlohmann::json open =
        state ? state->value("open", nlohmann::json::object()) : nlohmann::json::object();
    if (open.contains(kind) == should_be_open) return;  // someone else did it
    const std::int64_t version = state ? state->value("version", std::int64_t{0}) : 0;
    const std::string now = format_utc(ctx_.clock.epoch_seconds());
    storage::WriteBatch batch;
    std::string alert_id;
    if (should_be_open) {
      alert_id = ctx_.ids.next("alr");
      open[kind] = alert_id;
      storage::Item alert = {{"pk", alerts_partition(org_id)},
                             {"sk", alert_id},
                             {"id", alert_id},
                             {"org_id", org_id},
                             {"device_id", device_id},
                             {"kind", kind},
                             {"status", "open"},
                             {"opened_at", now},
                             {"detail", detail},
                             {"version", 1},
                             {"gsi1pk", open_alerts(org_id)},
                             {"gsi1sk", alert_id},
                             {"gsi2pk", device_alerts(org_id, device_id)},
                             {"gsi2sk", alert_id}};
      batch.ops.push_back(storage::Put{kTable, alert, storage::Condition::must_not_exist()});
    } else {
      alert_id = open.at(kind);
      open.erase(kind);
      batch.ops.push_back(storage::Update{kTable,
                                          {alerts_partition(org_id), alert_id},
                                          {{"status", "resolved"}, {"resolved_at", now}},
                                          {"gsi1pk", "gsi1sk"},
                                          storage::Condition::must_exist()});
    }
    storage::Item new_state = {
        {"pk", state_key.pk}, {"sk", state_key.sk}, {"open", open}, {"version", version + 1}};
    batch.ops.push_back(storage::Put{
        kTable, new_state,
        state ? storage::Condition::version_is(version) : storage::Condition::must_not_exist()});
    ctx_.events.publish(batch, org_id,
                        should_be_open ? "device.alert_opened" : "device.alert_resolved", device_id,
                        {{"alert_id", alert_id}, {"kind", kind}, {"detail", detail}});
    ctx_.packs.forget_open_alerts(org_id, device_id);  // and again once committed
    try {
      ctx_.events.commit(batch);
      ctx_.packs.forget_open_alerts(org_id, device_id);
      return;
    } catch (const storage::ConditionFailed&) {
      // Another request changed this pack's alerts meanwhile: read again and decide again.
    } catch (...) {
      ctx_.packs.forget_open_alerts(org_id, device_id);  // the write may have landed
      throw;
    }
  }
  ctx_.log.warn("alert state kept changing; gave up this time",
                {{"org_id", org_id}, {"device_id", device_id}, {"kind", kind}});
}

void Alerts::check_silent_devices() {
  for (const auto& org : ctx_.organizations.organizations()) {
    if (org.status != "active") continue;
    check_org_silence(org.id);
  }
}

void Alerts::check_org_silence(const std::string& org_id) {
  const auto t = thresholds(org_id);
  if (!t.no_report_hours) return;
  const std::int64_t cutoff_ms = ctx_.clock.epoch_millis() - *t.no_report_hours * 3'600'000;
  storage::Query q;
  q.table = kTable;
  q.index = "gsi1";
  q.partition = keys::devices_by_last_seen(org_id);
  q.sort = storage::SortCondition{storage::SortCondition::Op::lt, keys::time_key(cutoff_ms), ""};
  q.limit = 500;
  do {
    auto page = ctx_.store.query(q);
    for (const auto& latest : page.items) {
      const std::string device_id = latest.at("device_id");
      auto state = ctx_.store.get(kTable, {keys::device(org_id, device_id), kStateSk});
      if (state && state->value("open", nlohmann::json::object()).contains("no_report")) continue;
      auto device = ctx_.find_device(org_id, device_id);
      if (!device || device->value("state", "") != "deployed") continue;
      apply(org_id, device_id, "no_report", true,
            {{"last_seen", format_utc_ms(latest.value("last_seen_ms", std::int64_t{0}))},
             {"threshold", *t.no_report_hours}});
    }
    q.cursor = page.next_cursor;
  } while (!q.cursor.empty());
}

http::Response Alerts::get_settings(http::Request& req) {
  return http::Response::json(200, thresholds_json(thresholds(req.caller().org_id)));
}

http::Response Alerts::put_settings(http::Request& req) {
  const auto& caller = req.caller();
  auto body = parse_json_object(req);
  JsonFields in(body);
  AlertThresholds t;
  auto read = [&](const char* name, std::int64_t min, std::int64_t max,
                  std::optional<std::int64_t>& field) {
    // PUT replaces all thresholds: each is required, and null switches that alert off.
    if (!body.contains(name)) in.error(name, "is required (null switches this alert off)");
    field = in.optional_int(name, min, max);
  };
  read("over_temperature_c", -40, 125, t.over_temperature_c);
  read("low_soh_percent", 1, 100, t.low_soh_percent);
  read("low_voltage_percent", 1, 100, t.low_voltage_percent);
  read("no_report_hours", 1, 24 * 30, t.no_report_hours);
  in.finish();
  nlohmann::json item = thresholds_json(t);
  item["pk"] = org_key(caller.org_id);
  item["sk"] = kSettingsSk;
  item["updated_at"] = format_utc(ctx_.clock.epoch_seconds());
  ctx_.store.write({{storage::Put{kTable, item, {}}}});
  return http::Response::json(200, thresholds_json(t));
}

http::Response Alerts::list(http::Request& req) {
  const auto& org_id = req.caller().org_id;
  auto status = req.query("status").value_or("all");
  auto device_id = req.query("device_id");
  auto kind = req.query("kind");
  std::vector<FieldError> errors;
  if (status != "open" && status != "resolved" && status != "all") {
    errors.push_back({"query.status", "must be open, resolved or all"});
  }
  if (kind && *kind != "over_temperature" && *kind != "low_soh" && *kind != "low_voltage" &&
      *kind != "no_report") {
    errors.push_back({"query.kind", "must be over_temperature, low_soh, low_voltage or no_report"});
  }
  if (!errors.empty()) throw validation_error(std::move(errors));

  storage::Query q;
  q.table = kTable;
  q.forward = false;  // newest first
  if (device_id) {
    q.index = "gsi2";
    q.partition = device_alerts(org_id, *device_id);
  } else if (status == "open") {
    q.index = "gsi1";
    q.partition = open_alerts(org_id);
  } else {
    q.partition = alerts_partition(org_id);
  }
  // The index picks the alerts; status and kind are applied to the page, so a filtered page may
  // be short and still have a next_cursor.
  auto page = http::query_page(ctx_.store, q, http::page_request(req));
  auto items = nlohmann::json::array();
  for (const auto& alert : page.items) {
    if (status != "all" && alert.value("status", "") != status) continue;
    if (kind && alert.value("kind", "") != *kind) continue;
    items.push_back(alert_view(alert));
  }
  return http::page_response(std::move(items), page.next_cursor);
}

http::Response Alerts::acknowledge(http::Request& req) {
  const auto& caller = req.caller();
  const std::string alert_id = req.param("alert_id");
  auto alert = ctx_.store.get(kTable, {alerts_partition(caller.org_id), alert_id});
  if (!alert) throw Error(ErrorKind::not_found, "no alert " + alert_id);
  if (alert->contains("acknowledged")) return http::Response::json(200, alert_view(*alert));
  const std::int64_t version = alert->value("version", std::int64_t{1});
  nlohmann::json ack = {{"by", caller.actor()}, {"at", format_utc(ctx_.clock.epoch_seconds())}};
  try {
    ctx_.store.write({{storage::Update{kTable,
                                       {alerts_partition(caller.org_id), alert_id},
                                       {{"acknowledged", ack}, {"version", version + 1}},
                                       {},
                                       storage::Condition::version_is(version)}}});
  } catch (const storage::ConditionFailed&) {
    throw Error(ErrorKind::conflict, "the alert changed meanwhile; read it again and retry");
  }
  (*alert)["acknowledged"] = ack;
  (*alert)["version"] = version + 1;
  return http::Response::json(200, alert_view(*alert));
}

void Alerts::register_routes(http::Router& r) {
  auto bind = [this](auto method) { return http::member_handler(this, method); };
  r.add("GET", "/v1/alert-settings", Access::any_member(), bind(&Alerts::get_settings));
  r.add("PUT", "/v1/alert-settings", Access::members({Role::owner, Role::admin}),
        bind(&Alerts::put_settings));
  r.add("GET", "/v1/alerts", Access::any_member(), bind(&Alerts::list));
  r.add("POST", "/v1/alerts/{alert_id}/acknowledge",
        Access::members({Role::owner, Role::admin, Role::operator_}), bind(&Alerts::acknowledge));
}

}  // namespace cellfleet::device
