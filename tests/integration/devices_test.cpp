// Battery packs over HTTP on both backends: the registry, the lifecycle state machine, bulk
// import and device credentials.
#include <catch2/catch.hpp>
#include <set>

#include "support/api.h"

using namespace cellfleet::testing;
using nlohmann::json;

namespace {

HttpResponse move(const Api& api, const std::string& key, const std::string& id,
                  const std::string& to, json extra = json::object()) {
  json body = {{"to", to}, {"reason", "test moves it to " + to}};
  if (to == "deployed") body["contract_id"] = "con_01JD3K6W7M8N9P0Q1R2S3T4V5W";
  body.update(extra);
  return api.call("POST", "/v1/devices/" + id + "/transitions", key, body.dump());
}

// A legal path from registered to each state.
const std::map<std::string, std::vector<std::string>> kPathTo = {
    {"registered", {}},
    {"in_stock", {"in_stock"}},
    {"deployed", {"in_stock", "deployed"}},
    {"returned", {"in_stock", "deployed", "returned"}},
    {"maintenance", {"in_stock", "maintenance"}},
    {"retired", {"retired"}},
};

const std::map<std::string, std::set<std::string>> kAllowed = {
    {"registered", {"in_stock", "retired"}},
    {"in_stock", {"deployed", "maintenance", "retired"}},
    {"deployed", {"returned"}},
    {"returned", {"in_stock", "maintenance", "retired"}},
    {"maintenance", {"in_stock", "retired"}},
    {"retired", {}},
};

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> ids;
  for (const auto& item : page["items"]) ids.push_back(item["id"]);
  return ids;
}

}  // namespace

TEST_CASE("a pack is registered, read, updated with If-Match and its serial stays unique",
          "[integration][devices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "packs");
  const auto& key = org.role_keys.at("operator");

  auto created = api.call(
      "POST", "/v1/devices", key,
      pack_fields("SN-0001", {{"firmware_version", "1.4.2"},
                              {"manufactured_on", "2025-03-01"},
                              {"purchase_cost", {{"amount", 4500000}, {"currency", "KES"}}},
                              {"depot", "Westlands"},
                              {"tags", {"nairobi", "e-moto"}}})
          .dump());
  REQUIRE(created.status == 201);
  auto device = created.json();
  const std::string id = device["id"];
  CHECK(id.rfind("dev_", 0) == 0);
  CHECK(device["state"] == "registered");
  CHECK(device["purchase_cost"] == json{{"amount", 4500000}, {"currency", "KES"}});
  CHECK(created.header("location") == "/v1/devices/" + id);
  CHECK(created.header("etag") == "\"1\"");

  auto read = api.call("GET", "/v1/devices/" + id, org.role_keys.at("viewer"));
  REQUIRE(read.status == 200);
  CHECK(read.json()["serial"] == "SN-0001");
  CHECK(read.json()["tags"] == json{"nairobi", "e-moto"});

  // Same serial again: 409, and nothing new appears.
  auto dup = api.call("POST", "/v1/devices", key, pack_fields("SN-0001").dump());
  CHECK(dup.status == 409);
  CHECK(dup.header("content-type") == "application/problem+json");

  auto stale = api.call("PATCH", "/v1/devices/" + id, key, json{{"depot", "Kilimani"}}.dump(),
                        {{"If-Match", "\"7\""}});
  CHECK(stale.status == 412);
  auto patched = api.call("PATCH", "/v1/devices/" + id, key,
                          json{{"depot", "Kilimani"}, {"serial", "SN-0001-B"}}.dump(),
                          {{"If-Match", "\"1\""}});
  REQUIRE(patched.status == 200);
  CHECK(patched.json()["depot"] == "Kilimani");
  CHECK(patched.json()["version"] == 2);
  // The old serial is free again, the new one taken.
  CHECK(api.call("POST", "/v1/devices", key, pack_fields("SN-0001").dump()).status == 201);
  CHECK(api.call("POST", "/v1/devices", key, pack_fields("SN-0001-B").dump()).status == 409);
  // The state is not an editable field; neither are unknown ones.
  auto bad = api.call("PATCH", "/v1/devices/" + id, key, json{{"state", "retired"}}.dump());
  CHECK(bad.status == 400);
  CHECK(api.call("GET", "/v1/devices/" + id, key).json()["state"] == "registered");

  // Validation names every bad field at once.
  auto invalid = api.call("POST", "/v1/devices", key,
                          json{{"serial", "bad serial!"},
                               {"model", ""},
                               {"chemistry", "plutonium"},
                               {"capacity_wh", -5},
                               {"nominal_voltage_mv", 1.5},
                               {"manufactured_on", "2025-02-30"},
                               {"tags", {"UPPER"}}}
                              .dump());
  REQUIRE(invalid.status == 400);
  std::set<std::string> fields;
  const auto problem = invalid.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"]);
  CHECK(fields == std::set<std::string>{"serial", "model", "chemistry", "capacity_wh",
                                        "nominal_voltage_mv", "manufactured_on", "tags/0"});

  // Viewers and finance read but do not write.
  CHECK(api.call("POST", "/v1/devices", org.role_keys.at("viewer"), pack_fields("SN-9").dump())
            .status == 403);
  CHECK(api.call("GET", "/v1/devices/dev_01JD3K6W7M8N9P0Q1R2S3T4V5W", key).status == 404);
  CHECK(api.call("GET", "/v1/devices/not-an-id", key).status == 404);
}

