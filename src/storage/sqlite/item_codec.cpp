#include "storage/sqlite/item_codec.h"

#include <limits>

namespace cellfleet::storage::sqlite {

namespace {

// The item's key for messages, whatever the key attributes hold.
std::string key_text(const Item& item) {
  auto part = [&item](const char* name) -> std::string {
    const auto found = item.find(name);
    if (found == item.end()) return "(none)";
    return found->is_string() ? found->get<std::string>() : found->dump();
  };
  return "[" + part("pk") + " | " + part("sk") + "]";
}

bool is_int64(const Item& value) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return true;
  return value.is_number_unsigned() &&
         value.get<std::uint64_t>() <=
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

std::optional<std::int64_t> optional_int(const Item& item, const std::string& name) {
  const auto found = item.find(name);
  if (found == item.end()) return std::nullopt;
  return found->get<std::int64_t>();
}

// An item is in an index only when it carries both index attributes as strings (store.h).
std::optional<IndexKeys> index_keys(const Item& item, const IndexSpec& index) {
  const auto partition = item.find(index.partition_key);
  const auto sort = item.find(index.sort_key);
  if (partition == item.end() || sort == item.end()) return std::nullopt;
  if (!partition->is_string() || !sort->is_string()) return std::nullopt;
  return IndexKeys{partition->get<std::string>(), sort->get<std::string>()};
}

// The size rule of store.h is stated in bytes of JSON text, so measure exactly that. dump() also
// rejects strings that are not valid UTF-8, which DynamoDB would refuse too.
std::size_t json_size(const Item& item) {
  try {
    return item.dump().size();
  } catch (const nlohmann::json::type_error&) {
    throw InvalidRequest("item " + key_text(item) + " holds a string that is not valid UTF-8");
  }
}

}  // namespace

void reject_floats(const Item& value, const std::string& where) {
  if (value.is_number_float()) {
    throw InvalidRequest("attribute " + where +
                         " is a floating-point number; store integers (e.g. minor units)");
  }
  if (value.is_object()) {
    for (const auto& [name, member] : value.items()) reject_floats(member, where + "." + name);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      reject_floats(value[i], where + "[" + std::to_string(i) + "]");
    }
  }
}

void check_reserved_attribute(const std::string& name, const Item& value) {
  if ((name == "version" || name == "expires_at") && !is_int64(value)) {
    throw InvalidRequest("attribute " + name + " must be a 64-bit integer");
  }
}

Row encode_row(const TableSpec& table, const Item& item) {
  if (!item.is_object()) throw InvalidRequest("an item must be a JSON object");
  const auto pk = item.find("pk");
  const auto sk = item.find("sk");
  if (pk == item.end() || !pk->is_string() || pk->get_ref<const std::string&>().empty()) {
    throw InvalidRequest("item " + key_text(item) + " needs a non-empty string pk");
  }
  if (sk == item.end() || !sk->is_string()) {
    throw InvalidRequest("item " + key_text(item) + " needs a string sk");
  }
  for (const auto& [name, value] : item.items()) {
    reject_floats(value, name);
    check_reserved_attribute(name, value);
  }
  if (json_size(item) > kMaxItemBytes) {
    throw InvalidRequest("item " + key_text(item) + " is larger than " +
                         std::to_string(kMaxItemBytes) + " bytes of JSON");
  }

  Row row;
  row.key = {pk->get<std::string>(), sk->get<std::string>()};
  for (const auto& index : table.indexes) row.index_keys.push_back(index_keys(item, index));
  row.version = optional_int(item, "version");
  if (!table.ttl_attribute.empty()) row.expires_at = optional_int(item, table.ttl_attribute);
  row.body = Item::to_cbor(item);
  return row;
}

Item decode_body(std::span<const std::uint8_t> body) {
  // store keeps a binary attribute's subtype tag instead of failing on it.
  return Item::from_cbor(body.begin(), body.end(), true, true, Item::cbor_tag_handler_t::store);
}

}  // namespace cellfleet::storage::sqlite
