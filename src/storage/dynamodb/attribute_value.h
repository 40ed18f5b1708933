#pragma once
// How a Store item (nlohmann::json) travels in DynamoDB's JSON protocol, as store.h defines it:
//   string -> S, integer -> N (the decimal text of the exact int64/uint64), bool -> BOOL,
//   null -> NULL, binary -> B (standard base64), array -> L, object -> M.
//
// Key attributes are stored as key_codec.h describes.

#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/dynamodb/key_codec.h"
#include "storage/schema.h"
#include "storage/store.h"

namespace cellfleet::storage::dynamodb {

// One attribute value. Throws InvalidRequest for a floating-point number anywhere inside value;
// where names the attribute for the message.
nlohmann::json to_attribute_value(const nlohmann::json& value, const std::string& where);

// One attribute of the item with key `key` as stored: its stored name and its value
// (to_attribute_value, with key attributes encoded as key_codec.h says).
std::pair<std::string, nlohmann::json> to_stored_attribute(const TableSpec& table, const Key& key,
                                                           const std::string& name,
                                                           const nlohmann::json& value);

// Back from DynamoDB. Numbers that are not integers (never written by this store) come back as
// doubles; string and number sets as arrays.
nlohmann::json from_attribute_value(const nlohmann::json& value);

// A whole item, validated as store.h asks (an object with a non-empty string pk, a string sk, no
// floats, integer version and TTL attributes, at most kMaxItemBytes of JSON text).
// Throws InvalidRequest.
nlohmann::json to_dynamo_item(const TableSpec& table, const Item& item);
Item from_dynamo_item(const TableSpec& table, const nlohmann::json& item);

// The primary key {"pk": {"S": ...}, "sk": {"S": "#..."}} of an item.
nlohmann::json to_dynamo_key(const Key& key);

// Checks one attribute an Update sets: not a key attribute, no floats, integer version/TTL.
// Throws InvalidRequest.
void check_update_attribute(const TableSpec& table, const std::string& name,
                            const nlohmann::json& value);

}  // namespace cellfleet::storage::dynamodb
