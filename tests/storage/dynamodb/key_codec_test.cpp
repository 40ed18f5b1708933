// Stored keys must sort and match in DynamoDB exactly as the item's own keys do under store.h.

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/dynamodb/key_codec.h"
#include "storage/dynamodb/utf8_bounds.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::InvalidRequest;
using cellfleet::storage::Key;
using cellfleet::storage::SortCondition;
using Op = SortCondition::Op;

const cellfleet::storage::TableSpec& entities() {
  const auto* table = cellfleet::storage::find_table("entities");
  REQUIRE(table != nullptr);
  return *table;
}

struct Indexed {
  std::string sort;  // the item's gsi1sk
  Key key;
};

std::vector<Indexed> sample() {
  std::vector<Indexed> items;
  for (const char* sort :
       {"", "d", "day", "day1", "day1a", "day2", "dazzle", "e", "\xe4\xb8\xad"}) {
    for (const char* pk : {"a", "a\x02", "b"}) {
      for (const char* sk : {"", "1", "2"}) items.push_back({sort, {pk, sk}});
    }
  }
  return items;
}

std::string stored(const Indexed& item) {
  return dynamodb::stored_key_string(entities(), "gsi1sk", item.sort, item.key);
}

}  // namespace

TEST_CASE("stored index sort keys order as (index sort key, pk, sk)", "[dynamodb]") {
  auto items = sample();
  std::sort(items.begin(), items.end(),
            [](const Indexed& x, const Indexed& y) { return stored(x) < stored(y); });
  CHECK(std::is_sorted(items.begin(), items.end(), [](const Indexed& x, const Indexed& y) {
    return std::tie(x.sort, x.key.pk, x.key.sk) < std::tie(y.sort, y.key.pk, y.key.sk);
  }));
  for (const auto& item : items) {
    CHECK(dynamodb::logical_key_string(entities(), "gsi1sk", stored(item)) == item.sort);
  }
}

TEST_CASE("a sort condition selects the same items on stored keys as on the items' keys",
          "[dynamodb]") {
  const std::vector<SortCondition> conditions = {
      {Op::eq, "day1", ""},      {Op::eq, "", ""},     {Op::begins_with, "day", ""},
      {Op::begins_with, "", ""}, {Op::lt, "day1", ""}, {Op::le, "day1", ""},
      {Op::gt, "day1", ""},      {Op::ge, "day1", ""}, {Op::between, "day", "day2"},
      {Op::between, "", "d"},
  };
  for (const auto& condition : conditions) {
    for (const char* attribute : {"sk", "gsi1sk"}) {
      const SortCondition on_stored =
          dynamodb::stored_sort_condition(entities(), attribute, condition);
      for (const auto& item : sample()) {
        const std::string value =
            std::string(attribute) == "sk"
                ? dynamodb::stored_key_string(entities(), "sk", item.sort, item.key)
                : stored(item);
        INFO("attribute " << attribute << ", op " << static_cast<int>(condition.op) << " '"
                          << condition.value << "', key '" << item.sort << "'");
        CHECK(dynamodb::matches(on_stored, value) == dynamodb::matches(condition, item.sort));
      }
    }
  }
}

TEST_CASE("an index sort key may not hold the tie separator", "[dynamodb]") {
  CHECK_THROWS_AS(dynamodb::stored_key_string(entities(), "gsi1sk", "a\x01", {"p", "s"}),
                  InvalidRequest);
  CHECK(dynamodb::stored_key_string(entities(), "sk", std::string("a\x01", 2), {"p", "s"}) ==
        std::string("#a\x01", 3));
  CHECK(dynamodb::stored_partition(entities(), "pk", "org_1") == "org_1");
  CHECK(dynamodb::stored_partition(entities(), "gsi2pk", "") == "#");
}
