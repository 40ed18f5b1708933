// Telemetry over HTTP on both backends: ingest with per-row validation, deduplication, out-of-order
// readings and the latest state, device credential scope, history by range and in buckets.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "support/api.h"

using namespace cellfleet::testing;
using nlohmann::json;

namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;

// A whole hour some hours ago: readings of a test sit in the past, inside the retention.
std::int64_t hours_ago(int hours) {
  return (now_ms() / kHour - hours) * kHour;
}

HttpResponse post(const Api& api, const std::string& token, const json& readings) {
  return api.call("POST", "/v1/telemetry", token, json{{"readings", readings}}.dump());
}
// A braced list of readings is an array, even of one (json{x} would be x itself).
HttpResponse post(const Api& api, const std::string& token, std::initializer_list<json> readings) {
  return post(api, token, json(std::vector<json>(readings)));
}

json reading(std::int64_t at_ms, json fields = json::object()) {
  fields["at"] = rfc3339_ms(at_ms);
  return fields;
}

// Every raw reading of [from, to), following the cursor.
json history(const Api& api, const std::string& key, const std::string& device_id,
             std::int64_t from_ms, std::int64_t to_ms, int limit = 200) {
  json all = json::array();
  std::string cursor;
  for (int pages = 0; pages < 1000; ++pages) {
    std::string path = "/v1/devices/" + device_id + "/telemetry?from=" + rfc3339_ms(from_ms) +
                       "&to=" + rfc3339_ms(to_ms) + "&limit=" + std::to_string(limit);
    if (!cursor.empty()) path += "&cursor=" + cursor;
    auto res = api.call("GET", path, key);
    INFO(res.body);
    REQUIRE(res.status == 200);
    auto page = res.json();
    for (auto& item : page["items"]) all.push_back(item);
    if (!page.contains("next_cursor")) return all;
    cursor = page["next_cursor"];
  }
  FAIL("history never ended");
  return all;
}

std::vector<std::string> fields_of(const json& errors) {
  std::vector<std::string> fields;
  for (const auto& e : errors) fields.push_back(e["field"]);
  return fields;
}

// The packs GET /v1/devices finds by their last reading's time.
std::set<std::string> seen(const Api& api, const std::string& key, const std::string& filter) {
  auto res = api.call("GET", "/v1/devices?" + filter, key);
  INFO(res.body);
  REQUIRE(res.status == 200);
  const auto body = res.json();
  std::set<std::string> ids;
  for (const auto& item : body["items"]) ids.insert(item["id"].get<std::string>());
  return ids;
}

}  // namespace

TEST_CASE("a pack's readings are stored in the units they were sent in and come back in order",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(2);

  auto res = post(api, key,
                  {reading(t0 + 250, {{"device_id", id},
                                      {"soc", 87.5},
                                      {"voltage", 52.1},
                                      {"current", -3.2},
                                      {"temperature", 31.5},
                                      {"cycles", 412},
                                      {"soh", 96},
                                      {"lat", -1.2921},
                                      {"lon", 36.8219},
                                      {"extra", {{"cell_min_v", 3.2415}, {"fan_rpm", 1200}}}}),
                   reading(t0 - kMinute, {{"serial", "SN-1"}, {"soc", 88}})});
  INFO(res.body);
  REQUIRE(res.status == 200);
  CHECK(res.json() == json{{"accepted", 2}});

  auto items = history(api, key, id, t0 - kHour, t0 + kHour);
  REQUIRE(items.size() == 2);
  CHECK(items[0] == json{{"at", rfc3339_ms(t0 - kMinute)}, {"soc", 88.0}});
  CHECK(items[1] == json{{"at", rfc3339_ms(t0 + 250)},
                         {"soc", 87.5},
                         {"voltage", 52.1},
                         {"current", -3.2},
                         {"temperature", 31.5},
                         {"cycles", 412},
                         {"soh", 96.0},
                         {"lat", -1.2921},
                         {"lon", 36.8219},
                         {"extra", {{"cell_min_v", 3.2415}, {"fan_rpm", 1200.0}}}});
  // Another organization's operator sees no such pack, and no reading.
  auto other = create_test_org(api, "ampere");
  CHECK(api.call("GET", "/v1/devices/" + id + "/telemetry", other.role_keys.at("viewer")).status ==
        404);
}

