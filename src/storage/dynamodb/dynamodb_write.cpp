// write() of the DynamoDB Store: one TransactWriteItems per batch.
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "storage/dynamodb/attribute_value.h"
#include "storage/dynamodb/dynamodb_store_impl.h"
#include "storage/dynamodb/update_plan.h"

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

// The condition as an expression over the item as stored; an expired item counts as absent, as
// it does for get() (DynamoDB deletes expired items only eventually).
std::string condition_expression(const TableSpec& table, const Condition& condition,
                                 ExpressionBuilder& expression, std::int64_t now) {
  // Placeholders are made only for a real condition: DynamoDB rejects unused ones.
  if (condition.kind == Condition::Kind::none) return {};
  const std::string alive = not_expired(table, expression, now);
  const auto and_alive = [&](std::string e) { return alive.empty() ? e : e + " AND " + alive; };
  switch (condition.kind) {
    case Condition::Kind::none:
      break;
    case Condition::Kind::must_exist:
      return and_alive("attribute_exists(" + expression.name("pk") + ")");
    case Condition::Kind::must_not_exist: {
      const std::string absent = "attribute_not_exists(" + expression.name("pk") + ")";
      return alive.empty() ? absent : absent + " OR NOT " + alive;
    }
    case Condition::Kind::version_is:
      return and_alive(expression.name("version") + " = " +
                       expression.value({{"N", std::to_string(condition.version)}}));
  }
  return {};
}

std::string random_token() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string token(32, '0');
  for (char& c : token) c = kDigits[random() % 16];
  return token;
}

}  // namespace

json DynamoDbStore::transact_item(const WriteOp& op, const StoredItems& stored) {
  const TableSpec& table = table_spec(op_table(op));
  const std::int64_t now = now_();
  ExpressionBuilder expression;
  json body = {{"TableName", physical_name(table)}};
  std::string kind;
  std::string guard;
  std::visit(Overloaded{
                 [&](const Put& put) {
                   kind = "Put";
                   body["Item"] = to_dynamo_item(table, put.item);
                 },
                 [&](const Update& update) {
                   const auto it = stored.find({table.name, update.key.pk, update.key.sk});
                   const json* current = it == stored.end() ? nullptr : &it->second;
                   const bool alive = current == nullptr || !expired(table, *current);
                   UpdatePlan plan = plan_update(table, update, current, alive, now, expression);
                   kind = plan.kind;
                   body.update(plan.body);
                   guard = plan.guard;
                 },
                 [&](const Delete& del) {
                   kind = "Delete";
                   body["Key"] = to_dynamo_key(del.key);
                 },
                 [&](const Check& check) {
                   kind = "ConditionCheck";
                   body["Key"] = to_dynamo_key(check.key);
                 },
             },
             op);
  std::string condition = condition_expression(table, op_condition(op), expression, now);
  if (!guard.empty())
    condition = condition.empty() ? guard : "(" + condition + ") AND (" + guard + ")";
  // A ConditionCheck must carry a condition; "none" is one that always holds.
  if (condition.empty() && kind == "ConditionCheck") {
    const std::string pk = expression.name("pk");
    condition = "attribute_exists(" + pk + ") OR attribute_not_exists(" + pk + ")";
  }
  if (!condition.empty()) body["ConditionExpression"] = condition;
  expression.attach(body);
  return {{kind, std::move(body)}};
}

