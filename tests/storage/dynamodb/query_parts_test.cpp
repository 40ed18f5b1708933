// The pure parts of DynamoDB queries and calls: cursors, byte-order bounds for sort conditions
// that are not UTF-8, endpoints and backoff.

#include <chrono>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "storage/dynamodb/cursor.h"
#include "storage/dynamodb/dynamodb_client.h"
#include "storage/dynamodb/http_client.h"
#include "storage/dynamodb/utf8_bounds.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::InvalidRequest;
using cellfleet::storage::Query;
using cellfleet::storage::SortCondition;
using nlohmann::json;
using Op = SortCondition::Op;

}  // namespace

TEST_CASE("a cursor leads back to its position, for its own query only", "[dynamodb]") {
  Query q;
  q.table = "entities";
  q.partition = "org_1#devices";
  const json key = {{"pk", {{"S", "org_1#devices"}}}, {"sk", {{"S", "#dev_9"}}}};
  const std::string cursor = dynamodb::encode_cursor(q, key);
  CHECK(cursor.find_first_of("+/=") == std::string::npos);  // travels in a URL as is
  CHECK(dynamodb::decode_cursor(q, cursor) == key);

  Query other = q;
  other.partition = "org_2#devices";
  CHECK_THROWS_AS(dynamodb::decode_cursor(other, cursor), InvalidRequest);
  other = q;
  other.index = "gsi1";
  CHECK_THROWS_AS(dynamodb::decode_cursor(other, cursor), InvalidRequest);
  CHECK_THROWS_AS(dynamodb::decode_cursor(q, "not a cursor"), InvalidRequest);
  CHECK_THROWS_AS(dynamodb::decode_cursor(q, "e30"), InvalidRequest);  // "{}"
}

TEST_CASE("the UTF-8 ceiling is the next valid string in byte order", "[dynamodb]") {
  CHECK(dynamodb::utf8_ceiling("abc") == "abc");
  CHECK(dynamodb::utf8_ceiling("\xe4") == "\xe4\x80\x80");      // a truncated character
  CHECK(dynamodb::utf8_ceiling("\xe0") == "\xe0\xa0\x80");      // no overlong forms
  CHECK(dynamodb::utf8_ceiling("\xed\xa0") == "\xee\x80\x80");  // no surrogates
  CHECK(dynamodb::utf8_ceiling("a\x80") == "a\xc2\x80");        // a stray continuation byte
  CHECK(dynamodb::utf8_ceiling("a\xff") == "b");                // carries into the byte before
  CHECK(dynamodb::utf8_ceiling("\xf4\x90") == std::nullopt);    // beyond U+10FFFF
  CHECK(dynamodb::is_valid_utf8("\xf0\x9f\x94\x8b"));
  CHECK_FALSE(dynamodb::is_valid_utf8("\xc0\x80"));
}

TEST_CASE("a byte prefix that splits a character becomes a range of whole characters",
          "[dynamodb]") {
  const auto range = dynamodb::valid_utf8_condition({Op::begins_with, "\xe4", ""});
  REQUIRE(range);
  CHECK(range->op == Op::between);
  CHECK(range->value == "\xe4\x80\x80");
  CHECK(range->upper == "\xe5\x80\x80");
  CHECK_FALSE(dynamodb::valid_utf8_condition({Op::eq, "\xe4", ""}));
  CHECK(dynamodb::matches({Op::begins_with, "\xe4", ""}, "\xe4\xb8\xad"));
  CHECK_FALSE(dynamodb::matches({Op::begins_with, "\xe4", ""}, "\xe5\x80\x80"));
  CHECK(dynamodb::matches({Op::lt, "a", ""}, "B"));  // bytes, not locale
}

TEST_CASE("endpoints are scheme, host and port, nothing else", "[dynamodb]") {
  const auto local = dynamodb::parse_endpoint("http://127.0.0.1:8000");
  CHECK_FALSE(local.tls);
  CHECK(local.host == "127.0.0.1");
  CHECK(local.port == 8000);
  CHECK(local.host_header == "127.0.0.1:8000");
  const auto aws = dynamodb::parse_endpoint("https://dynamodb.eu-west-1.amazonaws.com/");
  CHECK(aws.tls);
  CHECK(aws.port == 443);
  CHECK(aws.host_header == "dynamodb.eu-west-1.amazonaws.com");
  CHECK_THROWS_AS(dynamodb::parse_endpoint("ftp://x"), std::invalid_argument);
  CHECK_THROWS_AS(dynamodb::parse_endpoint("http://x:0"), std::invalid_argument);
  CHECK_THROWS_AS(dynamodb::parse_endpoint("http://x/path"), std::invalid_argument);
}

TEST_CASE("retry delays grow exponentially up to the cap, with full jitter", "[dynamodb]") {
  dynamodb::ClientOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.region = "us-east-1";
  options.credentials = {"id", "secret", ""};
  options.base_delay = std::chrono::milliseconds(10);
  options.max_delay = std::chrono::milliseconds(100);
  dynamodb::DynamoDbClient client(options);
  bool saw_above_base = false;
  for (int i = 0; i < 200; ++i) {
    const auto first = client.backoff(1);
    CHECK(first <= std::chrono::milliseconds(10));
    const auto late = client.backoff(30);
    CHECK(late <= std::chrono::milliseconds(100));
    saw_above_base = saw_above_base || late > std::chrono::milliseconds(10);
  }
  CHECK(saw_above_base);
}

TEST_CASE("an unreachable endpoint is Unavailable after the configured attempts", "[dynamodb]") {
  dynamodb::ClientOptions options;
  options.endpoint = "http://127.0.0.1:1";  // nothing listens on port 1
  options.region = "us-east-1";
  options.credentials = {"id", "secret", ""};
  options.max_attempts = 3;
  options.base_delay = std::chrono::milliseconds(1);
  dynamodb::DynamoDbClient client(options);
  CHECK_THROWS_AS(client.call("ListTables", json::object()), cellfleet::storage::Unavailable);
}
