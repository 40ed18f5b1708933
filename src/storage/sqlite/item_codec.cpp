#include "storage/sqlite/item_codec.h"

#include <charconv>
#include <limits>
#include <string_view>
#include <variant>

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

// One part of an attribute's path, for messages: a member name or an array index.
using PathPart = std::variant<const std::string*, std::size_t>;

std::string path_text(const std::string& attribute, const std::vector<PathPart>& path) {
  std::string out = attribute;
  for (const auto& part : path) {
    if (const auto* name = std::get_if<const std::string*>(&part)) {
      out += "." + **name;
    } else {
      out += "[" + std::to_string(std::get<std::size_t>(part)) + "]";
    }
  }
  return out;
}

[[noreturn]] void throw_float(const std::string& where) {
  throw InvalidRequest("attribute " + where +
                       " is a floating-point number; store integers (e.g. minor units)");
}

// The length dump() gives a string, quotes included, or nullopt where dump() would throw: text
// that is not valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
// dump() keeps UTF-8 as it is and escapes '"', '\\' and the control characters: \b \f \n \r \t
// in two bytes, the others as \u00XX.
std::optional<std::size_t> json_string_size(std::string_view text) {
  std::size_t size = 2;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  auto continuation = [&end](const unsigned char* at, unsigned char low, unsigned char high) {
    return at < end && *at >= low && *at <= high;
  };
  while (p < end) {
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') {
        size += 2;
      } else {
        size += c < 0x20 ? 6 : 1;
      }
      ++p;
      continue;
    }
    std::size_t length = 0;
    bool ok = false;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
      ok = continuation(p + 1, 0x80, 0xBF);
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      const unsigned char low = c == 0xE0 ? 0xA0 : 0x80;
      const unsigned char high = c == 0xED ? 0x9F : 0xBF;
      ok = continuation(p + 1, low, high) && continuation(p + 2, 0x80, 0xBF);
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      const unsigned char low = c == 0xF0 ? 0x90 : 0x80;
      const unsigned char high = c == 0xF4 ? 0x8F : 0xBF;
      ok = continuation(p + 1, low, high) && continuation(p + 2, 0x80, 0xBF) &&
           continuation(p + 3, 0x80, 0xBF);
    }
    if (!ok) return std::nullopt;
    size += length;
    p += length;
  }
  return size;
}

// One walk over an attribute's value that does what validation needs of it: refuses a float
// anywhere in it (naming its path) and measures the JSON text dump() would write, without writing
// it. The size rule of store.h is stated in bytes of JSON text, and building that text for every
// item was about 5 % of an ingest request. A string that is not valid UTF-8, which DynamoDB would
// refuse too, is noted in bad_utf8 (the caller reports it after the float checks).
class ItemMeasure {
 public:
  explicit ItemMeasure(const std::string& attribute) : attribute_(attribute) {}

  std::size_t value(const Item& v) {
    switch (v.type()) {
      case Item::value_t::null:
        return 4;
      case Item::value_t::boolean:
        return v.get<bool>() ? 4 : 5;
      case Item::value_t::number_integer:
        return digits(v.get<std::int64_t>());
      case Item::value_t::number_unsigned:
        return digits(v.get<std::uint64_t>());
      case Item::value_t::number_float:
        throw_float(path_text(attribute_, path_));
      case Item::value_t::string:
        return text(v.get_ref<const std::string&>());
      case Item::value_t::array: {
        std::size_t size = 2 + (v.empty() ? 0 : v.size() - 1);
        for (std::size_t i = 0; i < v.size(); ++i) {
          path_.emplace_back(i);
          size += value(v[i]);
          path_.pop_back();
        }
        return size;
      }
      case Item::value_t::object: {
        std::size_t size = 2 + (v.empty() ? 0 : v.size() - 1);
        for (auto it = v.begin(); it != v.end(); ++it) {
          path_.emplace_back(&it.key());
          size += text(it.key()) + 1 + value(it.value());
          path_.pop_back();
        }
        return size;
      }
      default:  // binary attributes: rare, measured the slow way
        return v.dump().size();
    }
  }

  std::size_t text(const std::string& s) {
    const auto size = json_string_size(s);
    if (!size) bad_utf8 = true;
    return size.value_or(0);
  }

  bool bad_utf8 = false;

 private:
  template <typename Int>
  static std::size_t digits(Int n) {
    char buffer[24];
    return static_cast<std::size_t>(std::to_chars(buffer, buffer + sizeof buffer, n).ptr - buffer);
  }

  const std::string& attribute_;
  std::vector<PathPart> path_;
};

}  // namespace

void reject_floats(const Item& value, const std::string& where) {
  ItemMeasure(where).value(value);
}

