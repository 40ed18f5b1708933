// The fleet dashboard (GET /v1/insights/fleet), end to end on both backends: its figures by
// state, depot, presence, confirmed lock, open alerts and health by model against a hand-checked
// fixture, and against `cellfleet insights rebuild` (which recomputes them from the packs' own
// items) after a random scenario.
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include "support/api.h"
#include "support/http_client.h"
#include "support/server_process.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr std::int64_t kOnlineMinutes = 30;

std::map<std::string, std::string> fleet_env(Backend backend) {
  auto env = backend_env(backend);
  env["CELLFLEET_TESTING_CLOCK"] = "adjustable";
  env["CELLFLEET_DEVICES_CHECK_INTERVAL_SECONDS"] = "1";
  env["CELLFLEET_INSIGHTS_ONLINE_MINUTES"] = std::to_string(kOnlineMinutes);
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  return env;
}

std::int64_t parse_seconds(const std::string& rfc3339) {
  std::tm tm{};
  REQUIRE(strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) != nullptr);
  return static_cast<std::int64_t>(timegm(&tm));
}

// An organization's fleet work against a server with the adjustable clock.
struct Fleet {
  Api api;
  TestOrg org;
  std::string key;

  json get(const std::string& path) const {
    auto res = api.call("GET", path, key);
    INFO(path << " " << res.body);
    REQUIRE(res.status == 200);
    return res.json();
  }
  json dashboard() const {
    auto d = get("/v1/insights/fleet");
    d.erase("as_of");
    return d;
  }
  // The server's clock, epoch ms (to the second, never ahead of it).
  std::int64_t now_ms() const { return parse_seconds(get("/v1/insights/fleet").at("as_of")) * 1000; }
  void advance(std::int64_t seconds) const {
    auto res = api.call("POST", "/v1/testing/clock", kPlatformToken,
                        json{{"advance_seconds", seconds}}.dump());
    INFO(res.body);
    REQUIRE(res.status == 200);
  }
  std::string pack(const std::string& serial, const json& extra) const {
    json fields = extra;
    fields["state"] = "in_stock";
    return create_pack(api, key, pack_fields(serial, fields));
  }
  HttpResponse transition(const std::string& id, const std::string& to) const {
    json body = {{"to", to}, {"reason", "scenario"}};
    if (to == "deployed") body["contract_id"] = "con_01JD3K6W7M8N9P0Q1R2S3T4V5W";
    return api.call("POST", "/v1/devices/" + id + "/transitions", key, body.dump());
  }
  HttpResponse report(const std::string& id, std::int64_t at_ms, json fields) const {
    fields["device_id"] = id;
    fields["at"] = rfc3339_ms(at_ms);
    return api.call("POST", "/v1/telemetry", key, json{{"readings", {fields}}}.dump());
  }
  // Queues command for the pack, has the pack fetch it and acknowledge it with result.
  void command(const std::string& id, const std::string& credential, const std::string& command,
               const std::string& result = "ok") const {
    static int next = 0;
    auto queued = api.call("POST", "/v1/devices/" + id + "/commands", key,
                           json{{"command", command}, {"reason", "scenario"}}.dump(),
                           {{"Idempotency-Key", "fleet-" + std::to_string(++next)}});
    INFO(queued.body);
    if (queued.status != 201) return;  // e.g. a lock after a permanent unlock
    auto fetched = api.call("GET", "/v1/device/commands?wait=0", credential);
    if (fetched.status != 200) return;  // a retired pack's credential went with it
    const json items = fetched.json().at("items");
    CHECK(items.size() == 1);
    for (const auto& c : items) {
      auto acked = api.call("POST", "/v1/device/commands/" + c.at("id").get<std::string>() + "/ack",
                            credential, json{{"result", result}}.dump());
      INFO(acked.body);
      CHECK(acked.status == 200);
    }
  }
  // Polls the dashboard until pred holds (up to 60 s).
  template <typename Pred>
  json when(Pred pred) const {
    json d;
    for (int i = 0; i < 600; ++i) {
      d = dashboard();
      if (pred(d)) return d;
      std::this_thread::sleep_for(100ms);
    }
    INFO(d.dump());
    FAIL("the fleet dashboard never reached the expected state");
    return d;
  }
  // Waits until the dashboard stops changing (dispatcher and checks idle).
  json settled() const {
    json last = dashboard();
    for (int i = 0; i < 60; ++i) {
      std::this_thread::sleep_for(2s);
      json now = dashboard();
      if (now == last) return now;
      last = std::move(now);
    }
    FAIL("the fleet dashboard never settled");
    return last;
  }
};

Fleet open_fleet(const ServerProcess& server, const std::string& slug) {
  Api api{server.port()};
  auto org = create_test_org(api, slug);
  return Fleet{api, org, org.owner_key};
}

}  // namespace

