// Reads of the DynamoDB Store (get, query, ping), its construction and its error translation.
#include "storage/dynamodb/dynamodb_store.h"

#include "storage/dynamodb/attribute_value.h"
#include "storage/dynamodb/cursor.h"
#include "storage/dynamodb/dynamodb_store_impl.h"
#include "storage/dynamodb/key_codec.h"
#include "storage/dynamodb/utf8_bounds.h"

namespace cellfleet::storage {

std::unique_ptr<Store> open_dynamodb(const DynamoDbOptions& options) {
  return std::make_unique<dynamodb::DynamoDbStore>(options);
}

}  // namespace cellfleet::storage

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

std::string sort_condition(const SortCondition& sort, const std::string& attribute,
                           const std::string& value, const std::string& upper) {
  switch (sort.op) {
    case SortCondition::Op::eq:
      return attribute + " = " + value;
    case SortCondition::Op::begins_with:
      return "begins_with(" + attribute + ", " + value + ")";
    case SortCondition::Op::between:
      return attribute + " BETWEEN " + value + " AND " + upper;
    case SortCondition::Op::lt:
      return attribute + " < " + value;
    case SortCondition::Op::le:
      return attribute + " <= " + value;
    case SortCondition::Op::gt:
      return attribute + " > " + value;
    case SortCondition::Op::ge:
      return attribute + " >= " + value;
  }
  throw InvalidRequest("unknown sort condition");
}

// The LastEvaluatedKey DynamoDB would give for a page ending at item: the table's key, plus the
// index's key for an index query.
json key_of(const json& item, const IndexSpec* index) {
  json key = {{"pk", item.at("pk")}, {"sk", item.at("sk")}};
  if (index != nullptr) {
    key[index->partition_key] = item.at(index->partition_key);
    key[index->sort_key] = item.at(index->sort_key);
  }
  return key;
}

}  // namespace

DynamoDbStore::DynamoDbStore(const DynamoDbOptions& options)
    : client_(options.client), prefix_(options.table_prefix), now_(options.now_epoch_seconds) {
  if (!now_) throw std::invalid_argument("dynamodb: no clock given");
}

const TableSpec& DynamoDbStore::table_spec(const std::string& name) const {
  const TableSpec* table = find_table(name);
  if (table == nullptr) throw InvalidRequest("unknown table '" + name + "'");
  return *table;
}

bool DynamoDbStore::expired(const TableSpec& table, const json& dynamo_item) const {
  if (table.ttl_attribute.empty()) return false;
  const auto ttl = dynamo_item.find(table.ttl_attribute);
  if (ttl == dynamo_item.end() || !ttl->contains("N")) return false;
  const json value = json::parse((*ttl)["N"].get<std::string>());
  return value.is_number_integer() && value.get<std::int64_t>() <= now_();
}

json DynamoDbStore::call(std::string_view operation, const json& request) {
  try {
    return client_.call(operation, request);
  } catch (const ServiceError& error) {
    rethrow_as_store_error(error);
  }
}

std::string not_expired(const TableSpec& table, ExpressionBuilder& expression, std::int64_t now) {
  if (table.ttl_attribute.empty()) return {};
  const std::string ttl = expression.name(table.ttl_attribute);
  return "(attribute_not_exists(" + ttl + ") OR " + ttl + " > " +
         expression.value({{"N", std::to_string(now)}}) + ")";
}

void rethrow_as_store_error(const ServiceError& error) {
  if (error.type == "ValidationException" || error.type == "SerializationException") {
    throw InvalidRequest("dynamodb rejected the request: " + error.message);
  }
  if (error.type == "ResourceNotFoundException") {
    throw Unavailable("dynamodb: " + error.message + " (has `cellfleet migrate` run?)");
  }
  throw Unavailable(error.what());
}

std::optional<Item> DynamoDbStore::get(const std::string& table_name, const Key& key) {
  const TableSpec& table = table_spec(table_name);
  const json response = call(
      "GetItem",
      {{"TableName", physical_name(table)}, {"Key", to_dynamo_key(key)}, {"ConsistentRead", true}});
  const auto item = response.find("Item");
  if (item == response.end() || expired(table, *item)) return std::nullopt;
  return from_dynamo_item(table, *item);
}

