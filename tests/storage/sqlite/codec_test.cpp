// The SQLite backend's small parts: cursor encoding and byte-order prefix ranges.

#include <catch2/catch.hpp>

#include <random>

#include "storage/sqlite/base64.h"
#include "storage/sqlite/cursor.h"
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

}  // namespace cellfleet::storage::testing
