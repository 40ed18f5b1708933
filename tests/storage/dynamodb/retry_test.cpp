// The client's promises about failures: what it retries, what it does not, and that it keeps its
// connections alive between calls.

#include <chrono>

#include <catch2/catch.hpp>

#include "dynamodb/scripted_server.h"
#include "storage/dynamodb/dynamodb_client.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::testing::ScriptedResponse;
using cellfleet::storage::testing::ScriptedServer;
using nlohmann::json;

dynamodb::DynamoDbClient client_for(const ScriptedServer& server, int max_attempts = 4) {
  dynamodb::ClientOptions options;
  options.endpoint = server.endpoint();
  options.region = "us-east-1";
  options.credentials = {"id", "secret", ""};
  options.max_attempts = max_attempts;
  options.base_delay = std::chrono::milliseconds(1);
  options.max_delay = std::chrono::milliseconds(5);
  return dynamodb::DynamoDbClient(options);
}

const std::string kThrottled =
    R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",)"
    R"("message":"slow down"})";

}  // namespace

TEST_CASE("throttling and server errors are retried until DynamoDB answers", "[dynamodb]") {
  ScriptedServer server({{500, "{}"}, {400, kThrottled}, {200, R"({"TableNames":["t"]})"}});
  auto client = client_for(server);
  CHECK(client.call("ListTables", json::object()) == json{{"TableNames", {"t"}}});
  CHECK(server.requests() == 3);
}

TEST_CASE("a request DynamoDB rejects is not retried, and says why", "[dynamodb]") {
  ScriptedServer server(
      {{400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ValidationException",)"
             R"("message":"bad key"})"}});
  auto client = client_for(server);
  try {
    client.call("GetItem", json::object());
    FAIL("no error thrown");
  } catch (const dynamodb::ServiceError& error) {
    CHECK(error.type == "ValidationException");
    CHECK(error.message == "bad key");
    CHECK(error.status == 400);
  }
  CHECK(server.requests() == 1);
}

TEST_CASE("a backend that keeps failing is Unavailable after max_attempts", "[dynamodb]") {
  ScriptedServer server({{503, "{}"}, {503, "{}"}, {503, "{}"}, {200, "{}"}});
  auto client = client_for(server, 3);
  CHECK_THROWS_AS(client.call("ListTables", json::object()), cellfleet::storage::Unavailable);
  CHECK(server.requests() == 3);
}

TEST_CASE("calls share one keep-alive connection, and a dropped one is replaced unnoticed",
          "[dynamodb]") {
  ScriptedServer server({{200, "{}"}, {200, "{}", /*close_after=*/true}, {200, R"({"n":3})"}});
  auto client = client_for(server, /*max_attempts=*/1);
  client.call("ListTables", json::object());
  client.call("ListTables", json::object());
  CHECK(server.connections() == 1);
  // The server closed the pooled connection; with a single attempt allowed, only the client's
  // stale-connection rule can make this call succeed.
  CHECK(client.call("ListTables", json::object()) == json{{"n", 3}});
  CHECK(server.connections() == 2);
}