TEST_CASE("each field is checked against its physical range, and a batch stores its valid rows",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("admin");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(3);
  auto row = [&](int i, json fields) {
    fields["device_id"] = id;
    return reading(t0 + i * kMinute, std::move(fields));
  };

  // The limits themselves are valid.
  const json valid = {
      row(0, {{"soc", 0}, {"voltage", 0}, {"current", -2000}, {"temperature", -40}}),
      row(1, {{"soc", 100}, {"voltage", 1500}, {"current", 2000}, {"temperature", 125}}),
      row(2, {{"cycles", 0}, {"soh", 0}, {"lat", -90}, {"lon", -180}}),
      row(3, {{"cycles", 1000000}, {"soh", 100}, {"lat", 90}, {"lon", 180}, {"soc", nullptr}}),
  };
  json extra21 = json::object();
  for (int i = 0; i < 21; ++i) extra21["f" + std::to_string(i)] = i;
  const std::vector<std::pair<json, std::string>> invalid = {
      {row(4, {{"soc", 100.1}}), "soc"},
      {row(5, {{"soc", -0.1}}), "soc"},
      {row(6, {{"soc", "87"}}), "soc"},
      {row(7, {{"voltage", 1500.001}}), "voltage"},
      {row(8, {{"voltage", -1}}), "voltage"},
      {row(9, {{"current", -2000.5}}), "current"},
      {row(10, {{"temperature", -40.1}}), "temperature"},
      {row(11, {{"temperature", 125.5}}), "temperature"},
      {row(12, {{"cycles", 1.5}}), "cycles"},
      {row(13, {{"cycles", 1000001}}), "cycles"},
      {row(14, {{"soh", 100.5}}), "soh"},
      {row(15, {{"lat", 90.0001}}), "lat"},
      {row(16, {{"lon", -180.5}}), "lon"},
      {row(17, {{"extra", extra21}}), "extra"},
      {row(18, {{"extra", {{"Bad-Name", 1}}}}), "extra"},
      {row(19, {{"extra", {{"note", "text"}}}}), "extra/note"},
      {row(20, {{"extra", {{"huge", 1e13}}}}), "extra/huge"},
      {row(21, {{"extra", json::array()}}), "extra"},
      {row(22, {{"sco", 50}}), "sco"},
      {json{{"device_id", id}, {"at", "yesterday"}}, "at"},
      {json{{"device_id", id}, {"soc", 50}}, "at"},
      {json::array(), ""},
  };
  json batch = valid;
  for (const auto& [r, field] : invalid) batch.push_back(r);

  auto res = post(api, key, batch);
  INFO(res.body);
  REQUIRE(res.status == 207);
  auto body = res.json();
  CHECK(body["accepted"] == valid.size());
  CHECK(body["rejected"] == invalid.size());
  REQUIRE(body["errors"].size() == invalid.size());
  for (std::size_t k = 0; k < invalid.size(); ++k) {
    const auto index = valid.size() + k;
    const auto& e = body["errors"][k];
    CHECK(e["index"] == index);
    const auto& field = invalid[k].second;
    CHECK(e["field"] == "readings/" + std::to_string(index) + (field.empty() ? "" : "/" + field));
    CHECK_FALSE(e["message"].get<std::string>().empty());
  }
  CHECK(body["errors"][0]["message"] == "must be between 0 and 100");

  // Exactly the valid rows were stored.
  auto items = history(api, key, id, t0, t0 + kHour);
  REQUIRE(items.size() == valid.size());
  CHECK(items[1]["voltage"] == 1500.0);
  CHECK(items[3]["cycles"] == 1000000);
  CHECK_FALSE(items[3].contains("soc"));
}

TEST_CASE("a batch without a single valid reading is refused with 400 and stores nothing",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(1);

  auto res = post(api, key,
                  {reading(t0, {{"device_id", id}, {"soc", 101}}),
                   reading(t0 + 1000, {{"device_id", id}, {"temperature", 200}, {"soh", -1}})});
  INFO(res.body);
  REQUIRE(res.status == 400);
  CHECK(res.header("content-type") == "application/problem+json");
  CHECK(fields_of(res.json()["errors"]) ==
        std::vector<std::string>{"readings/0/soc", "readings/1/soh", "readings/1/temperature"});
  CHECK(history(api, key, id, t0 - kHour, t0 + kHour).empty());

  // The envelope itself.
  CHECK(api.call("POST", "/v1/telemetry", key, R"({"readings":[]})").status == 400);
  CHECK(api.call("POST", "/v1/telemetry", key, R"({"reading":[]})").status == 400);
  CHECK(api.call("POST", "/v1/telemetry", key, R"({"readings":{}})").status == 400);
  CHECK(api.call("POST", "/v1/telemetry", key, R"([{"soc":1}])").status == 400);
  CHECK(api.call("POST", "/v1/telemetry", key, R"({"readings":[)").status == 400);
}