std::optional<std::size_t> json_text_size(const Item& item) {
  static const std::string kWhole = "(item)";
  ItemMeasure measure(kWhole);
  const auto size = measure.value(item);
  if (measure.bad_utf8) return std::nullopt;
  return size;
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
  // The item's JSON size, measured attribute by attribute as each is checked: {} and the commas,
  // then each "name":value.
  std::size_t size = 2 + (item.empty() ? 0 : item.size() - 1);
  bool bad_utf8 = false;
  for (auto it = item.begin(); it != item.end(); ++it) {
    ItemMeasure measure(it.key());
    size += measure.text(it.key()) + 1 + measure.value(it.value());
    bad_utf8 = bad_utf8 || measure.bad_utf8;
    check_reserved_attribute(it.key(), it.value());
  }
  if (bad_utf8) {
    throw InvalidRequest("item " + key_text(item) + " holds a string that is not valid UTF-8");
  }
  if (size > kMaxItemBytes) {
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

namespace {

// Decodes the CBOR that Item::to_cbor writes for a stored item (null, booleans, integers, text,
// arrays, maps with text keys) straight into an Item: keys and strings are copied whole from the
// buffer, and a map's keys, which to_cbor writes in order, are appended at the end of the object
// without a search. Anything else (binary attributes, tags, floats, indefinite lengths) makes it
// give up, and nlohmann's reader decodes the body instead. Measured on the device point read:
// nlohmann's reader was 15 % of the server's samples.
class FastCbor {
 public:
  explicit FastCbor(std::span<const std::uint8_t> in)
      : p_(in.data()), end_(in.data() + in.size()) {}

  // The item, or nullopt when the body holds something this reader leaves to nlohmann's.
  std::optional<Item> decode() {
    Item out;
    if (!value(out, 0) || p_ != end_) return std::nullopt;
    return out;
  }

 private:
  static constexpr int kMaxDepth = 64;

  // The argument of the head whose additional information is info; false when malformed or
  // indefinite.
  bool argument(std::uint8_t info, std::uint64_t& n) {
    if (info < 24) {
      n = info;
      return true;
    }
    int bytes = 0;
    switch (info) {
      case 24:
        bytes = 1;
        break;
      case 25:
        bytes = 2;
        break;
      case 26:
        bytes = 4;
        break;
      case 27:
        bytes = 8;
        break;
      default:
        return false;
    }
    if (end_ - p_ < bytes) return false;
    n = 0;
    for (int i = 0; i < bytes; ++i) n = (n << 8) | *p_++;
    return true;
  }

  bool text(std::uint64_t length, std::string& out) {
    if (static_cast<std::uint64_t>(end_ - p_) < length) return false;
    out.assign(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(length));
    p_ += length;
    return true;
  }

  bool value(Item& out, int depth) {
    if (p_ == end_ || depth > kMaxDepth) return false;
    const std::uint8_t head = *p_++;
    const std::uint8_t major = head >> 5;
    const std::uint8_t info = head & 0x1f;
    std::uint64_t n = 0;
    switch (major) {
      case 0:
        if (!argument(info, n)) return false;
        out = n;  // unsigned, as nlohmann's reader makes it
        return true;
      case 1:
        if (!argument(info, n) || n > static_cast<std::uint64_t>(INT64_MAX)) return false;
        out = static_cast<std::int64_t>(-1) - static_cast<std::int64_t>(n);
        return true;
      case 3: {
        std::string s;
        if (!argument(info, n) || !text(n, s)) return false;
        out = std::move(s);
        return true;
      }
      case 4: {
        if (!argument(info, n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
        out = Item::array();
        auto& array = out.get_ref<Item::array_t&>();
        array.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) {
          array.emplace_back();
          if (!value(array.back(), depth + 1)) return false;
        }
        return true;
      }
      case 5: {
        if (!argument(info, n) || n > static_cast<std::uint64_t>(end_ - p_)) return false;
        out = Item::object();
        auto& object = out.get_ref<Item::object_t&>();
        for (std::uint64_t i = 0; i < n; ++i) {
          if (p_ == end_ || (*p_ >> 5) != 3) return false;  // text keys only
          std::uint64_t length = 0;
          std::string key;
          const std::uint8_t key_info = *p_++ & 0x1f;
          if (!argument(key_info, length) || !text(length, key)) return false;
          Item member;
          if (!value(member, depth + 1)) return false;
          // In order, the hint makes this constant time; a repeated key keeps the last value, as
          // nlohmann's reader does.
          auto at = object.emplace_hint(object.end(), std::move(key), Item());
          at->second = std::move(member);
        }
        return true;
      }
      case 7:
        if (info == 20 || info == 21) {
          out = info == 21;
          return true;
        }
        if (info == 22) {
          out = nullptr;
          return true;
        }
        return false;
      default:
        return false;  // binary (2) and tags (6): nlohmann's reader
    }
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

}  // namespace

std::optional<Item> decode_plain_cbor(std::span<const std::uint8_t> body) {
  return FastCbor(body).decode();
}

Item decode_body(std::span<const std::uint8_t> body) {
  if (auto fast = decode_plain_cbor(body)) return std::move(*fast);
  // store keeps a binary attribute's subtype tag instead of failing on it.
  return Item::from_cbor(body.begin(), body.end(), true, true, Item::cbor_tag_handler_t::store);
}

}  // namespace cellfleet::storage::sqlite
