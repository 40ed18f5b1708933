// Against DynamoDB Local, when CELLFLEET_TEST_DYNAMODB_ENDPOINT names one
// (export CELLFLEET_TEST_DYNAMODB_ENDPOINT="$(scripts/dynamodb-local.sh start)"). The behaviour
// every backend shares is in tests/storage/contract/; here is what only DynamoDB has: the physical
// tables `cellfleet migrate` creates.

#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/dynamodb_store.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using nlohmann::json;

const char* local_endpoint() {
  const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
  return endpoint != nullptr && *endpoint != '\0' ? endpoint : nullptr;
}

cellfleet::storage::DynamoDbOptions local_options(const std::string& endpoint) {
  cellfleet::storage::DynamoDbOptions options;
  options.client.endpoint = endpoint;
  options.client.region = "us-east-1";
  options.client.credentials = {"cellfleettest", "cellfleettest", ""};
  options.table_prefix = "migrate" + std::to_string(std::random_device{}()) + "-";
  return options;
}

}  // namespace

TEST_CASE("migrate creates the entities table as designed, and running it again changes nothing",
          "[dynamodb]") {
  const char* endpoint = local_endpoint();
  if (endpoint == nullptr) {
    SUCCEED("CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set; run scripts/dynamodb-local.sh start");
    return;
  }
  const auto options = local_options(endpoint);
  cellfleet::storage::migrate_dynamodb(options);
  cellfleet::storage::migrate_dynamodb(options);  // idempotent: no error, nothing recreated

  dynamodb::DynamoDbClient client(options.client);
  const std::string name = options.table_prefix + "entities";
  const json table = client.call("DescribeTable", {{"TableName", name}})["Table"];
  CHECK(table["TableStatus"] == "ACTIVE");
  CHECK(table["KeySchema"] == json::array({{{"AttributeName", "pk"}, {"KeyType", "HASH"}},
                                           {{"AttributeName", "sk"}, {"KeyType", "RANGE"}}}));
  CHECK(table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST");
  CHECK(table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES");
  REQUIRE(table["GlobalSecondaryIndexes"].size() == 2);
  for (const auto& index : table["GlobalSecondaryIndexes"]) {
    CHECK(index["Projection"]["ProjectionType"] == "ALL");
  }
  const json ttl = client.call("DescribeTimeToLive", {{"TableName", name}});
  CHECK(ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at");

  auto store = cellfleet::storage::open_dynamodb(options);
  CHECK_NOTHROW(store->ping());
}

TEST_CASE("with streams turned off, migrate creates every table without a stream", "[dynamodb]") {
  // The test runs' setting (dynamodb.streams = off): DynamoDB Local slows down with every stream
  // record it keeps. Everything else about the tables is as in production.
  const char* endpoint = local_endpoint();
  if (endpoint == nullptr) {
    SUCCEED("CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set; run scripts/dynamodb-local.sh start");
    return;
  }
  auto options = local_options(endpoint);
  options.streams = false;
  cellfleet::storage::migrate_dynamodb(options);
  dynamodb::DynamoDbClient client(options.client);
  for (const auto& definition :
       cellfleet::storage::dynamodb_table_definitions(options.table_prefix)) {
    const std::string name = definition["TableName"];
    INFO(name);
    const json table = client.call("DescribeTable", {{"TableName", name}})["Table"];
    CHECK(table["TableStatus"] == "ACTIVE");
    CHECK_FALSE(table.value("StreamSpecification", json::object()).value("StreamEnabled", false));
    CHECK_FALSE(table.contains("LatestStreamArn"));
    CHECK(table["KeySchema"] == definition["KeySchema"]);
    CHECK(table.value("GlobalSecondaryIndexes", json::array()).size() ==
          definition.value("GlobalSecondaryIndexes", json::array()).size());
  }
}

TEST_CASE("migrate run by several processes at once: every one succeeds, the tables exist once",
          "[dynamodb]") {
  // Every ECS task that starts may run `cellfleet migrate`: CreateTable races end in
  // ResourceInUseException for all but one, which must count as success (then wait for ACTIVE),
  // and the TTL another one turned on meanwhile must not fail the rest.
  const char* endpoint = local_endpoint();
  if (endpoint == nullptr) {
    SUCCEED("CELLFLEET_TEST_DYNAMODB_ENDPOINT is not set; run scripts/dynamodb-local.sh start");
    return;
  }
  const auto options = local_options(endpoint);
  std::vector<std::exception_ptr> failures(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < failures.size(); ++i) {
    threads.emplace_back([&options, &failures, i] {
      try {
        cellfleet::storage::migrate_dynamodb(options);
      } catch (...) {
        failures[i] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& failure : failures) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        FAIL("a concurrent migrate failed: " << e.what());
      }
    }
  }
  dynamodb::DynamoDbClient client(options.client);
  for (const auto& definition : cellfleet::storage::dynamodb_table_definitions(options.table_prefix)) {
    const std::string name = definition["TableName"];
    const json table = client.call("DescribeTable", {{"TableName", name}})["Table"];
    CHECK(table["TableStatus"] == "ACTIVE");
    CHECK(table["KeySchema"] == definition["KeySchema"]);
    const json ttl = client.call("DescribeTimeToLive", {{"TableName", name}});
    CHECK(ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED");
  }
  auto store = cellfleet::storage::open_dynamodb(options);
  CHECK_NOTHROW(store->ping());
}