TEST_CASE("a request carries at most 1,000 readings", "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(30);

  json batch = json::array();
  for (int i = 0; i < 1001; ++i) {
    batch.push_back(reading(t0 + i * 1000, {{"device_id", id}, {"soc", i % 101}}));
  }
  auto too_many = post(api, key, batch);
  INFO(too_many.body);
  CHECK(too_many.status == 413);
  CHECK(too_many.header("content-type") == "application/problem+json");
  CHECK(history(api, key, id, t0, t0 + kHour).empty());

  batch.erase(batch.size() - 1);
  auto full = post(api, key, batch);
  INFO(full.body);
  REQUIRE(full.status == 200);
  CHECK(full.json()["accepted"] == 1000);
  CHECK(history(api, key, id, t0, t0 + kHour).size() == 1000);
}

TEST_CASE("a reading stamped more than five minutes ahead of the server's clock is refused",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto now = now_ms();

  auto res = post(api, key,
                  {reading(now + 2 * kMinute, {{"device_id", id}, {"soc", 50}}),
                   reading(now + 10 * kMinute, {{"device_id", id}, {"soc", 51}})});
  INFO(res.body);
  REQUIRE(res.status == 207);
  CHECK(res.json()["errors"][0]["field"] == "readings/1/at");
  CHECK_THAT(res.json()["errors"][0]["message"].get<std::string>(), Catch::Contains("future"));
  CHECK(history(api, key, id, now - kHour, now + kHour).size() == 1);
}

TEST_CASE("a reading older than the telemetry retention is refused", "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend, {{"CELLFLEET_DEVICES_TELEMETRY_RETENTION_DAYS", "1"}});
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto now = now_ms();

  auto res = post(api, key,
                  {reading(now - 23 * kHour, {{"device_id", id}, {"soc", 50}}),
                   reading(now - 25 * kHour, {{"device_id", id}, {"soc", 51}})});
  INFO(res.body);
  REQUIRE(res.status == 207);
  CHECK(res.json()["errors"][0]["field"] == "readings/1/at");
  CHECK_THAT(res.json()["errors"][0]["message"].get<std::string>(), Catch::Contains("1-day"));
  auto items = history(api, key, id, now - 30 * kHour, now);
  REQUIRE(items.size() == 1);
  CHECK(items[0]["soc"] == 50.0);
}

TEST_CASE("a gateway may resend a batch: a reading is stored once per pack and time",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(4);

  const json batch = {reading(t0, {{"device_id", id}, {"soc", 50}}),
                      reading(t0 + 1000, {{"device_id", id}, {"soc", 51}})};
  REQUIRE(post(api, key, batch).status == 200);
  REQUIRE(post(api, key, batch).status == 200);
  CHECK(history(api, key, id, t0, t0 + kHour).size() == 2);

  // Twice in one batch, or by serial instead of id: still one reading of that time. A resend with
  // other values keeps the last values sent (docs/decisions.md).
  auto again = post(api, key,
                    {reading(t0, {{"serial", "SN-1"}, {"soc", 60}}),
                     reading(t0, {{"device_id", id}, {"soc", 61}})});
  INFO(again.body);
  REQUIRE(again.status == 200);
  auto items = history(api, key, id, t0, t0 + kHour);
  REQUIRE(items.size() == 2);
  CHECK(items[0]["soc"] == 61.0);
  CHECK(items[1]["soc"] == 51.0);
}