StoredItems DynamoDbStore::read_updated_items(const WriteBatch& batch) {
  // One consistent BatchGetItem for all the batch's updates (at most 100 keys, its limit).
  json request_items = json::object();
  for (const auto& op : batch.ops) {
    const auto* update = std::get_if<Update>(&op);
    if (update == nullptr) continue;
    const TableSpec& table = table_spec(update->table);
    json& entry = request_items[physical_name(table)];
    entry["ConsistentRead"] = true;
    entry["Keys"].push_back(to_dynamo_key(update->key));
  }
  StoredItems stored;
  for (int attempt = 1; !request_items.empty(); ++attempt) {
    const json response = call("BatchGetItem", {{"RequestItems", request_items}});
    const json responses = response.value("Responses", json::object());
    for (const auto& [name, items] : responses.items()) {
      const std::string logical = name.substr(prefix_.size());
      const TableSpec& table = table_spec(logical);
      for (const auto& item : items) {
        const Item key = from_dynamo_item(table, {{"pk", item.at("pk")}, {"sk", item.at("sk")}});
        stored.emplace(
            std::make_tuple(logical, key["pk"].get<std::string>(), key["sk"].get<std::string>()),
            item);
      }
    }
    request_items = response.value("UnprocessedKeys", json::object());
    if (request_items.empty()) break;
    if (attempt >= 10) throw Unavailable("dynamodb: BatchGetItem left keys unprocessed");
    std::this_thread::sleep_for(client_.backoff(attempt));
  }
  return stored;
}

void DynamoDbStore::throw_cancellation(const ServiceError& error, const WriteBatch& batch) {
  // CancellationReasons has one entry per operation, in order; older emulators only list the codes
  // in the message: "Transaction cancelled, ... [None, ConditionalCheckFailed]".
  std::vector<std::string> codes;
  if (error.body.contains("CancellationReasons")) {
    for (const auto& reason : error.body["CancellationReasons"]) {
      codes.push_back(reason.value("Code", std::string("None")));
    }
  } else if (const auto open = error.message.rfind('['); open != std::string::npos) {
    std::string list = error.message.substr(open + 1);
    std::size_t start = 0;
    while (start < list.size()) {
      std::size_t end = list.find_first_of(",]", start);
      if (end == std::string::npos) end = list.size();
      std::string code = list.substr(start, end - start);
      code.erase(0, code.find_first_not_of(' '));
      codes.push_back(code);
      start = end + 1;
    }
  }
  for (std::size_t i = 0; i < codes.size() && i < batch.ops.size(); ++i) {
    if (codes[i] == "ConditionalCheckFailed") {
      throw ConditionFailed(op_table(batch.ops[i]), op_key(batch.ops[i]), i);
    }
  }
  for (const auto& code : codes) {
    if (code == "ValidationError")
      throw InvalidRequest("dynamodb rejected the batch: " + error.message);
  }
  throw Unavailable(error.what());
}

void DynamoDbStore::write(const WriteBatch& batch) {
  if (batch.ops.empty()) return;
  if (batch.ops.size() > kMaxBatchOps) {
    throw InvalidRequest("a batch holds at most " + std::to_string(kMaxBatchOps) + " operations");
  }
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto& op : batch.ops) {
    table_spec(op_table(op));
    const Key key = op_key(op);
    if (!seen.emplace(op_table(op), key.pk, key.sk).second) {
      throw InvalidRequest("two operations on one item [" + key.pk + " | " + key.sk + "]");
    }
  }
  const StoredItems stored = read_updated_items(batch);
  json items = json::array();
  for (const auto& op : batch.ops) items.push_back(transact_item(op, stored));
  // TransactionConflict (another transaction on one of these items in flight) cancels the whole
  // batch without applying any of it; trying again is safe. The token makes a retry of a request
  // whose answer was lost (inside the client) apply at most once.
  for (int attempt = 1;; ++attempt) {
    json request = {{"TransactItems", items}, {"ClientRequestToken", random_token()}};
    try {
      client_.call("TransactWriteItems", request);
      return;
    } catch (const ServiceError& error) {
      if (error.type != "TransactionCanceledException") rethrow_as_store_error(error);
      const bool conflict = error.message.find("TransactionConflict") != std::string::npos ||
                            error.body.dump().find("TransactionConflict") != std::string::npos;
      if (!conflict || attempt >= 5) throw_cancellation(error, batch);
      std::this_thread::sleep_for(client_.backoff(attempt));
    }
  }
}

}  // namespace cellfleet::storage::dynamodb