TEST_CASE("every legal transition works and every illegal one is a 409 naming the allowed states",
          "[integration][devices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "lifecycle");
  const auto& key = org.role_keys.at("operator");
  const std::vector<std::string> states = {"registered", "in_stock",    "deployed",
                                           "returned",   "maintenance", "retired"};
  int serial = 0;
  int legal = 0;
  int illegal = 0;
  for (const auto& from : states) {
    for (const auto& to : states) {
      INFO(from << " -> " << to);
      auto id = create_pack(api, key, pack_fields("LC-" + std::to_string(++serial)));
      for (const auto& step : kPathTo.at(from)) REQUIRE(move(api, key, id, step).status == 200);
      auto res = move(api, key, id, to);
      if (kAllowed.at(from).contains(to)) {
        CHECK(res.status == 200);
        CHECK(res.json()["state"] == to);
        if (to == "deployed") {
          CHECK(res.json()["contract_id"] == "con_01JD3K6W7M8N9P0Q1R2S3T4V5W");
        } else {
          CHECK_FALSE(res.json().contains("contract_id"));
        }
        ++legal;
      } else {
        CHECK(res.status == 409);
        CHECK(res.header("content-type") == "application/problem+json");
        std::string detail = res.json()["detail"];
        for (const auto& next : kAllowed.at(from)) CHECK(detail.find(next) != std::string::npos);
        CHECK(api.call("GET", "/v1/devices/" + id, key).json()["state"] == from);
        ++illegal;
      }
    }
  }
  CHECK(legal == 11);
  CHECK(illegal == 25);

  // Deploying names a contract; other transitions may not.
  auto id = create_pack(api, key, pack_fields("LC-X", {{"state", "in_stock"}}));
  auto unnamed = api.call("POST", "/v1/devices/" + id + "/transitions", key,
                          json{{"to", "deployed"}, {"reason", "x"}}.dump());
  CHECK(unnamed.status == 400);
  CHECK(move(api, key, id, "maintenance", {{"contract_id", "con_01JD3K6W7M8N9P0Q1R2S3T4V5W"}})
            .status == 400);
  CHECK(api.call("POST", "/v1/devices/" + id + "/transitions", key, json{{"to", "deployed"}}.dump())
            .status == 400);  // a reason is required

  // Each transition is an event with its actor and reason.
  auto events = api.call("GET", "/v1/events?type=device.state_changed&limit=200", org.owner_key);
  REQUIRE(events.status == 200);
  // The legal transitions tested, and the steps taken to reach each from-state (6 times each).
  std::size_t expected = static_cast<std::size_t>(legal);
  for (const auto& from : states) expected += kPathTo.at(from).size() * states.size();
  CHECK(events.json()["items"].size() == expected);
  const auto first = events.json()["items"][0];
  CHECK(first["data"]["actor"].get<std::string>().rfind("key_", 0) == 0);
  CHECK(first["data"]["reason"].get<std::string>().rfind("test moves it to", 0) == 0);
}

