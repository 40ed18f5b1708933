#include "contract/backends.h"

#include <cstdlib>
#include <mutex>

#include "sqlite/temp_dir.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/sqlite/sqlite_store.h"

namespace cellfleet::storage::testing {

namespace {

BackendFactory sqlite_backend() {
  return {"sqlite", [](std::function<std::int64_t()> now) {
            auto dir = std::make_shared<TempDir>();
            SqliteOptions options;
            options.path = dir->file("contract.db");
            // Off: the suite checks behaviour, not durability (crash_test.cpp covers that), and
            // thousands of fsyncs would only make it slow.
            options.synchronous = "off";
            options.now_epoch_seconds = std::move(now);
            return OpenedBackend{dir, open_sqlite(options)};
          }};
}

// DynamoDB Local (scripts/dynamodb-local.sh start) at CELLFLEET_TEST_DYNAMODB_ENDPOINT. The tables
// are created once per test process and shared: every test writes under its own partition prefix.
BackendFactory dynamodb_backend(std::string endpoint) {
  return {"dynamodb", [endpoint](std::function<std::int64_t()> now) {
            DynamoDbOptions options;
            options.client.endpoint = endpoint;
            options.client.region = "us-east-1";
            // DynamoDB Local accepts any keys; fixed ones keep every run in one emulator database.
            options.client.credentials = {"cellfleettest", "cellfleettest", ""};
            options.table_prefix = "cellfleet-test-";
            options.streams = false;  // the emulator slows with every stream record it keeps
            options.now_epoch_seconds = std::move(now);
            static std::once_flag migrated;
            std::call_once(migrated, [&options] { migrate_dynamodb(options); });
            return OpenedBackend{nullptr, open_dynamodb(options)};
          }};
}

}  // namespace

// The single hook for further backends. The DynamoDB backend adds its factory here, guarded by
// CELLFLEET_TEST_DYNAMODB_ENDPOINT, so the suite runs against DynamoDB Local when one is given
// and never against a stand-in.
std::vector<BackendFactory> contract_backends() {
  std::vector<BackendFactory> backends;
  backends.push_back(sqlite_backend());
  if (const char* endpoint = std::getenv("CELLFLEET_TEST_DYNAMODB_ENDPOINT");
      endpoint != nullptr && *endpoint != '\0') {
    backends.push_back(dynamodb_backend(endpoint));
  }
  return backends;
}

}  // namespace cellfleet::storage::testing
