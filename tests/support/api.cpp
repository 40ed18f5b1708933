#include "support/api.h"

#include "storage/schema.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <random>

namespace cellfleet::testing {

HttpResponse Api::call(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body, std::map<std::string, std::string> headers) const {
  if (!token.empty()) headers["Authorization"] = "Bearer " + token;
  if (!body.empty() && !headers.contains("Content-Type")) {
    headers["Content-Type"] = "application/json";
  }
  return http_request(port, method, path, body, headers);
}

TestOrg create_test_org(const Api& api, const std::string& slug, const std::string& time_zone) {
  auto res = api.call("POST", "/v1/platform/organizations", kPlatformToken,
                      nlohmann::json{{"name", slug + " rentals"},
                                     {"slug", slug},
                                     {"currency", "KES"},
                                     {"time_zone", time_zone},
                                     {"owner_email", "owner@" + slug + ".example"}}
                          .dump());
  INFO(res.body);
  REQUIRE(res.status == 201);
  auto body = res.json();
  TestOrg org{body["organization"]["id"], body["owner"]["id"], body["api_key"], {}};
  for (std::string role : {"owner", "admin", "operator", "finance", "viewer"}) {
    auto key = api.call("POST", "/v1/api-keys", org.owner_key,
                        nlohmann::json{{"name", role + " key"}, {"role", role}}.dump());
    REQUIRE(key.status == 201);
    org.role_keys[role] = key.json()["key"];
  }
  return org;
}

nlohmann::json pack_fields(const std::string& serial, const nlohmann::json& extra) {
  nlohmann::json body = {{"serial", serial},
                         {"model", "E-48"},
                         {"chemistry", "LFP"},
                         {"capacity_wh", 2000},
                         {"nominal_voltage_mv", 48000}};
  body.update(extra);
  return body;
}

std::string create_pack(const Api& api, const std::string& key, const nlohmann::json& fields) {
  auto res = api.call("POST", "/v1/devices", key, fields.dump());
  INFO(res.body);
  REQUIRE(res.status == 201);
  return res.json()["id"];
}

std::string issue_credential(const Api& api, const std::string& key, const std::string& device_id) {
  auto res = api.call("POST", "/v1/devices/" + device_id + "/credential", key);
  INFO(res.body);
  REQUIRE(res.status == 201);
  return res.json()["credential"];
}

const char* backend_name(Backend backend) {
  return backend == Backend::sqlite ? "sqlite" : "dynamodb";
}

namespace {
// DynamoDB Local keeps everything in memory and slows down as it fills (a 1,000-reading batch
// went from 0.5 s to 92 s on an emulator holding 150k items), so each test process deletes the
// tables it created when it exits. Each ctest case is its own process; no test shares tables.
class CreatedTables {
 public:
  void add(std::string endpoint, std::string prefix) {
    std::lock_guard lock(mutex_);
    created_.emplace_back(std::move(endpoint), std::move(prefix));
  }
  ~CreatedTables() {
    for (const auto& [endpoint, prefix] : created_) {
      auto port_at = endpoint.rfind(':');
      if (port_at == std::string::npos) continue;
      const auto port = static_cast<std::uint16_t>(std::stoi(endpoint.substr(port_at + 1)));
      for (const auto& table : storage::logical_schema()) {
        try {
          // DynamoDB Local checks the form of the signature, not its value. A plain request, not
          // the store's client: this runs at exit, after OpenSSL may have cleaned up.
          http_request(port, "POST", "/", nlohmann::json{{"TableName", prefix + table.name}}.dump(),
                       {{"Content-Type", "application/x-amz-json-1.0"},
                        {"X-Amz-Target", "DynamoDB_20120810.DeleteTable"},
                        {"Authorization",
                         "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/"
                         "aws4_request, SignedHeaders=host, Signature=0"}});
        } catch (const std::exception&) {
          // The emulator is gone already: nothing to clean.
        }
      }
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<std::string, std::string>> created_;
};
CreatedTables created_tables;
}  // namespace

std::map<std::string, std::string> backend_env(Backend backend) {
  if (backend == Backend::sqlite) return {};
  const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
  if (!endpoint) {
    FAIL(
        "CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test.sh, or start DynamoDB "
        "Local with scripts/dynamodb-local.sh start and export its endpoint");
  }
  static std::mt19937_64 random{std::random_device{}()};
  std::map<std::string, std::string> env = {
      {"CELLFLEET_STORAGE_BACKEND", "dynamodb"},
      {"CELLFLEET_DYNAMODB_ENDPOINT", endpoint},
      {"CELLFLEET_DYNAMODB_REGION", "us-east-1"},
      {"CELLFLEET_DYNAMODB_TABLE_PREFIX", "t" + std::to_string(random() % 1000000000) + "_"},
      // DynamoDB Local keeps every stream record, even of deleted tables, and slows down with
      // each (dynamodb_store.h); nothing reads them. dynamodb_local_test checks them on.
      {"CELLFLEET_DYNAMODB_STREAMS", "off"},
      {"AWS_ACCESS_KEY_ID", "local"},
      {"AWS_SECRET_ACCESS_KEY", "local"}};
  auto [status, out] = run_cellfleet({"migrate"}, env);
  INFO(out);
  REQUIRE(status == 0);
  created_tables.add(endpoint, env["CELLFLEET_DYNAMODB_TABLE_PREFIX"]);
  return env;
}

ServerProcess start_server(Backend backend, std::map<std::string, std::string> env) {
  auto all = backend_env(backend);
  all.merge(env);
  all["CELLFLEET_PLATFORM_ADMIN_TOKEN"] = kPlatformToken;
  return ServerProcess({}, all);
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339_ms(std::int64_t epoch_ms) {
  const std::time_t seconds = epoch_ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", text, static_cast<int>(epoch_ms % 1000));
  return out;
}

}  // namespace cellfleet::testing
