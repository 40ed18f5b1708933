// DynamoDB on AWS is reached over HTTPS: the client must speak TLS, check whom it talks to, and
// keep TLS connections alive like plain ones.

#include <chrono>

#include <catch2/catch.hpp>

#include "dynamodb/scripted_server.h"
#include "dynamodb/test_certificate.h"
#include "storage/dynamodb/dynamodb_client.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::testing::ScriptedServer;
using cellfleet::storage::testing::TestCertificate;
using nlohmann::json;

dynamodb::ClientOptions https_options(const ScriptedServer& server) {
  dynamodb::ClientOptions options;
  options.endpoint = "https" + server.endpoint().substr(4);  // http://127.0.0.1:port
  options.region = "us-east-1";
  options.credentials = {"id", "secret", ""};
  options.max_attempts = 2;
  options.base_delay = std::chrono::milliseconds(1);
  return options;
}

}  // namespace

TEST_CASE("calls over TLS reach a server whose certificate is trusted, on one connection",
          "[dynamodb]") {
  TestCertificate certificate;
  ScriptedServer server({{200, R"({"TableNames":[]})"}, {200, R"({"n":2})"}},
                        certificate.server_context());
  auto options = https_options(server);
  options.http.ca_file = certificate.pem_path();
  dynamodb::DynamoDbClient client(options);
  CHECK(client.call("ListTables", json::object()) == json{{"TableNames", json::array()}});
  CHECK(client.call("ListTables", json::object()) == json{{"n", 2}});
  CHECK(server.connections() == 1);
}

TEST_CASE("a server whose certificate is not trusted gets no request", "[dynamodb]") {
  TestCertificate certificate;
  ScriptedServer server({{200, "{}"}}, certificate.server_context());
  dynamodb::DynamoDbClient client(https_options(server));  // the system's CAs only
  CHECK_THROWS_AS(client.call("ListTables", json::object()), cellfleet::storage::Unavailable);
  CHECK(server.requests() == 0);
}

TEST_CASE("a CA file that cannot be read is refused up front", "[dynamodb]") {
  dynamodb::ClientOptions options;
  options.endpoint = "https://127.0.0.1:1";
  options.region = "us-east-1";
  options.credentials = {"id", "secret", ""};
  options.http.ca_file = "/nonexistent/ca.pem";
  CHECK_THROWS_AS(dynamodb::DynamoDbClient(options), std::invalid_argument);
}
