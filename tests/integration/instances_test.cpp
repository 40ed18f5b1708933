// Several `cellfleet serve` processes on one DynamoDB: each event's effect is applied exactly
// once, even when one process is killed with events still to deliver.
#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <mutex>
#include <thread>

#include "support/api.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

json packs(const std::string& prefix, int count) {
  json rows = json::array();
  for (int i = 0; i < count; ++i) {
    rows.push_back(pack_fields(prefix + std::to_string(i)));
  }
  return rows;
}

}  // namespace

TEST_CASE("two servers on one DynamoDB apply 500 events exactly once though one is killed",
          "[integration][dynamodb][events]") {
  auto env = backend_env(Backend::dynamodb);
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  env["CELLFLEET_EVENTS_LEASE_MS"] = "2000";
  env["CELLFLEET_EVENTS_SWEEP_INTERVAL_MS"] = "200";
  ServerProcess first({}, env);
  auto second = std::make_unique<ServerProcess>(std::vector<std::string>{}, env);
  Api one{first.port()};
  Api two{second->port()};
  auto org = create_test_org(one, "instances");
  const auto& key = org.owner_key;

  // 400 registrations, half through each server, at the same time. (Each event goes to two
  // subscribers, the fleet counts and the money insights' utilisation; this scale is what a
  // sanitizer build on DynamoDB Local finishes well within the test timeout.)
  // (Catch's assertions are for the test's own thread: the other import only records.)
  HttpResponse from_one;
  HttpResponse from_two;
  std::string errors;
  std::mutex errors_mutex;
  auto import = [&](const Api& api, const std::string& prefix, HttpResponse& into) {
    try {
      into = api.call("POST", "/v1/devices:import", key, packs(prefix, 200).dump());
    } catch (const std::exception& e) {
      std::lock_guard lock(errors_mutex);
      errors += prefix + ": " + e.what() + "\n";
    }
  };
  std::thread a([&] { import(one, "A-", from_one); });
  std::thread b([&] { import(two, "B-", from_two); });
  a.join();
  b.join();
  INFO(errors << from_one.body.substr(0, 300) << "\n" << from_two.body.substr(0, 300));
  REQUIRE(from_one.status == 201);
  REQUIRE(from_two.status == 201);
  std::vector<std::string> ids;
  for (const auto& response : {from_one.json(), from_two.json()}) {
    for (const auto& d : response["devices"]) ids.push_back(d["id"]);
  }
  REQUIRE(ids.size() == 400);

  // 100 transitions, alternating servers; then the second server dies without a goodbye.
  for (int i = 0; i < 100; ++i) {
    const Api& api = i % 2 ? two : one;
    auto res = api.call("POST", "/v1/devices/" + ids[i * 3] + "/transitions", key,
                        json{{"to", "in_stock"}, {"reason", "received"}}.dump());
    REQUIRE(res.status == 200);
  }
  second->signal_and_wait(SIGKILL, 5s);
  second.reset();

  // The survivor takes the dead one's shards over when their leases expire and counts the rest.
  json fleet;
  const json expected = {{"registered", 300}, {"in_stock", 100},  {"deployed", 0},
                         {"returned", 0},     {"maintenance", 0}, {"retired", 0}};
  for (int i = 0; i < 600; ++i) {
    fleet = one.call("GET", "/v1/insights/fleet", key).json();
    if (fleet["by_state"] == expected) break;
    std::this_thread::sleep_for(200ms);
  }
  INFO(fleet.dump());
  CHECK(fleet["by_state"] == expected);
  CHECK(fleet["total"] == 400);
  // Nothing arrives twice later, and nothing was given up on.
  std::this_thread::sleep_for(3s);
  CHECK(one.call("GET", "/v1/insights/fleet", key).json()["by_state"] == expected);
  auto dead = one.call("GET", "/v1/admin/dead-letters", kPlatformToken);
  REQUIRE(dead.status == 200);
  CHECK(dead.json()["items"].empty());
}

