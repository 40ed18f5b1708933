#include "storage/dynamodb/attribute_value.h"

#include <openssl/evp.h>

#include <cstdint>

namespace cellfleet::storage::dynamodb {
namespace {

using nlohmann::json;

std::string base64_encode(const std::vector<std::uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

std::vector<std::uint8_t> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) throw StoreError("dynamodb: malformed base64 in a B attribute");
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  const int written =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  if (written < 0) throw StoreError("dynamodb: malformed base64 in a B attribute");
  // EVP_DecodeBlock counts the bytes that padding stands for; drop them.
  std::size_t size = static_cast<std::size_t>(written);
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with("=")) {
    size -= 1;
  }
  out.resize(size);
  return out;
}

std::string item_label(const Item& item) {
  const auto text = [&](const char* name) {
    const auto it = item.find(name);
    return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return "[" + text("pk") + " | " + text("sk") + "]";
}

void check_integer(const std::string& name, const json& value) {
  if (!value.is_number_integer() ||
      (value.is_number_unsigned() &&
       value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    throw InvalidRequest("attribute '" + name + "' must be an int64 integer");
  }
}

}  // namespace

json to_attribute_value(const json& value, const std::string& where) {
  switch (value.type()) {
    case json::value_t::string:
      return {{"S", value}};
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return {{"N", value.dump()}};
    case json::value_t::number_float:
      throw InvalidRequest("attribute '" + where + "' holds a floating-point number");
    case json::value_t::boolean:
      return {{"BOOL", value}};
    case json::value_t::null:
      return {{"NULL", true}};
    case json::value_t::binary:
      return {{"B", base64_encode(value.get_binary())}};
    case json::value_t::array: {
      json list = json::array();
      for (const auto& element : value) list.push_back(to_attribute_value(element, where));
      return {{"L", std::move(list)}};
    }
    case json::value_t::object: {
      json map = json::object();
      for (const auto& [name, element] : value.items()) {
        map[name] = to_attribute_value(element, where + "." + name);
      }
      return {{"M", std::move(map)}};
    }
    case json::value_t::discarded:
      break;
  }
  throw InvalidRequest("attribute '" + where + "' has no value");
}

json from_attribute_value(const json& value) {
  if (!value.is_object() || value.size() != 1) {
    throw StoreError("dynamodb: malformed attribute value " + value.dump());
  }
  const std::string& type = value.begin().key();
  const json& inner = value.begin().value();
  if (type == "S") return inner;
  // json::parse keeps integers exact (int64, else uint64); only a non-integer becomes a double.
  if (type == "N") return json::parse(inner.get<std::string>());
  if (type == "BOOL") return inner;
  if (type == "NULL") return nullptr;
  if (type == "B") return json::binary(base64_decode(inner.get<std::string>()));
  if (type == "L") {
    json list = json::array();
    for (const auto& element : inner) list.push_back(from_attribute_value(element));
    return list;
  }
  if (type == "M") {
    json map = json::object();
    for (const auto& [name, element] : inner.items()) map[name] = from_attribute_value(element);
    return map;
  }
  if (type == "SS") return inner;
  if (type == "NS") {
    json list = json::array();
    for (const auto& n : inner) list.push_back(json::parse(n.get<std::string>()));
    return list;
  }
  throw StoreError("dynamodb: unsupported attribute type " + type);
}

std::pair<std::string, json> to_stored_attribute(const TableSpec& table, const Key& key,
                                                 const std::string& name, const json& value) {
  if (!is_prefixed_key_attribute(table, name)) return {name, to_attribute_value(value, name)};
  if (value.is_string()) {
    return {name,
            {{"S", stored_key_string(table, name, value.get_ref<const std::string&>(), key)}}};
  }
  return {non_string_key_name(name), to_attribute_value(value, name)};
}

json to_dynamo_item(const TableSpec& table, const Item& item) {
  if (!item.is_object()) throw InvalidRequest("an item must be a JSON object");
  const auto pk = item.find("pk");
  if (pk == item.end() || !pk->is_string() || pk->get_ref<const std::string&>().empty()) {
    throw InvalidRequest("item " + item_label(item) + " needs a non-empty string pk");
  }
  const auto sk = item.find("sk");
  if (sk == item.end() || !sk->is_string()) {
    throw InvalidRequest("item " + item_label(item) + " needs a string sk");
  }
  const Key key{pk->get<std::string>(), sk->get<std::string>()};
  json out = json::object();
  for (const auto& [name, value] : item.items()) {
    if (name == "version" || name == table.ttl_attribute) check_integer(name, value);
    auto [stored_name, stored_value] = to_stored_attribute(table, key, name, value);
    out[stored_name] = std::move(stored_value);
  }
  // Measured after validation so the float check names the attribute first.
  if (item.dump().size() > kMaxItemBytes) {
    throw InvalidRequest("item " + item_label(item) + " is larger than " +
                         std::to_string(kMaxItemBytes) + " bytes");
  }
  return out;
}

Item from_dynamo_item(const TableSpec& table, const json& item) {
  Item out = Item::object();
  for (const auto& [name, value] : item.items()) {
    const auto s = value.find("S");
    if (s != value.end() && is_prefixed_key_attribute(table, name)) {
      out[name] = logical_key_string(table, name, s->get_ref<const std::string&>());
    } else if (name.starts_with(kKeyPrefix) &&
               is_prefixed_key_attribute(table, name.substr(kKeyPrefix.size()))) {
      out[name.substr(kKeyPrefix.size())] = from_attribute_value(value);
    } else {
      out[name] = from_attribute_value(value);
    }
  }
  return out;
}

json to_dynamo_key(const Key& key) {
  return {{"pk", {{"S", key.pk}}}, {"sk", {{"S", std::string(kKeyPrefix) + key.sk}}}};
}

void check_update_attribute(const TableSpec& table, const std::string& name, const json& value) {
  if (name == "pk" || name == "sk") throw InvalidRequest("an update cannot change key attributes");
  if (name == "version" || name == table.ttl_attribute) check_integer(name, value);
  to_attribute_value(value, name);  // throws for a float
}

}  // namespace cellfleet::storage::dynamodb