TEST_CASE("lists filter by state, model, tag and depot and page without gaps or repeats",
          "[integration][devices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "lists");
  const auto& key = org.role_keys.at("operator");
  std::vector<std::string> all;
  std::set<std::string> stocked;
  std::set<std::string> tagged_in_westlands;
  for (int i = 0; i < 23; ++i) {
    json extra = {{"model", i % 2 ? "E-48" : "S-12"},
                  {"depot", i % 3 ? "Westlands" : "Kilimani"},
                  {"tags", i % 4 ? json{"fleet-a"} : json{"fleet-a", "vip"}}};
    if (i % 5 == 0) extra["state"] = "in_stock";
    auto id = create_pack(api, key, pack_fields("L-" + std::to_string(i), extra));
    all.push_back(id);
    if (i % 5 == 0) stocked.insert(id);
    if (i % 4 == 0 && i % 3 != 0) tagged_in_westlands.insert(id);
  }
  // Every pack, pages of 5, in id (creation) order.
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto res = api.call("GET", "/v1/devices?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor),
                        org.role_keys.at("viewer"));
    REQUIRE(res.status == 200);
    auto page = res.json();
    for (const auto& id : ids_of(page)) seen.push_back(id);
    cursor = page.value("next_cursor", "");
    ++pages;
  } while (!cursor.empty() && pages < 20);
  CHECK(seen == all);

  auto by_state = api.call("GET", "/v1/devices?state=in_stock&limit=100", key).json();
  auto state_ids = ids_of(by_state);
  CHECK(std::set<std::string>(state_ids.begin(), state_ids.end()) == stocked);

  // Two non-indexed filters together, paged by 2.
  std::set<std::string> filtered;
  cursor.clear();
  pages = 0;
  do {
    auto res = api.call(
        "GET",
        "/v1/devices?tag=vip&depot=Westlands&limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor),
        key);
    REQUIRE(res.status == 200);
    for (const auto& id : ids_of(res.json())) CHECK(filtered.insert(id).second);
    cursor = res.json().value("next_cursor", "");
  } while (!cursor.empty() && ++pages < 20);
  CHECK(filtered == tagged_in_westlands);

  auto models = api.call("GET", "/v1/devices?model=S-12&state=in_stock&limit=100", key).json();
  for (const auto& item : models["items"]) {
    CHECK(item["model"] == "S-12");
    CHECK(item["state"] == "in_stock");
  }
  CHECK(models["items"].size() == 3);  // i = 0, 10, 20

  CHECK(api.call("GET", "/v1/devices?state=lost", key).status == 400);
  CHECK(api.call("GET", "/v1/devices?last_seen_after=yesterday", key).status == 400);
  CHECK(api.call("GET", "/v1/devices?cursor=s.dev_x", key).status == 400);  // not this list's
  CHECK(api.call("GET", "/v1/devices?limit=0", key).status == 400);
}

TEST_CASE("a bulk import is all or nothing and reports every bad row", "[integration][devices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "imports");
  const auto& key = org.role_keys.at("admin");
  create_pack(api, key, pack_fields("TAKEN-1"));

  json rows = json::array();
  for (int i = 0; i < 120; ++i) rows.push_back(pack_fields("IMP-" + std::to_string(i)));
  rows[3]["capacity_wh"] = "lots";
  rows[50]["serial"] = "TAKEN-1";
  rows[70]["serial"] = "IMP-1";
  rows[99] = "not a pack";
  auto bad = api.call("POST", "/v1/devices:import", key, rows.dump());
  REQUIRE(bad.status == 400);
  std::set<std::string> fields;
  const auto problem = bad.json();
  for (const auto& e : problem["errors"]) fields.insert(e["field"]);
  CHECK(fields == std::set<std::string>{"rows/4/capacity_wh", "rows/51/serial", "rows/71/serial",
                                        "rows/100"});
  // Nothing of it was written.
  CHECK(ids_of(api.call("GET", "/v1/devices?limit=200", key).json()).size() == 1);

  rows[3]["capacity_wh"] = 1000;
  rows[50]["serial"] = "IMP-50";
  rows[70]["serial"] = "IMP-70";
  rows[99] = pack_fields("IMP-99", {{"state", "in_stock"}});
  auto good = api.call("POST", "/v1/devices:import", key, rows.dump());
  INFO(good.body);
  REQUIRE(good.status == 201);
  CHECK(good.json()["imported"] == 120);
  CHECK(good.json()["devices"].size() == 120);
  CHECK(good.json()["devices"][99]["serial"] == "IMP-99");
  auto one =
      api.call("GET", "/v1/devices/" + good.json()["devices"][99]["id"].get<std::string>(), key);
  CHECK(one.json()["state"] == "in_stock");
  std::size_t total = 0;
  std::string cursor;
  do {
    auto page =
        api.call("GET", "/v1/devices?limit=200" + (cursor.empty() ? "" : "&cursor=" + cursor), key)
            .json();
    total += page["items"].size();
    cursor = page.value("next_cursor", "");
  } while (!cursor.empty());
  CHECK(total == 121);

  // CSV: a header row, quoted cells, tags split by ";", an error report by row.
  const std::string csv =
      "serial,model,chemistry,capacity_wh,nominal_voltage_mv,tags,depot,purchase_cost_amount,"
      "purchase_cost_currency\r\n"
      "CSV-1,\"Solar, home\",LFP,5000,51200,home;solar,\"Depot \"\"A\"\"\",150000,KES\r\n"
      "CSV-2,S-12,NMC,900,12800,,,,\r\n";
  auto from_csv = api.call("POST", "/v1/devices:import", key, csv, {{"Content-Type", "text/csv"}});
  INFO(from_csv.body);
  REQUIRE(from_csv.status == 201);
  auto csv_pack =
      api.call("GET", "/v1/devices/" + from_csv.json()["devices"][0]["id"].get<std::string>(), key)
          .json();
  CHECK(csv_pack["model"] == "Solar, home");
  CHECK(csv_pack["depot"] == "Depot \"A\"");
  CHECK(csv_pack["tags"] == json{"home", "solar"});
  CHECK(csv_pack["purchase_cost"] == json{{"amount", 150000}, {"currency", "KES"}});

  auto bad_csv = api.call("POST", "/v1/devices:import", key,
                          "serial,model,chemistry,capacity_wh,nominal_voltage_mv\n"
                          "CSV-3,M,LFP,x,48000\nCSV-4,M,LFP,100,48000,extra\n\"open,M\n",
                          {{"Content-Type", "text/csv"}});
  CHECK(bad_csv.status == 400);

  json too_many = json::array();
  for (int i = 0; i < 5001; ++i) too_many.push_back(pack_fields("MANY-" + std::to_string(i)));
  CHECK(api.call("POST", "/v1/devices:import", key, too_many.dump()).status == 413);
  CHECK(api.call("POST", "/v1/devices:import", key, "[]").status == 400);
  CHECK(api.call("POST", "/v1/devices:import", key, "{}").status == 400);
}