Page DynamoDbStore::query(const Query& q) {
  const TableSpec& table = table_spec(q.table);
  const IndexSpec* index = nullptr;
  if (q.index) {
    index = find_index(table, *q.index);
    if (index == nullptr) throw InvalidRequest("table '" + q.table + "' has no index " + *q.index);
  }
  if (q.limit < 1 || q.limit > 1000) throw InvalidRequest("query limit must be within 1..1000");
  const std::string partition_attribute = index ? index->partition_key : "pk";
  const std::string sort_attribute = index ? index->sort_key : "sk";

  json start;
  if (!q.cursor.empty()) start = decode_cursor(q, q.cursor);

  // A sort condition DynamoDB cannot take as is (bytes that are not UTF-8) is widened to one it
  // can, and the items are then checked against the original one here.
  std::optional<SortCondition> sort = q.sort;
  bool check_sort_here = false;
  if (sort) {
    sort = valid_utf8_condition(*q.sort);
    if (!sort) return {};
    check_sort_here =
        sort->op != q.sort->op || sort->value != q.sort->value || sort->upper != q.sort->upper;
    // DynamoDB refuses BETWEEN with its bounds reversed; no key lies between them anyway.
    if (sort->op == SortCondition::Op::between && sort->value > sort->upper) return {};
  }

  ExpressionBuilder expression;
  const json partition = {{"S", stored_partition(table, partition_attribute, q.partition)}};
  if (start.is_object() && start.value(partition_attribute, json()) != partition) {
    throw InvalidRequest("cursor belongs to another query");
  }
  std::string key_condition =
      expression.name(partition_attribute) + " = " + expression.value(partition);
  if (sort) {
    const SortCondition stored = stored_sort_condition(table, sort_attribute, *sort);
    const auto value = [&](const std::string& v) { return expression.value({{"S", v}}); };
    const std::string upper = stored.op == SortCondition::Op::between ? value(stored.upper) : "";
    key_condition += " AND " + sort_condition(stored, expression.name(sort_attribute),
                                              value(stored.value), upper);
  }
  json request = {{"TableName", physical_name(table)},
                  {"KeyConditionExpression", key_condition},
                  {"ScanIndexForward", q.forward}};
  // Index queries cannot be strongly consistent on DynamoDB; primary-key queries are.
  if (index) {
    request["IndexName"] = index->name;
  } else {
    request["ConsistentRead"] = true;
  }
  const std::string filter = not_expired(table, expression, now_());
  if (!filter.empty()) request["FilterExpression"] = filter;
  expression.attach(request);

  // DynamoDB applies Limit before the expiry filter, and a page ending exactly at the partition's
  // end still carries a LastEvaluatedKey. Asking for one item more than wanted, and again while
  // filtered pages come back short, yields full pages and a cursor only when more items exist.
  std::vector<json> items;
  std::string next_cursor;
  while (true) {
    request["Limit"] = q.limit + 1 - items.size();
    if (start.is_object()) request["ExclusiveStartKey"] = start;
    const json response = call("Query", request);
    for (const auto& item : response.at("Items")) {
      if (check_sort_here) {
        const auto& text = item.at(sort_attribute).at("S").get_ref<const std::string&>();
        if (!matches(*q.sort, logical_key_string(table, sort_attribute, text))) continue;
      }
      items.push_back(item);
    }
    if (items.size() > q.limit) {
      items.resize(q.limit);
      next_cursor = encode_cursor(q, key_of(items.back(), index));
      break;
    }
    const auto last = response.find("LastEvaluatedKey");
    if (last == response.end()) break;
    start = *last;
  }

  Page page;
  page.items.reserve(items.size());
  for (const auto& item : items) page.items.push_back(from_dynamo_item(table, item));
  page.next_cursor = std::move(next_cursor);
  return page;
}

void DynamoDbStore::ping() {
  // DescribeTable of each table of ours rather than ListTables: ready means all our tables exist
  // and take requests, and the task role needs no permission on the account's other tables
  // (deploy/cloudformation.yaml). A table still CREATING (a migrate in progress) is not ready;
  // UPDATING (an index being added, a billing change) still serves every request.
  for (const auto& table : logical_schema()) {
    const std::string name = physical_name(table);
    const json description = call("DescribeTable", {{"TableName", name}});
    const std::string status =
        description.value("Table", json::object()).value("TableStatus", std::string());
    if (status != "ACTIVE" && status != "UPDATING") {
      throw Unavailable("dynamodb: table " + name + " is " +
                        (status.empty() ? std::string("of unknown status") : status));
    }
  }
}

}  // namespace cellfleet::storage::dynamodb
