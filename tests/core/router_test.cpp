#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/http/router.h"

using cellfleet::http::Request;
using cellfleet::http::Response;
using cellfleet::http::Router;

namespace {
Response ok(Request&) {
  return Response::empty(200);
}
}  // namespace

TEST_CASE("the router extracts path parameters, percent-decoded", "[router]") {
  Router r;
  r.add("GET", "/v1/devices/{id}/commands/{command_id}", cellfleet::Access::anyone(), ok);
  auto m = r.match("GET", "/v1/devices/dev%201/commands/cmd_9");
  REQUIRE(m.route);
  CHECK(m.route->path == "/v1/devices/{id}/commands/{command_id}");
  REQUIRE(m.params.size() == 2);
  CHECK(m.params[0] == std::pair<std::string, std::string>{"id", "dev 1"});
  CHECK(m.params[1] == std::pair<std::string, std::string>{"command_id", "cmd_9"});
}

TEST_CASE("a literal segment wins over a parameter in the same place", "[router]") {
  Router r;
  r.add("GET", "/v1/devices/{id}", cellfleet::Access::anyone(), ok);
  r.add("GET", "/v1/devices/export", cellfleet::Access::anyone(), ok);
  r.add("POST", "/v1/devices:import", cellfleet::Access::anyone(), ok);
  CHECK(r.match("GET", "/v1/devices/export").route->path == "/v1/devices/export");
  CHECK(r.match("GET", "/v1/devices/dev_1").route->path == "/v1/devices/{id}");
  CHECK(r.match("POST", "/v1/devices:import").route->path == "/v1/devices:import");
}

TEST_CASE("a path with other methods reports them as allowed", "[router]") {
  Router r;
  r.add("GET", "/v1/things/{id}", cellfleet::Access::anyone(), ok);
  r.add("PATCH", "/v1/things/{id}", cellfleet::Access::anyone(), ok);
  auto m = r.match("DELETE", "/v1/things/x");
  CHECK(m.route == nullptr);
  CHECK(m.allowed == std::vector<std::string>{"GET", "PATCH"});
}

TEST_CASE("an unknown path matches nothing and allows nothing", "[router]") {
  Router r;
  r.add("GET", "/v1/things/{id}", cellfleet::Access::anyone(), ok);
  for (const char* path : {"/v1/things", "/v1/things/", "/v1/things/a/b", "/", ""}) {
    auto m = r.match("GET", path);
    CHECK(m.route == nullptr);
    CHECK(m.allowed.empty());
  }
}

TEST_CASE("a malformed percent escape in the path is a 400", "[router]") {
  Router r;
  r.add("GET", "/v1/things/{id}", cellfleet::Access::anyone(), ok);
  try {
    r.match("GET", "/v1/things/%zz");
    FAIL("expected an error");
  } catch (const cellfleet::Error& e) {
    CHECK(e.kind() == cellfleet::ErrorKind::bad_request);
  }
}

TEST_CASE("duplicate or malformed route templates are refused at registration", "[router]") {
  Router r;
  r.add("GET", "/a/{id}", cellfleet::Access::anyone(), ok);
  CHECK_THROWS_AS(r.add("GET", "/a/{id}", cellfleet::Access::anyone(), ok), std::logic_error);
  CHECK_THROWS_AS(r.add("GET", "/a/{id", cellfleet::Access::anyone(), ok), std::logic_error);
  CHECK_THROWS_AS(r.add("GET", "no-slash", cellfleet::Access::anyone(), ok), std::logic_error);
}
