// The SQLite backend's small parts: cursor encoding, byte-order prefix ranges and the item body's
// CBOR reader.

#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include "storage/sqlite/base64.h"
#include "storage/sqlite/cursor.h"
#include "storage/sqlite/item_codec.h"
#include "storage/sqlite/query_sql.h"

namespace cellfleet::storage::testing {

using namespace cellfleet::storage::sqlite;

TEST_CASE("base64url round-trips every length and refuses what it did not produce", "[sqlite]") {
  std::mt19937 random(7);
  for (std::size_t length = 0; length < 40; ++length) {
    std::vector<std::uint8_t> bytes(length);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(random());
    const auto text = base64url_encode(bytes);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(text) == bytes);
  }
  CHECK(base64url_encode(std::vector<std::uint8_t>{'h', 'i'}) == "aGk");
  CHECK_FALSE(base64url_decode("aGk="));  // padding is not part of the format
  CHECK_FALSE(base64url_decode("a"));     // no whole byte
  CHECK_FALSE(base64url_decode("aGl"));   // non-zero leftover bits: not a canonical encoding
}

TEST_CASE("a cursor decodes to the position it was made from, for that query only", "[sqlite]") {
  Query q;
  q.table = "entities";
  q.index = "gsi1";
  q.partition = "org_1#overdue";
  const auto text = encode_cursor(q, {{"org_1#loan_9", "schedule"}, std::string("2026-11-26")});
  const auto position = decode_cursor(q, text);
  CHECK(position.key == Key{"org_1#loan_9", "schedule"});
  CHECK(position.index_sort == "2026-11-26");

  Query other_index = q;
  other_index.index = "gsi2";
  CHECK_THROWS_AS(decode_cursor(other_index, text), InvalidRequest);
  Query other_partition = q;
  other_partition.partition = "org_2#overdue";
  CHECK_THROWS_AS(decode_cursor(other_partition, text), InvalidRequest);
}

TEST_CASE("a prefix's upper bound is the next string in byte order", "[sqlite]") {
  CHECK(prefix_upper_bound("abc") == "abd");
  CHECK(prefix_upper_bound("a\xff") == "b");
  CHECK(prefix_upper_bound("\xff\xff") == std::nullopt);
  CHECK(prefix_upper_bound("") == std::nullopt);
}

