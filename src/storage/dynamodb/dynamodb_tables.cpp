// The physical DynamoDB schema, built from the logical one in schema.h (`cellfleet migrate`).
#include <thread>

#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/schema.h"

namespace cellfleet::storage {
namespace {

using dynamodb::DynamoDbClient;
using dynamodb::ServiceError;
using nlohmann::json;

json key_schema(const std::string& partition, const std::string& sort) {
  return json::array({{{"AttributeName", partition}, {"KeyType", "HASH"}},
                      {{"AttributeName", sort}, {"KeyType", "RANGE"}}});
}

json create_table_request(const TableSpec& table, const std::string& name) {
  // Every key attribute is a string (store.h); only key attributes are declared, as DynamoDB asks.
  json attributes = json::array({{{"AttributeName", "pk"}, {"AttributeType", "S"}},
                                 {{"AttributeName", "sk"}, {"AttributeType", "S"}}});
  json indexes = json::array();
  for (const auto& index : table.indexes) {
    attributes.push_back({{"AttributeName", index.partition_key}, {"AttributeType", "S"}});
    attributes.push_back({{"AttributeName", index.sort_key}, {"AttributeType", "S"}});
    // Whole items are projected: an index query returns what a table query returns, without a
    // second read per item.
    indexes.push_back({{"IndexName", index.name},
                       {"KeySchema", key_schema(index.partition_key, index.sort_key)},
                       {"Projection", {{"ProjectionType", "ALL"}}}});
  }
  json request = {
      {"TableName", name},
      {"AttributeDefinitions", attributes},
      {"KeySchema", key_schema("pk", "sk")},
      // On-demand: no capacity to plan, throttling only at the account's limits.
      {"BillingMode", "PAY_PER_REQUEST"},
      // Streams with both images, so the outbox can later be driven by DynamoDB Streams
      // and changes relayed without polling.
      {"StreamSpecification", {{"StreamEnabled", true}, {"StreamViewType", "NEW_AND_OLD_IMAGES"}}}};
  if (!indexes.empty()) request["GlobalSecondaryIndexes"] = indexes;
  return request;
}

bool is_active(const json& description) {
  const json& table = description.at("Table");
  if (table.value("TableStatus", std::string()) != "ACTIVE") return false;
  for (const auto& index : table.value("GlobalSecondaryIndexes", json::array())) {
    if (index.value("IndexStatus", std::string()) != "ACTIVE") return false;
  }
  return true;
}

void wait_until_active(DynamoDbClient& client, const std::string& name,
                       std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!is_active(client.call("DescribeTable", {{"TableName", name}}))) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw Unavailable("dynamodb: table " + name + " did not become ACTIVE in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

void enable_ttl(DynamoDbClient& client, const std::string& name, const std::string& attribute) {
  const json description = client.call("DescribeTimeToLive", {{"TableName", name}});
  const std::string status =
      description.value("TimeToLiveDescription", json::object()).value("TimeToLiveStatus", "");
  // Turning TTL on twice is an error on DynamoDB; so is changing its attribute, which is left to an
  // operator on purpose (items under the old attribute would silently stop expiring).
  if (status == "ENABLED" || status == "ENABLING") return;
  client.call("UpdateTimeToLive",
              {{"TableName", name},
               {"TimeToLiveSpecification", {{"AttributeName", attribute}, {"Enabled", true}}}});
}

}  // namespace

void migrate_dynamodb(const DynamoDbOptions& options) {
  DynamoDbClient client(options.client);
  try {
    for (const auto& table : logical_schema()) {
      const std::string name = options.table_prefix + table.name;
      try {
        client.call("CreateTable", create_table_request(table, name));
      } catch (const ServiceError& error) {
        // Already there (or being created by another instance's migrate): keep it.
        if (error.type != "ResourceInUseException") throw;
      }
      wait_until_active(client, name, options.table_ready_timeout);
      if (!table.ttl_attribute.empty()) enable_ttl(client, name, table.ttl_attribute);
    }
  } catch (const ServiceError& error) {
    throw Unavailable(std::string("dynamodb migrate: ") + error.what());
  }
}

}  // namespace cellfleet::storage
