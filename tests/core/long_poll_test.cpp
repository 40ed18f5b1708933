// Long-poll in the server: a handler answers "not yet" (Response::wait) and the request waits,
// holding no worker, until a notify, a re-check, its deadline or a drain. A real Server on a
// loopback port, a real Dispatcher, and a handler that waits for a number to be set.
#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <thread>

#include "core/http/dispatcher.h"
#include "core/http/notifier.h"
#include "core/http/server.h"
#include "support/http_client.h"

using namespace cellfleet;
using namespace std::chrono_literals;
using cellfleet::testing::Connection;
using cellfleet::testing::HttpResponse;
using http::Request;
using http::Response;

namespace {
using steady = std::chrono::steady_clock;

// GET /wait?ms=N answers {"value": v, "run": r} once value is set (non-zero), or {"value": 0}
// after N ms. GET /now answers at once.
struct WaitingServer {
  explicit WaitingServer(http::ServerOptions options) {
    router.add("GET", "/wait", Access::anyone(), [this](Request& req) {
      ++runs;
      const auto now = steady::now();
      const auto deadline = req.poll.deadline.value_or(
          now + std::chrono::milliseconds(std::stoi(req.query("ms").value_or("0"))));
      if (value == 0 && !req.poll.must_answer && now < deadline) {
        return Response::wait("value", deadline);
      }
      return Response::json(200, {{"value", value.load()}, {"run", req.poll.run}});
    });
    router.add("GET", "/now", Access::anyone(), [](Request&) { return Response::json(200, {}); });
    options.port = 0;
    server = std::make_unique<http::Server>(
        options, [this](Request& r) { return dispatcher.handle(r); }, log, metrics, &notifier);
    port = server->listen();
    runner = std::thread([this] { server->run(); });
  }
  ~WaitingServer() {
    stop();
    std::fclose(sink);
  }
  void stop() {
    server->stop();
    if (runner.joinable()) runner.join();
  }

  // Sends GET /wait?ms= on c without reading the answer, and waits until it is parked.
  void park(Connection& c, int ms) {
    const auto before = parked().value();
    c.send("GET /wait?ms=" + std::to_string(ms) + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto until = steady::now() + 5s;
    while (parked().value() == before && steady::now() < until) std::this_thread::sleep_for(5ms);
    REQUIRE(parked().value() == before + 1);
  }
  Gauge& parked() { return metrics.gauge("http_requests_parked", ""); }
  std::uint64_t logged_requests() {
    return metrics
        .counter("http_requests_total", "",
                 {{"route", "/wait"}, {"method", "GET"}, {"status", "200"}})
        .value();
  }

  std::FILE* sink = std::tmpfile();
  Logger log{LogLevel::warn, sink};
  MetricsRegistry metrics;
  http::Router router;
  http::Notifier notifier;
  http::Dispatcher dispatcher{router, log, metrics};
  std::atomic<int> value{0};
  std::atomic<int> runs{0};
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  std::thread runner;
};

http::ServerOptions options(std::chrono::milliseconds recheck = 60s) {
  http::ServerOptions o;
  o.long_poll_recheck = recheck;
  return o;
}
}  // namespace

TEST_CASE("a parked request is answered as soon as its key is notified", "[long_poll]") {
  WaitingServer s(options());
  Connection c(s.port);
  s.park(c, 20000);
  CHECK(s.notifier.waiting() == 1);
  const auto start = steady::now();
  s.value = 7;
  CHECK(s.notifier.notify("value") == 1);
  auto res = c.read_response(5s);
  REQUIRE(res);
  CHECK(steady::now() - start < 2s);
  CHECK(res->json().at("value") == 7);
  CHECK(res->json().at("run") == 1);
  CHECK(s.parked().value() == 0);
  CHECK(s.notifier.waiting() == 0);
  CHECK(s.logged_requests() == 1);  // one request, counted once however often it ran
}

TEST_CASE("parked requests hold no worker thread", "[long_poll]") {
  auto o = options();
  o.read_threads = 1;  // GET /wait and GET /now run in the read lane
  WaitingServer s(o);
  Connection a(s.port);
  Connection b(s.port);
  Connection c(s.port);
  s.park(a, 20000);
  s.park(b, 20000);
  s.park(c, 20000);
  CHECK(testing::http_request(s.port, "GET", "/now").status == 200);
  s.value = 1;
  s.notifier.notify("value");
  for (auto* conn : {&a, &b, &c}) {
    auto res = conn->read_response(5s);
    REQUIRE(res);
    CHECK(res->json().at("value") == 1);
  }
}

TEST_CASE("a parked request looks again at every re-check, without a notify", "[long_poll]") {
  WaitingServer s(options(100ms));
  Connection c(s.port);
  s.park(c, 20000);
  std::this_thread::sleep_for(350ms);
  CHECK(s.runs >= 3);  // the first run and at least two re-checks
  s.value = 3;         // changed where no notify reaches (another instance)
  auto res = c.read_response(5s);
  REQUIRE(res);
  CHECK(res->json().at("value") == 3);
}

TEST_CASE("a parked request is answered at its deadline", "[long_poll]") {
  WaitingServer s(options());
  Connection c(s.port);
  const auto start = steady::now();
  s.park(c, 300);
  auto res = c.read_response(5s);
  REQUIRE(res);
  CHECK(steady::now() - start >= 300ms);
  CHECK(res->json().at("value") == 0);
  CHECK(res->json().at("run") == 1);
  // The connection stays usable.
  CHECK(c.request("GET", "/now").status == 200);
}

TEST_CASE("a wait longer than the read timeout is not cut off", "[long_poll]") {
  auto o = options();
  o.read_timeout = 200ms;
  WaitingServer s(o);
  Connection c(s.port);
  s.park(c, 1000);
  auto res = c.read_response(5s);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->json().at("value") == 0);
}

