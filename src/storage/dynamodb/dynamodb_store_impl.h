#pragma once
// The DynamoDB Store's class, shared by its translation units: reads in dynamodb_store.cpp,
// write() in dynamodb_write.cpp, put_many() in dynamodb_put_many.cpp.

#include <map>
#include <string>
#include <tuple>

#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/dynamodb_store.h"
#include "storage/dynamodb/expression.h"
#include "storage/schema.h"

namespace cellfleet::storage::dynamodb {

// Items as stored, by (logical table, pk, sk).
using StoredItems = std::map<std::tuple<std::string, std::string, std::string>, nlohmann::json>;

class DynamoDbStore : public Store {
 public:
  explicit DynamoDbStore(const DynamoDbOptions& options);

  std::optional<Item> get(const std::string& table, const Key& key) override;
  Page query(const Query& q) override;
  void write(const WriteBatch& batch) override;
  void put_many(const std::string& table, const std::vector<Item>& items) override;
  void ping() override;

 private:
  const TableSpec& table_spec(const std::string& name) const;
  std::string physical_name(const TableSpec& table) const { return prefix_ + table.name; }
  bool expired(const TableSpec& table, const nlohmann::json& dynamo_item) const;
  nlohmann::json call(std::string_view operation, const nlohmann::json& request);
  StoredItems read_updated_items(const WriteBatch& batch);
  void send_batch_write(const std::string& physical_table, nlohmann::json requests);
  nlohmann::json transact_item(const WriteOp& op, const StoredItems& stored);
  [[noreturn]] void throw_cancellation(const ServiceError& error, const WriteBatch& batch);

  DynamoDbClient client_;
  std::string prefix_;
  std::function<std::int64_t()> now_;
};

// "attribute_not_exists(ttl) OR ttl > :now": true for an item that has not expired. Empty when
// the table has no TTL attribute.
std::string not_expired(const TableSpec& table, ExpressionBuilder& expression, std::int64_t now);

// Translates a DynamoDB error the store did not expect into the Store's error types.
[[noreturn]] void rethrow_as_store_error(const ServiceError& error);

}  // namespace cellfleet::storage::dynamodb
