// Threshold alerts over HTTP on both backends: episodes, hysteresis, acknowledgement, the
// scheduled no-report check, and settings.
#include <catch2/catch.hpp>
#include <thread>

#include "support/api.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

std::string iso(std::chrono::system_clock::time_point t) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::time_t tt = static_cast<std::time_t>(seconds);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

struct Fleet {
  Api api;
  TestOrg org;
  std::string key;

  std::string pack(const std::string& serial, bool deployed = false) {
    std::string id = create_pack(api, key, pack_fields(serial, {{"state", "in_stock"}}));
    if (deployed) {
      REQUIRE(api.call("POST", "/v1/devices/" + id + "/transitions", key,
                       json{{"to", "deployed"},
                            {"reason", "rented out"},
                            {"contract_id", "con_01JD3K6W7M8N9P0Q1R2S3T4V5W"}}
                           .dump())
                  .status == 200);
    }
    return id;
  }

  void report(const std::string& id, std::chrono::system_clock::time_point at, json fields) {
    fields["device_id"] = id;
    fields["at"] = iso(at);
    auto res = api.call("POST", "/v1/telemetry", key, json{{"readings", {fields}}}.dump());
    INFO(res.body);
    REQUIRE(res.status == 200);
  }

  json alerts(const std::string& query) {
    auto res = api.call("GET", "/v1/alerts?" + query, key);
    REQUIRE(res.status == 200);
    return res.json()["items"];
  }

  std::size_t events(const std::string& type) {
    auto res = api.call("GET", "/v1/events?limit=200&type=" + type, org.owner_key);
    REQUIRE(res.status == 200);
    return res.json()["items"].size();
  }
};

}  // namespace

TEST_CASE(
    "an alert opens once per episode, is acknowledged, and resolves when the condition clears",
    "[integration][alerts]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Fleet f{Api{server.port()}, {}, {}};
  f.org = create_test_org(f.api, "alerting");
  f.key = f.org.role_keys.at("operator");
  auto id = f.pack("AL-1");
  auto now = std::chrono::system_clock::now();
  auto t = now - 10min;

  f.report(id, t += 1s, {{"temperature", 45.0}});
  CHECK(f.alerts("status=open").empty());
  f.report(id, t += 1s, {{"temperature", 65.5}});  // over 60 °C: opens
  f.report(id, t += 1s, {{"temperature", 66.0}});  // same episode
  f.report(id, t += 1s, {{"temperature", 59.0}});  // within the 2 °C hysteresis: still open
  auto open = f.alerts("status=open");
  REQUIRE(open.size() == 1);
  CHECK(open[0]["kind"] == "over_temperature");
  CHECK(open[0]["device_id"] == id);
  CHECK(open[0]["detail"]["value"] == 65.5);

  // A late, older reading says nothing about now.
  f.report(id, now - 30min, {{"temperature", 20.0}});
  CHECK(f.alerts("status=open").size() == 1);

  const std::string alert_id = open[0]["id"];
  auto ack = f.api.call("POST", "/v1/alerts/" + alert_id + "/acknowledge", f.key);
  REQUIRE(ack.status == 200);
  CHECK(ack.json()["acknowledged"]["by"].get<std::string>().rfind("key_", 0) == 0);
  CHECK(f.api.call("POST", "/v1/alerts/" + alert_id + "/acknowledge", f.org.role_keys.at("viewer"))
            .status == 403);

  f.report(id, t += 1s, {{"temperature", 57.5}});  // cleared: resolves
  CHECK(f.alerts("status=open").empty());
  auto resolved = f.alerts("status=resolved");
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0]["id"] == alert_id);
  CHECK(resolved[0].contains("resolved_at"));

  f.report(id, t += 1s, {{"temperature", 70.0}});  // a new episode
  CHECK(f.alerts("status=open").size() == 1);
  CHECK(f.events("device.alert_opened") == 2);
  CHECK(f.events("device.alert_resolved") == 1);

  // Low health and low voltage (80 % of the 48 V nominal is 38.4 V) in one reading.
  f.report(id, t += 1s, {{"soh", 65.0}, {"voltage", 38.0}, {"temperature", 70.0}});
  CHECK(f.alerts("status=open").size() == 3);
  CHECK(f.alerts("status=open&kind=low_voltage").size() == 1);
  CHECK(f.alerts("device_id=" + id).size() == 4);
  f.report(id, t += 1s, {{"soh", 66.0}, {"voltage", 40.0}, {"temperature", 20.0}});
  // Health 66 % is still under 70 % (it clears from 71 %); 40 V is back over 80 % + 2 % of 48 V.
  auto still = f.alerts("status=open");
  REQUIRE(still.size() == 1);
  CHECK(still[0]["kind"] == "low_soh");

  CHECK(f.api.call("GET", "/v1/alerts?status=closed", f.key).status == 400);
  CHECK(f.api.call("POST", "/v1/alerts/alr_01JD3K6W7M8N9P0Q1R2S3T4V5W/acknowledge", f.key).status ==
        404);
}

