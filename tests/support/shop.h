#pragma once
// An operator's money work against a running server, for the money, invoice and insights tests:
// customers, in-stock packs, products, contracts and payments through the API, the server's clock
// moved in test mode, and polls for what the event chain does next.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/api.h"

namespace cellfleet::testing {

// A unique Idempotency-Key.
std::string fresh_idempotency_key();

struct Shop {
  Api api;
  TestOrg org;
  std::string key;  // a finance key

  // The body of res, which must have this status (REQUIRE).
  nlohmann::json ok(const HttpResponse& res, int status = 200) const;
  nlohmann::json get(const std::string& path) const;
  // A POST with an Idempotency-Key (a fresh one unless given).
  HttpResponse post(const std::string& path, const nlohmann::json& body,
                    const std::string& idempotency_key = "") const;

  std::string customer(const std::string& name, const std::string& phone,
                       const nlohmann::json& extra = nlohmann::json::object()) const;
  std::string stocked_pack(const std::string& serial) const;  // registered, then in_stock
  std::string product(const nlohmann::json& body) const;
  nlohmann::json contract(const std::string& customer, const std::string& pack,
                          const std::string& product) const;
  // A cash payment in KES for the contract (must answer 201).
  nlohmann::json pay(const std::string& contract_id, std::int64_t amount,
                     const std::string& idempotency_key = "") const;
  // Moves the server's clock forward (the server runs with testing.clock = "adjustable").
  void advance(std::int64_t seconds) const;

  // Polls (up to 60 s: a slow sanitizer build on DynamoDB Local) until pred holds of the
  // contract / until the pack's access decision is state; FAILs otherwise.
  nlohmann::json contract_when(const std::string& id,
                               const std::function<bool(const nlohmann::json&)>& pred) const;
  nlohmann::json access_when(const std::string& pack, const std::string& state) const;
  std::vector<nlohmann::json> commands(const std::string& pack) const;  // newest first
  std::vector<nlohmann::json> ledger(const std::string& contract) const;  // every entry
};

// A server on backend with the adjustable clock and a contract check every second.
ServerProcess money_server(Backend backend);
// An organization on the server (in time_zone: Africa/Nairobi unless given), with its finance key
// as the shop's.
Shop open_shop(const ServerProcess& server, const std::string& slug,
               const std::string& time_zone = "Africa/Nairobi");

}  // namespace cellfleet::testing