TEST_CASE("readings may arrive out of order, and a pack's latest state only moves forward",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(5);
  auto seen_at_or_after = [&](std::int64_t ms) {
    return seen(api, key, "last_seen_after=" + rfc3339_ms(ms / 1000 * 1000)).contains(id);
  };

  REQUIRE(post(api, key, {reading(t0 + 3 * kMinute, {{"device_id", id}, {"soc", 30}})}).status ==
          200);
  REQUIRE(post(api, key,
               {reading(t0 + 2 * kMinute, {{"device_id", id}, {"soc", 20}}),
                reading(t0 + kMinute, {{"device_id", id}, {"soc", 10}})})
              .status == 200);
  auto items = history(api, key, id, t0, t0 + kHour);
  REQUIRE(items.size() == 3);
  CHECK(items[0]["soc"] == 10.0);
  CHECK(items[1]["soc"] == 20.0);
  CHECK(items[2]["soc"] == 30.0);
  // The older readings did not move last_seen back.
  CHECK(seen_at_or_after(t0 + 3 * kMinute));
  CHECK_FALSE(seen(api, key, "last_seen_before=" + rfc3339_ms(t0 + 3 * kMinute)).contains(id));

  // Concurrent requests for one pack: the newest reading of all of them wins.
  std::vector<std::thread> senders;
  std::vector<int> statuses(8);
  for (int s = 0; s < 8; ++s) {
    senders.emplace_back([&, s] {
      json batch = json::array();
      for (int i = 0; i < 5; ++i) {
        batch.push_back(
            reading(t0 + 10 * kMinute + (i * 8 + s) * 1000, {{"device_id", id}, {"soc", s}}));
      }
      statuses[s] = post(api, key, batch).status;
    });
  }
  for (auto& t : senders) t.join();
  for (int status : statuses) CHECK(status == 200);
  const auto newest = t0 + 10 * kMinute + 39 * 1000;
  CHECK(seen_at_or_after(newest));
  CHECK_FALSE(seen(api, key, "last_seen_before=" + rfc3339_ms(newest)).contains(id));
  CHECK(history(api, key, id, t0, t0 + kHour).size() == 43);
}

TEST_CASE("concurrent gateway batches over many packs leave each pack at its newest reading",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "gateways");
  const auto& key = org.role_keys.at("operator");
  std::vector<std::string> ids;
  for (int p = 0; p < 12; ++p)
    ids.push_back(create_pack(api, key, pack_fields("GW-" + std::to_string(p))));
  const auto t0 = hours_ago(4);

  // Eight gateways each send three batches naming every pack in a shuffled order, each reading
  // a time of its own, so the batches race on every pack's latest state.
  std::map<std::string, std::int64_t> newest;
  std::vector<std::vector<json>> batches(8 * 3);
  std::mt19937 random(7);
  for (std::size_t b = 0; b < batches.size(); ++b) {
    std::vector<std::size_t> order(ids.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), random);
    for (std::size_t i : order) {
      const std::int64_t at = t0 + static_cast<std::int64_t>(random() % 3'600'000);
      batches[b].push_back(reading(at, {{"device_id", ids[i]}, {"soc", static_cast<int>(b)}}));
      newest[ids[i]] = std::max(newest[ids[i]], at);
    }
  }
  // A gateway resends a batch answered 503: the server gives up on a pack's latest state after a
  // few lost races in one request (the readings are stored; the resend advances the state), which
  // a loaded machine makes possible here.
  std::vector<std::thread> gateways;
  std::vector<int> statuses(batches.size());
  for (int g = 0; g < 8; ++g) {
    gateways.emplace_back([&, g] {
      for (int k = 0; k < 3; ++k) {
        const auto b = static_cast<std::size_t>(g * 3 + k);
        for (int sent = 0; sent < 5 && statuses[b] != 200; ++sent) {
          statuses[b] = post(api, key, json(batches[b])).status;
          if (statuses[b] != 503) break;
        }
      }
    });
  }
  for (auto& t : gateways) t.join();
  for (int status : statuses) CHECK(status == 200);
  for (const auto& id : ids) {
    INFO("pack " << id);
    auto res = api.call("GET", "/v1/devices/" + id, key);
    REQUIRE(res.status == 200);
    const auto device = res.json();
    REQUIRE(device.contains("latest"));
    CHECK(device["latest"]["last_seen"] == rfc3339_ms(newest[id]));
  }
}

