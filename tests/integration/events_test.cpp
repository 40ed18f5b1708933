// The event log over HTTP: what tenancy publishes through the outbox, replayed per organization.
#include <catch2/catch.hpp>

#include "support/http_client.h"
#include "support/server_process.h"

using namespace cellfleet::testing;
using nlohmann::json;

namespace {
const std::string kToken = "platform-admin-token-for-event-tests-012345";

std::map<std::string, std::string> auth(const std::string& key, bool body = false) {
  std::map<std::string, std::string> h = {{"Authorization", "Bearer " + key}};
  if (body) h["Content-Type"] = "application/json";
  return h;
}

std::string create_org(std::uint16_t port, const std::string& slug) {
  auto res = http_request(port, "POST", "/v1/platform/organizations",
                          json{{"name", slug},
                               {"slug", slug},
                               {"currency", "KES"},
                               {"time_zone", "Africa/Nairobi"},
                               {"owner_email", "o@" + slug + ".example"}}
                              .dump(),
                          auth(kToken, true));
  REQUIRE(res.status == 201);
  return res.json()["api_key"];
}

std::vector<std::string> types_of(const json& page) {
  std::vector<std::string> out;
  for (const auto& e : page["items"]) out.push_back(e["type"]);
  return out;
}
}  // namespace

TEST_CASE("state changes publish events an organization can replay in order",
          "[integration][events]") {
  ServerProcess server({}, {{"CELLFLEET_PLATFORM_ADMIN_TOKEN", kToken}});
  auto key = create_org(server.port(), "alpha");
  auto other = create_org(server.port(), "bravo");
  auto user = http_request(
      server.port(), "POST", "/v1/users",
      R"({"email":"ops@alpha.example","role":"operator","password":"long enough secret"})",
      auth(key, true));
  REQUIRE(user.status == 201);
  std::string user_id = user.json()["id"];
  REQUIRE(http_request(server.port(), "PATCH", "/v1/users/" + user_id,
                       R"({"role":"viewer","password":"another long secret"})", auth(key, true))
              .status == 200);

  auto all = http_request(server.port(), "GET", "/v1/events", "", auth(key));
  REQUIRE(all.status == 200);
  auto page = all.json();
  CHECK(types_of(page) == std::vector<std::string>{"organization.created", "user.created",
                                                   "api_key.created", "user.created",
                                                   "user.updated"});
  // Payloads say what changed, never a secret.
  CHECK(page["items"][4]["subject"] == user_id);
  CHECK(page["items"][4]["data"]["role"] == "viewer");
  CHECK(page["items"][4]["data"]["password_changed"] == true);
  CHECK(all.body.find("long secret") == std::string::npos);
  CHECK(all.body.find("password_hash") == std::string::npos);

  // Replay from a point, by type, and page by page.
  std::string third = page["items"][2]["id"];
  auto after = http_request(server.port(), "GET", "/v1/events?after=" + third, "", auth(key));
  CHECK(types_of(after.json()) == std::vector<std::string>{"user.created", "user.updated"});
  auto users = http_request(server.port(), "GET", "/v1/events?type=user.created", "", auth(key));
  CHECK(types_of(users.json()).size() == 2);
  auto first = http_request(server.port(), "GET", "/v1/events?limit=2", "", auth(key)).json();
  REQUIRE(first.contains("next_cursor"));
  auto second = http_request(server.port(), "GET",
                             "/v1/events?limit=2&cursor=" + first["next_cursor"].get<std::string>(),
                             "", auth(key))
                    .json();
  CHECK(types_of(second) == std::vector<std::string>{"api_key.created", "user.created"});

  // Another organization sees only its own three.
  auto theirs = http_request(server.port(), "GET", "/v1/events", "", auth(other)).json();
  CHECK(types_of(theirs) ==
        std::vector<std::string>{"organization.created", "user.created", "api_key.created"});
  CHECK(theirs.dump().find(user_id) == std::string::npos);

  CHECK(http_request(server.port(), "GET", "/v1/events?after=nope", "", auth(key)).status == 400);
  CHECK(http_request(server.port(), "GET", "/v1/events?limit=0", "", auth(key)).status == 400);
}

TEST_CASE("dead letters are for the platform administrator only", "[integration][events]") {
  ServerProcess server({}, {{"CELLFLEET_PLATFORM_ADMIN_TOKEN", kToken}});
  auto key = create_org(server.port(), "alpha");
  auto list = http_request(server.port(), "GET", "/v1/admin/dead-letters", "", auth(kToken));
  REQUIRE(list.status == 200);
  CHECK(list.json()["items"].empty());
  CHECK(http_request(server.port(), "GET", "/v1/admin/dead-letters", "", auth(key)).status == 403);
  auto retry = http_request(server.port(), "POST",
                            "/v1/admin/dead-letters/nobody/evt_01M8AQN4900K4BCJSBVJTTSBH1/retry",
                            "", auth(kToken));
  CHECK(retry.status == 404);
}
