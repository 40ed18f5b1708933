#include "storage/dynamodb/update_plan.h"

#include "storage/dynamodb/attribute_value.h"
#include "storage/dynamodb/dynamodb_store_impl.h"

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

// An Update that sets and removes nothing must still create a missing item, as on SQLite, and
// TransactWriteItems requires an UpdateExpression: removing an attribute no item has does that.
constexpr const char* kNoSuchAttribute = "__cellfleet_no_such_attribute";

void check_key_attributes(const Update& update) {
  for (const auto& name : update.remove) {
    if (name == "pk" || name == "sk")
      throw InvalidRequest("an update cannot remove key attributes");
  }
}

// The item as it will be after the update, for the size check and for the expired case.
Item merged_item(const TableSpec& table, const Update& update, const json* stored, bool alive) {
  Item item = stored != nullptr && alive ? from_dynamo_item(table, *stored) : Item::object();
  item["pk"] = update.key.pk;
  item["sk"] = update.key.sk;
  for (const auto& [name, value] : update.set.items()) item[name] = value;
  for (const auto& name : update.remove) item.erase(name);
  return item;
}

}  // namespace

UpdatePlan plan_update(const TableSpec& table, const Update& update, const json* stored, bool alive,
                       std::int64_t now, ExpressionBuilder& expression) {
  check_key_attributes(update);
  for (const auto& [name, value] : update.set.items()) check_update_attribute(table, name, value);
  const Item merged = merged_item(table, update, stored, alive);
  if (merged.dump().size() > kMaxItemBytes) {
    throw InvalidRequest("update would grow [" + update.key.pk + " | " + update.key.sk + "] past " +
                         std::to_string(kMaxItemBytes) + " bytes");
  }

  if (stored != nullptr && !alive) {
    // Lands only while the item is still expired (or gone); otherwise the batch fails as a
    // condition failure naming this operation, and nothing stale is revived.
    const std::string still_gone = "attribute_not_exists(" + expression.name("pk") + ") OR NOT " +
                                   not_expired(table, expression, now);
    return {"Put", {{"Item", to_dynamo_item(table, merged)}}, still_gone};
  }

  std::string set, remove;
  const auto add_remove = [&](const std::string& name) {
    remove += (remove.empty() ? "REMOVE " : ", ") + expression.name(name);
  };
  for (const auto& [name, value] : update.set.items()) {
    auto [stored_name, stored_value] = to_stored_attribute(table, update.key, name, value);
    set += (set.empty() ? "SET " : ", ") + expression.name(stored_name) + " = " +
           expression.value(std::move(stored_value));
    // An index key attribute lives under one of two names by type; drop the other one.
    if (is_prefixed_key_attribute(table, name)) {
      add_remove(stored_name == name ? non_string_key_name(name) : name);
    }
  }
  for (const auto& name : update.remove) {
    add_remove(name);
    if (is_prefixed_key_attribute(table, name)) add_remove(non_string_key_name(name));
  }
  if (set.empty() && remove.empty()) add_remove(kNoSuchAttribute);
  json body = {{"Key", to_dynamo_key(update.key)},
               {"UpdateExpression", set + (set.empty() || remove.empty() ? "" : " ") + remove}};
  return {"Update", std::move(body), ""};
}

}  // namespace cellfleet::storage::dynamodb
