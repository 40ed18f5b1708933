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

// The table as `cellfleet migrate` makes it: the CreateTable request, plus the two settings
// DynamoDB takes in calls of their own (TTL and point-in-time recovery).
json table_definition(const TableSpec& table, const std::string& name, bool streams) {
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
  json definition = {
      {"TableName", name},
      {"AttributeDefinitions", attributes},
      {"KeySchema", key_schema("pk", "sk")},
      // On-demand: no capacity to plan, throttling only at the account's limits.
      {"BillingMode", "PAY_PER_REQUEST"},
      // Restore to any second of the last 35 days (docs/deploy-aws.md).
      {"PointInTimeRecoverySpecification", {{"PointInTimeRecoveryEnabled", true}}}};
  // Streams with both images, so the outbox can later be driven by DynamoDB Streams and changes
  // relayed without polling.
  if (streams) {
    definition["StreamSpecification"] = {{"StreamEnabled", true},
                                         {"StreamViewType", "NEW_AND_OLD_IMAGES"}};
  }
  if (!indexes.empty()) definition["GlobalSecondaryIndexes"] = indexes;
  if (!table.ttl_attribute.empty()) {
    definition["TimeToLiveSpecification"] = {{"AttributeName", table.ttl_attribute},
                                             {"Enabled", true}};
  }
  return definition;
}

json create_table_request(const json& definition) {
  json request = definition;
  request.erase("PointInTimeRecoverySpecification");
  request.erase("TimeToLiveSpecification");
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

bool table_exists(DynamoDbClient& client, const std::string& name) {
  try {
    client.call("DescribeTable", {{"TableName", name}});
    return true;
  } catch (const ServiceError& error) {
    if (error.type == "ResourceNotFoundException") return false;
    throw;
  }
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

std::string ttl_status(DynamoDbClient& client, const std::string& name) {
  const json description = client.call("DescribeTimeToLive", {{"TableName", name}});
  return description.value("TimeToLiveDescription", json::object()).value("TimeToLiveStatus", "");
}

void enable_ttl(DynamoDbClient& client, const std::string& name, const std::string& attribute) {
  // Turning TTL on twice is an error on DynamoDB; so is changing its attribute, which is left to an
  // operator on purpose (items under the old attribute would silently stop expiring).
  auto on = [](const std::string& status) { return status == "ENABLED" || status == "ENABLING"; };
  if (on(ttl_status(client, name))) return;
  try {
    client.call("UpdateTimeToLive",
                {{"TableName", name},
                 {"TimeToLiveSpecification", {{"AttributeName", attribute}, {"Enabled", true}}}});
  } catch (const ServiceError& error) {
    // Another instance's migrate turned it on between our look and our call.
    if (error.type != "ValidationException" || !on(ttl_status(client, name))) throw;
  }
}

bool pitr_enabled(DynamoDbClient& client, const std::string& name) {
  const json description = client.call("DescribeContinuousBackups", {{"TableName", name}});
  return description.value("ContinuousBackupsDescription", json::object())
             .value("PointInTimeRecoveryDescription", json::object())
             .value("PointInTimeRecoveryStatus", "") == "ENABLED";
}

void enable_point_in_time_recovery(DynamoDbClient& client, const std::string& name) {
  try {
    if (pitr_enabled(client, name)) return;
    client.call("UpdateContinuousBackups",
                {{"TableName", name},
                 {"PointInTimeRecoverySpecification", {{"PointInTimeRecoveryEnabled", true}}}});
  } catch (const ServiceError& error) {
    // DynamoDB Local has no backups at all: nothing to turn on there.
    if (error.type == "UnknownOperationException") return;
    // Continuous backups are still being set up for a new table, or another instance turned
    // recovery on meanwhile: what counts is that it ends up on.
    if (error.type == "ContinuousBackupsUnavailableException" || error.type == "ValidationException") {
      for (int attempt = 0; attempt < 60; ++attempt) {
        std::this_thread::sleep_for(std::chrono::seconds(2));
        try {
          if (pitr_enabled(client, name)) return;
          client.call("UpdateContinuousBackups",
                      {{"TableName", name},
                       {"PointInTimeRecoverySpecification", {{"PointInTimeRecoveryEnabled", true}}}});
          return;
        } catch (const ServiceError& again) {
          if (again.type != error.type) throw;
        }
      }
    }
    throw;
  }
}

}  // namespace

nlohmann::json dynamodb_table_definitions(const std::string& table_prefix) {
  json tables = json::array();
  for (const auto& table : logical_schema()) {
    tables.push_back(table_definition(table, table_prefix + table.name, /*streams=*/true));
  }
  return tables;
}

void migrate_dynamodb(const DynamoDbOptions& options) {
  DynamoDbClient client(options.client);
  try {
    for (const auto& table : logical_schema()) {
      const std::string name = options.table_prefix + table.name;
      const json definition = table_definition(table, name, options.streams);
      // Looked up first: a table that exists (made by an earlier migrate, another task, or
      // CloudFormation) needs no CreateTable, which the ECS task role is not granted
      // (deploy/cloudformation.yaml); migrate then only reads, and succeeds under that role.
      if (!table_exists(client, name)) {
        try {
          client.call("CreateTable", create_table_request(definition));
        } catch (const ServiceError& error) {
          // Being created by another instance's migrate at this moment (every starting task may
          // run migrate): keep it, and wait below until it is ACTIVE.
          if (error.type != "ResourceInUseException") throw;
        }
      }
      wait_until_active(client, name, options.table_ready_timeout);
      if (!table.ttl_attribute.empty()) enable_ttl(client, name, table.ttl_attribute);
      enable_point_in_time_recovery(client, name);
    }
  } catch (const ServiceError& error) {
    throw Unavailable(std::string("dynamodb migrate: ") + error.what());
  }
}

}  // namespace cellfleet::storage