TEST_CASE("a device credential speaks for its pack only, and rotating it revokes the old one",
          "[integration][devices]") {
  auto backend = GENERATE(Backend::sqlite, Backend::dynamodb);
  INFO("backend " << backend_name(backend));
  auto server = start_server(backend);
  Api api{server.port()};
  auto org = create_test_org(api, "creds");
  const auto& key = org.role_keys.at("operator");
  auto id = create_pack(api, key, pack_fields("CR-1"));

  auto issued = api.call("POST", "/v1/devices/" + id + "/credential", key);
  REQUIRE(issued.status == 201);
  const std::string first = issued.json()["credential"];
  CHECK(first.rfind("cfd_", 0) == 0);
  CHECK(api.call("GET", "/v1/devices/" + id, key).json()["credential"]["prefix"] ==
        issued.json()["prefix"]);
  // The secret itself is never shown again.
  CHECK(api.call("GET", "/v1/devices/" + id, key).body.find(first.substr(20)) == std::string::npos);

  // A device credential is not an operator: operator routes refuse it.
  CHECK(api.call("GET", "/v1/devices", first).status == 403);
  CHECK(api.call("GET", "/v1/devices/" + id, first).status == 403);
  CHECK(api.call("GET", "/v1/auth/me", first).status == 403);
  // A wrong secret with a real prefix is a plain 401.
  auto forged = first.substr(0, first.size() - 4) + "aaaa";
  CHECK(api.call("GET", "/v1/devices", forged).status == 401);

  auto rotated = api.call("POST", "/v1/devices/" + id + "/credential", key);
  REQUIRE(rotated.status == 201);
  const std::string second = rotated.json()["credential"];
  CHECK(api.call("GET", "/v1/devices", first).status == 401);
  CHECK(api.call("GET", "/v1/devices", second).status == 403);

  // Retiring the pack ends its credential.
  REQUIRE(move(api, key, id, "retired").status == 200);
  CHECK(api.call("GET", "/v1/devices", second).status == 401);
  CHECK(api.call("POST", "/v1/devices/" + id + "/credential", key).status == 409);

  // Revoking by DELETE.
  auto other = create_pack(api, key, pack_fields("CR-2"));
  auto third = issue_credential(api, key, other);
  CHECK(api.call("DELETE", "/v1/devices/" + other + "/credential", key).status == 204);
  CHECK(api.call("GET", "/v1/devices", third).status == 401);
  CHECK(api.call("DELETE", "/v1/devices/" + other + "/credential", key).status == 404);

  // A suspended organization's packs are refused like its people.
  auto fourth = issue_credential(api, key, create_pack(api, key, pack_fields("CR-3")));
  REQUIRE(api.call("PATCH", "/v1/platform/organizations/" + org.id, kPlatformToken,
                   json{{"status", "suspended"}}.dump())
              .status == 200);
  CHECK(api.call("GET", "/v1/devices", fourth).status == 403);
}
