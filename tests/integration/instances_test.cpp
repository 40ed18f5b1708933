// Several `cellfleet serve` processes on one DynamoDB: each event's effect is applied exactly
// once, even when one process is killed with events still to deliver.
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
