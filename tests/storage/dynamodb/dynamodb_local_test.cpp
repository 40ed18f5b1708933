// Against DynamoDB Local, when CELLFLEET_TEST_DYNAMODB_ENDPOINT names one
// (export CELLFLEET_TEST_DYNAMODB_ENDPOINT="$(scripts/dynamodb-local.sh start)"). The behaviour
// every backend shares is in tests/storage/contract/; here is what only DynamoDB has: the physical
// tables `cellfleet migrate` creates.

#include <cstdlib>
#include <random>
#include <string>

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