TEST_CASE("a pack's credential posts its own readings and no other pack's",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto mine = create_pack(api, key, pack_fields("SN-MINE"));
  const auto neighbour = create_pack(api, key, pack_fields("SN-NEIGHBOUR"));
  const auto credential = issue_credential(api, key, mine);
  auto other = create_test_org(api, "ampere");
  const auto foreign = create_pack(api, other.role_keys.at("operator"), pack_fields("SN-FOREIGN"));
  const auto t0 = hours_ago(6);

  auto res =
      post(api, credential,
           {reading(t0, {{"soc", 40}}), reading(t0 + 1000, {{"device_id", mine}, {"soc", 41}}),
            reading(t0 + 2000, {{"serial", "SN-MINE"}, {"soc", 42}}),
            reading(t0 + 3000, {{"device_id", neighbour}, {"soc", 43}}),
            reading(t0 + 4000, {{"serial", "SN-NEIGHBOUR"}, {"soc", 44}}),
            reading(t0 + 5000, {{"device_id", foreign}, {"soc", 45}}),
            reading(t0 + 6000, {{"device_id", "dev_01JD3K6W7M8N9P0Q1R2S3T4V5W"}})});
  INFO(res.body);
  REQUIRE(res.status == 207);
  auto body = res.json();
  CHECK(body["accepted"] == 3);
  CHECK(fields_of(body["errors"]) ==
        std::vector<std::string>{"readings/3/device_id", "readings/4/serial",
                                 "readings/5/device_id", "readings/6/device_id"});
  // A neighbour, another organization's pack and no pack at all read alike.
  std::set<std::string> messages;
  for (const auto& e : body["errors"]) messages.insert(e["message"].get<std::string>());
  CHECK(messages.size() == 1);

  CHECK(history(api, key, mine, t0, t0 + kHour).size() == 3);
  CHECK(history(api, key, neighbour, t0, t0 + kHour).empty());
  CHECK(history(api, other.role_keys.at("operator"), foreign, t0, t0 + kHour).empty());
  // A credential reads no history, not even its own pack's.
  CHECK(api.call("GET", "/v1/devices/" + mine + "/telemetry", credential).status == 403);
}

TEST_CASE("another organization's packs read like packs that do not exist",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto alpha = create_test_org(api, "volta");
  auto bravo = create_test_org(api, "ampere");
  const auto theirs = create_pack(api, alpha.role_keys.at("operator"), pack_fields("SN-A"));
  const auto ours = create_pack(api, bravo.role_keys.at("operator"), pack_fields("SN-B"));
  const auto t0 = hours_ago(7);

  auto res = post(api, bravo.role_keys.at("operator"),
                  {reading(t0, {{"device_id", ours}, {"soc", 1}}),
                   reading(t0, {{"device_id", theirs}, {"soc", 2}}),
                   reading(t0, {{"device_id", "dev_01JD3K6W7M8N9P0Q1R2S3T4V5W"}, {"soc", 3}}),
                   reading(t0, {{"serial", "SN-A"}, {"soc", 4}}),
                   reading(t0, {{"serial", "SN-NONE"}, {"soc", 5}}), reading(t0, {{"soc", 6}})});
  INFO(res.body);
  REQUIRE(res.status == 207);
  auto errors = res.json()["errors"];
  CHECK(fields_of(errors) == std::vector<std::string>{"readings/1/device_id",
                                                      "readings/2/device_id", "readings/3/serial",
                                                      "readings/4/serial", "readings/5/device_id"});
  for (int i = 1; i < 4; ++i) CHECK(errors[i]["message"] == errors[0]["message"]);
  CHECK(res.body.find(alpha.id) == std::string::npos);
  CHECK(history(api, alpha.role_keys.at("operator"), theirs, t0 - kHour, t0 + kHour).empty());

  auto unknown =
      api.call("GET", "/v1/devices/dev_01JD3K6W7M8N9P0Q1R2S3T4V5W/telemetry", bravo.owner_key);
  auto foreign = api.call("GET", "/v1/devices/" + theirs + "/telemetry", bravo.owner_key);
  CHECK(unknown.status == 404);
  CHECK(foreign.status == 404);
}

TEST_CASE("a retired pack takes no readings", "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-OLD"));
  const auto credential = issue_credential(api, key, id);
  auto retired = api.call("POST", "/v1/devices/" + id + "/transitions", key,
                          R"({"to":"retired","reason":"end of life"})");
  REQUIRE(retired.status == 200);
  const auto t0 = hours_ago(1);

  auto res = post(api, key, {reading(t0, {{"device_id", id}, {"soc", 1}})});
  INFO(res.body);
  CHECK(res.status == 400);
  CHECK_THAT(res.body, Catch::Contains("retired"));
  // Its credential, should it still be accepted, stores nothing either.
  CHECK(post(api, credential, {reading(t0, {{"soc", 1}})}).status >= 400);
  CHECK(history(api, key, id, t0 - kHour, t0 + kHour).empty());
}

