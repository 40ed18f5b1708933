#include "support/shop.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

namespace cellfleet::testing {

using nlohmann::json;
using namespace std::chrono_literals;

std::string fresh_idempotency_key() {
  static std::atomic<int> next{0};
  return "test-" + std::to_string(++next) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

json Shop::ok(const HttpResponse& res, int status) const {
  INFO(res.status << " " << res.body);
  REQUIRE(res.status == status);
  return res.json();
}

json Shop::get(const std::string& path) const {
  return ok(api.call("GET", path, key));
}

HttpResponse Shop::post(const std::string& path, const json& body,
                        const std::string& idempotency_key) const {
  return api.call(
      "POST", path, key, body.dump(),
      {{"Idempotency-Key", idempotency_key.empty() ? fresh_idempotency_key() : idempotency_key}});
}

std::string Shop::customer(const std::string& name, const std::string& phone,
                           const json& extra) const {
  json body = {{"name", name}, {"phone", phone}};
  body.update(extra);
  return ok(post("/v1/customers", body), 201).at("id");
}

std::string Shop::stocked_pack(const std::string& serial) const {
  auto id = create_pack(api, org.owner_key, pack_fields(serial));
  ok(api.call("POST", "/v1/devices/" + id + "/transitions", org.owner_key,
              json{{"to", "in_stock"}, {"reason", "received"}}.dump()));
  return id;
}

std::string Shop::product(const json& body) const {
  return ok(post("/v1/products", body), 201).at("id");
}

json Shop::contract(const std::string& customer, const std::string& pack,
                    const std::string& product) const {
  return ok(
      post("/v1/contracts", {{"customer_id", customer}, {"device_id", pack}, {"product_id", product}}),
      201);
}

json Shop::pay(const std::string& contract_id, std::int64_t amount,
               const std::string& idempotency_key) const {
  return ok(post("/v1/payments",
                 {{"contract_id", contract_id},
                  {"amount", amount},
                  {"currency", "KES"},
                  {"method", "cash"}},
                 idempotency_key),
            201);
}

void Shop::advance(std::int64_t seconds) const {
  ok(api.call("POST", "/v1/testing/clock", kPlatformToken,
              json{{"advance_seconds", seconds}}.dump()));
}

json Shop::contract_when(const std::string& id,
                         const std::function<bool(const json&)>& pred) const {
  json c;
  for (int i = 0; i < 600; ++i) {
    c = get("/v1/contracts/" + id);
    if (pred(c)) return c;
    std::this_thread::sleep_for(100ms);
  }
  INFO(c.dump());
  FAIL("the contract never reached the expected state");
  return c;
}

json Shop::access_when(const std::string& pack, const std::string& state) const {
  json a;
  for (int i = 0; i < 600; ++i) {
    a = get("/v1/devices/" + pack + "/access");
    if (a.value("state", "") == state) return a;
    std::this_thread::sleep_for(100ms);
  }
  INFO(a.dump());
  FAIL("the pack's access never became " + state);
  return a;
}

std::vector<json> Shop::commands(const std::string& pack) const {
  const auto page = get("/v1/devices/" + pack + "/commands");
  return page.at("items").get<std::vector<json>>();
}

std::vector<json> Shop::ledger(const std::string& contract) const {
  std::vector<json> out;
  std::string cursor;
  do {
    const auto page = get("/v1/contracts/" + contract + "/ledger?limit=200" +
                          (cursor.empty() ? "" : "&cursor=" + cursor));
    for (const auto& e : page.at("items")) out.push_back(e);
    cursor = page.value("next_cursor", "");
  } while (!cursor.empty());
  return out;
}

ServerProcess money_server(Backend backend) {
  return start_server(backend, {{"CELLFLEET_TESTING_CLOCK", "adjustable"},
                                {"CELLFLEET_LOANS_CHECK_INTERVAL_SECONDS", "1"}});
}

Shop open_shop(const ServerProcess& server, const std::string& slug, const std::string& time_zone) {
  Shop s{Api{server.port()}, {}, {}};
  s.org = create_test_org(s.api, slug, time_zone);
  s.key = s.org.role_keys.at("finance");
  return s;
}

}  // namespace cellfleet::testing