TEST_CASE("a deployed pack that stops reporting gets one no-report alert, ended by its next report",
          "[integration][alerts]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend, {{"CELLFLEET_DEVICES_CHECK_INTERVAL_SECONDS", "1"}});
  Fleet f{Api{server.port()}, {}, {}};
  f.org = create_test_org(f.api, "silence");
  f.key = f.org.role_keys.at("operator");
  REQUIRE(f.api
              .call("PUT", "/v1/alert-settings", f.org.owner_key,
                    json{{"over_temperature_c", 60},
                         {"low_soh_percent", nullptr},
                         {"low_voltage_percent", 80},
                         {"no_report_hours", 1}}
                        .dump())
              .status == 200);
  auto now = std::chrono::system_clock::now();
  auto silent = f.pack("NR-1", true);
  auto shelved = f.pack("NR-2", false);  // in stock: silence is expected
  auto chatty = f.pack("NR-3", true);
  f.report(silent, now - 2h, {{"soc", 50.0}});
  f.report(shelved, now - 2h, {{"soc", 50.0}});
  f.report(chatty, now - 1min, {{"soc", 50.0}, {"soh", 10.0}});  // low SoH is switched off

  json open;
  for (int i = 0; i < 300 && open.empty(); ++i) {  // up to 30 s: a slow (ASan) build
    std::this_thread::sleep_for(100ms);
    open = f.alerts("status=open");
  }
  REQUIRE(open.size() == 1);
  CHECK(open[0]["kind"] == "no_report");
  CHECK(open[0]["device_id"] == silent);
  std::this_thread::sleep_for(2500ms);  // two more checks: still one alert
  CHECK(f.alerts("status=open").size() == 1);

  f.report(silent, std::chrono::system_clock::now(), {{"soc", 40.0}});
  CHECK(f.alerts("status=open").empty());
  CHECK(f.alerts("status=resolved").size() == 1);
}

TEST_CASE("alert settings are validated, replace the defaults, and belong to one organization",
          "[integration][alerts]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto a = create_test_org(api, "settings-a");
  auto b = create_test_org(api, "settings-b");
  auto defaults = api.call("GET", "/v1/alert-settings", a.role_keys.at("viewer"));
  REQUIRE(defaults.status == 200);
  CHECK(defaults.json() == json{{"over_temperature_c", 60},
                                {"low_soh_percent", 70},
                                {"low_voltage_percent", 80},
                                {"no_report_hours", 24}});
  auto bad = api.call("PUT", "/v1/alert-settings", a.owner_key,
                      json{{"over_temperature_c", 500}, {"low_soh_percent", "x"}}.dump());
  CHECK(bad.status == 400);
  CHECK(bad.json()["errors"].size() == 4);  // range, type, and two missing
  CHECK(api.call("PUT", "/v1/alert-settings", a.role_keys.at("operator"),
                 json{{"over_temperature_c", 50},
                      {"low_soh_percent", 60},
                      {"low_voltage_percent", 75},
                      {"no_report_hours", 6}}
                     .dump())
            .status == 403);
  auto put = api.call("PUT", "/v1/alert-settings", a.owner_key,
                      json{{"over_temperature_c", 50},
                           {"low_soh_percent", 60},
                           {"low_voltage_percent", nullptr},
                           {"no_report_hours", 6}}
                          .dump());
  REQUIRE(put.status == 200);
  CHECK(api.call("GET", "/v1/alert-settings", a.owner_key).json()["low_voltage_percent"].is_null());
  CHECK(api.call("GET", "/v1/alert-settings", b.owner_key).json() == defaults.json());
}
