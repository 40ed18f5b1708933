#pragma once
// The DynamoDB backend of Store: the tables of schema.h, each one DynamoDB table named
// table_prefix + logical name, reached over the JSON protocol (real AWS or DynamoDB Local).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/dynamodb/dynamodb_client.h"
#include "storage/store.h"

namespace cellfleet::storage {

struct DynamoDbOptions {
  dynamodb::ClientOptions client;  // endpoint, region, credentials, retries, pool
  // Prepended to every logical table name, so several deployments (or test runs) share an account
  // or one DynamoDB Local: "cellfleet-prod-" + "entities".
  std::string table_prefix = "cellfleet-";
  // Whether migrate creates tables with DynamoDB Streams (new and old images). On in production:
  // deploy/cloudformation.yaml declares them. Off only against DynamoDB Local in test and
  // benchmark runs: nothing reads the streams yet, and the emulator keeps every stream record,
  // even of deleted tables, so each write gets slower the more it has served (a 1,000-item
  // BatchWriteItem from 0.2 s to over 1 s after six tables of 1,000 items; see docs/decisions.md).
  bool streams = true;
  // How long migrate_dynamodb waits for a new table to become ACTIVE.
  std::chrono::seconds table_ready_timeout{300};
  // "Now" for TTL: items whose expiry is <= now are gone for reads and conditions, whether or not
  // DynamoDB has deleted them yet (it takes up to a few days).
  std::function<std::int64_t()> now_epoch_seconds = [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
};

// A Store over existing tables (see migrate_dynamodb). Does not contact DynamoDB until first use.
// Throws std::invalid_argument for unusable options (endpoint, region, credentials).
std::unique_ptr<Store> open_dynamodb(const DynamoDbOptions& options);

// Every table of the logical schema as migrate_dynamodb makes it, one JSON object per table: the
// CreateTable request (TableName = table_prefix + name, AttributeDefinitions, KeySchema,
// BillingMode, StreamSpecification, GlobalSecondaryIndexes) plus TimeToLiveSpecification and
// PointInTimeRecoverySpecification. `cellfleet schema --dynamodb` prints it; the test of
// deploy/cloudformation.yaml compares the template's tables with it.
nlohmann::json dynamodb_table_definitions(const std::string& table_prefix);

// Creates every table of the logical schema that does not exist yet (on-demand billing, streams
// with new and old images, the sparse indexes projecting whole items), waits until each is ACTIVE
// and turns on its TTL and point-in-time recovery (skipped on DynamoDB Local, which has none).
// Idempotent and safe to run from several processes at once: a table another process is creating
// is waited for, and settings another process turned on count as done.
// Throws Unavailable when DynamoDB cannot be reached or a table does not become ACTIVE in time.
void migrate_dynamodb(const DynamoDbOptions& options);

}  // namespace cellfleet::storage
