// The server's two lanes of handler threads: GET and HEAD requests run on threads of their own,
// so reads are answered while every other thread is held by writes (an ingest burst waiting for
// the store's single writer), and each lane has its own bounded queue. A real Server on a
// loopback port, a real Dispatcher, and a POST handler that holds its thread until released.
#include <catch2/catch.hpp>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include "core/http/dispatcher.h"
#include "core/http/server.h"
#include "support/http_client.h"

using namespace cellfleet;
using namespace std::chrono_literals;
using cellfleet::testing::Connection;
using http::Request;
using http::Response;

namespace {
using steady = std::chrono::steady_clock;

// POST /hold and GET /hold keep their thread until release(); GET /now answers at once.
struct LaneServer {
  explicit LaneServer(http::ServerOptions options) {
    router.add("POST", "/hold", Access::anyone(), [this](Request&) { return hold("write"); });
    router.add("GET", "/hold", Access::anyone(), [this](Request&) { return hold("read"); });
    router.add("GET", "/now", Access::anyone(), [](Request&) {
      return Response::json(200, {{"now", true}});
    });
    router.add("POST", "/echo", Access::anyone(), [](Request& r) {
      return Response::json(200, {{"echo", r.body}});
    });
    options.port = 0;
    server = std::make_unique<http::Server>(
        options, [this](Request& r) { return dispatcher.handle(r); }, log, metrics);
    port = server->listen();
    runner = std::thread([this] { server->run(); });
  }
  ~LaneServer() {
    release();
    server->stop();
    if (runner.joinable()) runner.join();
    std::fclose(sink);
  }
  Response hold(const std::string& lane) {
    std::unique_lock lock(mutex);
    ++holding;
    changed.notify_all();
    changed.wait(lock, [this] { return released; });
    --holding;
    return Response::json(200, {{"held", lane}});
  }
  void release() {
    std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
  // Waits until n /hold handlers hold their threads.
  bool wait_holding(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return holding == n; });
  }
  // Waits up to 5 s until the rendered metrics hold line ("http_read_queue_depth 1").
  bool wait_metric(const std::string& line) {
    const auto deadline = steady::now() + 5s;
    while (metrics.render().find(line) == std::string::npos) {
      if (steady::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  std::uint64_t rejected() {
    return metrics.counter("http_rejected_total", "", {{"reason", "queue_full"}}).value();
  }

  std::FILE* sink = std::tmpfile();
  Logger log{LogLevel::warn, sink};
  MetricsRegistry metrics;
  http::Router router;
  http::Dispatcher dispatcher{router, log, metrics};
  std::mutex mutex;
  std::condition_variable changed;
  int holding = 0;
  bool released = false;
  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  std::thread runner;
};

// One thread and a queue of one in each lane: a single request fills a lane's threads, a second
// its queue.
http::ServerOptions one_thread_each() {
  http::ServerOptions o;
  o.worker_threads = 1;
  o.read_threads = 1;
  o.worker_queue = 1;
  return o;
}

const std::string kHold = "POST /hold HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
}  // namespace

TEST_CASE("reads are answered while every write thread is held and the write queue is full",
          "[server]") {
  LaneServer s(one_thread_each());
  Connection held(s.port);
  Connection queued(s.port);
  held.send(kHold);
  REQUIRE(s.wait_holding(1));
  queued.send(kHold);  // waits in the write lane's queue of one
  REQUIRE(s.wait_metric("http_worker_queue_depth 1"));
  CHECK_THAT(s.metrics.render(), Catch::Contains("http_read_queue_depth 0"));

  // The write lane is full: one more write is refused at once, reads go on being answered.
  auto refused = testing::http_request(s.port, "POST", "/hold");
  CHECK(refused.status == 503);
  CHECK(refused.header("retry-after") == "1");
  CHECK(s.rejected() == 1);
  for (int i = 0; i < 20; ++i) {
    auto res = testing::http_request(s.port, "GET", "/now");
    REQUIRE(res.status == 200);
    CHECK(res.json().at("now") == true);
  }
  CHECK(s.rejected() == 1);

  // Released, the held write and the queued one are both answered.
  s.release();
  for (auto* c : {&held, &queued}) {
    auto res = c->read_response(5s);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->json().at("held") == "write");
  }
}

TEST_CASE("a write runs while the read threads are all busy and the read queue is full",
          "[server]") {
  // The other way round: the read lane's one thread is held by a GET and its queue of one is
  // taken by another; the next GET is refused, and a POST still runs.
  LaneServer s(one_thread_each());
  Connection reader(s.port);
  reader.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(s.wait_holding(1));
  Connection queued(s.port);
  queued.send("GET /now HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(s.wait_metric("http_read_queue_depth 1"));
  CHECK(testing::http_request(s.port, "GET", "/now").status == 503);
  CHECK(s.rejected() == 1);
  Connection writer(s.port);
  writer.send(kHold);
  REQUIRE(s.wait_holding(2));  // the POST got a thread of its own lane
  s.release();
  auto read = reader.read_response(5s);
  auto waited = queued.read_response(5s);
  auto written = writer.read_response(5s);
  REQUIRE(read);
  REQUIRE(waited);
  REQUIRE(written);
  CHECK(read->json().at("held") == "read");
  CHECK(waited->json().at("now") == true);
  CHECK(written->json().at("held") == "write");
}

TEST_CASE("every connection gets its answers in order, with one I/O thread or several",
          "[server]") {
  // One I/O thread runs every session's handlers itself; with several, each session has a strand.
  for (const std::size_t io_threads : {std::size_t{1}, std::size_t{4}}) {
    INFO("io_threads " << io_threads);
    http::ServerOptions o;
    o.io_threads = io_threads;
    o.worker_threads = 3;
    o.read_threads = 3;
    LaneServer s(o);
    constexpr int kClients = 8;
    constexpr int kRequests = 60;
    std::vector<std::thread> clients;
    std::vector<int> in_order(kClients, 0);
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&s, &in_order, c] {
        Connection connection(s.port);
        // Pipelined: every request is sent before the first answer is read, reads and writes
        // mixed, so the session hands requests to both lanes back to back.
        std::string all;
        for (int i = 0; i < kRequests; ++i) {
          const std::string body = std::to_string(c) + ":" + std::to_string(i);
          all += i % 3 == 0 ? "GET /now HTTP/1.1\r\nHost: x\r\n\r\n"
                            : "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body;
        }
        connection.send(all);
        for (int i = 0; i < kRequests; ++i) {
          auto res = connection.read_response(10s);
          if (!res || res->status != 200) return;
          const auto json = res->json();
          const bool expected =
              i % 3 == 0 ? json.value("now", false)
                         : json.value("echo", "") == std::to_string(c) + ":" + std::to_string(i);
          if (!expected) return;
          ++in_order[c];
        }
      });
    }
    for (auto& t : clients) t.join();
    for (int c = 0; c < kClients; ++c) CHECK(in_order[c] == kRequests);
  }
}
