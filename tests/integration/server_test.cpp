// The real `cellfleet serve` on a loopback port, spoken to over real TCP.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support/http_client.h"
#include "support/server_process.h"

using namespace cellfleet::testing;
using namespace std::chrono_literals;

namespace {
void require_problem(const HttpResponse& res, int status) {
  REQUIRE(res.status == status);
  REQUIRE(res.header("content-type") == "application/problem+json");
  auto body = res.json();
  CHECK(body.at("status") == status);
  CHECK(body.at("type").get<std::string>().rfind("/problems/", 0) == 0);
  CHECK_FALSE(body.at("title").get<std::string>().empty());
  CHECK_FALSE(body.at("detail").get<std::string>().empty());
}
}  // namespace

TEST_CASE("the server reports itself alive and ready", "[integration]") {
  ServerProcess server;
  auto health = http_request(server.port(), "GET", "/healthz");
  REQUIRE(health.status == 200);
  CHECK(health.json().at("status") == "ok");
  auto ready = http_request(server.port(), "GET", "/readyz");
  REQUIRE(ready.status == 200);
  CHECK(ready.json().at("status") == "ready");
}

TEST_CASE("an unknown path is a 404 problem", "[integration]") {
  ServerProcess server;
  auto res = http_request(server.port(), "GET", "/v1/no-such-thing");
  require_problem(res, 404);
  CHECK(res.json().at("instance") == "/v1/no-such-thing");
}

TEST_CASE("a method a path does not support is a 405 naming the allowed ones", "[integration]") {
  ServerProcess server;
  auto res = http_request(server.port(), "DELETE", "/healthz");
  require_problem(res, 405);
  CHECK(res.header("allow") == "GET");
}

TEST_CASE("a body over the limit is refused with 413 and the server goes on", "[integration]") {
  ServerProcess server({}, {{"CELLFLEET_SERVER_MAX_BODY_BYTES", "1024"}});
  Connection c(server.port());
  c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
         std::string(5000, 'a'));
  auto res = c.read_response();
  REQUIRE(res);
  require_problem(*res, 413);
  CHECK(c.closed_by_server());
  CHECK(http_request(server.port(), "GET", "/healthz").status == 200);
}

TEST_CASE("the default body limit is 1 MiB", "[integration]") {
  ServerProcess server;
  Connection c(server.port());
  c.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n");
  auto res = c.read_response();
  REQUIRE(res);
  require_problem(*res, 413);
  // Exactly at the limit is read to its end (and then routed: POST /healthz is a 405).
  Connection ok(server.port());
  ok.send("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" +
          std::string(1048576, 'a'));
  auto at_limit = ok.read_response();
  REQUIRE(at_limit);
  CHECK(at_limit->status == 405);
}

TEST_CASE("header fields over 16 KiB are refused with 431", "[integration]") {
  ServerProcess server;
  Connection c(server.port());
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(17 * 1024, 'b') + "\r\n\r\n");
  auto res = c.read_response();
  REQUIRE(res);
  require_problem(*res, 431);
  CHECK(c.closed_by_server());
}

TEST_CASE("a malformed request line gets 400, its connection is closed, others are served",
          "[integration]") {
  ServerProcess server;
  Connection bad(server.port());
  Connection good(server.port());
  bad.send("THIS IS NOT HTTP\r\n\r\n");
  auto res = bad.read_response();
  REQUIRE(res);
  require_problem(*res, 400);
  CHECK(bad.closed_by_server());
  CHECK(good.request("GET", "/healthz").status == 200);
}

TEST_CASE("the client's request id is echoed and appears in the request's log line",
          "[integration]") {
  ServerProcess server;
  auto res = http_request(server.port(), "GET", "/healthz", "", {{"X-Request-Id", "trace-42.abc"}});
  REQUIRE(res.status == 200);
  CHECK(res.header("x-request-id") == "trace-42.abc");
  auto line = server.wait_for_log("\"request_id\":\"trace-42.abc\"", 5s);
  REQUIRE_FALSE(line.empty());
  auto entry = nlohmann::json::parse(line);
  CHECK(entry.at("route") == "/healthz");
  CHECK(entry.at("status") == 200);
  CHECK(entry.contains("duration_ms"));
}

TEST_CASE("a request without an id, or with an unusable one, gets a generated id",
          "[integration]") {
  ServerProcess server;
  auto plain = http_request(server.port(), "GET", "/healthz");
  CHECK(plain.header("x-request-id").rfind("req_", 0) == 0);
  auto hostile = http_request(server.port(), "GET", "/healthz", "", {{"X-Request-Id", "a b\"c"}});
  CHECK(hostile.header("x-request-id").rfind("req_", 0) == 0);
  auto missing = http_request(server.port(), "GET", "/nope");
  CHECK(missing.header("x-request-id").rfind("req_", 0) == 0);
}

TEST_CASE("pipelined requests are answered in order on one connection", "[integration]") {
  ServerProcess server;
  Connection c(server.port());
  c.send(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n"
      "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\n\r\n");
  auto first = c.read_response();
  auto second = c.read_response();
  auto third = c.read_response();
  REQUIRE((first && second && third));
  CHECK(first->header("x-request-id") == "one");
  CHECK(first->status == 200);
  CHECK(second->header("x-request-id") == "two");
  CHECK(second->status == 404);
  CHECK(third->header("x-request-id") == "three");
  CHECK(third->status == 200);
}

TEST_CASE("SIGTERM lets a request in flight finish, then the server exits 0", "[integration]") {
  ServerProcess server;
  Connection idle(server.port());
  REQUIRE(idle.request("GET", "/healthz").status == 200);  // keep-alive, now idle

  Connection slow(server.port());
  slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n");
  std::this_thread::sleep_for(300ms);  // the header has arrived; the body has not
  kill(server.pid(), SIGTERM);
  REQUIRE_FALSE(server.wait_for_log("\"shutting down\"", 5s).empty());
  CHECK(idle.closed_by_server());  // an idle connection is closed at once
  CHECK(server.running());         // still waiting for the request in flight
  slow.send("0123456789");
  auto res = slow.read_response();
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->header("connection") == "close");
  CHECK(server.signal_and_wait(0, 10s) == 0);
}

TEST_CASE("SIGINT stops an idle server with exit code 0", "[integration]") {
  ServerProcess server;
  CHECK(server.signal_and_wait(SIGINT, 10s) == 0);
  REQUIRE_FALSE(server.wait_for_log("\"stopped\"", 2s).empty());
}

TEST_CASE("a client that stalls mid-request is disconnected after the read timeout",
          "[integration]") {
  ServerProcess server({}, {{"CELLFLEET_SERVER_READ_TIMEOUT_MS", "300"}});
  Connection stalled(server.port());
  stalled.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // the header never ends
  CHECK(stalled.closed_by_server(5s));
  Connection idle(server.port());
  REQUIRE(idle.request("GET", "/healthz").status == 200);
  CHECK(idle.closed_by_server(5s));  // an idle keep-alive connection, too
  CHECK(http_request(server.port(), "GET", "/healthz").status == 200);
}