TEST_CASE("the fleet dashboard counts depots, presence, locks, alerts and health by model",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  ServerProcess server({}, fleet_env(backend));
  auto fleet = open_fleet(server, "fleet-fixture");
  auto other = open_fleet(server, "fleet-other");

  // A and B: model M1 at the Nairobi depot; C: M2 with no depot; D: M2 at Kisumu, retired.
  const auto a = fleet.pack("FX-A", {{"model", "M1"}, {"depot", "Nairobi"}});
  const auto b = fleet.pack("FX-B", {{"model", "M1"}, {"depot", "Nairobi"}});
  const auto c = fleet.pack("FX-C", {{"model", "M2"}});
  const auto d = fleet.pack("FX-D", {{"model", "M2"}, {"depot", "Kisumu"}});
  REQUIRE(fleet.transition(d, "retired").status == 200);
  // B moves to Mombasa.
  REQUIRE(fleet.api
              .call("PATCH", "/v1/devices/" + b, fleet.key, json{{"depot", "Mombasa"}}.dump())
              .status == 200);
  const std::int64_t now = fleet.now_ms();
  // A: 95.5 % health (95 whole) and 70 °C (over the 60 °C threshold); B: 88 %; C reported 40
  // minutes ago (offline from its first report), 80 %.
  REQUIRE(fleet.report(a, now - 1000, {{"soh", 95.5}, {"temperature", 70}}).status == 200);
  REQUIRE(fleet.report(b, now - 2000, {{"soh", 88}}).status == 200);
  REQUIRE(fleet.report(c, now - 40 * 60'000, {{"soh", 80}}).status == 200);
  // A confirms a lock; B is sent an unlock it fails: never confirmed.
  fleet.command(a, issue_credential(fleet.api, fleet.key, a), "lock");
  fleet.command(b, issue_credential(fleet.api, fleet.key, b), "unlock", "failed");

  auto dash = fleet.when([](const json& j) {
    return j.at("lock").at("locked") == 1 && j.at("open_alerts").at("over_temperature") == 1 &&
           j.at("presence").at("offline") == 1 && j.value("by_depot", json()).contains("Mombasa") &&
           j.at("by_state").at("retired") == 1;
  });
  // The condition names some of the facts; the packs' other events (online, health) travel on
  // other outbox shards, delivered by other threads, and may still be on their way.
  dash = fleet.settled();
  INFO(dash.dump());
  CHECK(dash.at("total") == 4);
  CHECK(dash.at("by_state").at("in_stock") == 3);
  CHECK(dash.at("by_depot") == json{{"Nairobi", 1}, {"Mombasa", 1}});
  CHECK(dash.at("no_depot") == 1);
  CHECK(dash.at("presence") == json{{"online", 2}, {"offline", 1}, {"never_reported", 0}});
  CHECK(dash.at("lock") == json{{"locked", 1},
                                {"unlocked", 0},
                                {"permanently_unlocked", 0},
                                {"never_confirmed", 2}});
  CHECK(dash.at("open_alerts") ==
        json{{"over_temperature", 1}, {"low_soh", 0}, {"low_voltage", 0}, {"no_report", 0}});
  CHECK(dash.at("soh_by_model") == json{{"M1", {{"avg", 91}, {"sum", 183}, {"count", 2}}},
                                        {"M2", {{"avg", 80}, {"sum", 80}, {"count", 1}}}});

  // A cools down and its health drops to 90 %; A is unlocked; C's model becomes M1.
  REQUIRE(fleet.report(a, now, {{"soh", 90}, {"temperature", 30}}).status == 200);
  fleet.command(a, issue_credential(fleet.api, fleet.key, a), "unlock");
  REQUIRE(fleet.api.call("PATCH", "/v1/devices/" + c, fleet.key, json{{"model", "M1"}}.dump())
              .status == 200);
  dash = fleet.when([](const json& j) {
    return j.at("lock").at("unlocked") == 1 && j.at("open_alerts").at("over_temperature") == 0 &&
           j.at("soh_by_model").size() == 1;
  });
  CHECK(dash.at("soh_by_model") == json{{"M1", {{"avg", 86}, {"sum", 258}, {"count", 3}}}});
  CHECK(dash.at("lock").at("locked") == 0);

  // Time passes with no report: the scheduled check turns A and B offline.
  fleet.advance((kOnlineMinutes + 1) * 60);
  dash = fleet.when([](const json& j) { return j.at("presence").at("online") == 0; });
  CHECK(dash.at("presence") == json{{"online", 0}, {"offline", 3}, {"never_reported", 0}});
  // A reports again: online.
  REQUIRE(fleet.report(a, fleet.now_ms(), {{"soc", 50}}).status == 200);
  dash = fleet.when([](const json& j) { return j.at("presence").at("online") == 1; });
  CHECK(dash.at("presence").at("offline") == 2);
  CHECK(dash.at("soh_by_model").at("M1").at("sum") == 258);  // a reading without health keeps it

  // Another organization sees none of it.
  const auto theirs = other.dashboard();
  CHECK(theirs.at("total") == 0);
  CHECK(theirs.at("by_depot").empty());
  CHECK(theirs.at("soh_by_model").empty());
}

TEST_CASE("the incremental fleet dashboard equals the one rebuilt from the packs' items",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  const auto env = fleet_env(backend);
  ServerProcess server({}, env);
  auto fleet = open_fleet(server, "fleet-rebuild");

  std::mt19937 random(20261126);
  auto pick = [&random](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  const std::vector<std::string> models = {"M1", "M2", "M3"};
  const std::vector<std::string> depots = {"", "Nairobi", "Kisumu", "Mombasa"};
  struct Pack {
    std::string id;
    std::string credential;
  };
  std::vector<Pack> packs;
  int serial = 0;
  std::int64_t now = fleet.now_ms();
  for (int step = 0; step < 90; ++step) {
    const auto action = pick(14);
    if (action < 2 || packs.size() < 3) {
      json extra = {{"model", models[pick(models.size())]}};
      const auto& depot = depots[pick(depots.size())];
      if (!depot.empty()) extra["depot"] = depot;
      const auto id = fleet.pack("RF-" + std::to_string(++serial), extra);
      packs.push_back({id, issue_credential(fleet.api, fleet.key, id)});
      continue;
    }
    const auto& pack = packs[pick(packs.size())];
    if (action < 4) {
      const std::vector<std::string> states = {"in_stock", "deployed",    "returned",
                                               "maintenance", "retired"};
      fleet.transition(pack.id, states[pick(pick(6) == 0 ? 5 : 4)]);  // retire rarely
    } else if (action == 4) {
      fleet.api.call("PATCH", "/v1/devices/" + pack.id, fleet.key,
                     json{{"depot", depots[pick(depots.size())]}}.dump());
    } else if (action == 5) {
      fleet.api.call("PATCH", "/v1/devices/" + pack.id, fleet.key,
                     json{{"model", models[pick(models.size())]}}.dump());
    } else if (action < 10) {
      // Fresh or late readings, with or without health, hot or cool, low voltage or not.
      json fields = {{"soc", 50}};
      if (pick(3) != 0) fields["soh"] = 60 + static_cast<int>(pick(40));
      if (pick(3) == 0) fields["temperature"] = pick(2) == 0 ? 75 : 25;
      if (pick(4) == 0) fields["voltage"] = pick(2) == 0 ? 30 : 50;
      const std::int64_t age_ms = pick(4) == 0
                                      ? (kOnlineMinutes + 5 + static_cast<std::int64_t>(pick(30))) *
                                            60'000
                                      : static_cast<std::int64_t>(pick(120)) * 1000;
      fleet.report(pack.id, now - age_ms, fields);
    } else if (action < 12) {
      const std::vector<std::string> commands = {"lock", "unlock", "lock", "unlock",
                                                 "permanent_unlock"};
      fleet.command(pack.id, pack.credential, commands[pick(pick(8) == 0 ? 5 : 4)],
                    pick(5) == 0 ? "failed" : "ok");
    } else {
      // Minutes pass (packs go offline); now and then more than a day (no-report alerts).
      fleet.advance(pick(6) == 0 ? 25 * 3600 : static_cast<std::int64_t>(5 + pick(40)) * 60);
      std::this_thread::sleep_for(1200ms);  // a check at the new time
      now = fleet.now_ms();
    }
  }

  const json incremental = fleet.settled();
  INFO(incremental.dump());
  CHECK(incremental.at("total") == packs.size());
  const auto& presence = incremental.at("presence");
  CHECK(presence.at("online").get<std::int64_t>() + presence.at("offline").get<std::int64_t>() +
            presence.at("never_reported").get<std::int64_t>() ==
        incremental.at("total").get<std::int64_t>() -
            incremental.at("by_state").at("retired").get<std::int64_t>());

  auto [status, out] =
      run_cellfleet({"insights", "rebuild", "--data-dir", server.data_dir().string()}, env);
  INFO(out);
  REQUIRE(status == 0);
  CHECK(out.find(fleet.org.id + ": fleet generation 1: " + std::to_string(packs.size()) +
                 " packs read") != std::string::npos);
  const json rebuilt = fleet.dashboard();
  CHECK(rebuilt == incremental);

  // The live subscriber carries on in the new generation: time passes, every pack goes offline.
  fleet.advance((kOnlineMinutes + 1) * 60);
  const auto later = fleet.when([](const json& j) { return j.at("presence").at("online") == 0; });
  CHECK(later.at("presence").at("offline") ==
        presence.at("online").get<std::int64_t>() + presence.at("offline").get<std::int64_t>());
}
