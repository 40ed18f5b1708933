// How items travel in DynamoDB's wire format: exactly, and with the key rules store.h needs.

#include <cstdint>
#include <limits>

#include <catch2/catch.hpp>

#include "storage/dynamodb/attribute_value.h"
#include "storage/schema.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::InvalidRequest;
using cellfleet::storage::Item;
using nlohmann::json;

const cellfleet::storage::TableSpec& entities() {
  const auto* table = cellfleet::storage::find_table("entities");
  REQUIRE(table != nullptr);
  return *table;
}

}  // namespace

TEST_CASE("every attribute type survives the wire format exactly", "[dynamodb]") {
  const Item item = {
      {"pk", "org_1#dev_1"},
      {"sk", "state"},
      {"max", std::numeric_limits<std::int64_t>::max()},
      {"min", std::numeric_limits<std::int64_t>::min()},
      {"huge", std::numeric_limits<std::uint64_t>::max()},
      {"flag", false},
      {"nothing", nullptr},
      {"bytes", json::binary({0x00, 0xff, 0x10, 0x80})},
      {"list", {1, "two", {{"three", 3}}}},
      {"empty", ""},
  };
  const json stored = dynamodb::to_dynamo_item(entities(), item);
  CHECK(stored["max"] == json{{"N", "9223372036854775807"}});
  CHECK(stored["min"] == json{{"N", "-9223372036854775808"}});
  CHECK(stored["huge"] == json{{"N", "18446744073709551615"}});
  CHECK(stored["bytes"] == json{{"B", "AP8QgA=="}});
  CHECK(stored["nothing"] == json{{"NULL", true}});
  CHECK(stored["list"]["L"][2] == json{{"M", {{"three", {{"N", "3"}}}}}});
  CHECK(dynamodb::from_dynamo_item(entities(), stored) == item);
}

TEST_CASE("binary values of every length round-trip through base64", "[dynamodb]") {
  std::vector<std::uint8_t> bytes;
  for (int size = 0; size < 7; ++size) {
    const json value = json::binary(bytes);
    CHECK(dynamodb::from_attribute_value(dynamodb::to_attribute_value(value, "b")) == value);
    bytes.push_back(static_cast<std::uint8_t>(0xf0 + size));
  }
}

TEST_CASE("sort and index keys are stored with a prefix so an empty one is allowed", "[dynamodb]") {
  const Item item = {{"pk", "org_1#settings"}, {"sk", ""}, {"gsi1pk", ""}, {"gsi1sk", "b"}};
  const json stored = dynamodb::to_dynamo_item(entities(), item);
  CHECK(stored["pk"] == json{{"S", "org_1#settings"}});
  CHECK(stored["sk"] == json{{"S", "#"}});
  CHECK(stored["gsi1pk"] == json{{"S", "#"}});
  CHECK(stored["gsi1sk"] == json{{"S", "#b\x01org_1#settings\x01"}});  // see key_codec.h
  CHECK(dynamodb::from_dynamo_item(entities(), stored) == item);
  CHECK(dynamodb::to_dynamo_key({"p", ""}) == json{{"pk", {{"S", "p"}}}, {"sk", {{"S", "#"}}}});
}

TEST_CASE("an index key that is not a string is kept out of the index, under another name",
          "[dynamodb]") {
  const Item item = {{"pk", "p"}, {"sk", "s"}, {"gsi1pk", 5}, {"gsi2sk", {{"nested", true}}}};
  const json stored = dynamodb::to_dynamo_item(entities(), item);
  CHECK_FALSE(stored.contains("gsi1pk"));
  CHECK(stored["#gsi1pk"] == json{{"N", "5"}});
  CHECK(stored.contains("#gsi2sk"));
  CHECK(dynamodb::from_dynamo_item(entities(), stored) == item);
}

TEST_CASE("items the store cannot keep exactly are refused", "[dynamodb]") {
  CHECK_THROWS_AS(dynamodb::to_dynamo_item(entities(), {{"pk", "p"}, {"sk", "s"}, {"x", 1.5}}),
                  InvalidRequest);
  CHECK_THROWS_AS(
      dynamodb::to_dynamo_item(entities(), {{"pk", "p"}, {"sk", "s"}, {"m", {{"deep", {0.1}}}}}),
      InvalidRequest);
  CHECK_THROWS_AS(dynamodb::to_dynamo_item(entities(), {{"pk", ""}, {"sk", "s"}}), InvalidRequest);
  CHECK_THROWS_AS(dynamodb::to_dynamo_item(entities(), {{"pk", "p"}}), InvalidRequest);
  CHECK_THROWS_AS(
      dynamodb::to_dynamo_item(entities(), {{"pk", "p"}, {"sk", "s"}, {"version", "1"}}),
      InvalidRequest);
  CHECK_THROWS_AS(
      dynamodb::to_dynamo_item(entities(), {{"pk", "p"}, {"sk", "s"}, {"expires_at", 1.0}}),
      InvalidRequest);
  CHECK_THROWS_AS(dynamodb::check_update_attribute(entities(), "sk", "x"), InvalidRequest);
}