namespace {
// Equal values of equal types all the way down: nlohmann's == calls 1 (unsigned) and 1 (signed)
// equal, and so would CBOR and JSON text; the reader must produce what nlohmann's produces.
bool same(const Item& a, const Item& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
      if (ia.key() != ib.key() || !same(ia.value(), ib.value())) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!same(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b;
}

Item nlohmann_decode(const std::vector<std::uint8_t>& bytes) {
  return Item::from_cbor(bytes.begin(), bytes.end(), true, true, Item::cbor_tag_handler_t::store);
}

// Random text: ASCII, multi-byte UTF-8 up to U+10FFFF, control characters, quotes and
// backslashes; with any_bytes, also bytes 0x80-0xFF anywhere (often not UTF-8).
std::string random_text(std::mt19937_64& random, bool any_bytes) {
  static const std::vector<std::string> pieces = {"a",
                                                  "z",
                                                  "0",
                                                  " ",
                                                  "#",
                                                  "\"",
                                                  "\\",
                                                  "\b",
                                                  "\f",
                                                  "\n",
                                                  "\r",
                                                  "\t",
                                                  std::string(1, '\0'),
                                                  "\x01",
                                                  "\x1f",
                                                  "\x7f",
                                                  "\xc3\xa9",
                                                  "\xe2\x82\xac",
                                                  "\xf0\x9f\x94\x8b",
                                                  "\xed\x9f\xbf",
                                                  "\xf4\x8f\xbf\xbf"};
  std::string text;
  for (auto n = random() % 120; n > 0; --n) {
    if (any_bytes && random() % 4 == 0) {
      text.push_back(static_cast<char>(0x80 + random() % 0x80));
    } else {
      text += pieces[random() % pieces.size()];
    }
  }
  return text;
}

// A random item value; with any_bytes its texts may hold bytes that are not UTF-8.
Item random_value(std::mt19937_64& random, int depth, bool any_bytes = false) {
  static const std::vector<std::int64_t> edges = {0,
                                                  1,
                                                  23,
                                                  24,
                                                  255,
                                                  256,
                                                  65535,
                                                  65536,
                                                  4294967295LL,
                                                  4294967296LL,
                                                  std::numeric_limits<std::int64_t>::max(),
                                                  -1,
                                                  -24,
                                                  -25,
                                                  -256,
                                                  -257,
                                                  -65536,
                                                  -65537,
                                                  -4294967296LL,
                                                  -4294967297LL,
                                                  std::numeric_limits<std::int64_t>::min()};
  switch (random() % (depth > 3 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return random() % 2 == 0;
    case 2:
      return edges[random() % edges.size()];
    case 3:
      return static_cast<std::uint64_t>(random());  // beyond int64 too
    case 4:
      return static_cast<std::int64_t>(random()) >> (random() % 64);
    case 5:
      return random_text(random, any_bytes);
    case 6: {
      Item array = Item::array();
      for (auto n = random() % 5; n > 0; --n) {
        array.push_back(random_value(random, depth + 1, any_bytes));
      }
      return array;
    }
    default: {
      Item object = Item::object();
      for (auto n = random() % 30; n > 0; --n) {
        const std::string key = random() % 4 == 0 ? random_text(random, any_bytes)
                                                  : "k" + std::to_string(random() % 40);
        object[key] = random_value(random, depth + 1, any_bytes);
      }
      return object;
    }
  }
}
}  // namespace

TEST_CASE(
    "the body reader decodes what nlohmann's reader decodes, value for value and type for "
    "type",
    "[sqlite]") {
  std::mt19937_64 random(11);
  for (int i = 0; i < 2000; ++i) {
    Item item = Item::object();
    for (auto n = random() % 120; n > 0; --n) {
      item["a" + std::to_string(random() % 60)] = random_value(random, 0);
    }
    const auto bytes = Item::to_cbor(item);
    INFO(item.dump());
    const auto plain = decode_plain_cbor(bytes);
    REQUIRE(plain);  // our reader decoded it, not the fall-back
    const Item decoded = decode_body(bytes);
    REQUIRE(same(*plain, decoded));
    REQUIRE(same(decoded, nlohmann_decode(bytes)));
    REQUIRE(same(decoded, item.is_object() ? nlohmann_decode(Item::to_cbor(decoded)) : decoded));
  }
  // Long arrays and maps (one- and two-byte length heads), and nesting up to its depth limit.
  Item large = {{"pk", "p"}, {"list", Item::array()}, {"map", Item::object()}};
  for (int i = 0; i < 300; ++i) {
    large["list"].push_back(i * 1000);
    large["map"]["m" + std::to_string(i)] = std::to_string(i);
  }
  REQUIRE(decode_plain_cbor(Item::to_cbor(large)));
  CHECK(same(decode_body(Item::to_cbor(large)), nlohmann_decode(Item::to_cbor(large))));
  Item deep = 1;
  for (int i = 0; i < 64; ++i) deep = Item::array({deep});
  CHECK(decode_plain_cbor(Item::to_cbor(deep)));  // 64 arrays around a number: the limit
  deep = Item::array({deep});
  CHECK_FALSE(decode_plain_cbor(Item::to_cbor(deep)));  // one more: nlohmann's reader decodes it
  CHECK(same(decode_body(Item::to_cbor(deep)), nlohmann_decode(Item::to_cbor(deep))));

  // What it leaves to nlohmann's reader: binary attributes (with and without a subtype), floats
  // and indefinite lengths; and out-of-order and repeated keys, which to_cbor never writes.
  Item binary = {{"pk", "p"}, {"blob", Item::binary({1, 2, 3})}, {"tagged", Item::binary({4}, 7)}};
  CHECK_FALSE(decode_plain_cbor(Item::to_cbor(binary)));
  CHECK(same(decode_body(Item::to_cbor(binary)), nlohmann_decode(Item::to_cbor(binary))));
  Item floating = {{"pk", "p"}, {"f", 1.5}, {"list", {1, 2.25}}};
  CHECK(same(decode_body(Item::to_cbor(floating)), nlohmann_decode(Item::to_cbor(floating))));
  CHECK(decode_body(Item::to_cbor(floating)) == floating);
  const std::vector<std::uint8_t> indefinite = {0xbf, 0x61, 'a', 0x01, 0xff};  // {_ "a": 1}
  CHECK_FALSE(decode_plain_cbor(indefinite));
  CHECK(same(decode_body(indefinite), nlohmann_decode(indefinite)));
  const std::vector<std::uint8_t> unordered = {0xa3, 0x61, 'b', 0x01, 0x61, 'a',
                                               0x02, 0x61, 'b', 0x03};  // {"b":1,"a":2,"b":3}
  REQUIRE(decode_plain_cbor(unordered));  // decoded here, with the last value of a repeated key
  CHECK(same(decode_body(unordered), nlohmann_decode(unordered)));
  CHECK(decode_body(unordered).at("b") == 3);
}

TEST_CASE("the body reader refuses truncated and trailing bytes as nlohmann's reader does",
          "[sqlite]") {
  const Item item = {{"pk", "p"}, {"sk", "s"}, {"n", 70000}, {"list", {1, "two", nullptr}}};
  const auto bytes = Item::to_cbor(item);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    const std::vector<std::uint8_t> truncated(bytes.begin(), bytes.begin() + cut);
    CHECK_THROWS(decode_body(truncated));
  }
  auto trailing = bytes;
  trailing.push_back(0x00);
  CHECK_THROWS(decode_body(trailing));
  CHECK(same(decode_body(bytes), nlohmann_decode(bytes)));
  CHECK(decode_body(bytes) == item);
}

TEST_CASE("the item size is the length of its JSON text, measured without writing it", "[sqlite]") {
  std::mt19937_64 random(11);
  int invalid = 0;
  for (int i = 0; i < 20000; ++i) {
    const bool any_bytes = i % 2 == 1;
    const Item value = random_value(random, 0, any_bytes);
    std::optional<std::size_t> dumped;
    try {
      dumped = value.dump().size();
    } catch (const nlohmann::json::type_error&) {
      ++invalid;  // dump() refuses text that is not UTF-8; so must the measure
    }
    INFO(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    REQUIRE(json_text_size(value) == dumped);
  }
  CHECK(invalid > 1000);  // the random bytes did produce text that is not UTF-8

  // Every malformed sequence class, each alone in a string.
  for (const char* bad :
       {"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf0\x80\x80\xaf",
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x94"}) {
    INFO(bad);
    CHECK_FALSE(json_text_size(Item(std::string(bad))));
    CHECK_FALSE(json_text_size(Item{{std::string(bad), 1}}));
  }
  CHECK(json_text_size(Item(std::string("\xf4\x8f\xbf\xbf"))) == 6u);
}

TEST_CASE("an item's row refuses floats by path and text that is not UTF-8", "[sqlite]") {
  const TableSpec table{"entities", {}, ""};
  const Item base = {{"pk", "p"}, {"sk", "s"}};
  auto refusal = [&table](const Item& item) -> std::string {
    try {
      encode_row(table, item);
    } catch (const InvalidRequest& e) {
      return e.what();
    }
    return "";
  };
  Item nested = base;
  nested["reading"] = {{"cells", {1, 2, 3.5}}};
  CHECK(refusal(nested) ==
        "attribute reading.cells[2] is a floating-point number; store integers (e.g. minor units)");
  Item top = base;
  top["amount"] = 0.5;
  CHECK(refusal(top) ==
        "attribute amount is a floating-point number; store integers (e.g. minor units)");
  Item bad_key = base;
  bad_key["x"] = {{std::string("\xff"), 1}};
  CHECK(refusal(bad_key) == "item [p | s] holds a string that is not valid UTF-8");
  Item big = base;
  big["blob"] = std::string(kMaxItemBytes, 'x');
  CHECK(refusal(big).find("is larger than") != std::string::npos);
  Item fits = base;
  // {"blob":"…","pk":"p","sk":"s"} is exactly kMaxItemBytes long.
  fits["blob"] =
      std::string(kMaxItemBytes - std::string(R"({"blob":"","pk":"p","sk":"s"})").size(), 'x');
  CHECK(fits.dump().size() == kMaxItemBytes);
  CHECK(refusal(fits).empty());
  fits["blob"] = fits["blob"].get<std::string>() + "\n";  // escaped: two bytes more
  CHECK(refusal(fits).find("is larger than") != std::string::npos);
}

}  // namespace cellfleet::storage::testing
