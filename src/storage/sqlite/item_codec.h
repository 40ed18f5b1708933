#pragma once
// What makes an item valid, and how an item maps to a row: the reserved attributes copied into
// columns SQL can search, and the whole item as CBOR in body. CBOR, not JSON text, because it keeps
// binary attributes as bytes and 64-bit integers exact.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "storage/schema.h"
#include "storage/store.h"

namespace cellfleet::storage::sqlite {

struct IndexKeys {
  std::string partition;
  std::string sort;
};

struct Row {
  Key key;
  std::vector<std::optional<IndexKeys>> index_keys;  // one per TableSpec::indexes, in order
  std::optional<std::int64_t> version;
  std::optional<std::int64_t> expires_at;
  std::vector<std::uint8_t> body;
};

// Throws InvalidRequest when value holds a floating-point number anywhere; where names the
// attribute for the message.
void reject_floats(const Item& value, const std::string& where);

// The length of value.dump() (compact, UTF-8 kept as it is), measured without writing the text;
// nullopt when a string or member name in it is not valid UTF-8 (dump() would throw). Throws
// InvalidRequest when value holds a floating-point number. Exposed for its tests.
std::optional<std::size_t> json_text_size(const Item& value);

// Throws InvalidRequest unless the reserved attribute name may hold value ("version" and
// "expires_at" must be int64 integers; nothing else is checked here).
void check_reserved_attribute(const std::string& name, const Item& value);

// Validates a whole item (an object with a non-empty string pk, a string sk, no floats, integer
// version/expires_at, at most kMaxItemBytes of JSON) and builds its row.
// Throws InvalidRequest.
Row encode_row(const TableSpec& table, const Item& item);

// The item stored in a row's body.
Item decode_body(std::span<const std::uint8_t> body);

// decode_body's own reader: the item when the body holds only what to_cbor writes for a stored
// item (null, booleans, integers, text, arrays, maps with text keys, at most 64 deep), nullopt
// otherwise (decode_body then uses nlohmann's reader). Exposed for its tests.
std::optional<Item> decode_plain_cbor(std::span<const std::uint8_t> body);

}  // namespace cellfleet::storage::sqlite
