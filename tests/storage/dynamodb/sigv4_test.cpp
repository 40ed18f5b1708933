// Properties of the signer the AWS vectors do not pin down: what it adds, what it refuses, and the
// shape of a DynamoDB request.

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "storage/dynamodb/sigv4.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using namespace std::chrono_literals;

// 2015-08-30T12:36:00Z, the instant of AWS's published examples.
constexpr std::chrono::sys_seconds kWhen{std::chrono::sys_days{2015y / 8 / 30} + 12h + 36min};

const dynamodb::Credentials kKeys{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

dynamodb::SigningRequest dynamodb_request(std::string_view body) {
  return {"POST",
          "/",
          "",
          {{"Host", "dynamodb.eu-west-1.amazonaws.com"},
           {"Content-Type", "application/x-amz-json-1.0"},
           {"X-Amz-Target", "DynamoDB_20120810.GetItem"}},
          body,
          std::nullopt};
}

bool has_header(const dynamodb::Signature& s, std::string_view name) {
  return std::any_of(s.headers_to_add.begin(), s.headers_to_add.end(),
                     [&](const dynamodb::Header& h) { return h.first == name; });
}

}  // namespace

TEST_CASE("SHA-256 is written as lowercase hex", "[sigv4]") {
  CHECK(dynamodb::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(dynamodb::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("a DynamoDB request signs its target, content type, host and date", "[sigv4]") {
  const auto s = dynamodb::sign_v4(dynamodb_request("{}"), {"eu-west-1", "dynamodb"}, kKeys, kWhen);
  CHECK(s.authorization.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/dynamodb/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="));
  CHECK(s.headers_to_add.front() == dynamodb::Header{"X-Amz-Date", "20150830T123600Z"});
  CHECK(s.headers_to_add.back() == dynamodb::Header{"Authorization", s.authorization});
  CHECK_FALSE(has_header(s, "X-Amz-Security-Token"));
  CHECK_FALSE(has_header(s, "X-Amz-Content-Sha256"));
}

TEST_CASE("a different body, date or secret gives a different signature", "[sigv4]") {
  const dynamodb::SigningScope scope{"eu-west-1", "dynamodb"};
  const auto base = dynamodb::sign_v4(dynamodb_request("{}"), scope, kKeys, kWhen);
  CHECK(dynamodb::sign_v4(dynamodb_request("{ }"), scope, kKeys, kWhen).authorization !=
        base.authorization);
  CHECK(dynamodb::sign_v4(dynamodb_request("{}"), scope, kKeys, kWhen + 1s).authorization !=
        base.authorization);
  auto other = kKeys;
  other.secret_access_key += "x";
  CHECK(dynamodb::sign_v4(dynamodb_request("{}"), scope, other, kWhen).authorization !=
        base.authorization);
}

TEST_CASE("a payload hash given by the caller is signed instead of hashing the body", "[sigv4]") {
  auto request = dynamodb_request("ignored");
  request.payload_hash = dynamodb::sha256_hex("{}");
  const dynamodb::SigningScope scope{"eu-west-1", "dynamodb"};
  CHECK(dynamodb::sign_v4(request, scope, kKeys, kWhen).authorization ==
        dynamodb::sign_v4(dynamodb_request("{}"), scope, kKeys, kWhen).authorization);
}

TEST_CASE("temporary credentials send and sign their session token", "[sigv4]") {
  auto keys = kKeys;
  keys.session_token = "token/with+symbols==";
  const auto s = dynamodb::sign_v4(dynamodb_request("{}"), {"eu-west-1", "dynamodb"}, keys, kWhen);
  CHECK(has_header(s, "X-Amz-Security-Token"));
  CHECK(s.canonical_request.find("\nx-amz-security-token:token/with+symbols==\n") !=
        std::string::npos);
  CHECK(s.authorization.find("x-amz-date;x-amz-security-token;x-amz-target") != std::string::npos);
}

TEST_CASE("the content hash header is added and signed only when asked for", "[sigv4]") {
  dynamodb::SigningOptions options;
  options.add_content_sha256 = true;
  const auto s =
      dynamodb::sign_v4(dynamodb_request(""), {"eu-west-1", "s3"}, kKeys, kWhen, options);
  CHECK(std::find(s.headers_to_add.begin(), s.headers_to_add.end(),
                  dynamodb::Header{"X-Amz-Content-Sha256", dynamodb::sha256_hex("")}) !=
        s.headers_to_add.end());
  CHECK(s.authorization.find("x-amz-content-sha256") != std::string::npos);
}

TEST_CASE("paths and queries are encoded as RFC 3986 with uppercase hex", "[sigv4]") {
  auto request = dynamodb_request("");
  request.path = "/a b/%7Euser/./x/../y";
  request.query = "b=2&a=x y&a=%2f&flag";
  const auto s = dynamodb::sign_v4(request, {"eu-west-1", "execute-api"}, kKeys, kWhen);
  // Non-S3 paths are normalised, then each segment is encoded a second time ('%' -> "%25").
  CHECK(s.canonical_request.starts_with("POST\n/a%20b/%257Euser/y\na=%2F&a=x%20y&b=2&flag=\n"));

  dynamodb::SigningOptions s3;
  s3.s3_path_rules = true;
  const auto t = dynamodb::sign_v4(request, {"eu-west-1", "s3"}, kKeys, kWhen, s3);
  CHECK(t.canonical_request.starts_with("POST\n/a b/%7Euser/./x/../y\n"));
}

TEST_CASE("the signer refuses requests it cannot sign correctly", "[sigv4]") {
  const dynamodb::SigningScope scope{"eu-west-1", "dynamodb"};
  auto no_host = dynamodb_request("{}");
  no_host.headers.erase(no_host.headers.begin());
  CHECK_THROWS_AS(dynamodb::sign_v4(no_host, scope, kKeys, kWhen), std::invalid_argument);

  auto dated = dynamodb_request("{}");
  dated.headers.emplace_back("x-amz-date", "20150830T123600Z");
  CHECK_THROWS_AS(dynamodb::sign_v4(dated, scope, kKeys, kWhen), std::invalid_argument);
}