TEST_CASE(
    "two servers on one DynamoDB take a pack's readings in turn, and its latest state is the "
    "newest",
    "[integration][dynamodb][telemetry]") {
  // Each server remembers what it last wrote of the pack's latest state (latest_memory.h); the
  // other server's writes make that stale, and a stale memory must cost a read, never a wrong
  // state or a lost event.
  auto env = backend_env(Backend::dynamodb);
  env["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  ServerProcess first({}, env);
  ServerProcess second({}, env);
  Api one{first.port()};
  Api two{second.port()};
  auto org = create_test_org(one, "turns");
  const auto& key = org.owner_key;
  const auto id = create_pack(one, key, pack_fields("TURN-1"));
  const std::int64_t t0 = now_ms() - 60'000;
  auto post = [&](const Api& api, std::int64_t at, int soh) {
    const json body = {
        {"readings",
         json::array({{{"device_id", id}, {"at", rfc3339_ms(at)}, {"soc", 50}, {"soh", soh}}})}};
    auto res = api.call("POST", "/v1/telemetry", key, body.dump());
    INFO(res.body);
    REQUIRE(res.status == 200);
  };
  auto last_seen = [&](const Api& api) {
    auto res = api.call("GET", "/v1/devices/" + id, key);
    REQUIRE(res.status == 200);
    return res.json()["latest"]["last_seen"].get<std::string>();
  };

  post(one, t0, 90);         // one remembers version 1
  post(two, t0 + 1000, 90);  // two reads it, writes version 2
  post(one, t0 + 2000, 89);  // one's memory is stale: its write fails, it reads and writes again
  CHECK(last_seen(two) == rfc3339_ms(t0 + 2000));
  post(two, t0 + 1500, 80);  // older than the stored reading: no change, wherever it lands
  post(one, t0 + 500, 70);
  CHECK(last_seen(one) == rfc3339_ms(t0 + 2000));
  post(two, t0 + 3000, 89);  // two's memory (version 2) is stale too
  CHECK(last_seen(one) == rfc3339_ms(t0 + 3000));

  // Every change of health is one event, in order, from whichever server saw it: 90 then 89.
  auto events = one.call("GET", "/v1/events?limit=100&type=device.soh_changed", key);
  REQUIRE(events.status == 200);
  const auto items = events.json()["items"];
  REQUIRE(items.size() == 2);
  std::vector<json> changes;
  for (const auto& e : items) changes.push_back(e["data"]);
  std::sort(changes.begin(), changes.end(),
            [](const json& a, const json& b) { return a.value("from", 0) < b.value("from", 0); });
  CHECK(changes[0] == json{{"to", 90}});
  CHECK(changes[1] == json{{"from", 90}, {"to", 89}});
  auto online = one.call("GET", "/v1/events?limit=100&type=device.online", key);
  REQUIRE(online.status == 200);
  CHECK(online.json()["items"].size() == 1);
}

TEST_CASE("the fleet dashboard counts packs by state from events, per organization",
          "[integration][insights]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto a = create_test_org(api, "fleet-a");
  auto b = create_test_org(api, "fleet-b");
  auto res = api.call("POST", "/v1/devices:import", a.owner_key, packs("F-", 12).dump());
  REQUIRE(res.status == 201);
  const std::string first = res.json()["devices"][0]["id"];
  REQUIRE(api.call("POST", "/v1/devices/" + first + "/transitions", a.owner_key,
                   json{{"to", "retired"}, {"reason", "damaged"}}.dump())
              .status == 200);
  json fleet;
  for (int i = 0; i < 300; ++i) {  // up to 30 s: a slow (ASan) build
    fleet = api.call("GET", "/v1/insights/fleet", a.role_keys.at("viewer")).json();
    if (fleet["total"] == 12 && fleet["by_state"]["retired"] == 1) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(fleet["by_state"]["registered"] == 11);
  CHECK(fleet["by_state"]["retired"] == 1);
  CHECK(fleet.contains("as_of"));
  CHECK(api.call("GET", "/v1/insights/fleet", b.owner_key).json()["total"] == 0);
}