TEST_CASE("stopping the server answers parked requests at once", "[long_poll]") {
  WaitingServer s(options());
  Connection c(s.port);
  s.park(c, 25000);
  CHECK(s.metrics.gauge("http_requests_in_flight", "").value() == 1);  // parked is in flight
  const auto start = steady::now();
  s.server->stop();
  auto res = c.read_response(5s);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->json().at("value") == 0);
  CHECK(res->header("connection") == "close");
  s.stop();
  CHECK(steady::now() - start < 3s);
}

TEST_CASE("a notify wakes every request parked on its key and nothing else", "[long_poll]") {
  http::Notifier n;
  int a = 0;
  int b = 0;
  n.subscribe("k", [&a] { ++a; });
  n.subscribe("k", [&a] { ++a; });
  auto other = n.subscribe("other", [&b] { ++b; });
  CHECK(n.waiting() == 3);
  CHECK(n.notify("k") == 2);
  CHECK(a == 2);
  CHECK(n.notify("k") == 0);  // a subscription fires once
  CHECK(b == 0);
  CHECK(n.cancel(other));
  CHECK_FALSE(n.cancel(other));
  CHECK(n.notify("other") == 0);
  CHECK(n.waiting() == 0);
}

TEST_CASE("each run of a parked request is authenticated afresh", "[long_poll]") {
  struct CountingAuth : Authenticator {
    int calls = 0;
    Principal authenticate(const Request&) override {
      ++calls;
      Principal p;
      p.kind = Principal::Kind::api_key;
      p.org_id = "org_1";
      p.actor_id = "key_1";
      return p;
    }
  } auth;
  std::FILE* sink = std::tmpfile();
  Logger log{LogLevel::warn, sink};
  MetricsRegistry metrics;
  http::Router router;
  router.add("GET", "/wait", Access::any_member(), [](Request& req) {
    if (req.poll.must_answer) return Response::json(200, {{"actor", req.caller().actor()}});
    return Response::wait("k", steady::now() + 10s);
  });
  http::Dispatcher dispatcher(router, log, metrics, &auth);
  Request req;
  req.method = "GET";
  req.path = req.target = "/wait";
  CHECK(dispatcher.handle(req).park);
  req.poll.run = 1;
  req.poll.must_answer = true;
  auto res = dispatcher.handle(req);
  CHECK(res.status == 200);
  CHECK(auth.calls == 2);
  std::fclose(sink);
}

TEST_CASE("a handler that parks a request it must answer gets a 500", "[long_poll]") {
  std::FILE* sink = std::tmpfile();
  Logger log{LogLevel::error, sink};
  MetricsRegistry metrics;
  http::Router router;
  router.add("GET", "/stuck", Access::anyone(),
             [](Request&) { return Response::wait("k", steady::now() + 10s); });
  http::Dispatcher dispatcher(router, log, metrics);
  Request req;
  req.method = "GET";
  req.path = req.target = "/stuck";
  req.poll.must_answer = true;
  auto res = dispatcher.handle(req);
  CHECK(res.status == 500);
  CHECK_FALSE(res.park);
  std::fclose(sink);
}