TEST_CASE("a pack renamed or retired after it reported is resolved anew on the next batch",
          "[integration][telemetry]") {
  // Ingest keeps what it read of a pack (pack_cache.h); an edit or a retirement must not wait for
  // that to expire.
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-FIRST"));
  const auto t0 = hours_ago(1);
  auto first = post(api, key,
                    {reading(t0, {{"device_id", id}, {"soc", 10}}),
                     reading(t0 + 1000, {{"serial", "SN-FIRST"}, {"soc", 11}})});
  INFO(first.body);
  REQUIRE(first.status == 200);

  auto renamed = api.call("PATCH", "/v1/devices/" + id, key,
                          json{{"serial", "SN-SECOND"}, {"nominal_voltage_mv", 60'000}}.dump(),
                          {{"If-Match", "\"1\""}});
  INFO(renamed.body);
  REQUIRE(renamed.status == 200);
  auto old_name = post(api, key, {reading(t0 + 2000, {{"serial", "SN-FIRST"}, {"soc", 12}})});
  CHECK(old_name.status == 400);
  CHECK(fields_of(old_name.json()["errors"]) == std::vector<std::string>{"readings/0/serial"});
  // The new nominal voltage judges the next reading: 46 V is under 80 % (+2 %) of 60 V.
  auto new_name =
      post(api, key, {reading(t0 + 3000, {{"serial", "SN-SECOND"}, {"voltage", 46.0}})});
  INFO(new_name.body);
  CHECK(new_name.status == 200);
  auto alerts = api.call("GET", "/v1/alerts?status=open&kind=low_voltage", key);
  REQUIRE(alerts.status == 200);
  CHECK(alerts.json()["items"].size() == 1);

  auto retired = api.call("POST", "/v1/devices/" + id + "/transitions", key,
                          R"({"to":"retired","reason":"end of life"})");
  REQUIRE(retired.status == 200);
  auto after = post(api, key, {reading(t0 + 4000, {{"device_id", id}, {"soc", 13}})});
  CHECK(after.status == 400);
  CHECK_THAT(after.body, Catch::Contains("retired"));
  CHECK(history(api, key, id, t0 - kHour, t0 + kHour).size() == 3);
}

TEST_CASE("history returns a time range in order, a page at a time", "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto other = create_pack(api, key, pack_fields("SN-2"));
  const auto t0 = hours_ago(8);

  json batch = json::array();
  for (int i = 0; i < 300; ++i) {
    batch.push_back(reading(t0 + i * kMinute, {{"device_id", id}, {"cycles", i}}));
    if (i % 10 == 0) batch.push_back(reading(t0 + i * kMinute, {{"device_id", other}}));
  }
  REQUIRE(post(api, key, batch).status == 200);

  // [from, to): from is included, to is not.
  auto items = history(api, key, id, t0 + 20 * kMinute, t0 + 270 * kMinute, 37);
  REQUIRE(items.size() == 250);
  for (int i = 0; i < 250; ++i) {
    CHECK(items[i]["cycles"] == 20 + i);
    CHECK(items[i]["at"] == rfc3339_ms(t0 + (20 + i) * kMinute));
  }
  auto first = api.call(
      "GET", "/v1/devices/" + id + "/telemetry?limit=5&from=" + rfc3339_ms(t0) + "&to=" + rfc3339_ms(t0 + kHour),
      org.role_keys.at("viewer"));
  REQUIRE(first.status == 200);
  CHECK(first.json()["items"].size() == 5);
  CHECK(first.json().contains("next_cursor"));

  auto bad = [&](const std::string& query, const std::string& field) {
    auto res = api.call("GET", "/v1/devices/" + id + "/telemetry?" + query, key);
    INFO(query << " -> " << res.body);
    CHECK(res.status == 400);
    CHECK(res.header("content-type") == "application/problem+json");
    if (res.status == 400) CHECK(fields_of(res.json()["errors"]).at(0) == field);
  };
  bad("from=yesterday", "query.from");
  bad("to=2026-13-01T00:00:00Z", "query.to");
  bad("from=" + rfc3339_ms(t0) + "&to=" + rfc3339_ms(t0), "query.to");
  bad("limit=0", "query.limit");
  bad("cursor=not-a-cursor", "query.cursor");
}

TEST_CASE("history in buckets holds the count and min/avg/max of each field of the range",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto t0 = hours_ago(12);
  const std::int64_t from = t0 + 7 * kMinute;  // buckets start at from, not on the hour
  const std::int64_t to = from + 6 * kHour + 5 * kMinute;
  const std::int64_t width = 15 * kMinute;

  // Readings at random times of a wider range; values with the precision the units keep.
  std::mt19937 rng(20261126);
  std::map<std::int64_t, json> sent;  // by time: a time drawn twice keeps the last
  while (sent.size() < 1500) {  // more than one page of the store: the scan follows its cursor
    const std::int64_t at = t0 + std::uniform_int_distribution<std::int64_t>(0, 7 * kHour)(rng);
    json r = {{"device_id", id},
              {"soc", std::uniform_int_distribution<int>(0, 1000)(rng) / 10.0},
              {"voltage", std::uniform_int_distribution<int>(40000, 56000)(rng) / 1000.0},
              {"cycles", std::uniform_int_distribution<int>(0, 5000)(rng)}};
    if (rng() % 3 == 0) {
      r["temperature"] = std::uniform_int_distribution<int>(-400, 1250)(rng) / 10.0;
    }
    if (rng() % 5 == 0) r["extra"] = {{"cell_delta_v", rng() % 100000 / 1e6}};
    sent[at] = reading(at, r);
  }
  json batch = json::array();
  for (const auto& [at, r] : sent) {
    batch.push_back(r);
    if (batch.size() == 1000) {
      REQUIRE(post(api, key, batch).status == 200);
      batch = json::array();
    }
  }
  REQUIRE(post(api, key, batch).status == 200);

  auto res = api.call(
      "GET", "/v1/devices/" + id + "/telemetry?bucket=15m&from=" + rfc3339_ms(from) + "&to=" + rfc3339_ms(to),
      org.role_keys.at("viewer"));
  INFO(res.body.substr(0, 2000));
  REQUIRE(res.status == 200);
  auto body = res.json();
  CHECK(body["from"] == rfc3339_ms(from));
  CHECK(body["to"] == rfc3339_ms(to));
  CHECK(body["bucket"] == "15m");
  CHECK_FALSE(body.contains("next_from"));
  const auto& buckets = body["buckets"];
  REQUIRE(buckets.size() == 25);  // 6 h 5 min in 15 min buckets; the last one is 5 min long

  // The brute-force answer.
  struct Stat {
    double min = 1e300, max = -1e300, sum = 0;
    int n = 0;
  };
  std::vector<int> counts(25);
  std::vector<std::map<std::string, Stat>> expected(25);
  for (const auto& [at, r] : sent) {
    if (at < from || at >= to) continue;
    const auto k = static_cast<std::size_t>((at - from) / width);
    ++counts[k];
    auto add = [&](const std::string& name, double v) {
      auto& s = expected[k][name];
      s.min = std::min(s.min, v);
      s.max = std::max(s.max, v);
      s.sum += v;
      ++s.n;
    };
    for (const char* name : {"soc", "voltage", "cycles", "temperature"}) {
      if (r.contains(name)) add(name, r[name].get<double>());
    }
    if (r.contains("extra")) add("extra.cell_delta_v", r["extra"]["cell_delta_v"].get<double>());
  }
  int total = 0;
  for (std::size_t k = 0; k < 25; ++k) {
    INFO("bucket " << k);
    const auto& b = buckets[k];
    CHECK(b["start"] == rfc3339_ms(from + static_cast<std::int64_t>(k) * width));
    CHECK(b["count"] == counts[k]);
    total += counts[k];
    for (const auto& [name, s] : expected[k]) {
      INFO(name);
      const bool extra = name.rfind("extra.", 0) == 0;
      const auto& got = extra ? b["extra"][name.substr(6)] : b[name];
      CHECK(got["min"].get<double>() == Approx(s.min).margin(1e-9));
      CHECK(got["max"].get<double>() == Approx(s.max).margin(1e-9));
      CHECK(got["avg"].get<double>() == Approx(s.sum / s.n).margin(1e-9));
    }
    if (!expected[k].contains("temperature")) CHECK_FALSE(b.contains("temperature"));
  }
  CHECK(total > 1100);  // most of the readings fall in the range; some fall outside it
}

TEST_CASE("a bucketed request is bounded: at most 31 days and 1,000 buckets",
          "[integration][telemetry]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("viewer");
  const auto id = create_pack(api, org.role_keys.at("operator"), pack_fields("SN-1"));
  const auto t0 = hours_ago(0);
  auto get = [&](const std::string& query) {
    return api.call("GET", "/v1/devices/" + id + "/telemetry?" + query, key);
  };
  auto refused = [&](const std::string& query, const std::string& field) {
    auto res = get(query);
    INFO(query << " -> " << res.body);
    CHECK(res.status == 400);
    if (res.status == 400) CHECK(fields_of(res.json()["errors"]).at(0) == field);
  };
  refused("bucket=1m&from=" + rfc3339_ms(t0 - 2 * 24 * kHour) + "&to=" + rfc3339_ms(t0), "query.bucket");
  refused("bucket=1d&from=" + rfc3339_ms(t0 - 40 * 24 * kHour) + "&to=" + rfc3339_ms(t0), "query.from");
  for (const char* width : {"0m", "15", "1w", "1441m", "745h", "32d", "01h", "h", "-1h"}) {
    refused(std::string("bucket=") + width, "query.bucket");
  }
  refused("bucket=1h&cursor=abc", "query.cursor");
  refused("bucket=1h&limit=10", "query.limit");

  // The defaults: the last day, in buckets that end at the next boundary after now.
  auto res = get("bucket=1h");
  INFO(res.body.substr(0, 500));
  REQUIRE(res.status == 200);
  CHECK(res.json()["buckets"].size() == 24);
  CHECK(get("bucket=1m").json()["buckets"].size() == 1000);
  CHECK(get("bucket=31d&from=" + rfc3339_ms(t0 - 31 * 24 * kHour) + "&to=" + rfc3339_ms(t0)).status == 200);
}

// SQLite only: the case stores 100,500 readings, which takes DynamoDB Local about a minute and
// leaves the in-memory emulator markedly slower for every case after it. The stopping logic is
// the module's own and the same on both backends; the bucket case above pages through the
// store on both.
TEST_CASE("a bucketed answer over more readings than a request reads says where to continue",
          "[integration][telemetry]") {
  auto server = start_server(Backend::sqlite);
  Api api{server.port()};
  auto org = create_test_org(api, "volta");
  const auto& key = org.role_keys.at("operator");
  const auto id = create_pack(api, key, pack_fields("SN-1"));
  const auto from = hours_ago(48);
  const auto to = from + 48 * kHour;

  // One reading a second: 100,500 readings, more than the 100,000 one request reads.
  constexpr int kReadings = 100'500;
  for (int start = 0; start < kReadings; start += 1000) {
    json batch = json::array();
    for (int i = start; i < std::min(kReadings, start + 1000); ++i) {
      batch.push_back(reading(from + i * 1000LL, {{"device_id", id}, {"cycles", i}}));
    }
    REQUIRE(post(api, key, batch).status == 200);
  }
  auto buckets = [&](std::int64_t begin) {
    auto res = api.call(
        "GET", "/v1/devices/" + id + "/telemetry?bucket=1h&from=" + rfc3339_ms(begin) + "&to=" + rfc3339_ms(to),
        key);
    INFO(res.body.substr(0, 500));
    REQUIRE(res.status == 200);
    return res.json();
  };

  // The first answer ends before the bucket the 100,000th reading falls in (hour 27)...
  auto first = buckets(from);
  REQUIRE(first.contains("next_from"));
  CHECK(first["next_from"] == rfc3339_ms(from + 27 * kHour));
  REQUIRE(first["buckets"].size() == 27);
  for (const auto& b : first["buckets"]) {
    CHECK(b["count"] == 3600);
  }
  CHECK(first["buckets"][26]["cycles"]["max"] == 27 * 3600 - 1);
  // ...and continuing from there yields the rest.
  auto rest = buckets(from + 27 * kHour);
  CHECK_FALSE(rest.contains("next_from"));
  REQUIRE(rest["buckets"].size() == 21);
  CHECK(rest["buckets"][0]["count"] == kReadings - 27 * 3600);
  CHECK(rest["buckets"][0]["cycles"]["min"] == 27 * 3600);
  CHECK(rest["buckets"][1]["count"] == 0);
}
