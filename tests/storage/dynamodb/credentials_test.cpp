// On ECS the task role's credentials come from the container credentials endpoint and expire;
// the store must renew them without a restart.

#include <atomic>
#include <chrono>

#include <catch2/catch.hpp>

#include "dynamodb/scripted_server.h"
#include "storage/dynamodb/credentials.h"
#include "storage/store.h"

namespace {

namespace dynamodb = cellfleet::storage::dynamodb;
using cellfleet::storage::testing::ScriptedServer;
using namespace std::chrono_literals;

// 2026-11-26T06:00:00Z
constexpr std::chrono::sys_seconds kSix{std::chrono::sys_days{std::chrono::year{2026} / 11 / 26} +
                                        6h};

std::string answer(const char* key, const char* expiration) {
  return std::string(R"({"AccessKeyId":")") + key +
         R"(","SecretAccessKey":"secret","Token":"token","Expiration":")" + expiration + R"("})";
}

}  // namespace

TEST_CASE("task-role credentials are fetched once and renewed before they expire", "[dynamodb]") {
  ScriptedServer server({{200, answer("FIRST", "2026-11-26T07:00:00Z")},
                         {200, answer("SECOND", "2026-11-26T08:00:00Z")}});
  std::atomic<std::int64_t> offset{0};
  auto provider =
      dynamodb::container_credentials(server.endpoint() + "/v2/credentials/abc", "Bearer t",
                                      [&] { return kSix + std::chrono::seconds(offset.load()); });

  const auto first = provider->current();
  CHECK(first.access_key_id == "FIRST");
  CHECK(first.session_token == "token");
  offset = 30 * 60;  // 06:30, well before expiry: cached
  CHECK(provider->current().access_key_id == "FIRST");
  CHECK(server.requests() == 1);
  offset = 56 * 60;  // 06:56, inside the five minutes before expiry: renewed
  CHECK(provider->current().access_key_id == "SECOND");
  CHECK(server.requests() == 2);
}

TEST_CASE("credentials that cannot be renewed are used until they expire, then Unavailable",
          "[dynamodb]") {
  ScriptedServer server({{200, answer("ONLY", "2026-11-26T07:00:00Z")}, {500, "{}"}, {500, "{}"}});
  std::atomic<std::int64_t> offset{0};
  auto provider = dynamodb::container_credentials(
      server.endpoint() + "/creds", "", [&] { return kSix + std::chrono::seconds(offset.load()); });
  CHECK(provider->current().access_key_id == "ONLY");
  offset = 58 * 60;  // renewal fails, the old keys are still valid
  CHECK(provider->current().access_key_id == "ONLY");
  offset = 61 * 60;  // expired and not renewable
  CHECK_THROWS_AS(provider->current(), cellfleet::storage::Unavailable);
}

TEST_CASE("fixed credentials are what they were given", "[dynamodb]") {
  auto provider = dynamodb::fixed_credentials({"id", "secret", ""});
  CHECK(provider->current().access_key_id == "id");
  CHECK(provider->current().secret_access_key == "secret");
}
