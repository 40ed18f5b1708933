#pragma once
// Speaking to a running server as its users do: an Api bound to a port, organizations made
// through the platform route, and servers on either storage backend.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/server_process.h"

namespace cellfleet::testing {

inline const std::string kPlatformToken = "platform-admin-token-for-tests-0123456789";

struct Api {
  std::uint16_t port;
  // One request; a JSON body gets Content-Type: application/json unless headers name another.
  HttpResponse call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "",
                    std::map<std::string, std::string> headers = {}) const;
};

struct TestOrg {
  std::string id;
  std::string owner_id;
  std::string owner_key;
  std::map<std::string, std::string> role_keys;  // role -> API key, for every role
};

// Creates an organization (currency KES, in time_zone: Africa/Nairobi unless given) and an API
// key for every role.
TestOrg create_test_org(const Api& api, const std::string& slug,
                        const std::string& time_zone = "Africa/Nairobi");

// The body that registers a pack: an LFP pack of 2 kWh at 48 V with this serial, with extra
// fields added or replacing those.
nlohmann::json pack_fields(const std::string& serial,
                           const nlohmann::json& extra = nlohmann::json::object());
// Registers the pack (POST /v1/devices must answer 201) and returns its id.
std::string create_pack(const Api& api, const std::string& key, const nlohmann::json& fields);
// Issues the pack's device credential (must answer 201) and returns it: "cfd_...".
std::string issue_credential(const Api& api, const std::string& key, const std::string& device_id);

// An instant as the API writes it: "2026-11-26T09:30:00.250Z".
std::string rfc3339_ms(std::int64_t epoch_ms);
// This process's wall clock in epoch milliseconds (a server in test mode starts from the same).
std::int64_t now_ms();

enum class Backend { sqlite, dynamodb };
const char* backend_name(Backend backend);

// `cellfleet serve` on the backend, with kPlatformToken as the platform token. For DynamoDB it
// first migrates fresh tables under a unique prefix on DynamoDB Local; the test FAILs when
// CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set (scripts/test.sh sets it).
ServerProcess start_server(Backend backend, std::map<std::string, std::string> env = {});

// The environment that points cellfleet at backend (empty for SQLite). For DynamoDB a fresh
// table prefix each call, tables migrated.
std::map<std::string, std::string> backend_env(Backend backend);

}  // namespace cellfleet::testing
