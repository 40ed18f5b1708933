// The same server on the DynamoDB backend, against DynamoDB Local (started by scripts/test.sh;
// its endpoint in CELLFLEET_TEST_DYNAMODB_ENDPOINT).
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "support/http_client.h"
#include "support/server_process.h"

using namespace cellfleet::testing;

TEST_CASE("the server runs on DynamoDB: migrate, create an organization, read it back",
          "[integration][dynamodb]") {
  const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
  if (!endpoint) {
    FAIL(
        "CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test.sh, or start DynamoDB "
        "Local with scripts/dynamodb-local.sh start and export its endpoint");
  }
  std::string prefix = "it" + std::to_string(std::random_device{}()) + "_";
  const std::string token = "platform-admin-token-for-dynamodb-tests-0123";
  std::map<std::string, std::string> env = {
      {"CELLFLEET_STORAGE_BACKEND", "dynamodb"},  {"CELLFLEET_DYNAMODB_ENDPOINT", endpoint},
      {"CELLFLEET_DYNAMODB_REGION", "us-east-1"}, {"CELLFLEET_DYNAMODB_TABLE_PREFIX", prefix},
      {"CELLFLEET_DYNAMODB_STREAMS", "off"},  // the emulator slows with each stream record
      {"CELLFLEET_PLATFORM_ADMIN_TOKEN", token},  {"AWS_ACCESS_KEY_ID", "local"},
      {"AWS_SECRET_ACCESS_KEY", "local"}};
  auto [status, out] = run_cellfleet({"migrate"}, env);
  INFO(out);
  REQUIRE(status == 0);
  auto [again, again_out] = run_cellfleet({"migrate"}, env);  // idempotent
  CHECK(again == 0);

  ServerProcess server({}, env);
  CHECK(http_request(server.port(), "GET", "/readyz").status == 200);
  auto created = http_request(
      server.port(), "POST", "/v1/platform/organizations",
      R"({"name":"Dyn","slug":"dyn","currency":"NGN","time_zone":"Africa/Lagos","owner_email":"o@dyn.example"})",
      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  REQUIRE(created.status == 201);
  std::string key = created.json()["api_key"];
  auto me =
      http_request(server.port(), "GET", "/v1/auth/me", "", {{"Authorization", "Bearer " + key}});
  REQUIRE(me.status == 200);
  CHECK(me.json()["organization"]["slug"] == "dyn");
  auto dup = http_request(
      server.port(), "POST", "/v1/platform/organizations",
      R"({"name":"Dyn2","slug":"dyn","currency":"NGN","time_zone":"Africa/Lagos","owner_email":"p@dyn.example"})",
      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  CHECK(dup.status == 409);
}
